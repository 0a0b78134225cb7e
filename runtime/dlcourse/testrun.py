"""One run of chapter tests: the result every reader uses, the pytest plugin that records it, the runner.

``dlcourse check`` (a student's visible tests, in their own process), a notebook's test cell at home and the
grader (visible and hidden suites, the student's code in a sandbox) all run pytest through :func:`run` with a
:class:`Collector` and read :class:`TestResult` objects: one per test, with its points, its status and the
message a student sees. What the chapter plugin knows about a test (its points and title, a stub it ran into,
a value for a leaderboard, the data of a plot) travels in pytest's own ``user_properties`` of the test's reports.
"""
from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from .chapters import Chapter, chapter_of_path
from .points import suite_points

# Keys of the user_properties the chapter plugin (dlcourse.pytest_plugin) and the suites record.
POINTS = "dlcourse_points"
TITLE = "dlcourse_title"
MISSING = "dlcourse_missing"  # a function of the test's own chapter that is still a stub
WAITING = "dlcourse_waiting"  # "4.2 (conv2d)": an earlier chapter's stub the test ran into
LEADERBOARD = "leaderboard"  # (name, value) or (name, value, "asc"): a figure for Gradescope's leaderboard
PLOT = "dlcourse_plot"  # a dict of plain JSON data (the grader's plot recorders) that the feedback page draws


@dataclass
class TestResult:
    """One test of one chapter, as graded: ``message`` is what a student reads (a failure, a skip reason)."""

    __test__ = False  # not a pytest test class, whatever its name

    chapter: Chapter
    title: str
    max_score: float = 1.0
    score: float = 0.0
    status: str = "pending"  # "passed", "failed" or "skipped" once the test has run
    message: str = ""
    hidden: bool = False
    missing: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    leaderboard: list[tuple] = field(default_factory=list)
    plots: list[dict] = field(default_factory=list)  # what the test recorded under PLOT, in order
    seconds: float = 0.0  # wall time of the test's setup, call and teardown (student code included)

    @property
    def name(self) -> str:
        return f"{self.chapter.number} {self.title}"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def lines(self, count: int) -> list[str]:
        """The first ``count`` non-empty lines of the message."""
        return [ln.rstrip() for ln in self.message.splitlines() if ln.strip()][:count]

    def headline(self, width: int = 110) -> str:
        """The message's first line, cut to ``width``: what went wrong, in one line."""
        line = (self.lines(1) or [""])[0].strip()
        return line if len(line) <= width else line[: width - 3] + "..."

    def to_dict(self) -> dict:
        data = asdict(self)
        data["chapter"] = self.chapter.name
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TestResult":
        fields = dict(data)
        fields["chapter"] = Chapter.from_name(fields["chapter"])
        fields["leaderboard"] = [tuple(x) for x in fields.get("leaderboard", [])]
        fields["plots"] = [dict(x) for x in fields.get("plots", [])]
        return cls(**fields)


def shorten(text: str, limit: int = 3000) -> str:
    """Keep a long message's head (what failed) and tail (the hint), dropping the middle (a huge array)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


def failure_text(report) -> str:
    """What a student sees of a failure: the message, never the test's source lines (a plain ``assert`` in a
    hidden suite would otherwise show the hidden test's code); for an exception raised in the student's own
    file, the file and line it came from."""
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        return longrepr.strip()
    crash = getattr(longrepr, "reprcrash", None)
    if crash is None or not crash.message:
        return report.longreprtext.strip()
    message = crash.message.strip()
    if message.startswith("Failed: "):  # pytest.fail(...): the suite's own words
        return message.removeprefix("Failed: ")
    where = Path(crash.path)
    if chapter_of_path(where) is not None and not where.name.startswith("test_"):
        message += f"\n  (raised at {where.parent.name}/{where.name}, line {crash.lineno})"
    return message


def _reason(longrepr) -> str:
    reason = longrepr[-1] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


class Collector:
    """pytest plugin: one :class:`TestResult` per test of a chapter folder, in ``results`` (by node id).

    ``hidden_root``: the folder of the hidden suites, whose tests are marked ``hidden``. ``errors``: suites that
    could not be collected (the kit's fault, never the student's).
    """

    def __init__(self, hidden_root: Path | None = None):
        self.hidden_root = hidden_root.resolve() if hidden_root else None
        self.results: dict[str, TestResult] = {}
        self.errors: list[str] = []
        self.uses_mnist = False
        self.rootpath = Path.cwd()

    def pytest_configure(self, config):
        self.rootpath = Path(config.rootpath)

    def _path(self, fspath) -> Path:
        """A report's file: its path is relative to pytest's rootdir, not to the working directory."""
        return (self.rootpath / fspath).resolve()

    def _is_hidden(self, path: Path) -> bool:
        return self.hidden_root is not None and self.hidden_root in path.parents

    def pytest_collection_modifyitems(self, items):
        self.uses_mnist = any("mnist" in getattr(item, "fixturenames", ()) for item in items)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")
        elif report.skipped:  # a whole suite skipped (e.g. PyTorch not installed): one entry, scored 0 of its
            # points, as nbgrader scores the notebook's test cells on such a machine
            path = self._path(report.fspath)
            chapter = chapter_of_path(path)
            if chapter is not None:
                self.results[report.nodeid] = TestResult(
                    chapter, path.stem, max_score=suite_points(path, collect=False), status="skipped",
                    message=f"skipped: {_reason(report.longrepr)}", hidden=self._is_hidden(path))

    def pytest_runtest_logreport(self, report):
        path = self._path(report.fspath)
        chapter = chapter_of_path(path)
        if chapter is None:
            return
        props = report.user_properties
        res = self.results.get(report.nodeid)
        if res is None:
            known = dict(props)
            res = self.results[report.nodeid] = TestResult(
                chapter, str(known.get(TITLE, report.nodeid.split("::")[-1])),
                max_score=float(known.get(POINTS, 1.0)), hidden=self._is_hidden(path))
        res.seconds += report.duration
        for key, value in props:
            target = {MISSING: res.missing, WAITING: res.waiting, LEADERBOARD: res.leaderboard,
                      PLOT: res.plots}.get(key)
            if target is not None and value not in target:
                target.append(tuple(value) if key == LEADERBOARD else value)
        if report.skipped:
            res.score, res.max_score, res.status = 0.0, 0.0, "skipped"
            res.message = f"skipped: {_reason(report.longrepr)}"
        elif report.failed:
            res.score, res.status = 0.0, "failed"
            res.message = shorten((res.message + "\n" + failure_text(report)).strip())
        elif report.when == "call" and res.status == "pending":
            res.score, res.status = res.max_score, "passed"

    def ordered(self) -> list[TestResult]:
        """The results in chapter order, each chapter's tests in the order they ran."""
        return sorted(self.results.values(), key=lambda r: r.chapter)


def run(targets: list, collector, *, rootdir: Path | None = None, seed: int | None = None,
        extra: tuple = ()) -> tuple[int, str]:
    """Run pytest on ``targets`` here, with the chapter plugin and ``collector``; returns (exit code, output).

    Only the chapter plugin is loaded: third-party plugins installed beside it (hypothesis, randomly, ...) cost
    start-up time and could reorder or alter the tests. The output is captured, never printed.
    """
    plugins = collector if isinstance(collector, (list, tuple)) else [collector]
    # Built-in plugins that do nothing here but cost time: unraisableexception and threadexception run
    # gc.collect() five times as a session ends (0.14 s of a chapter's 0.25 s of fixed cost, measured in a
    # grading process holding NumPy and the suites); student code runs in the sandbox's worker anyway.
    quiet = ("unraisableexception", "threadexception", "doctest", "pastebin")
    # --tb=native: a failure's message is taken from its crash line (failure_text), never from pytest's long
    # traceback, which parses the source of every frame: 0.7 CPU-s of grading a submission of stubs (664
    # failures). The messages are the same (compared over the stubs and a batch of planted bugs).
    args = ["-q", "--tb=native", "-p", "no:cacheprovider", *(a for name in quiet for a in ("-p", f"no:{name}")),
            "--import-mode=importlib", "-o", "addopts=", "-W", "default", "-p", "dlcourse.pytest_plugin", *extra]
    if rootdir is not None:
        args += ["--rootdir", str(rootdir)]
    if seed is not None:
        args += ["--dlcourse-seed", str(seed)]
    sink = io.StringIO()
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            code = pytest.main([*args, *map(str, targets)], plugins=list(plugins))
    finally:
        if saved is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    return int(code), sink.getvalue()
