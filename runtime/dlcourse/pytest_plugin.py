"""The pytest plugin every chapter's tests rely on (registered through the ``pytest11`` entry point).

Fixtures:

* ``student``: the student's module of the chapter the test file belongs to. At home it is the module
  beside the test file, imported directly; a grader that puts a provider in ``config.stash[STUDENT_MODULES]``
  hands out its own stand-in instead (a proxy whose functions run in a sandboxed worker). Either way an
  untouched stub fails with "... is not implemented yet" instead of a traceback.
* ``seed`` / ``rng``: a seeded ``numpy.random.Generator`` per test, drawn from ``--dlcourse-seed`` (the grader
  picks it, so a hard-coded answer cannot pass) and the test's id (so tests do not share streams).

Marker: ``@pytest.mark.points(n)`` weights a test (default 1 point).

What the plugin knows about a test travels in pytest's ``item.user_properties`` (keys in
:mod:`dlcourse.testrun`): its points and title from collection, and the stub it ran into, if any.
"""
from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from . import testrun
from .chapters import Chapter, chapter_of_path
from .explain import import_failure_of, raised, student_frames
from .work import ChapterFinder, load, notebook_module, work_in

STUDENT_MODULES = pytest.StashKey[Callable[[Chapter], object]]()
"""A grader's provider of the chapter's module (``config.stash[STUDENT_MODULES] = provider``); unset at home."""


def pytest_addoption(parser):
    group = parser.getgroup("dlcourse", "chapter tests (dlcourse)")
    group.addoption("--dlcourse-seed", type=int, default=0,
                    help="seed for the random inputs of the chapter tests (default 0)")


_config: pytest.Config | None = None


def pytest_configure(config):
    global _config
    _config = config
    config.addinivalue_line("markers", "points(n): weight of a chapter test in the score (default 1)")


def pytest_collectreport(report):
    # A chapter's suite skipped whole (5.2 without PyTorch) would show as a bare "1 skipped": have pytest's
    # short summary give the reason, which says what to install.
    if report.skipped and chapter_of_path(Path(str(report.fspath)).resolve()) is not None:
        reporter = _config.pluginmanager.get_plugin("terminalreporter") if _config else None
        if reporter is not None and "s" not in reporter.reportchars:
            reporter.reportchars += "s"


def pytest_itemcollected(item):
    # The test's points and its title (the docstring's first line), for whoever reads the reports.
    marker = item.get_closest_marker("points")
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip().splitlines()
    title = doc[0].strip() if doc else getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ")
    param = getattr(item, "callspec", None)
    item.user_properties += [(testrun.POINTS, float(marker.args[0]) if marker else 1.0),
                             (testrun.TITLE, f"{title} [{param.id}]" if param else title)]


@pytest.fixture
def seed(request) -> int:
    return request.config.getoption("--dlcourse-seed")


@pytest.fixture
def rng(request, seed) -> np.random.Generator:
    # The test's own name, not its position, picks the stream: adding a test never changes another's inputs.
    digest = hashlib.sha256(request.node.nodeid.split("::", 1)[-1].encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


_failed_imports: dict[tuple, str] = {}  # (file, size, mtime) -> why it does not import: said once per test
_finders: dict[str, object] = {}  # release folder -> its ChapterFinder


def _import_beside(test_file: Path, chapter: Chapter):
    """The chapter's work beside the test file (its ``topic.py``, or its notebook by the rule of
    :mod:`dlcourse.work`); other chapters' modules are found in the sibling chapter folders the same way."""
    folder = test_file.parent
    work = work_in(folder, chapter)
    if work.use == "none":
        pytest.fail(f"{chapter.number}: no {chapter.module}.py (nor {chapter.module}.ipynb) next to "
                    f"{test_file.name} in {folder}", pytrace=False)
    root = str(folder.parent.resolve())
    if root not in _finders:
        _finders[root] = ChapterFinder([folder.parent.resolve()])
        sys.meta_path.insert(0, _finders[root])
    _finders[root].current = chapter
    path = work.path.resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _failed_imports:
        pytest.fail(_failed_imports[key], pytrace=False)
    loaded = sys.modules.get(chapter.module)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
    if work.use == "notebook":
        notes = notebook_module(work.notebook).notes
        if notes:
            _failed_imports[key] = f"{chapter.number} {work.notebook.name}: " + "; ".join(notes)
            pytest.fail(_failed_imports[key], pytrace=False)
    try:
        return load(work, chapter.module)
    except Exception as exc:  # noqa: BLE001 - whatever the module raises while it imports: one message
        _failed_imports[key] = import_failure_of(chapter, path, exc)
    pytest.fail(_failed_imports[key], pytrace=False)


class StudentModule:
    """Wraps the student's module (or its proxy) so that missing work fails with a plain message; ``item`` is
    the test, whose ``user_properties`` learn which stub it ran into."""

    def __init__(self, module, chapter: Chapter, item=None):
        self._module, self._chapter, self._item = module, chapter, item

    def __repr__(self) -> str:
        return f"<your {self._chapter.module} module (chapter {self._chapter.number})>"

    def __getattr__(self, name: str):
        where = f"{self._chapter.name}/{self._chapter.module}.py"
        try:
            fn = getattr(self._module, name)
        except AttributeError:
            pytest.fail(f"{self._chapter.number} {name}: {where} defines no function {name!r} "
                        "(was it renamed or deleted?)", pytrace=False)
        return StudentCode(fn, self._chapter, name, self._item) if callable(fn) else fn


def _is_student_object(value, chapter: Chapter) -> bool:
    """An instance of a class the student wrote (at home), or a handle to one in the worker (graded)."""
    if type(value).__name__ == "RemoteObject":
        return value._type != "generator"
    return type(value).__module__ == chapter.module


class StudentCode:
    """A function, class, object or method of the student's, behaving the same at home and graded.

    Calls take ``_time_limit=`` (seconds): graded, the worker is stopped when it runs out; at home the call
    runs to its end and fails afterwards if it took longer, so both say the same thing. An untouched stub
    fails with "... is not implemented yet". Attributes (a classmethod, a trained network's ``fit``) and
    results that are the student's own objects are wrapped the same way.
    """

    def __init__(self, target, chapter: Chapter, label: str, item=None):
        self._target, self._chapter, self._label, self._item = target, chapter, label, item
        self.__name__ = label.rsplit(".", 1)[-1]
        self.__wrapped__ = target

    def __repr__(self) -> str:
        return f"<student {self._label}: {self._target!r}>"

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._target, name)
        if callable(value) or _is_student_object(value, self._chapter):
            return StudentCode(value, self._chapter, f"{self._label}.{name}", self._item)
        return value

    def __call__(self, *args, _time_limit: float | None = None, **kwargs):
        remote = hasattr(self._target, "_runner")
        extra = {"_timeout": _time_limit} if remote and _time_limit else {}
        start = time.perf_counter()
        try:
            result = self._target(*args, **kwargs, **extra)
        except NotImplementedError as exc:
            detail = f" ({exc})" if str(exc) else ""
            origin = _stub_origin(exc, self._chapter)
        except Exception as exc:
            if not remote and not hasattr(exc, "remote_type"):  # at home: what the worker says when graded
                exc.function, exc.remote_type = f"{self._label}()", type(exc).__name__
                exc.frames = student_frames(exc.__traceback__)
            raise
        else:
            took = time.perf_counter() - start
            if _time_limit and took > _time_limit:
                pytest.fail(f"{self._chapter.number} {self._label} took {took:.1f} s, over its time limit of "
                            f"{_time_limit:g} s: vectorise the inner loops (no Python loop over samples)",
                            pytrace=False)
            if _is_student_object(result, self._chapter):
                label = type(result).__name__ if not remote else result._type
                return StudentCode(result, self._chapter, label, self._item)
            return result
        # Outside the except block, so the report is this one line and not a chained traceback.
        here = f"{self._chapter.name}/{self._chapter.module}.py"
        if origin is not None and origin[0] != self._chapter:  # an earlier chapter's stub, imported from there
            chapter, name = origin
            self._record(testrun.WAITING, f"{chapter.number} ({name})")
            pytest.fail(f"{self._chapter.number} {self._label} uses {name} from chapter {chapter.number} "
                        f"({chapter.name}/{chapter.module}.py), which is not implemented yet{detail}: finish "
                        f"chapter {chapter.number} first, then come back", pytrace=False)
        if origin is not None and origin[1] not in (self._label, f"{self._label}.__init__"):  # a helper of its own
            self._record(testrun.MISSING, origin[1])
            pytest.fail(f"{self._chapter.number} {self._label} calls {origin[1]}, which is not implemented "
                        f"yet{detail}: replace `raise NotImplementedError()` in {origin[1]} in {here} with your "
                        "code", pytrace=False)
        self._record(testrun.MISSING, self._label)
        pytest.fail(f"{self._chapter.number} {self._label} is not implemented yet{detail}: replace "
                    f"`raise NotImplementedError()` in {here} with your code", pytrace=False)

    def _record(self, key: str, value: str) -> None:
        if self._item is not None:
            self._item.user_properties.append((key, value))


def _stub_origin(exc: BaseException, chapter: Chapter) -> tuple[Chapter, str] | None:
    """The chapter and function whose code raised ``exc``: the innermost frame, when it is in a chapter folder.

    At home a chapter imports its earlier chapters from the student's own folders, so a stub there fails in
    a later chapter's tests; this names the function to write. Graded, the worker names the submission's
    function (earlier chapters are the reference there).
    """
    if getattr(exc, "origin", None):
        return chapter, exc.origin
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    found = chapter_of_path(Path(code.co_filename)) if Path(code.co_filename).is_file() else None
    if found is not None:
        return found, getattr(code, "co_qualname", code.co_name)
    # Raised in a worker process (concurrent.futures): its frames come back only as the text of the cause.
    for filename, name in reversed(_REMOTE_FRAME.findall(getattr(exc.__cause__, "tb", None) or "")):
        found = chapter_of_path(Path(filename)) if Path(filename).is_file() else None
        if found is not None:
            return found, name
    return None


_REMOTE_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')


@pytest.fixture
def student(request):
    chapter = chapter_of_path(Path(request.node.fspath))
    if chapter is None:
        raise pytest.UsageError(f"{request.node.fspath} is not inside a chapter folder (chM_N_topic)")
    provider = request.config.stash.get(STUDENT_MODULES, None)
    if provider is not None:  # graded: the grader's stand-in for the module
        return StudentModule(provider(chapter), chapter, request.node)
    return StudentModule(_import_beside(Path(request.node.fspath), chapter), chapter, request.node)


class MNIST:
    """The MNIST arrays for tests: ``X_train (N, 784)``, ``y_train (N,)``, ``X_test (10000, 784)``, ``y_test``,
    and ``training_set`` ("full" or "subset5k"), which picks the accuracy thresholds."""

    def __init__(self):
        from .mnist import load_mnist, training_set

        self.X_train, self.y_train = load_mnist("train")
        self.X_test, self.y_test = load_mnist("test")
        self.training_set = training_set()


@pytest.fixture(scope="session")
def mnist() -> MNIST:
    from .mnist import MnistError

    try:
        return MNIST()
    except MnistError as exc:
        pytest.fail(f"MNIST is needed for this test and could not be loaded:\n{exc}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo.value if call.excinfo else None
    if report.failed and exc is not None and hasattr(exc, "remote_type"):
        # An exception the student's code raised (at home, or in the grader's worker) that the test did not
        # expect: their frames and a hint, never the test's code or the kit's.
        report.longrepr = raised(exc.function, exc.remote_type, str(exc), getattr(exc, "frames", []))
