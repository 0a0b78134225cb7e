"""Grade a submission: the chapters' visible and hidden pytest suites, run in this (trusted) process.

The suites never import the submission: the ``student`` fixture hands them a proxy to a sandboxed worker
per chapter (:mod:`autograder.sandbox`). A chapter's worker holds only that chapter's files from the
submission and the reference modules of earlier chapters, so a bug in 1.3 cannot fail 3.4. Scores are
assembled here from pytest's own reports (:mod:`dlcourse.testrun`), never from anything the worker wrote.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter, is_chapter_dir
from dlcourse.nbmodule import NotebookError, chapter_names, module_from_notebook
from dlcourse.pytest_plugin import STUDENT_MODULES
from dlcourse.testrun import Collector, TestResult, run
from dlcourse.work import MANIFEST, Released, find_work, read_released

from .kit import Kit, KitError
from .sandbox.launcher import Limits
from .sandbox.proxy import ChapterRunner

AUTOGRADER = Path(__file__).resolve().parent


class GradingError(Exception):
    """The grader itself cannot run (missing path, not a submission, no kit); the message is one line."""


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

    @property
    def leaderboard(self) -> list[tuple]:
        """The figures the suites recorded for a leaderboard: ``(name, value)`` or ``(name, value, order)``."""
        return [entry for r in self.results for entry in r.leaderboard]


def find_kit(path=None) -> Kit:
    """:meth:`Kit.find`, its failure as a :class:`GradingError`."""
    try:
        return Kit.find(path)
    except KitError as exc:
        raise GradingError(str(exc)) from None


def released(submission: Path, kit: Kit) -> dict[str, Released]:
    """The chapters as handed out: the submission's own release manifest (a student's repository), else the
    kit's (``exercises/``); never the live files."""
    return read_released(submission / MANIFEST) or read_released(kit.exercises / MANIFEST)


def submission_files(submission: Path, chapter: Chapter, kit: Kit, scratch: Path,
                     notes: dict[str, str] | None = None,
                     handed_out: dict[str, Released] | None = None) -> tuple[dict[str, Path], str | None]:
    """Files the chapter's worker gets, and the reason the chapter cannot be graded (or None).

    The chapter's own ``.py`` files come from the submission (tests and conftest excluded); every earlier
    chapter's module comes from the reference solutions. Which of the chapter's module and notebook holds the
    work is decided by :func:`dlcourse.work.find_work` against ``handed_out`` (default :func:`released`); a
    notebook is turned into ``<topic>.py`` in ``scratch`` (the caller owns ``scratch`` and removes it).
    """
    folder = submission / chapter.name
    files: dict[str, Path] = {}
    for earlier in kit.references():
        if earlier < chapter:
            ref = kit.reference(earlier)
            if ref.exists():
                files[ref.name] = ref
    if not folder.is_dir():
        return files, f"chapter {chapter.number} is not in the submission (no folder {chapter.name}/)"
    if handed_out is None:
        handed_out = released(submission, kit)
    work = find_work(folder, chapter, handed_out.get(chapter.name))
    if work.note and notes is not None:
        notes[chapter.name] = work.note
    if work.use == "notebook":
        notebook = work.notebook
        try:
            names = chapter_names(kit.master(chapter).read_text())
            code = module_from_notebook(notebook, chapter.module, names)
        except NotebookError as exc:
            return files, f"{chapter.name}/{exc}"
        target = scratch / chapter.name / f"{chapter.module}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code.source)
        files[target.name] = target
        if code.notes and notes is not None:
            notes[chapter.name] = f"{notebook.name}: " + "; ".join(code.notes)
        return files, None
    if work.use == "none":
        return files, f"no {chapter.module}.py (nor {chapter.module}.ipynb) in {chapter.name}/ of the submission"
    for path in sorted(folder.glob("*.py")):
        if not path.name.startswith("test_") and path.name != "conftest.py":
            files[path.name] = path
    return files, None


class _Sandboxed:
    """pytest plugin: the ``student`` fixture gets the chapter's proxy, and test callbacks travel by value."""

    def __init__(self, runners: dict[str, ChapterRunner]):
        self.runners = runners

    def pytest_configure(self, config):
        config.stash[STUDENT_MODULES] = lambda chapter: self.runners[chapter.name].module()

    def pytest_collection_modifyitems(self, items):
        # Test callbacks handed to student functions (the f of a numerical gradient) are defined in the
        # suites, which the worker cannot import: send those modules' functions by value.
        import cloudpickle

        for module in {item.module for item in items if getattr(item, "module", None) is not None}:
            cloudpickle.register_pickle_by_value(module)


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
          kit: Kit | None = None, limits: Limits | None = None, hide_also: tuple[Path, ...] = (),
          first_failure: bool = False) -> Report:
    """Grade ``chapters`` of ``submission``; every test of those chapters gets a result.

    ``hide_also``: more folders the submission's code must not see (other students' submissions, the
    gradebook being written), besides the kit, the grader's code and the submission itself.
    ``first_failure``: stop at the first test that fails (pytest's ``-x``); the tests after it get no result.
    Only for callers that need a yes/no (the mutation tester), never for a student's grade.
    """
    from .sandbox.launcher import isolation_level

    from .reference import use_kit

    kit = kit or find_kit()
    use_kit(kit)
    submission = submission.resolve()
    start = time.monotonic()
    hide = sorted({p.resolve() for p in (kit.root, kit.source, kit.solutions, kit.hidden, AUTOGRADER, submission,
                                         *hide_also)})
    runners: dict[str, ChapterRunner] = {}
    report = Report(chapters=chapters, isolation=isolation_level())
    paths: list[Path] = []
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-notebooks-"))  # modules made from notebooks
    hide.append(scratch)
    handed_out = released(submission, kit)
    for chapter in chapters:
        files, problem = submission_files(submission, chapter, kit, scratch, report.notes, handed_out)
        runner = runners[chapter.name] = ChapterRunner(chapter.module, files, hide, budget, limits, chapter)
        runner.failure = problem
        if problem:
            report.notes[chapter.name] = problem
        paths += kit.suites(chapter)
    collector = Collector(kit.hidden)
    try:
        code, output = run(paths, [collector, _Sandboxed(runners)], rootdir=kit.root, seed=seed,
                           extra=("-x",) if first_failure else ())
    finally:
        for runner in runners.values():
            runner.close_worker()
        shutil.rmtree(scratch, ignore_errors=True)
    # Exit 5 is "no tests collected": fine when every suite was skipped (5.2 graded alone without PyTorch).
    if collector.errors or code not in (0, 1) and not (code == 5 and collector.results):
        # A suite that cannot be collected is the kit's fault, not the student's: say so loudly.
        detail = "\n".join(collector.errors) or output[-3000:]
        raise GradingError(f"the test suites could not run (pytest exit {int(code)}):\n{detail}")
    report.results = collector.ordered()
    if collector.uses_mnist:
        report.data = _describe_data()
    report.seconds = time.monotonic() - start
    for name, runner in runners.items():
        if runner.outputs and name not in report.notes:
            report.notes[name] = "printed output: " + runner.outputs[-1][-300:]
    return report


def grade_module(chapter: Chapter, source: str, seed: int, kit: Kit | None = None) -> list[TestResult]:
    """One chapter's module text (a notebook's cells, say) graded like a submission: the chapter's results."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-module-") as tmp:
        folder = Path(tmp) / chapter.name
        folder.mkdir()
        (folder / f"{chapter.module}.py").write_text(source)
        return grade(Path(tmp), [chapter], seed=seed, kit=kit).results
