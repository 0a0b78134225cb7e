"""The gradebook in a learning-management system's import format: Canvas's gradebook-import CSV.

Canvas imports a CSV whose first columns identify the student (``Student, ID, SIS User ID, Section``; Canvas
matches rows on ``ID``) followed by one column per assignment, headed by the assignment's name. The roster is
the class list those columns come from; Canvas's own gradebook export is one (its ``Points Possible`` row is
skipped). A roster row is matched to a submission folder by its ``folder`` column, else its ``SIS Login ID``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from dlcourse.chapters import Chapter

from .engine import GradingError
from .results import write_atomic

IDENTITY = ("Student", "ID", "SIS User ID", "Section")


def read_roster(path: Path) -> list[dict[str, str]]:
    """The roster's students, each with the identity columns and ``folder`` (the submission folder's name)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except OSError as exc:
        raise GradingError(f"cannot read the roster {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("Student", "ID") if c not in columns]
    key = "folder" if "folder" in columns else "SIS Login ID" if "SIS Login ID" in columns else None
    if missing or key is None:
        need = ", ".join(missing + ([] if key else ["folder or SIS Login ID"]))
        raise GradingError(f"the roster {path} has no column {need} (it has: {', '.join(columns) or 'none'})")
    students = []
    for raw in reader:
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row.get("Student") or row["Student"].startswith("Points Possible"):
            continue
        students.append({**{c: row.get(c, "") for c in IDENTITY}, "folder": row.get(key, "")})
    return students


def canvas_csv(rows, chapters: list[Chapter], roster: Path, out: Path, assignment: str = "dlcourse",
               points: str = "total") -> list[str]:
    """Write Canvas's import CSV for ``rows`` (the gradebook's) to ``out``: every roster student, with an empty
    cell where there is no graded submission. Returns one warning line per submission with no roster entry."""
    students = read_roster(roster)
    by_folder = {r.student: r for r in rows}
    if points == "total":
        headers = [assignment]
    else:
        headers = [f"{assignment} {c.number}" for c in chapters]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*IDENTITY, *headers])
    for student in students:
        row = by_folder.get(student["folder"])
        if row is None or row.total is None:
            cells = [""] * len(headers)
        elif points == "total":
            cells = [f"{row.total:g}"]
        else:
            cells = [f"{row.chapters.get(c.number, 0.0):g}" for c in chapters]
        writer.writerow([*(student[c] for c in IDENTITY), *cells])
    write_atomic(out, buf.getvalue())
    on_roster = {s["folder"] for s in students}
    return [f"not on the roster (not in {out.name}): {r.student}" for r in rows if r.student not in on_roster]
