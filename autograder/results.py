"""What a grading run produces: the terminal scorecard and Gradescope's ``results.json``."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .engine import Report

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


def scorecard(report: Report) -> str:
    """A table of chapters (points, max) with one line per failed test."""
    lines = [f"{'chapter':<26}{'points':>8}{'max':>6}", "-" * 40]
    for chapter in report.chapters:
        mine = [r for r in report.results if r.chapter == chapter]
        got, top = sum(r.score for r in mine), sum(r.max_score for r in mine)
        lines.append(f"{chapter.number + ' ' + chapter.topic:<26}{got:>8g}{top:>6g}")
        note = report.notes.get(chapter.name)
        if note:
            lines.append(f"    ! {note.splitlines()[0][:110]}")
        # One line per distinct reason: an untouched stub says "not implemented yet" once, not per test.
        reasons: dict[str, list[str]] = {}
        for r in mine:
            if r.failed and r.max_score:
                reasons.setdefault(r.headline(), []).append(r.title)
        skips = sorted({r.message for r in mine if r.status == "skipped"})
        lines += [f"    - {reason[:110]}" for reason in skips]
        for reason, titles in reasons.items():
            label = titles[0] if len(titles) == 1 else f"{len(titles)} tests"
            lines.append(f"    x {label}: {reason}")
    lines.append("-" * 40)
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    lines.append(f"{'total':<26}{report.score:>8g}{report.max_score:>6g}   ({pct:.1f}%)")
    lines.append(f"graded in {report.seconds:.1f} s; isolation: {report.isolation}")
    if report.data:
        lines.append(report.data)
    return "\n".join(lines)


def gradescope_json(report: Report, *, hidden_visibility: str = "after_published", hidden_total: bool = False,
                    notes: list[str] = ()) -> dict:
    """Gradescope's results format; every test name starts with its chapter number.

    Visible suites' tests are always ``visible``; the hidden suites' tests get ``hidden_visibility``. With
    ``hidden_total`` the top-level output (which students see) says how many of the hidden points were earned;
    otherwise nothing visible gives the hidden score away. ``notes``: lines about the whole submission (what was
    found in an upload) put first in the output. The suites' leaderboard figures become ``leaderboard``.
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(VISIBILITIES)}, not {hidden_visibility!r}")
    tests = []
    for r in report.results:
        output = r.message or ("passed" if r.passed else "")
        if r.failed and r.chapter.name in report.notes and report.notes[r.chapter.name] not in output:
            output = f"{report.notes[r.chapter.name]}\n{output}".strip()
        tests.append({"name": r.name, "score": r.score, "max_score": r.max_score,
                      "status": "failed" if r.failed else "passed", "output": output,
                      "visibility": hidden_visibility if r.hidden else "visible"})
    lines = [*notes, f"Graded {len(report.chapters)} chapter(s); isolation: {report.isolation}", report.data]
    if hidden_total:
        hidden = [r for r in report.results if r.hidden]
        lines.append(f"hidden tests: {sum(r.score for r in hidden):g} of {sum(r.max_score for r in hidden):g} points")
    data = {"score": report.score, "execution_time": round(report.seconds, 2),
            "output": "\n".join(filter(None, lines)), "stdout_visibility": "hidden", "tests": tests}
    if report.leaderboard:
        data["leaderboard"] = [{"name": e[0], "value": e[1], **({"order": e[2]} if len(e) > 2 else {})}
                               for e in report.leaderboard]
    return data


def write_json(data: dict, path: Path) -> None:
    """``results.json`` (or any JSON), written atomically."""
    write_atomic(Path(path), json.dumps(data, indent=2))


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader never sees half a results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)
