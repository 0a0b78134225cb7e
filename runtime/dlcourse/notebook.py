"""Chapter notebooks in a running kernel: the setup cell, imports of earlier chapters, and the test cells.

The module a notebook defines is found by the rule of :mod:`dlcourse.nbmodule`, from the kernel's input
history (what the kernel has defined). The test cells call :func:`visible_tests` and :func:`hidden_tests`:

* where a grader is installed beside this package (an instructor, CI, nbgrader's autograde; it registers
  itself under the entry-point group ``dlcourse.notebook``), the module is graded by it, with the same visible
  and hidden suites and the same sandbox as any module submission; one run serves both cells;
* at home (a student's install has no grader): the visible tests beside the notebook run against the module,
  as ``dlcourse check`` runs them.

Each returns the points earned as a float, which nbgrader reads as the cell's partial credit; nothing is
written to stderr (nbgrader gives 0 to a test cell with stderr output).
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import testrun
from .chapters import Chapter
from .nbmodule import ModuleCode, module_code
from .work import ChapterFinder, work_in

TRUSTED_ENV = "DLCOURSE_TRUSTED_GRADES"  # set by a grader that scores the notebook itself after the run
SEED_ENV = "DLCOURSE_SEED"
GRADER_GROUP = "dlcourse.notebook"  # entry points: "grade" (chapter, source, seed) and "references" ()


def _grader_hook(name: str):
    """The installed grader's ``name`` hook, or None where no grader is installed (a student's machine)."""
    for ep in importlib.metadata.entry_points(group=GRADER_GROUP, name=name):
        try:
            return ep.load()
        except Exception:  # noqa: BLE001 - a broken grader install must not break a student's notebook
            return None
    return None


@dataclass
class _Session:
    chapter: Chapter
    defines: list[str]
    results: dict[str, list] = field(default_factory=dict)  # module hash -> graded results


_session: _Session | None = None


def setup(chapter: str, defines=()) -> None:
    """First code cell of every chapter notebook: remember the chapter, make earlier chapters importable.

    Imports of other chapters' modules (``from sigmoid import sigmoid``) are found in the chapter folders beside
    this notebook's folder (the student's own work: each chapter's module or notebook, by the rule of
    :mod:`dlcourse.work`), then in the folders an installed grader offers (the reference solutions, on an
    instructor's machine or under nbgrader's autograde). Graders never rely on this: they grade each chapter
    with the reference modules of the earlier ones.
    """
    global _session
    _session = _Session(Chapter.from_name(chapter), list(defines))
    finder = next((f for f in sys.meta_path if isinstance(f, ChapterFinder)), None)
    if finder is None:
        roots = [Path.cwd().parent]
        references = _grader_hook("references")
        if references is not None:
            try:
                roots += [Path(p) for p in references()]
            except Exception:  # noqa: BLE001 - the student's own folders still work
                pass
        finder = ChapterFinder(roots)
        sys.meta_path.insert(0, finder)
    finder.current = _session.chapter
    _install_guard()


def is_stub(fn) -> bool:
    """A function whose whole body raises NotImplementedError (an exercise not written yet)."""
    code = getattr(fn, "__code__", None)
    return code is not None and tuple(code.co_names) == ("NotImplementedError",)


class EarlierChapterGuard:
    """An IPython input transformer: a demo cell that would call an unwritten function of an EARLIER chapter, or
    import a package this machine lacks (5.2's PyTorch), is replaced by one line saying which chapter to finish
    or what to install (in full the first time), and so is a later cell that uses what such a cell would have
    defined; so "Run all" goes on to the end instead of stopping at the first NotImplementedError or
    ModuleNotFoundError. Cells that only define functions are never touched, nor calls of this chapter's own
    functions (their tests say what to write)."""

    def __init__(self, shell):
        self.shell = shell
        self.told: set[str] = set()  # chapters already named in full
        self.unavailable: dict[str, str] = {}  # names a skipped cell would have defined -> the chapter it needs
        self.last: tuple[tuple, list[str]] | None = None

    def _needs(self, name: str, imported: dict) -> str | None:
        if name in self.unavailable:
            return self.unavailable[name]
        value = imported[name] if name in imported else self.shell.user_ns.get(name)
        topic = getattr(value, "__module__", None)
        if _session is None or topic in (None, _session.chapter.topic) or not callable(value):
            return None
        target = getattr(value, "__init__", None) if isinstance(value, type) else value
        if not is_stub(target):
            return None
        folder = next((p for p in Path.cwd().parent.glob(f"ch*_{topic}") if p.is_dir()), None)
        return f"{Chapter.from_name(folder.name).number} ({name})" if folder else f"{topic}.py ({name})"

    @staticmethod
    def _imported(statements) -> dict:
        """What the cell's own ``from <other chapter> import ...`` lines bring in (the student's modules)."""
        found = {}
        for s in statements:
            if isinstance(s, ast.ImportFrom) and s.module and s.level == 0 and "." not in s.module \
                    and _session is not None and s.module != _session.chapter.topic:
                try:
                    module = importlib.import_module(s.module)
                except Exception:  # noqa: BLE001 - the cell itself will say what is wrong
                    continue
                found |= {a.asname or a.name: getattr(module, a.name, None) for a in s.names}
        return found

    def __call__(self, lines: list[str]) -> list[str]:
        # IPython may transform one cell more than once before running it (to decide whether to run it async):
        # the same cell gets the same answer, and the state moves once.
        source = "".join(lines)
        key = (source, getattr(self.shell, "execution_count", None))
        if self.last is not None and self.last[0] == key:
            return self.last[1]
        result = self._transform(source, lines)
        self.last = (key, result)
        return result

    def _transform(self, source: str, lines: list[str]) -> list[str]:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return lines
        top = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assigned = {n.id for s in top for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        used = [n.id for s in top for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        assigned |= {(a.asname or a.name).partition(".")[0] for s in top if isinstance(s, (ast.Import, ast.ImportFrom))
                     for a in s.names}
        imported = self._imported(top)
        need = _missing_package(top) or next(
            (found for found in (self._needs(name, imported) for name in used) if found), None)
        if need is None:
            for name in assigned:
                self.unavailable.pop(name, None)
            return lines
        for name in assigned:
            self.unavailable[name] = need
        key = need.split(" ", 1)[0]
        package = key in PACKAGES
        if key in self.told:
            message = (f"(skipped: this cell needs {PACKAGES[key]}, not installed)" if package
                       else f"(skipped: this cell needs chapter {need}, not written yet)")
        else:
            self.told.add(key)
            if package:
                message = (f"This cell needs {PACKAGES.get(key, key)}, which is not installed: "
                           f"{INSTALL.get(key, f'pip install {key}')}, then run this notebook again. "
                           "Until then, the cells that need it are skipped.")
            else:
                message = (f"This cell needs chapter {need}, which is not implemented yet: finish chapter {key}, "
                           "then run this notebook again. Until then, the cells that need it are skipped.")
        return [f"print({message!r})\n"]


PACKAGES = {"torch": "PyTorch"}  # the optional packages a lesson's demo may import, by their import name
INSTALL = {"torch": "pip install -e '.[torch]' (the CPU build is enough)"}


def _missing_package(statements) -> str | None:
    """The first optional package (:data:`PACKAGES`) a cell imports that cannot be imported here, or None."""
    for s in statements:
        names = [a.name for a in s.names] if isinstance(s, ast.Import) else (
            [s.module] if isinstance(s, ast.ImportFrom) and s.module and s.level == 0 else [])
        for top in (n.partition(".")[0] for n in names):
            if top in PACKAGES and sys.modules.get(top) is None:  # None there: its import fails
                try:
                    importlib.import_module(top)
                except ImportError:
                    return top
    return None


def _install_guard() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and not any(isinstance(t, EarlierChapterGuard) for t in shell.input_transformers_post):
        shell.input_transformers_post.append(EarlierChapterGuard(shell))


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


def _points(x: float) -> float:
    return float(round(x, 6))


def summary(results: list[testrun.TestResult], title: str) -> tuple[str, float]:
    """A test cell's printout (one line per test, the failures explained) and the points earned."""
    got, top = sum(r.score for r in results), sum(r.max_score for r in results)
    lines = [f"{title}: {got:g} of {top:g} points"]
    for r in results:
        if r.status == "skipped" or r.max_score == 0:
            lines.append(f"  -  {r.title}: {r.headline() or 'skipped'}")
        elif r.passed:
            lines.append(f"  ok {r.title}")
        else:
            lines.append(f"  x  {r.title}")
            lines += ["       " + ln.strip() for ln in r.lines(6)]
    return "\n".join(lines), _points(got)


def _graded(session: _Session, code: ModuleCode) -> list[testrun.TestResult] | None:
    """The installed grader's results for the module (visible and hidden tests), or None without a grader (or
    one that has no suites for this chapter)."""
    grade = _grader_hook("grade")
    if grade is None:
        return None
    key = hashlib.sha256(code.source.encode()).hexdigest()
    if key not in session.results:
        found = grade(session.chapter.name, code.source, os.environ.get(SEED_ENV, "0"))
        session.results[key] = None if found is None else [testrun.TestResult.from_dict(d) for d in found]
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
    here = work_in(Path.cwd(), ch) if Path.cwd().name == ch.name else None
    if here is not None and here.note:  # the .py beside was edited too: say which one is graded
        print(f"note: {here.note}")
    graded = _graded(session, code)
    if graded is not None:
        text, points = summary([r for r in graded if r.hidden == (kind == "hidden")], title)
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
    """The chapter's hidden tests (only where a grader is installed); returns the points."""
    return _run("hidden")


def _home_visible(ch: Chapter, code: ModuleCode) -> list[testrun.TestResult]:
    """The visible tests beside the notebook (the current folder), run on ``code`` in a scratch copy."""
    tests = sorted(Path.cwd().glob("test_*.py"))
    if not tests:
        print(f"no visible tests found: keep test_{ch.topic}.py in the notebook's folder")
        return []
    tmp = Path(tempfile.mkdtemp(prefix="dlcourse-nb-"))
    folder = tmp / ch.name
    folder.mkdir()
    (folder / f"{ch.module}.py").write_text(code.source)
    for t in tests:
        shutil.copyfile(t, folder / t.name)
    collector = testrun.Collector()
    saved_path, had = list(sys.path), sys.modules.pop(ch.module, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            testrun.run([folder], collector, rootdir=tmp)
    finally:
        sys.path[:] = saved_path
        sys.modules.pop(ch.module, None)
        if had is not None:
            sys.modules[ch.module] = had
        shutil.rmtree(tmp, ignore_errors=True)
    return collector.ordered()
