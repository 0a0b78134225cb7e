"""Grade the mutants: each is a submission of its chapter alone, graded by :func:`autograder.engine.grade`.

A mutant is written into a scratch folder shaped like ``solutions/`` that holds only its chapter (earlier
chapters come from the kit's reference modules, as for any submission), and graded with that chapter's
visible and hidden suites, in the sandbox, with the chapter's time budget. Strict: anything below full
marks kills it. A mutant that hangs runs into the budget (killed, counted as a timeout); one that does not
compile or import is killed too, and counted as incompetent.

Grading runs in a pool of ``jobs`` processes that each grade many mutants: a process's first grading pays
for importing pytest, numpy and the suites, later ones only for the sandbox's worker (about 0.4 s for 1.3,
against 1.7 s for a ``dlcourse grade`` process per mutant; a process's memory stays flat over 90 gradings).
Each chapter gets a fresh pool, so no chapter is graded in a process another chapter's suites ran in. (Not
``max_tasks_per_child``: on Python 3.11 a pool using it stops spawning replacements once its processes have
retired, and the run hangs; CPython issue gh-115634.)
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

from ..kit import Kit
from .equivalent import FILENAME, read_entries
from .generate import ChapterMutants, Mutant, mutants_of
from .scope import ScopeError

MIN_BUDGET = 10.0  # seconds: a mutant's time budget is at least this ...
BUDGET_FACTOR = 4.0  # ... and this many times the reference's grading time
TIMEOUT_SIGNS = ("did not finish within", "time budget", "took longer than")


@dataclass
class Outcome:
    """How one module fared: ``killed``, ``survived`` (full marks), ``incompetent`` or ``error``."""

    status: str
    score: float = 0.0
    max_score: float = 0.0
    killed_by: str = ""  # the first failed test and the first line of its message
    timeout: bool = False
    seconds: float = 0.0

    @property
    def killed(self) -> bool:
        return self.status in ("killed", "incompetent")


def grade_source(kit_root: str, chapter_name: str, source: str, seed: int, budget: float) -> Outcome:
    """Grade ``source`` as the chapter's module of a submission holding that chapter only (in a pool process)."""
    from ..engine import GradingError, grade

    kit, chapter = Kit(Path(kit_root)), Chapter.from_name(chapter_name)
    scratch = Path(tempfile.mkdtemp(prefix="dlcourse-mutant-"))
    try:
        folder = scratch / chapter.name
        folder.mkdir()
        (folder / f"{chapter.module}.py").write_text(source)
        start = time.monotonic()
        try:
            report = grade(scratch, [chapter], seed=seed, budget=budget, kit=kit, first_failure=True)
        except GradingError as exc:
            return Outcome("error", killed_by=str(exc).splitlines()[0], seconds=time.monotonic() - start)
        seconds = time.monotonic() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    score, top = report.score, report.max_score
    failed = [r for r in report.results if r.failed or r.score < r.max_score]
    if not failed and score >= top:
        return Outcome("survived", score, top, seconds=seconds)
    first = failed[0] if failed else report.results[0]
    messages = [r.message for r in failed]
    # The sandbox fails every test with the same message when the module does not import.
    does_not_import = (len(failed) == len(report.results) and len(set(messages)) == 1
                       and (" does not run: " in messages[0] or messages[0].startswith("could not import")))
    return Outcome("incompetent" if does_not_import else "killed", score, top,
                   killed_by=f"{first.title}: {first.headline(160)}",
                   timeout=any(sign in m for m in messages for sign in TIMEOUT_SIGNS), seconds=seconds)


def _warm_up() -> None:
    """Import what every grading needs once per pool process, so no mutant's time includes it."""
    import numpy  # noqa: F401
    import pytest  # noqa: F401

    from .. import engine  # noqa: F401


@dataclass
class MutantResult:
    mutant: Mutant
    outcome: Outcome
    diff: str
    listed_equivalent: str | None = None  # the reviewed reason, when the chapter's list names this mutant

    @property
    def equivalent(self) -> bool:
        """Listed as equivalent, and indeed not killed (a listed mutant the suites kill counts as killed)."""
        return self.listed_equivalent is not None and self.outcome.status == "survived"


@dataclass
class ChapterResult:
    chapter: Chapter
    available: int = 0  # mutants in the solution regions (before --max)
    outside_regions: int = 0
    skipped: int = 0
    results: list[MutantResult] = field(default_factory=list)
    baseline: Outcome | None = None
    budget: float = 0.0
    seconds: float = 0.0
    error: str | None = None  # why the chapter could not be mutation-tested
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def killed(self) -> int:
        return sum(r.outcome.killed for r in self.results)

    @property
    def survived(self) -> list[MutantResult]:
        return [r for r in self.results if r.outcome.status == "survived" and not r.equivalent]

    @property
    def equivalent(self) -> list[MutantResult]:
        return [r for r in self.results if r.equivalent]

    @property
    def incompetent(self) -> int:
        return sum(r.outcome.status == "incompetent" for r in self.results)

    @property
    def timeouts(self) -> int:
        return sum(r.outcome.timeout for r in self.results)

    @property
    def errors(self) -> list[MutantResult]:
        return [r for r in self.results if r.outcome.status == "error"]

    @property
    def score(self) -> float | None:
        """killed / (total - equivalent); mutants the grader could not grade (errors) are left out too."""
        graded = self.total - len(self.equivalent) - len(self.errors)
        return self.killed / graded if graded > 0 else None


class _Pool:
    """A process pool that is rebuilt when a process of it dies (out of memory, killed)."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        # "spawn": no copy of this process's threads (tqdm's monitor) in the graders.
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_warm_up)

    def submit(self, *args) -> Future:
        try:
            return self.executor.submit(grade_source, *args)
        except BrokenExecutor:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new()
            return self.executor.submit(grade_source, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _result(future: Future) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - the grading process itself broke: that mutant is not graded
        return Outcome("error", killed_by=f"the grading process failed: {type(exc).__name__}: {exc}")


def run(kit: Kit, chapters: list[Chapter], *, limit: int | None = None, jobs: int | None = None, seed: int = 0,
        budget: float | None = None, progress: bool = True,
        only: dict[str, set[str]] | None = None) -> list[ChapterResult]:
    """Mutation-test ``chapters``; one :class:`ChapterResult` each, in their order.

    ``limit``: at most this many mutants per chapter (a seeded sample); ``budget``: the time budget per mutant
    (default: :data:`BUDGET_FACTOR` times the reference's grading time, at least :data:`MIN_BUDGET` s);
    ``only``: per chapter number, the identifiers of the mutants to grade (the survivors of an earlier run),
    the others are left out.
    """
    from tqdm import tqdm

    prepared: list[tuple[ChapterResult, ChapterMutants | None, list[Mutant]]] = []
    for chapter in chapters:
        result = ChapterResult(chapter)
        try:
            found = mutants_of(kit, chapter)
        except ScopeError as exc:
            result.error = str(exc)
            prepared.append((result, None, []))
            continue
        result.available, result.outside_regions, result.skipped = (len(found.mutants), found.outside_regions,
                                                                    found.skipped)
        result.warnings += found.warnings
        sample = found.sample(limit, seed)
        if only is not None:
            sample = [m for m in sample if m.ident in only.get(chapter.number, ())]
        prepared.append((result, found, sample))
    total = sum(len(sample) for _, _, sample in prepared)
    bar = tqdm(total=total, unit="mutant", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        for result, found, sample in prepared:
            if found is not None:
                pool = _Pool(max(1, jobs or os.cpu_count() or 1))
                try:
                    _run_chapter(kit, result, found, sample, pool, bar, seed, budget)
                finally:
                    pool.close()
    finally:
        bar.close()
    return [result for result, _, _ in prepared]


def survivors_of(report: dict) -> dict[str, set[str]]:
    """The identifiers of the surviving (not equivalent) mutants per chapter in a report :func:`.report.to_json`
    wrote: what a re-run after strengthening a suite needs to grade again."""
    return {number: {m["id"] for m in chapter.get("mutants", []) if m["status"] == "survived"
                     and "equivalent_reason" not in m}
            for number, chapter in report.get("chapters", {}).items()}


def _run_chapter(kit: Kit, result: ChapterResult, found: ChapterMutants, sample: list[Mutant], pool: _Pool, bar,
                 seed: int, budget: float | None) -> None:
    chapter, root = result.chapter, str(kit.root)
    start = time.monotonic()
    bar.set_description(f"{chapter.number} reference")
    result.baseline = base = _result(pool.submit(root, chapter.name, found.text, seed, budget or 60.0))
    if base.status != "survived":
        result.error = (f"the reference module does not score full marks here ({base.score:g}/{base.max_score:g}"
                        f"{': ' + base.killed_by if base.killed_by else ''}); its mutants cannot be judged")
        bar.update(len(sample))
        result.seconds = time.monotonic() - start
        return
    result.budget = budget or max(MIN_BUDGET, BUDGET_FACTOR * base.seconds)
    entries, problems = read_entries(kit.hidden / chapter.name / FILENAME)
    result.warnings += problems
    idents = {m.ident for m in found.mutants}
    listed = {e.ident: e.reason for e in entries}
    result.warnings += [f"{e.where}: stale, matches no mutant of {found.label} (rewritten line?): {e.ident}"
                        for e in entries if e.ident not in idents]
    bar.set_description(chapter.number)
    futures: dict[Future, MutantResult] = {}
    for mutant in sample:
        source = found.apply(mutant)
        entry = MutantResult(mutant, Outcome("pending"), found.diff(source), listed.get(mutant.ident))
        result.results.append(entry)
        try:
            compile(source, found.label, "exec")
        except (SyntaxError, ValueError) as exc:
            entry.outcome = Outcome("incompetent", killed_by=f"does not compile: {exc}")
            bar.update()
            continue
        futures[pool.submit(root, chapter.name, source, seed, result.budget)] = entry
    for future in as_completed(futures):
        entry = futures[future]
        entry.outcome = _result(future)
        bar.update()
        bar.set_postfix(survived=sum(r.outcome.status == "survived" for r in result.results), refresh=False)
    for entry in result.results:
        if entry.listed_equivalent is not None and entry.outcome.killed:
            result.warnings.append(f"{kit.hidden / chapter.name / FILENAME}: listed as equivalent, but the suites "
                                   f"kill it ({entry.outcome.killed_by}): {entry.mutant.ident}")
    result.seconds = time.monotonic() - start
