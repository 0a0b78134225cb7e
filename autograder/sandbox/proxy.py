"""The grader's side of a worker: a stand-in for the student's module whose calls run in the worker.

``ChapterRunner(...).module()`` behaves like the imported student module for what tests do with it: call
its functions (arguments travel pickled, results come back as plain data), catch the exceptions it raises
(rebuilt as the nearest built-in exception class, holding only the message), see the warnings it emits, and
see in-place changes it makes to array arguments (copied back into the caller's arrays). Objects that are
not plain data stay in the worker and come back as :class:`RemoteObject` handles.

A worker that crashes, hangs or exceeds the chapter's time budget fails the current test with a plain
message (``pytest.fail``); the next test gets a fresh worker while the budget lasts. The budget counts the
time spent waiting on the student's worker (its start, its import, its calls), not the grader's own work
between calls (replaying the reference, checking results): that work takes several times longer on a slow
or busy grading machine, and a student's chapter should not run out of time for it. Nor does it count the
time the worker waits for a CPU that other work holds (:mod:`.budget`).
"""
from __future__ import annotations

import builtins
import contextlib
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest

from dlcourse.chapters import Chapter
from dlcourse.explain import import_failure

from . import wire
from .budget import BudgetClock
from .launcher import Limits, Worker, WorkerDied, WorkerTimeout
from .procs import descendants


class StudentException:
    """Mixin marking an exception rebuilt from one the student's code raised (``frames``: theirs only)."""

    frames: list = []
    function = ""


_REBUILT: dict[type, type] = {}


def _frames(err: dict, chapter: Chapter | None) -> list[tuple]:
    """The worker's frames, named like the files at home (``ch1_3_sigmoid/sigmoid.py``)."""
    prefix = f"{chapter.name}/" if chapter is not None else ""
    return [(f"{prefix}{file}", line, func, code) for file, line, func, code in err.get("frames") or []]


def _rebuild(err: dict, function: str, chapter: Chapter | None = None) -> BaseException:
    base = next((getattr(builtins, n) for n in err.get("mro", []) if isinstance(getattr(builtins, n, None), type)
                 and issubclass(getattr(builtins, n), Exception)), Exception)
    if err.get("type") in ("SystemExit", "KeyboardInterrupt"):
        return pytest.fail.Exception(f"{function} called sys.exit() or raised {err['type']}; functions must "
                                     "return their result, never end the program", pytrace=False)
    cls = _REBUILT.setdefault(base, type(base.__name__, (base, StudentException), {"__module__": "builtins"}))
    exc = cls(err.get("message", ""))
    exc.frames, exc.function, exc.remote_type = _frames(err, chapter), function, err.get("type", base.__name__)
    exc.origin = err.get("origin")  # the submission's function that raised it (a qualified name), if known
    return exc


class ChapterRunner:
    """Owns the worker(s) for one chapter of one submission, within the chapter's time budget (seconds)."""

    def __init__(self, module: str, files: dict[str, Path], hide: list[Path], budget: float,
                 limits: Limits | None = None, chapter: Chapter | None = None):
        self.module_name, self.files, self.hide, self.chapter = module, files, hide, chapter
        self.limits = limits or Limits()
        self.clock = BudgetClock(budget)
        self.worker: Worker | None = None
        self.failure: str | None = None  # a reason that fails every later test of the chapter at once
        self.names: list[str] = []
        self.outputs: list[str] = []

    @property
    def budget(self) -> float:
        """The chapter's time budget, in seconds."""
        return self.clock.seconds

    @property
    def used(self) -> float:
        """Seconds of the budget used so far."""
        return self.clock.used

    # -- lifecycle
    def _ensure(self) -> Worker:
        if self.failure:
            pytest.fail(self.failure, pytrace=False)
        if self.worker is not None and self.worker.proc.poll() is None:
            return self.worker
        spent = self.clock.spent()
        if spent:
            self.failure = f"{spent}; tests not run"
            pytest.fail(self.failure, pytrace=False)
        self.worker = Worker(self.module_name, self.files, self.hide, self.limits)
        try:
            # The start and the import share what is left of the budget. The worker's processes are born
            # during the start: all their waits for a CPU are left out of its charge.
            with self.clock.waiting(None) as wait:
                try:
                    self.worker.start(wait.deadline)
                finally:
                    for pid in {self.worker.proc and self.worker.proc.pid, self.worker.pid} - {None}:
                        wait.watch(pid, born_here=True)
            with self.clock.waiting(self.worker.pid) as wait:
                reply = self._decode(self.worker.request(("import",), wait.deadline,
                                                         f"importing {self.module_name}.py"))
        except WorkerDied as exc:
            self.failure = f"could not import {self.module_name}.py: {exc}"
            self.close_worker()
            pytest.fail(self.failure, pytrace=False)
        if "error" in reply:
            self.failure = self._import_failure(reply["error"])
            self.close_worker()
            pytest.fail(self.failure, pytrace=False)
        self.names = reply["value"]
        return self.worker

    def _import_failure(self, err: dict) -> str:
        """The module does not import: one message with the file, the line and the error."""
        filename = f"{self.module_name}.py"
        if self.chapter is None:
            return f"importing {filename} failed with {err['type']}: {err['message']}"
        if err.get("syntax"):
            _, line, code, offset = err["syntax"]
            return import_failure(self.chapter, filename, err["type"], err["message"], line, code, offset)
        own = [f for f in err.get("frames") or [] if f[0] == filename]
        line, code = (own[-1][1], own[-1][3]) if own else (None, None)
        return import_failure(self.chapter, filename, err["type"], err["message"], line, code)

    def close_worker(self) -> None:
        if self.worker is not None:
            out = self.worker.output().strip()
            if out:
                self.outputs.append(out)
            self.worker.cleanup()
            self.worker = None

    # -- requests
    def _decode(self, payload: bytes) -> dict:
        try:
            reply = wire.decode(payload, make_remote=lambda h: RemoteObject(self, h))
        except wire.WireError as exc:
            raise WorkerDied(str(exc)) from None
        if not isinstance(reply, dict):
            raise WorkerDied("the worker sent a malformed reply")
        return reply

    def request(self, message: tuple, what: str, timeout: float | None = None):
        """Send ``message`` to the worker and return its reply, within the budget and ``timeout`` seconds
        (charged as the budget is, :mod:`.budget`)."""
        worker = self._ensure()
        try:
            with self.clock.waiting(worker.pid, timeout) as wait:
                reply = self._decode(worker.request(message, wait.deadline, what))
        except WorkerTimeout as exc:
            self.close_worker()
            spent = self.clock.spent()
            if timeout is not None and not spent:
                busy = (f": stopped after {wait.wall:.1f} s of wall-clock time, the most that limit allows on a "
                        f"busy machine ({wait.total:.1f} s counted)" if wait.capped else "")
                pytest.fail(f"{what} did not finish within its time limit of {timeout:g} s{busy} (too slow: Python "
                            "loops where array operations would do?)", pytrace=False)
            pytest.fail(f"{exc} ({spent})", pytrace=False)
        except WorkerDied as exc:
            self.close_worker()
            pytest.fail(f"{exc}", pytrace=False)
        for category, text in reply.get("warnings") or []:
            cat = getattr(builtins, str(category), None)
            cat = cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning
            warnings.warn(cat(f"{text} (warning from {what})"), stacklevel=3)
        if "error" in reply:
            raise _rebuild(reply["error"], what, self.chapter)
        return reply

    def call(self, ref, name, args, kwargs, label: str, timeout: float | None = None):
        reply = self.request(("call", ref, name, args, kwargs), f"{label}()", timeout)
        for path, new in reply.get("mutated") or []:
            _write_back({"args": list(args), "kwargs": kwargs}, path, new)
        return reply.get("value")

    def module(self) -> "ModuleProxy":
        return ModuleProxy(self)


def _write_back(root, path, new) -> None:
    """Copy an array the worker changed in place into the caller's original at ``path``."""
    target = root
    try:
        for key in path:
            target = target[key]
    except (KeyError, IndexError, TypeError):
        return
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray) and target.shape == new.shape:
        target[...] = new


@contextlib.contextmanager
def student_code_paused(student):
    """Inside, every process of the worker behind ``student`` (the ``student`` fixture, or a
    :class:`ModuleProxy`) is stopped (SIGSTOP), with the threads and processes the student's code started, even
    detached ones; they go on afterwards (SIGCONT), the worker as it was.

    For what the grader measures between calls and must not be slowed by the submission: a yardstick a speed
    check compares the student's time with, or the time a wall-clock budget is scaled by. Code that keeps the CPU
    busy in the background would otherwise slow the yardstick and win itself a looser limit. A module imported
    at home, with no worker, runs on.
    """
    module = getattr(student, "_module", student)                # the fixture wraps the proxy
    runner = module._runner if isinstance(module, ModuleProxy) else None
    worker = runner.worker if runner is not None else None
    stopped: list[int] = []
    try:
        if worker is not None and worker.proc.poll() is None:
            # Again until nothing new appears: a process not yet stopped may have started another meanwhile.
            for _ in range(100):
                new = [pid for pid in descendants(worker.proc.pid) if pid not in stopped]
                if not new:
                    break
                for pid in new:
                    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone, or not ours
                        os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGCONT)


class ModuleProxy:
    """Stands for the student's module: attribute access yields functions that run in the worker."""

    def __init__(self, runner: ChapterRunner):
        self._runner = runner

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        runner = self._runner
        runner._ensure()
        if name not in runner.names:
            raise AttributeError(f"{runner.module_name}.py defines no function {name!r}")
        return RemoteFunction(runner, None, name, name)

    def __repr__(self) -> str:
        return f"<student module {self._runner.module_name} (in a sandboxed worker)>"


class RemoteFunction:
    """A function or class of the student's module; attributes (a classmethod) are read through a handle."""

    def __init__(self, runner: ChapterRunner, ref, name, label):
        self._runner, self._ref, self._name, self.__name__ = runner, ref, name, label

    def __call__(self, *args, _timeout: float | None = None, **kwargs):
        return self._runner.call(self._ref, self._name, args, kwargs, self.__name__, _timeout)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        target = self._runner.request(("getattr", self._ref, self._name), self.__name__)["value"]
        target._label = self.__name__
        return getattr(target, attr)

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"


class RemoteObject:
    """A handle to an object that lives in the worker (a generator, a network instance, a bound method)."""

    def __init__(self, runner: ChapterRunner, handle: dict):
        self._runner, self._id, self._type = runner, handle["id"], handle["type"]
        self._callable = handle["callable"]
        self._label = self._type  # how messages name it: "NeuralNetwork.fit"

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._runner.request(("getattr", self._id, name), f"{self._label}.{name}")["value"]
        if isinstance(value, RemoteObject):
            value._label = f"{self._label}.{name}"
        return value

    def __call__(self, *args, _timeout: float | None = None, **kwargs):
        return self._runner.call(self._id, None, args, kwargs, self._label, _timeout)

    def __iter__(self):
        return self

    def __next__(self):
        reply = self._runner.request(("next", self._id), f"next() on {self._type}")
        if reply.get("stop"):
            raise StopIteration
        return reply["value"]

    def __repr__(self) -> str:
        return f"<{self._type} object in the sandboxed worker>"
