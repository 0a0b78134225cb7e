"""Grading a class: every submission in a folder, into a gradebook CSV and one feedback folder per student.

    submissions/alice/ch1_1_arrays/...  ->  gradebook/gradebook.csv       student, 1.1, ..., total, max, percent,
    submissions/bob/...                                                   status, commit
                                            gradebook/alice/results.json  Gradescope's format
                                            gradebook/alice/feedback.md   the scorecard, for the student

A student's folder is a submission (shaped like a release) or a clone of their repository (GitHub
Classroom: ``gh classroom clone student-repos``). A repository is graded at a commit, never at its working
tree: the latest, or the last one before ``--before`` (:mod:`autograder.repos`); the gradebook records it.

Each submission is graded exactly as ``dlcourse grade`` does it, in a fresh process of its own
(``concurrent.futures``, ``--jobs`` at a time), with the other students' folders and the gradebook hidden
from its code. A student's files are written as soon as they are graded, and the CSV is rewritten after
each one, so stopping half-way loses nothing already graded. A folder that is not a submission, or a
grading run that breaks, becomes a row with an empty score and the reason in ``status``.
"""
from __future__ import annotations

import csv
import io
import multiprocessing
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

from . import repos
from .engine import GradingError, find_chapters, find_kit, grade
from .kit import Kit
from .results import gradescope_json, scorecard, write_atomic, write_json


@dataclass
class Row:
    student: str
    chapters: dict[str, float] = field(default_factory=dict)  # chapter number -> points
    total: float | None = None
    max_score: float | None = None
    status: str = "graded"
    commit: str = ""  # the commit graded, for a repository


def students(root: Path) -> list[Path]:
    """The submission folders of ``root``, by name (hidden folders and files are not students)."""
    if not root.is_dir():
        raise GradingError(f"{root} is not a folder of submissions (one folder per student)")
    found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise GradingError(f"{root} holds no submission folders (one folder per student)")
    return found


def _checkout(submission: Path, before, scratch: Path, row: Row) -> Path:
    """The folder to grade: a repository's commit exported into ``scratch``, or the submission as it is."""
    if not repos.is_repo(submission):
        if before is not None:
            row.status = "graded as it is: not a git repository, so --before does not apply"
        return submission
    commit = repos.commit_to_grade(submission, before)
    row.commit = commit.sha
    return repos.export(submission, commit, scratch / submission.name)


def grade_one(submission: Path, chapters: list[Chapter], out: Path, seed: int, budget: float,
              hide_also: tuple[Path, ...], kit: Kit, before=None, scratch: Path | None = None) -> Row:
    """Grade one student's submission and write ``out/<student>/results.json`` and ``feedback.md``."""
    row = Row(submission.name)
    scratch = Path(tempfile.mkdtemp(prefix="export-", dir=scratch))
    try:
        folder = _checkout(submission, before, scratch, row)
        find_chapters(folder, kit)  # a folder that is not a submission: one line, not a zero per test
        report = grade(folder, chapters, seed=seed, budget=budget, hide_also=hide_also, kit=kit)
    except (GradingError, repos.RepoError) as exc:
        row.status = f"not graded: {str(exc).splitlines()[0]}"
        return row
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = gradescope_json(report)
    card = scorecard(report)
    if row.commit:
        results["extra_data"] = {"commit": row.commit}
        card = f"graded commit {row.commit}\n{card}"
    write_json(results, out / submission.name / "results.json")
    write_atomic(out / submission.name / "feedback.md", feedback_markdown(submission.name, card))
    for r in report.results:
        row.chapters[r.chapter.number] = row.chapters.get(r.chapter.number, 0.0) + r.score
    row.total, row.max_score = report.score, report.max_score
    return row


def feedback_markdown(student: str, card: str) -> str:
    return f"# Feedback for {student}\n\n```\n{card}\n```\n"


def grade_all(root: Path, chapters: list[Chapter], out: Path, *, seed: int = 0, budget: float = 60.0,
              jobs: int = 1, kit: Kit | None = None, before: str | None = None, progress=print) -> list[Row]:
    """Grade every submission under ``root`` into ``out``; returns the rows of ``out/gradebook.csv``.

    ``before``: an ISO 8601 deadline; each git repository is graded at its last commit before it.
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
    out.mkdir(parents=True, exist_ok=True)
    # Commits are exported under one private folder, hidden (like the class and the gradebook) from every
    # student's code: a student graded at the same time must not read another's export.
    exports = Path(tempfile.mkdtemp(prefix="dlcourse-gradebook-"))
    hide_also = (root, out, exports)
    rows: dict[str, Row] = {}
    # A fresh process per student: a grading run changes process-wide state (pytest, imports, environment),
    # and a crash there costs one row, not the gradebook. "spawn": no copy of this process's threads.
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    try:
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn"),
                                 **fresh) as pool:
            futures = {pool.submit(grade_one, sub, chapters, out, seed, budget, hide_also, kit, deadline,
                                   exports): sub for sub in subs}
            for future in as_completed(futures):
                name = futures[future].name
                try:
                    row = future.result()
                except Exception as exc:  # the grading process itself broke (killed, out of memory, ...)
                    row = Row(name, status=f"not graded: the grading process failed ({type(exc).__name__}: {exc})")
                rows[name] = row
                write_csv(sorted(rows.values(), key=lambda r: r.student), chapters, out / "gradebook.csv")
                shown = f"{row.total:g}/{row.max_score:g}" if row.total is not None else row.status
                progress(f"{len(rows)}/{len(subs)} {name}: {shown}" + (f" (commit {row.commit[:10]})"
                                                                        if row.commit else ""))
    finally:
        shutil.rmtree(exports, ignore_errors=True)
    return sorted(rows.values(), key=lambda r: r.student)


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
