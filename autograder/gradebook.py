"""Grading a class: every submission in a folder, into a gradebook CSV and one feedback folder per student.

    submissions/alice/ch1_1_arrays/...  ->  gradebook/gradebook.csv       student, 1.1, ..., total, max, percent, status
    submissions/bob/...                     gradebook/alice/results.json  Gradescope's format
                                            gradebook/alice/feedback.md   the scorecard, for the student

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
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

from .engine import GradingError, Kit, find_chapters, grade
from .results import gradescope_json, scorecard, write_atomic, write_json


@dataclass
class Row:
    student: str
    chapters: dict[str, float] = field(default_factory=dict)  # chapter number -> points
    total: float | None = None
    max_score: float | None = None
    status: str = "graded"


def students(root: Path) -> list[Path]:
    """The submission folders of ``root``, by name (hidden folders and files are not students)."""
    if not root.is_dir():
        raise GradingError(f"{root} is not a folder of submissions (one folder per student)")
    found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise GradingError(f"{root} holds no submission folders (one folder per student)")
    return found


def grade_one(submission: Path, chapters: list[Chapter], out: Path, seed: int, budget: float,
              hide_also: tuple[Path, ...]) -> Row:
    """Grade one student's submission and write ``out/<student>/results.json`` and ``feedback.md``."""
    row = Row(submission.name)
    try:
        find_chapters(submission, Kit())  # a folder that is not a submission: one line, not a zero per test
        report = grade(submission, chapters, seed=seed, budget=budget, hide_also=hide_also)
    except GradingError as exc:
        row.status = f"not graded: {str(exc).splitlines()[0]}"
        return row
    folder = out / submission.name
    write_json(gradescope_json(report), folder / "results.json")
    write_atomic(folder / "feedback.md", feedback_markdown(submission.name, scorecard(report)))
    for r in report.results:
        row.chapters[r.chapter.number] = row.chapters.get(r.chapter.number, 0.0) + r.score
    row.total, row.max_score = report.score, report.max_score
    return row


def feedback_markdown(student: str, card: str) -> str:
    return f"# Feedback for {student}\n\n```\n{card}\n```\n"


def grade_all(root: Path, chapters: list[Chapter], out: Path, *, seed: int = 0, budget: float = 60.0,
              jobs: int = 1, progress=print) -> list[Row]:
    """Grade every submission under ``root`` into ``out``; returns the rows of ``out/gradebook.csv``."""
    root, out = root.resolve(), out.resolve()
    subs = students(root)
    if out == root or root in out.parents:
        raise GradingError(f"the gradebook folder {out} is inside the submissions {root}: put it elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    hide_also = (root, out)
    rows: dict[str, Row] = {}
    # A fresh process per student: a grading run changes process-wide state (pytest, imports, environment),
    # and a crash there costs one row, not the gradebook. "spawn": no copy of this process's threads.
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn"),
                             **fresh) as pool:
        futures = {pool.submit(grade_one, sub, chapters, out, seed, budget, hide_also): sub for sub in subs}
        for future in as_completed(futures):
            name = futures[future].name
            try:
                row = future.result()
            except Exception as exc:  # the grading process itself broke (killed, out of memory, ...)
                row = Row(name, status=f"not graded: the grading process failed ({type(exc).__name__}: {exc})")
            rows[name] = row
            write_csv(sorted(rows.values(), key=lambda r: r.student), chapters, out / "gradebook.csv")
            shown = f"{row.total:g}/{row.max_score:g}" if row.total is not None else row.status
            progress(f"{len(rows)}/{len(subs)} {name}: {shown}")
    return sorted(rows.values(), key=lambda r: r.student)


def write_csv(rows: list[Row], chapters: list[Chapter], path: Path) -> None:
    """The gradebook, written atomically (a reader never sees half of it)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["student", *[c.number for c in chapters], "total", "max", "percent", "status"])
    for r in rows:
        graded = r.total is not None
        scores = [f"{r.chapters.get(c.number, 0.0):g}" if graded else "" for c in chapters]
        percent = f"{100 * r.total / r.max_score:.1f}" if graded and r.max_score else ""
        writer.writerow([r.student, *scores, f"{r.total:g}" if graded else "",
                         f"{r.max_score:g}" if graded else "", percent, r.status])
    write_atomic(path, buf.getvalue())
