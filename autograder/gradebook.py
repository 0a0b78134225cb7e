"""Grading a class: every submission in a folder, into a gradebook CSV and one feedback folder per student.

    submissions/alice/ch1_1_arrays/...  ->  gradebook/gradebook.csv       student, 1.1, ..., total, max, percent,
    submissions/bob/...                                                   status, commit
                                            gradebook/alice/results.json  Gradescope's format
                                            gradebook/alice/feedback.md   the scorecard, for the student
                                            gradebook/alice/feedback.html the same with charts, for the student

A student's folder is a submission (shaped like a release) or a clone of their repository (GitHub
Classroom: ``gh classroom clone student-repos``). A repository is graded at a commit, never at its working
tree: the latest, or the last one before ``--before`` (:mod:`autograder.repos`); the gradebook records it.

Each submission is graded exactly as ``dlcourse grade`` does it: here, every chapter of every student a piece of
work for a pool of processes (``--jobs``, default: one per core; :mod:`autograder.pool`), or a student at a time
on a Dask cluster's workers (``--scheduler``, :mod:`autograder.cluster`); with the other students' folders and
the gradebook hidden from its code. Results are written here, as each arrives; the
CSV is rewritten after each one, so a run stopped half-way (Ctrl-C, a kill) loses nothing already written.

Re-running on the same gradebook folder skips every student whose ``results.json`` carries the same fingerprint
(:mod:`autograder.fingerprint`: the files graded, the kit, the seed); ``--regrade`` names students to grade again
anyway. A folder that is not a submission, or a grading run that breaks, becomes a row with an empty score and
the reason in ``status``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

from . import repos
from .engine import GradingError, Report, find_chapters, find_kit, grade
from .feedback_page import feedback_html
from .fingerprint import fingerprint, kit_hash, student_seed, submission_hash
from .kit import Kit
from .pool import ChapterPool
from .results import gradescope_json, scorecard, write_atomic

EXPORTS = ".exports-"  # prefix of the gradebook's private folder of exported commits


@dataclass
class Row:
    student: str
    chapters: dict[str, float] = field(default_factory=dict)  # chapter number -> points
    total: float | None = None
    max_score: float | None = None
    status: str = "graded"
    commit: str = ""  # the commit graded, for a repository


@dataclass
class Job:
    """One student's grading, as handed to a process of this machine or to a cluster's worker."""
    student: str
    folder: Path  # the files to grade: the submission, or a repository's commit exported
    chapters: list[str]  # chapter folder names
    seed: int
    budget: float
    fingerprint: str
    row: Row  # what is known before grading: the commit, a note for the status


@dataclass
class Run:
    """What ``grade_all`` did: every row of the CSV, and which students it graded or found already graded."""
    rows: list[Row]
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False


def students(root: Path) -> list[Path]:
    """The submission folders of ``root``, by name (hidden folders and files are not students)."""
    if not root.is_dir():
        raise GradingError(f"{root} is not a folder of submissions (one folder per student)")
    found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise GradingError(f"{root} holds no submission folders (one folder per student)")
    return found


def resolve_jobs(jobs: int | str) -> int:
    """``--jobs``: a number, or ``auto`` for the cores this process may use."""
    if jobs == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        n = int(jobs)
    except ValueError:
        raise GradingError(f"--jobs {jobs!r}: give a number of submissions at a time, or auto") from None
    if n < 1:
        raise GradingError(f"--jobs {n}: at least 1")
    return n


def grade_job(job: Job, kit: Kit, hide_also: tuple[Path, ...] = ()) -> dict:
    """Grade one student's files here, chapter after chapter (a cluster's worker does this); :func:`payload`."""
    try:
        find_chapters(job.folder, kit)  # a folder that is not a submission: one line, not a zero per test
        report = grade(job.folder, [Chapter.from_name(n) for n in job.chapters], seed=job.seed, budget=job.budget,
                       hide_also=hide_also, kit=kit)
    except GradingError as exc:
        return not_graded(job, exc)
    return payload(job, report)


def payload(job: Job, report: Report) -> dict:
    """What the gradebook stores for a graded student (plain data: it may come from another machine).

    ``{"row": Row as a dict, "files": {name: text}}``: ``results.json``, ``feedback.md`` and ``feedback.html``.
    """
    row = Row(**{**asdict(job.row), "chapters": {}})
    for r in report.results:
        row.chapters[r.chapter.number] = row.chapters.get(r.chapter.number, 0.0) + r.score
    row.total, row.max_score = report.score, report.max_score
    results = gradescope_json(report)
    card = scorecard(report)
    if row.commit:
        card = f"graded commit {row.commit}\n{card}"
    # The failures as the tests said them, without the chapter notes the outputs start with (for --stats).
    failures = {r.name: r.message for r in report.results if r.failed}
    results["extra_data"] = {**({"commit": row.commit} if row.commit else {}), "seed": job.seed,
                             "fingerprint": job.fingerprint, "row": asdict(row), "failures": failures}
    return {"row": asdict(row), "files": {"results.json": json.dumps(results, indent=2),
                                          "feedback.md": feedback_markdown(job.student, card),
                                          "feedback.html": feedback_html(job.student, report, row.commit)}}


def not_graded(job: Job, why: BaseException | str) -> dict:
    """The payload of a student whose files could not be graded: a row with the reason, no files."""
    reason = why if isinstance(why, str) else (str(why).splitlines() or [type(why).__name__])[0]
    row = Row(**{**asdict(job.row), "chapters": {}, "status": f"not graded: {reason}"})
    return {"row": asdict(row), "files": {}}


def feedback_markdown(student: str, card: str) -> str:
    return f"# Feedback for {student}\n\n```\n{card}\n```\n"


def previous_row(out: Path, job: Job) -> Row | None:
    """The row of an earlier run's ``results.json`` for this student, if it graded exactly these files so."""
    try:
        extra = json.loads((out / job.student / "results.json").read_text()).get("extra_data", {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(extra, dict) or extra.get("fingerprint") != job.fingerprint:
        return None
    try:
        return Row(**extra["row"])
    except (KeyError, TypeError):
        return None


def store(out: Path, student: str, payload: dict) -> Row:
    """Write a graded student's files (each atomically) and return their row."""
    for name, text in payload["files"].items():
        write_atomic(out / student / name, text)
    return Row(**payload["row"])


def prepare(sub: Path, chapters: list[Chapter], deadline, exports: Path, seed: int, budget: float,
            kit_version: str, per_student: bool) -> Job | Row:
    """The job of one student folder (its commit exported, its fingerprint taken), or the row that says why
    there is nothing to grade."""
    row = Row(sub.name)
    folder = sub
    try:
        if repos.is_repo(sub):
            commit = repos.commit_to_grade(sub, deadline)
            row.commit = commit.sha
            folder = repos.export(sub, commit, exports / sub.name)
        elif deadline is not None:
            row.status = "graded as it is: not a git repository, so --before does not apply"
    except repos.RepoError as exc:
        row.status = f"not graded: {str(exc).splitlines()[0]}"
        return row
    own_seed = student_seed(seed, sub.name) if per_student else seed
    files = submission_hash(folder, chapters)
    return Job(sub.name, folder, [c.name for c in chapters], own_seed, budget,
               fingerprint(files, kit_version, chapters, own_seed, budget), row)


def grade_all(root: Path, chapters: list[Chapter], out: Path, *, seed: int = 0, budget: float = 60.0,
              jobs: int | str = "auto", kit: Kit | None = None, before: str | None = None,
              regrade: set[str] | bool = frozenset(), seed_per_student: bool = False, scheduler: str | None = None,
              progress=print) -> Run:
    """Grade every submission under ``root`` into ``out``; returns the rows of ``out/gradebook.csv``.

    ``before``: an ISO 8601 deadline; each git repository is graded at its last commit before it.
    ``regrade``: students to grade again even if ``out`` holds their grade of the same files (True: everyone).
    ``scheduler``: a Dask scheduler's address; the submissions are graded on its workers.
    """
    kit = kit or find_kit()
    deadline = None
    if before is not None:
        try:
            deadline = repos.parse_deadline(before)
        except ValueError as exc:
            raise GradingError(str(exc)) from None
    root, out = root.resolve(), out.resolve()
    subs = students(root)
    if out == root or root in out.parents:
        raise GradingError(f"the gradebook folder {out} is inside the submissions {root}: put it elsewhere")
    unknown = set() if isinstance(regrade, bool) else regrade - {s.name for s in subs}
    if unknown:
        raise GradingError(f"--regrade names no submission folder: {', '.join(sorted(unknown))}")
    workers = resolve_jobs(jobs)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{EXPORTS}*"):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    # Commits are exported under one private folder inside the gradebook, hidden (like the class and the
    # gradebook) from every student's code: a student graded at the same time must not read another's export.
    exports = Path(tempfile.mkdtemp(prefix=EXPORTS, dir=out))
    run = Run([])
    rows: dict[str, Row] = {}
    pending: list[Job] = []

    def save() -> None:
        write_csv(sorted(rows.values(), key=lambda r: r.student), chapters, out / "gradebook.csv")

    try:
        version = kit_hash(kit)
        for sub in subs:
            job = prepare(sub, chapters, deadline, exports, seed, budget, version, seed_per_student)
            if isinstance(job, Row):
                rows[job.student] = job
                continue
            again = regrade is True or job.student in regrade
            earlier = None if again else previous_row(out, job)
            if earlier is not None:
                rows[job.student] = earlier
                run.skipped.append(job.student)
            else:
                pending.append(job)
        save()
        if run.skipped:
            progress(f"{len(run.skipped)} of {len(subs)} already graded with the same files, kit and seed: kept "
                     "(--regrade NAME,... or --regrade-all grades them again)")
        done = _Progress(len(pending), progress)

        def arrived(student: str, payload: dict) -> None:
            row = rows[student] = store(out, student, payload)
            run.graded.append(student)
            save()
            shown = f"{row.total:g}/{row.max_score:g}" if row.total is not None else row.status
            done.step(f"{student}: {shown}" + (f" (commit {row.commit[:10]})" if row.commit else ""))

        try:
            if scheduler:
                from .cluster import grade_on_cluster

                grade_on_cluster(scheduler, pending, version, arrived)
            else:
                _grade_here(pending, kit, workers, (root, out), arrived)
        except KeyboardInterrupt:
            run.interrupted = True
        finally:
            done.close()
        for job in pending:  # not graded (interrupted): their earlier row, if any, stays in the CSV
            if job.student not in rows:
                earlier = previous_row(out, job)
                rows[job.student] = earlier or Row(job.student, status="not graded yet: the run was interrupted")
        save()
    finally:
        shutil.rmtree(exports, ignore_errors=True)
    run.rows = sorted(rows.values(), key=lambda r: r.student)
    return run


def _grade_here(pending: list[Job], kit: Kit, workers: int, hide_also: tuple[Path, ...], arrived) -> None:
    """Grade on this machine: every chapter of every student a piece of work for a pool of ``workers``
    processes (:mod:`autograder.pool`), each student stored as their last chapter ends."""
    jobs = {job.student: job for job in pending}

    def store_one(student: str, report) -> None:
        job = jobs[student]
        if isinstance(report, BaseException):
            arrived(student, not_graded(job, report if isinstance(report, GradingError) else
                                        f"the grading failed ({type(report).__name__}: {report})"))
        else:
            arrived(student, payload(job, report))

    # The feedback page (about a second of matplotlib per student) is drawn on a thread of its own: the loop
    # below keeps handing chapters to the pool meanwhile, instead of leaving its processes waiting.
    with ChapterPool(workers, kit) as pool, ThreadPoolExecutor(1) as writer:
        stored = []
        for job in pending:
            try:
                find_chapters(job.folder, kit)  # a folder that is not a submission: one line, not a zero per test
            except GradingError as exc:
                stored.append(writer.submit(arrived, job.student, not_graded(job, exc)))
                continue
            pool.submit(job.student, job.folder, [Chapter.from_name(n) for n in job.chapters], seed=job.seed,
                        budget=job.budget, hide_also=hide_also)
        try:
            for student, report in pool.reports():
                stored.append(writer.submit(store_one, student, report))
        except BaseException:
            writer.shutdown(wait=True, cancel_futures=True)  # what is being written is finished, nothing more
            raise
        for future in stored:
            future.result()  # a failure to write is the gradebook's own: let it be seen


class _Progress:
    """A progress bar with an ETA on a terminal (tqdm); a plain line per student otherwise (a log, CI)."""

    def __init__(self, total: int, progress):
        from tqdm.auto import tqdm

        self.total, self.count, self.progress = total, 0, progress
        self.bar = tqdm(total=total, unit="student", desc="grading", disable=None, file=sys.stderr)

    def step(self, line: str) -> None:
        self.count += 1
        if self.bar.disable:
            self.progress(f"{self.count}/{self.total} {line}")
        else:
            self.bar.set_postfix_str(line[:40])
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def write_csv(rows: list[Row], chapters: list[Chapter], path: Path) -> None:
    """The gradebook, written atomically (a reader never sees half of it)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["student", *[c.number for c in chapters], "total", "max", "percent", "status", "commit"])
    for r in rows:
        graded = r.total is not None
        scores = [f"{r.chapters.get(c.number, 0.0):g}" if graded else "" for c in chapters]
        percent = f"{100 * r.total / r.max_score:.1f}" if graded and r.max_score else ""
        writer.writerow([r.student, *scores, f"{r.total:g}" if graded else "",
                         f"{r.max_score:g}" if graded else "", percent, r.status, r.commit])
    write_atomic(path, buf.getvalue())
