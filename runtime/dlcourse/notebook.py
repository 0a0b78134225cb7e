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

import hashlib
import importlib.abc
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import testrun
from .chapters import CHAPTER_RE, Chapter
from .nbmodule import ModuleCode, module_code, read_code_cells, setup_call

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
    there is no module), then in the folders an installed grader offers (the reference solutions, on an
    instructor's machine or under nbgrader's autograde). Graders never rely on this: they grade each chapter
    with the reference modules of the earlier ones.
    """

    current: Chapter | None = None

    def _candidates(self, name: str):
        places = [Path.cwd().parent]
        references = _grader_hook("references")
        if references is not None:
            try:
                places += [Path(p) for p in references()]
            except Exception:  # noqa: BLE001 - the student's own folders still work
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
