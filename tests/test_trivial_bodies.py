"""Nothing for nothing: code that does nothing scores nothing.

Every exercise function (each function or method whose body in ``exercises/`` is ``raise NotImplementedError()``)
of a copy of the reference solutions gets a trivial body: zeros or ones shaped like its first argument, the first
argument itself, the constant 0.5, or None. Graded over all chapters, such a submission must score 0 on every test: a test
that checks only a side property (the input is left untouched, no Python loops, a mean not a sum, returns a float,
stable for large inputs, ...) must also check the value, since doing nothing has all of those properties.
"""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dlcourse.chapters import list_chapters

from .grading import ROOT

SEED = "11"

# The trivial bodies; ``{arg}`` is the first argument (after self / cls), ``None`` when there is none.
BODIES = {
    "zeros": "return _trivial_fill({arg}, 0.0)",
    "ones": "return _trivial_fill({arg}, 1.0)",
    "first-argument": "return {arg}",
    "constant-0.5": "return 0.5",
    "none": "return None",
}

HELPER = '''

def _trivial_fill(x, value):
    """``value`` everywhere in an array shaped like ``x`` (float), kept in ``x``'s container (a dict or a list of
    arrays, as gradients and parameters come); an array of ``value`` for a number; None for anything else."""
    import numpy as _np
    if isinstance(x, dict):
        return {k: _trivial_fill(v, value) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, _np.ndarray) for v in x):
        return type(x)(_trivial_fill(v, value) for v in x)
    try:
        return _np.full_like(_np.asarray(x, dtype=float), value)
    except (TypeError, ValueError):
        return None
'''


def stub_functions(module: Path) -> set[str]:
    """Qualified names (``f``, ``Class.method``) of the functions of ``module`` whose body ends with
    ``raise NotImplementedError()`` (a stub: what comes before is given code, such as an import)."""
    found: set[str] = set()

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                last = child.body[-1]
                if isinstance(last, ast.Raise) and last.exc is not None and ast.unparse(last.exc) in (
                        "NotImplementedError", "NotImplementedError()"):
                    found.add(prefix + child.name)

    visit(ast.parse(module.read_text()), "")
    return found


def trivialise(module: Path, stubs: set[str], body: str) -> None:
    """Give every function of ``module`` named in ``stubs`` the trivial ``body`` (``__init__`` gets ``return None``),
    keeping the docstrings, and append the helper the bodies may call."""
    source = module.read_text()
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, last line, replacement), 0-based, inclusive

    def visit(node, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and prefix + child.name in stubs:
                args = [a.arg for a in child.args.posonlyargs + child.args.args]
                is_static = any(ast.unparse(d) == "staticmethod" for d in child.decorator_list)
                if in_class and not is_static:
                    args = args[1:]
                arg = args[0] if args else "None"
                text = "return None" if child.name == "__init__" else body.format(arg=arg)
                first = child.body[0]
                keep_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str)
                start = (first.end_lineno if keep_doc else first.lineno - 1)  # 0-based line after the docstring
                indent = " " * child.body[-1].col_offset
                edits.append((start, child.end_lineno - 1, f"{indent}{text}\n"))

    visit(ast.parse(source), "", False)
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end + 1] = [text]
    text = "".join(lines) + HELPER
    compile(text, str(module), "exec")  # still a module that imports
    module.write_text(text)


def make_trivial(dest: Path, body: str) -> Path:
    """A copy of solutions/ in ``dest`` whose exercise functions all have the trivial ``body``."""
    shutil.copytree(ROOT / "solutions", dest)
    for chapter in list_chapters(ROOT / "exercises"):
        stubs = stub_functions(ROOT / "exercises" / chapter.name / f"{chapter.module}.py")
        assert stubs, f"{chapter.number}: no exercise function found in exercises/{chapter.name}"
        module = dest / chapter.name / f"{chapter.module}.py"
        trivialise(module, stubs, body)
        assert stub_functions(module) == set(), module
        (dest / chapter.name / f"{chapter.module}.ipynb").unlink(missing_ok=True)  # the module is the work
    return dest


def grade(submission: Path, out: Path) -> subprocess.CompletedProcess:
    """``dlcourse grade`` of every chapter of ``submission``, results.json written to ``out``."""
    return subprocess.run([sys.executable, "-m", "dlcourse.cli", "grade", str(submission), "--seed", SEED,
                           "--json", str(out)], check=False, capture_output=True, text=True, timeout=900, cwd=ROOT)


def test_trivial_bodies_score_nothing(tmp_path):
    """Each trivial body graded over all chapters (the runs in parallel): not a single point anywhere."""
    runs = {}
    for name, body in BODIES.items():
        runs[name] = (make_trivial(tmp_path / name / "sub", body), tmp_path / name / "results.json")
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        procs = dict(zip(runs, pool.map(lambda r: grade(*r), runs.values())))
    problems = []
    chapters = {c.number for c in list_chapters(ROOT / "solutions")}
    for name, proc in procs.items():
        assert proc.returncode == 0, f"grading the {name!r} bodies failed to run:\n{proc.stdout}\n{proc.stderr}"
        results = json.loads(runs[name][1].read_text())
        graded = {t["name"].split(" ", 1)[0] for t in results["tests"]}
        assert graded == chapters, f"{name}: graded chapters {sorted(graded)}, expected {sorted(chapters)}"
        for t in results["tests"]:
            if t["score"] > 0:
                chapter, _, title = t["name"].partition(" ")
                problems.append(f"{name} bodies: chapter {chapter}, test {title!r}: {t['score']:g} of "
                                f"{t['max_score']:g} points")
    assert not problems, "tests that give points to code that does nothing:\n" + "\n".join(problems)
