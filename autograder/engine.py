"""Grade a submission: the chapters' visible and hidden pytest suites, run in this (trusted) process.

The suites never import the submission: the ``student`` fixture hands them a proxy to a sandboxed worker
per chapter (:mod:`autograder.sandbox`). A chapter's worker holds only that chapter's files from the
submission and the reference modules of earlier chapters, so a bug in 1.3 cannot fail 3.4. Scores are
assembled here from pytest's own reports, never from anything the worker wrote.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dlcourse.chapters import Chapter, is_chapter_dir, list_chapters, repo_root

from .sandbox.launcher import Limits
from .sandbox.proxy import ChapterRunner

AUTOGRADER = Path(__file__).resolve().parent


class GradingError(Exception):
    """The grader itself cannot run (missing path, not a submission); the message is one line for a person."""


@dataclass
class TestResult:
    chapter: Chapter
    title: str
    score: float
    max_score: float
    output: str
    hidden: bool

    @property
    def name(self) -> str:
        return f"{self.chapter.number} {self.title}"

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class Report:
    results: list[TestResult] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    data: str = ""  # which MNIST training set the thresholds were taken for, when a suite used it
    notes: dict[str, str] = field(default_factory=dict)  # chapter name -> a line about the whole chapter

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)


@dataclass
class Kit:
    """Where the suites and reference modules are (defaults: this repository)."""

    source: Path = field(default_factory=lambda: repo_root() / "source")
    solutions: Path = field(default_factory=lambda: repo_root() / "solutions")
    hidden: Path = AUTOGRADER
    exercises: Path = field(default_factory=lambda: repo_root() / "exercises")

    def chapters(self) -> list[Chapter]:
        return list_chapters(self.source)

    def suites(self, chapter: Chapter) -> list[Path]:
        visible = sorted((self.source / chapter.name).glob("test_*.py"))
        hidden = sorted((self.hidden / chapter.name).glob("test_*.py"))
        return visible + hidden


def chapter_notebook(folder: Path, chapter: Chapter) -> Path | None:
    """The chapter's notebook in a submission folder: ``<topic>.ipynb``, else the folder's only notebook."""
    named = folder / f"{chapter.module}.ipynb"
    if named.is_file():
        return named
    found = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    return found[0] if len(found) == 1 else None


def _untouched_stub(py: Path, chapter: Chapter, kit: Kit) -> bool:
    stub = kit.exercises / chapter.name / py.name
    try:
        return stub.is_file() and py.read_bytes() == stub.read_bytes()
    except OSError:
        return False


def submission_files(submission: Path, chapter: Chapter, kit: Kit, scratch: Path,
                     notes: dict[str, str] | None = None) -> tuple[dict[str, Path], str | None]:
    """Files the chapter's worker gets, and the reason the chapter cannot be graded (or None).

    The chapter's own ``.py`` files come from the submission (tests and conftest excluded); every earlier
    chapter's module comes from the reference solutions. A chapter submitted as a notebook (nbgrader's
    layout, or a folder per chapter holding ``<topic>.ipynb``) is turned into ``<topic>.py`` in ``scratch``
    by the rule of :func:`dlcourse.notebook.module_code` (the caller owns ``scratch`` and removes it); the
    notebook is used when there is no module, or when the module is still the release's untouched stub.
    """
    folder = submission / chapter.name
    files: dict[str, Path] = {}
    for earlier in kit.chapters():
        if earlier < chapter:
            ref = kit.solutions / earlier.name / f"{earlier.module}.py"
            if ref.exists():
                files[ref.name] = ref
    if not folder.is_dir():
        return files, f"chapter {chapter.number} is not in the submission (no folder {chapter.name}/)"
    py = folder / f"{chapter.module}.py"
    notebook = chapter_notebook(folder, chapter)
    if notebook is not None and (not py.is_file() or _untouched_stub(py, chapter, kit)):
        from dlcourse.notebook import NotebookError, chapter_names, module_from_notebook

        try:
            names = chapter_names((kit.source / chapter.name / f"{chapter.module}.py").read_text())
            code = module_from_notebook(notebook, chapter.module, names)
        except NotebookError as exc:
            return files, f"{chapter.name}/{exc}"
        target = scratch / chapter.name / py.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code.source)
        files[py.name] = target
        if code.notes and notes is not None:
            notes[chapter.name] = f"{notebook.name}: " + "; ".join(code.notes)
        return files, None
    if not py.is_file():
        return files, f"no {chapter.module}.py (nor {chapter.module}.ipynb) in {chapter.name}/ of the submission"
    for path in sorted(folder.glob("*.py")):
        if not path.name.startswith("test_") and path.name != "conftest.py":
            files[path.name] = path
    return files, None


def _shorten(text: str, limit: int = 3000) -> str:
    """Keep a long message's head (what failed) and tail (the hint), dropping the middle (a huge array)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


def _failure_text(report) -> str:
    """What a student sees of a failure: the message only, never the suite's source lines (a plain
    ``assert`` in a hidden suite would otherwise show the hidden test's code in the feedback)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return crash.message.strip().removeprefix("Failed: ")
    return report.longreprtext.strip()


class _Collector:
    """pytest plugin: hands out the proxies and records one result per test."""

    def __init__(self, runners: dict[str, ChapterRunner], hidden_root: Path):
        self.runners, self.hidden_root = runners, hidden_root.resolve()
        self.results: dict[str, TestResult] = {}
        self.errors: list[str] = []
        self.uses_mnist = False

    def pytest_configure(self, config):
        config._dlcourse_runners = self.runners
        self.rootpath = Path(config.rootpath)

    def _is_hidden(self, fspath) -> bool:
        """Whether a report's file (its path is relative to pytest's rootdir, not to the cwd) is a hidden suite."""
        return self.hidden_root in (self.rootpath / fspath).resolve().parents

    def pytest_collection_modifyitems(self, items):
        # Test callbacks handed to student functions (the f of a numerical gradient) are defined in the
        # suites, which the worker cannot import: send those modules' functions by value.
        import cloudpickle

        self.uses_mnist = any("mnist" in getattr(item, "fixturenames", ()) for item in items)
        for module in {item.module for item in items if getattr(item, "module", None) is not None}:
            cloudpickle.register_pickle_by_value(module)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")
        elif report.skipped:  # a whole suite skipped (e.g. PyTorch not installed): one zero-point entry
            from dlcourse.chapters import chapter_of_path

            chapter = chapter_of_path(Path(report.fspath))
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            if chapter is not None:
                title = f"{Path(report.fspath).stem} skipped"
                self.results[report.nodeid] = TestResult(chapter, title, 0.0, 0.0, f"skipped: {reason.removeprefix('Skipped: ')}",
                                                         self._is_hidden(report.fspath))

    def pytest_runtest_logreport(self, report):
        from dlcourse.chapters import chapter_of_path

        path = Path(report.fspath)
        chapter = chapter_of_path(path)
        if chapter is None:
            return
        item_title = getattr(report, "dlcourse_title", report.nodeid.split("::")[-1])
        points = getattr(report, "dlcourse_points", 1.0)
        hidden = self._is_hidden(report.fspath)
        res = self.results.get(report.nodeid)
        if res is None:
            res = self.results[report.nodeid] = TestResult(chapter, item_title, 0.0, points, "", hidden)
        if report.when == "call" and report.passed:
            res.score = points
        if report.skipped:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            res.score, res.max_score, res.output = 0.0, 0.0, f"skipped: {reason}"
        elif report.failed:
            res.score = 0.0
            res.output = _shorten((res.output + "\n" + _failure_text(report)).strip())


def _describe_data() -> str:
    from dlcourse.mnist import MnistError, find_data_dir, training_set

    try:
        return f"MNIST training set {training_set()} from {find_data_dir()}"
    except MnistError:
        return "MNIST not found (the tests that need it failed; see `dlcourse data`)"


def find_chapters(submission: Path, kit: Kit) -> list[Chapter]:
    if not submission.exists():
        raise GradingError(f"{submission} does not exist")
    if not submission.is_dir():
        raise GradingError(f"{submission} is not a folder; a submission is a folder shaped like exercises/")
    known = {c.name for c in kit.chapters()}
    present = [p.name for p in submission.iterdir() if is_chapter_dir(p) and p.name in known]
    if not present:
        raise GradingError(f"{submission} is not a submission: it has none of the chapter folders "
                           f"({', '.join(sorted(known)[:3])}, ...)")
    return kit.chapters()


def grade(submission: Path, chapters: list[Chapter], *, seed: int = 0, budget: float = 60.0,
          kit: Kit | None = None, limits: Limits | None = None, hide_also: tuple[Path, ...] = ()) -> Report:
    """Grade ``chapters`` of ``submission``; every test of those chapters gets a result.

    ``hide_also``: more folders the submission's code must not see (other students' submissions, the
    gradebook being written), besides the kit and the submission itself.
    """
    from .sandbox.launcher import isolation_level

    kit = kit or Kit()
    submission = submission.resolve()
    start = time.monotonic()
    hide = sorted({p.resolve() for p in (repo_root(), kit.source, kit.solutions, kit.hidden, submission,
                                         *hide_also)})
    runners: dict[str, ChapterRunner] = {}
    report = Report(chapters=chapters, isolation=isolation_level())
    paths: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-notebooks-"))  # modules made from notebooks
    hide.append(scratch)
    for chapter in chapters:
        files, problem = submission_files(submission, chapter, kit, scratch, report.notes)
        runner = runners[chapter.name] = ChapterRunner(chapter.module, files, hide, budget, limits)
        runner.failure = problem
        if problem:
            report.notes[chapter.name] = problem
        paths += [str(p) for p in kit.suites(chapter)]
    collector = _Collector(runners, kit.hidden)
    args = ["-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=",
            "--rootdir", str(kit.source.parent), "--dlcourse-seed", str(seed), "-W", "default", *paths]
    sink = io.StringIO()
    # Only our plugin: third-party ones installed beside the grader (hypothesis, randomly, ...) cost start-up
    # time and could reorder or alter the suites.
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main(["-p", "dlcourse.pytest_plugin", *args], plugins=[collector])
    finally:
        if autoload is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
        for runner in runners.values():
            runner.close_worker()
        shutil.rmtree(scratch, ignore_errors=True)
    if collector.errors or code not in (0, 1):
        # A suite that cannot be collected is the kit's fault, not the student's: say so loudly.
        detail = "\n".join(collector.errors) or sink.getvalue()[-3000:]
        raise GradingError(f"the test suites could not run (pytest exit {int(code)}):\n{detail}")
    report.results = sorted(collector.results.values(), key=lambda r: r.chapter)
    if collector.uses_mnist:
        report.data = _describe_data()
    report.seconds = time.monotonic() - start
    for name, runner in runners.items():
        if runner.outputs and name not in report.notes:
            report.notes[name] = "printed output: " + runner.outputs[-1][-300:]
    return report
