"""Grading on every core: one chapter of one submission is the unit of work.

A submission's chapters are independent: each has its own sandboxed worker, its own time budget, and the
reference modules of the chapters before it. So they are graded at the same time, each by
:func:`autograder.engine.grade` on that chapter alone, in the processes of a pool, and put back together
into the submission's :class:`~autograder.engine.Report`. Work this fine keeps every core busy to the end of
a class: one student's capstone trains beside the small chapters of the next student, and the last student
is spread over all cores instead of one.

The pool's processes live as long as the pool: pytest, NumPy and the suites are imported once per process,
not once per chapter. Each chapter still runs in a pytest session of its own, and its results depend only on
the seed and the test's name (``dlcourse.pytest_plugin``'s ``rng``), so a chapter graded here scores what it
scores in a whole-submission session. Within a submission the chapters that took longest so far go first; the
cheap ones (most of them take 0.2-0.4 s, half of it the session's own start) share a session, a few at a time.
"""
from __future__ import annotations

import multiprocessing
import re
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from dlcourse.chapters import Chapter

from .engine import Report, grade
from .kit import Kit


@dataclass
class _Submission:
    key: str
    chapters: list[Chapter]
    left: int
    start: float = 0.0
    parts: list[Report] = field(default_factory=list)
    error: BaseException | None = None


@dataclass(frozen=True)
class _Piece:
    key: str
    submission: Path
    chapters: tuple[Chapter, ...]
    seed: int
    budget: float
    hide_also: tuple[Path, ...]


CHEAP = 0.5  # seconds: a chapter estimated below this shares its session with the next ones
GROUP = 1.0  # ... until their estimates add up to this


def _grade_piece(piece: _Piece, kit_root: str) -> Report:
    return grade(piece.submission, list(piece.chapters), seed=piece.seed, budget=piece.budget,
                 kit=Kit(Path(kit_root)), hide_also=piece.hide_also)


def _ignore_ctrl_c() -> None:
    """In a pool process: Ctrl-C is the caller's to handle (it stops the pool), not a traceback per process."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ChapterPool:
    """``jobs`` processes grading chapters; :meth:`submit` submissions, then take :meth:`reports` as each ends."""

    def __init__(self, jobs: int, kit: Kit):
        self.jobs, self.kit = jobs, kit
        self.queue: deque[_Piece] = deque()
        self.subs: dict[str, _Submission] = {}
        self.seconds: dict[str, float] = {}  # chapter name -> the longest grading seen: the costliest go first
        self.guesses: dict[str, float] = {}  # chapter name -> its cost guessed from its suites, until measured
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_ignore_ctrl_c)

    def submit(self, key: str, submission: Path, chapters: list[Chapter], *, seed: int = 0, budget: float = 60.0,
               hide_also: tuple[Path, ...] = ()) -> None:
        if key in self.subs:
            raise ValueError(f"submission {key!r} was already submitted")
        groups: list[list[Chapter]] = []
        for chapter in sorted(chapters):
            last = groups[-1] if groups else None
            if (last and self.estimate(chapter) < CHEAP and all(self.estimate(c) < CHEAP for c in last)
                    and sum(map(self.estimate, last)) < GROUP):
                last.append(chapter)
            else:
                groups.append([chapter])
        self.subs[key] = _Submission(key, list(chapters), len(groups))
        groups.sort(key=lambda g: -sum(map(self.estimate, g)))  # the costliest first: no long tail
        self.queue.extend(_Piece(key, submission, tuple(g), seed, budget, tuple(hide_also)) for g in groups)

    def estimate(self, chapter: Chapter) -> float:
        """Seconds a chapter's grading takes: as measured here, else a guess: suites that train on MNIST are the
        costly ones, the first two parts of the course the quick ones."""
        if chapter.name in self.seconds:
            return self.seconds[chapter.name]
        if chapter.name not in self.guesses:
            trains = any(re.search(r"def test_\w+\([^)]*\bmnist\b", path.read_text())
                         for path in self.kit.suites(chapter))
            self.guesses[chapter.name] = 3.0 if trains else 0.3 if chapter.major <= 2 else 1.0
        return self.guesses[chapter.name]

    def reports(self) -> Iterator[tuple[str, Report | BaseException]]:
        """``(key, report)`` for each submission as its last chapter ends, or ``(key, exception)`` if a chapter
        could not be graded (the suites broke, the grading process died twice)."""
        running: dict = {}
        retried: set[_Piece] = set()
        while self.queue or running:
            while self.queue and len(running) < 2 * self.jobs:  # a little ahead, so no process waits for work
                piece = self.queue.popleft()
                sub = self.subs[piece.key]
                sub.start = sub.start or time.monotonic()
                running[self.executor.submit(_grade_piece, piece, str(self.kit.root))] = piece
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                piece = running.pop(future)
                sub = self.subs[piece.key]
                try:
                    part = future.result()
                except BrokenProcessPool:
                    broken = True
                    if piece not in retried:  # a process died under it (out of memory?): once more, elsewhere
                        retried.add(piece)
                        self.queue.appendleft(piece)
                        continue
                    numbers = ", ".join(c.number for c in piece.chapters)
                    sub.error = sub.error or RuntimeError(f"the grading process of chapter(s) {numbers} died twice")
                except Exception as exc:
                    sub.error = sub.error or exc
                else:
                    sub.parts.append(part)
                    for chapter in piece.chapters:
                        took = sum(r.seconds for r in part.results if r.chapter == chapter)
                        self.seconds[chapter.name] = max(self.seconds.get(chapter.name, 0.0), took)
                sub.left -= 1
                if sub.left == 0:
                    del self.subs[piece.key]
                    yield piece.key, sub.error or _merge(sub)
            if broken:
                for future, piece in running.items():  # the pool is gone: its other pieces go round again
                    future.cancel()
                    self.queue.appendleft(piece)
                running.clear()
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.executor = self._start()

    def close(self, kill: bool = False) -> None:
        """Stop the pool; ``kill``: at once, whatever it is grading (Ctrl-C)."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=not kill, cancel_futures=True)
        if kill:
            for process in processes:
                process.kill()

    def __enter__(self) -> "ChapterPool":
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(kill=kind is not None)


def _merge(sub: _Submission) -> Report:
    """The chapters' reports as one, in curriculum order; its time is the wall time from the first chapter
    started to the last one ended."""
    parts = sorted(sub.parts, key=lambda part: part.chapters[0])
    report = Report(chapters=sorted(sub.chapters), isolation=parts[0].isolation if parts else "")
    for part in parts:
        report.results += part.results  # each part's chapters in order, the parts in order: curriculum order
        report.notes.update(part.notes)
        report.data = report.data or part.data
    report.seconds = time.monotonic() - sub.start
    return report


def grade_all_cores(submission: Path, chapters: list[Chapter], *, jobs: int, seed: int = 0, budget: float = 60.0,
                    kit: Kit) -> Report:
    """One submission, its chapters graded ``jobs`` at a time (``dlcourse grade``); here, when one at a time."""
    if jobs == 1 or len(chapters) < 2:
        return grade(submission, chapters, seed=seed, budget=budget, kit=kit)
    with ChapterPool(max(1, min(jobs, len(chapters))), kit) as pool:
        pool.submit("", submission, chapters, seed=seed, budget=budget)
        [(_, report)] = list(pool.reports())
    if isinstance(report, BaseException):
        raise report
    return report
