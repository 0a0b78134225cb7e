"""Chapter notebooks: which cells make up the student's module, and the helpers the test cells call.

A chapter notebook (``exercises/<chapter>/<topic>.ipynb``) holds the same functions as the stub module
``<topic>.py``. Whoever grades it (``dlcourse grade``, nbgrader's autograde, the test cells themselves)
first turns the notebook back into that module with one rule, :func:`module_code`:

* the read-only module cells, whose first line is ``# <topic>.py: ...`` (the imports, any module-level code);
* for every function (or class) of the chapter, the *last* cell that defines it at top level, whole (so a
  helper written in the same cell comes along);
* cells holding only imports, functions and classes that define a name those cells use (a helper in a cell
  of its own, an ``import math`` cell), found transitively;

in the order they come in (the notebook's order for a file, the order of execution in a kernel). Demo and
plotting cells are never part of the module. A cell that is not valid Python is left out with a note.

In a running notebook the rule reads the kernel's input history, so what is graded is what the kernel has
defined; from a file it reads the code cells. A notebook executed top to bottom gives the same module both
ways, which is why ``dlcourse grade`` on a notebook and nbgrader's autograde give the same points.

The test cells call :func:`visible_tests` and :func:`hidden_tests`:

* on a machine with the kit's grader (an instructor, CI, nbgrader's autograde): the module is written to a
  temporary submission and graded by ``dlcourse grade`` in a separate process, with the same visible and
  hidden suites and the same sandbox as any module submission; one run serves both cells;
* at home (the student's install has no hidden suites): the visible tests beside the notebook run against
  the module, as ``dlcourse check`` runs them.

Each returns the points earned as a float, which nbgrader reads as the cell's partial credit; nothing is
written to stderr (nbgrader gives 0 to a test cell with stderr output).
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.abc
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .chapters import CHAPTER_RE, Chapter, ChapterError, is_chapter_dir

TRUSTED_ENV = "DLCOURSE_TRUSTED_GRADES"  # set by the TrustedGrades preprocessor: it grades after the run
SEED_ENV = "DLCOURSE_SEED"


class NotebookError(ValueError):
    """A notebook file that cannot be read as a chapter notebook; the message is one line."""


def module_marker(topic: str) -> str:
    """First line prefix of the read-only cells that belong to the module (imports, module-level code)."""
    return f"# {topic}.py:"


@dataclass
class ModuleCode:
    source: str
    notes: list[str] = field(default_factory=list)  # cells left out (syntax errors), for feedback


def _defined(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return set()


def _used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _definition_only(tree: ast.Module) -> bool:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return all(isinstance(s, kinds) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in tree.body)


def module_code(cells: list[str], topic: str, names) -> ModuleCode:
    """The module a chapter's cells define (see the module docstring for the rule).

    ``cells``: code cell sources in order (already plain Python: see :func:`python_source`); ``names``: the
    functions and classes of the chapter's master module.
    """
    marker = module_marker(topic)
    trees: list[ast.Module | None] = []
    notes = []
    for i, src in enumerate(cells):
        try:
            trees.append(ast.parse(src))
        except (SyntaxError, ValueError) as exc:
            trees.append(None)
            if src.lstrip().startswith(marker) or any(re.search(rf"\b(def|class)\s+{re.escape(n)}\b", src)
                                                      for n in names):
                line = getattr(exc, "lineno", None)
                where = f" (line {line} of the cell)" if line else ""
                notes.append(f"a cell defining your code has a syntax error{where}: "
                             f"{getattr(exc, 'msg', exc)}; it was left out")
    defines = [set().union(*map(_defined, t.body)) if t else set() for t in trees]
    chosen: set[int] = set()
    last_marker: dict[str, int] = {}
    for i, src in enumerate(cells):
        if trees[i] is not None and src.lstrip().startswith(marker):
            last_marker[src.strip()] = i  # a re-run cell appears once, at its last run
    chosen |= set(last_marker.values())
    for name in names:
        where = [i for i, d in enumerate(defines) if name in d and trees[i] is not None]
        if where:
            chosen.add(where[-1])
    # Helpers the chosen cells use, from cells that only define things (never a demo or a plot).
    while True:
        have = set().union(*(defines[i] for i in chosen)) if chosen else set()
        wanted = set().union(*(_used(trees[i]) for i in chosen)) if chosen else set()
        missing = wanted - have - set(dir(builtins))
        extra = set()
        for name in missing:
            where = [i for i, d in enumerate(defines) if name in d and trees[i] is not None
                     and _definition_only(trees[i])]
            if where and where[-1] not in chosen:
                extra.add(where[-1])
        if not extra:
            break
        chosen |= extra
    body = "\n\n".join(cells[i].rstrip() for i in sorted(chosen))
    header = f'"""{topic}.py, as defined by the cells of a chapter notebook."""\n'
    return ModuleCode(header + body + "\n", notes)


def python_source(cell_source: str) -> str:
    """A cell as plain Python: IPython's own transformer turns ``%magic`` and ``!cmd`` lines into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: magics are left as they are (such a cell will not parse)
        return cell_source
    try:
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - malformed input: the parser will report it
        return cell_source


def read_code_cells(path: Path) -> list[str]:
    """The code cells of a notebook file as plain Python; :class:`NotebookError` if it is not a notebook."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook (invalid JSON at line {exc.lineno}: "
                            f"{exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:100]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{Path(path).name} is not a Jupyter notebook (no list of cells)")
    out = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if not isinstance(src, str):
            raise NotebookError(f"{Path(path).name} has a code cell whose source is not text")
        out.append(python_source(src))
    return out


def chapter_names(master_source: str) -> list[str]:
    """Functions and classes defined at the top level of a master module, in order."""
    return [n.name for n in ast.parse(master_source).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def setup_call(cells: list[str]) -> tuple[str, list[str]] | None:
    """``(chapter, defines)`` from a notebook's ``setup("ch..", defines=[...])`` cell, if it has one."""
    for src in cells:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                try:
                    defines = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "defines"), [])
                except ValueError:
                    defines = []
                return str(node.args[0].value), list(defines)
    return None


def module_from_notebook(path: Path, topic: str, names) -> ModuleCode:
    return module_code(read_code_cells(path), topic, names)


# --------------------------------------------------------------------------------------------------------
# In the kernel: setup, earlier chapters, and the test cells.

@dataclass
class _Session:
    chapter: Chapter
    defines: list[str]
    results: dict[str, dict] = field(default_factory=dict)  # module hash -> graded results


_session: _Session | None = None


def setup(chapter: str, defines=()) -> None:
    """First code cell of every chapter notebook: remember the chapter, make earlier chapters importable."""
    global _session
    _session = _Session(Chapter.from_name(chapter), list(defines))
    finder = next((f for f in sys.meta_path if isinstance(f, EarlierChapters)), None)
    if finder is None:
        finder = EarlierChapters()
        sys.meta_path.append(finder)
    finder.current = _session.chapter


class EarlierChapters(importlib.abc.MetaPathFinder):
    """Imports of earlier chapters' modules (``from sigmoid import sigmoid``) in a chapter notebook.

    Looked up in the chapter folders beside this notebook's folder (the student's own work: the module
    ``<topic>.py``, or the notebook ``<topic>.ipynb`` when it was saved more recently than the module or
    there is no module), then in the kit's reference solutions where the kit is installed (an instructor's
    machine, nbgrader's autograde). The grader never relies on this: it grades each chapter with the
    reference modules of the earlier ones.
    """

    current: Chapter | None = None

    def _candidates(self, name: str):
        places = [Path.cwd().parent]
        try:
            from .chapters import repo_root

            places.append(repo_root() / "solutions")
        except Exception:  # noqa: BLE001
            pass
        for base in places:
            if not base.is_dir():
                continue
            for folder in sorted(base.iterdir()):
                m = CHAPTER_RE.match(folder.name)
                if m and m.group(3) == name and folder.is_dir():
                    yield folder

    def find_spec(self, name, path=None, target=None):
        if path is not None or "." in name or self.current is None or name == self.current.topic:
            return None
        for folder in self._candidates(name):
            py, nb = folder / f"{name}.py", folder / f"{name}.ipynb"
            use_nb = nb.is_file() and (not py.is_file() or nb.stat().st_mtime > py.stat().st_mtime)
            if use_nb:
                return importlib.util.spec_from_loader(name, _NotebookLoader(nb, name), origin=str(nb))
            if py.is_file():
                return importlib.util.spec_from_file_location(name, py)
        return None


class _NotebookLoader(importlib.abc.Loader):
    def __init__(self, path: Path, topic: str):
        self.path, self.topic = path, topic

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        cells = read_code_cells(self.path)
        found = setup_call(cells)
        names = found[1] if found else []
        code = module_code(cells, self.topic, names).source
        module.__file__ = str(self.path)
        exec(compile(code, str(self.path), "exec"), module.__dict__)


def _kernel_cells() -> list[str]:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise RuntimeError("visible_tests() and hidden_tests() run inside a Jupyter notebook")
    return [c for c in shell.history_manager.input_hist_parsed if isinstance(c, str)]


def _current() -> _Session:
    if _session is None:
        raise RuntimeError("run the notebook's first code cell (the setup cell) before the tests")
    return _session


def _kit_has_hidden(chapter: Chapter) -> bool:
    try:
        from autograder.engine import Kit
    except ImportError:
        return False
    kit = Kit()
    return (kit.source / chapter.name).is_dir() and (kit.hidden / chapter.name).is_dir()


def _points(x: float) -> float:
    return float(round(x, 6))


def summary(results: list[dict], title: str) -> tuple[str, float]:
    """A test cell's printout (one line per test, the failures explained) and the points earned."""
    got, top = sum(r["score"] for r in results), sum(r["max_score"] for r in results)
    lines = [f"{title}: {got:g} of {top:g} points"]
    for r in results:
        if r["max_score"] == 0:
            lines.append(f"  -  {r['name']}: {(r['output'] or 'skipped').splitlines()[0]}")
        elif r["score"] >= r["max_score"]:
            lines.append(f"  ok {r['name']}")
        else:
            lines.append(f"  x  {r['name']}")
            text = [ln for ln in (r["output"] or "").splitlines() if ln.strip()][:6]
            lines += ["       " + ln.removeprefix("E ").strip() for ln in text]
    return "\n".join(lines), _points(got)


def split_results(data: dict, kind: str) -> list[dict]:
    """The visible (``kind="visible"``) or hidden tests of a ``dlcourse grade --json`` result, names without the
    chapter number."""
    want = "visible" if kind == "visible" else "after_published"
    return [{**t, "name": t["name"].split(" ", 1)[-1]} for t in data["tests"] if t["visibility"] == want]


def grade_module(chapter: Chapter, source: str, seed: int | str = 0) -> dict:
    """Grade one chapter's module text with ``dlcourse grade`` in another process; its results.json as a dict."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-nb-") as tmp:
        folder = Path(tmp) / "submission" / chapter.name
        folder.mkdir(parents=True)
        (folder / f"{chapter.module}.py").write_text(source)
        out = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", "dlcourse.cli", "grade", str(folder.parent), "--chapters", chapter.number,
               "--seed", str(seed), "--json", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not out.exists():
            why = (proc.stderr or proc.stdout).strip().splitlines()
            raise RuntimeError(f"the grader could not run: {why[-1] if why else proc.returncode}")
        data = json.loads(out.read_text())
    return data


def _graded(session: _Session, code: ModuleCode) -> dict:
    key = hashlib.sha256(code.source.encode()).hexdigest()
    if key not in session.results:
        session.results[key] = grade_module(session.chapter, code.source, os.environ.get(SEED_ENV, "0"))
    return session.results[key]


def _run(kind: str) -> float:
    session = _current()
    ch = session.chapter
    title = f"{'Visible' if kind == 'visible' else 'Hidden'} tests of chapter {ch.number} {ch.topic}"
    if os.environ.get(TRUSTED_ENV) and os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(f"{title}: graded by the grader process after this notebook has run; "
              "the results replace this text in the feedback.")
        return 0.0
    code = module_code(_kernel_cells(), ch.topic, session.defines)
    for note in code.notes:
        print(f"note: {note}")
    if _kit_has_hidden(ch):
        text, points = summary(split_results(_graded(session, code), kind), title)
    elif kind == "hidden":
        text, points = f"{title}: they run when your notebook is graded.", 0.0
    else:
        text, points = summary(_home_visible(ch, code), title)
    print(text)
    return points


def visible_tests() -> float:
    """The chapter's visible tests on the functions defined above; returns the points earned."""
    return _run("visible")


def hidden_tests() -> float:
    """The chapter's hidden tests (only where the kit's hidden suites are installed); returns the points."""
    return _run("hidden")


class _Collect:
    """pytest plugin for home runs: one entry per test, as the grader reports them."""

    def __init__(self):
        self.results: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report):
        entry = self.results.setdefault(report.nodeid, {"name": getattr(report, "dlcourse_title", report.nodeid),
                                                        "score": 0.0, "output": "",
                                                        "max_score": getattr(report, "dlcourse_points", 1.0)})
        if report.when == "call" and report.passed:
            entry["score"] = entry["max_score"]
        if report.skipped:
            entry["score"] = entry["max_score"] = 0.0
            entry["output"] = "skipped"
        elif report.failed:
            entry["score"] = 0.0
            entry["output"] = (entry["output"] + "\n" + report.longreprtext.strip()).strip()[-3000:]


def _visible_test_files(ch: Chapter) -> list[Path]:
    here = sorted(Path.cwd().glob("test_*.py"))
    if here:
        return here
    from .chapters import repo_root

    return sorted((repo_root() / "source" / ch.name).glob("test_*.py"))


def _home_visible(ch: Chapter, code: ModuleCode) -> list[dict]:
    tests = _visible_test_files(ch)
    if not tests:
        print(f"no visible tests found: keep test_{ch.topic}.py in the notebook's folder")
        return []
    tmp = Path(tempfile.mkdtemp(prefix="dlcourse-nb-"))
    folder = tmp / ch.name
    folder.mkdir()
    (folder / f"{ch.module}.py").write_text(code.source)
    for t in tests:
        shutil.copyfile(t, folder / t.name)
    collector = _Collect()
    saved_path, had = list(sys.path), sys.modules.pop(ch.module, None)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pytest.main(["-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=",
                         "--rootdir", str(tmp), str(folder)], plugins=[collector])
    finally:
        sys.path[:] = saved_path
        sys.modules.pop(ch.module, None)
        if had is not None:
            sys.modules[ch.module] = had
        shutil.rmtree(tmp, ignore_errors=True)
    return list(collector.results.values())


def chapter_of_notebook(path: Path) -> Chapter | None:
    """The chapter of a notebook file: its setup cell, else its folder name."""
    try:
        found = setup_call(read_code_cells(path))
    except NotebookError:
        found = None
    if found:
        try:
            return Chapter.from_name(found[0])
        except ChapterError:
            pass
    folder = Path(path).resolve().parent
    return Chapter.from_name(folder.name) if is_chapter_dir(folder) else None
