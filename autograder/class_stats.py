"""What the class gets wrong: each test's pass rate over the graded students, the commonest failure of each,
and a histogram of every chapter's scores (``dlcourse gradebook ... --stats``).

    gradebook/stats.csv   test, chapter, points, passed, graded, pass_rate, commonest_failure, its_count, hint
    gradebook/stats.md    the most-failed tests with their commonest failure, then the histograms
    gradebook/stats.png   one histogram of scores per chapter

It reads the students' ``results.json`` (so students kept from an earlier run count too). Failure messages are
grouped after replacing their numbers by ``#``: the same mistake on another student's random input is the same
failure.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.chapters import Chapter

from .results import write_atomic

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")  # not inside a name (ch1_3)
CHAPTER_PREFIX = re.compile(r"^\d+\.\d+ ")  # "1.3 sigmoid ...": a chapter, not a value
SHOWN = 15  # most-failed tests listed in stats.md


@dataclass
class TestStats:
    name: str
    chapter: str
    points: float
    passed: int = 0
    failures: Counter = field(default_factory=Counter)  # (first line with # for numbers, hint) -> students

    @property
    def graded(self) -> int:
        return self.passed + sum(self.failures.values())

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def failure_key(output: str) -> tuple[str, str]:
    """The failure's first line with its numbers as ``#``, and its hint (the line that names the usual cause)."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    prefix = CHAPTER_PREFIX.match(lines[0]) if lines else None
    first = lines[0] if lines else "(no message)"
    first = (prefix.group(0) if prefix else "") + NUMBER.sub("#", first[prefix.end() if prefix else 0:])
    hint = next((ln for ln in lines if ln.startswith("Hint:")), "")
    return first[:200], hint[:300]


def collect(out: Path, rows) -> dict[str, TestStats]:
    """Per test name, over the graded students' results.json."""
    tests: dict[str, TestStats] = {}
    for row in rows:
        if row.total is None:
            continue
        try:
            results = json.loads((out / row.student / "results.json").read_text())
        except (OSError, ValueError):
            continue
        said = (results.get("extra_data") or {}).get("failures") or {}  # the messages without chapter notes
        for t in results.get("tests", []):
            name = t.get("name", "?")
            stats = tests.setdefault(name, TestStats(name, name.split(" ", 1)[0], float(t.get("max_score", 0))))
            if t.get("status") == "passed":
                stats.passed += 1
            else:
                stats.failures[failure_key(said.get(name) or t.get("output", ""))] += 1
    return tests


def write_stats(out: Path, rows, chapters: list[Chapter]) -> None:
    tests = sorted(collect(out, rows).values(), key=lambda s: (s.pass_rate, -s.points, s.name))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["test", "chapter", "points", "passed", "graded", "pass_rate", "commonest_failure", "its_count",
                     "hint"])
    for s in tests:
        (first, hint), count = s.failures.most_common(1)[0] if s.failures else (("", ""), 0)
        writer.writerow([s.name, s.chapter, f"{s.points:g}", s.passed, s.graded, f"{s.pass_rate:.3f}", first, count,
                         hint])
    write_atomic(out / "stats.csv", buf.getvalue())
    graded = [r for r in rows if r.total is not None]
    most = Counter()
    for t in tests:
        most[t.chapter] += t.points
    _histograms(graded, chapters, most, out / "stats.png")
    lines = [f"# What the class gets wrong ({len(graded)} graded submissions)", "",
             f"The {SHOWN} tests passed least often (all {len(tests)} in stats.csv):", "",
             "| test | passed | commonest failure (students) |", "| --- | --- | --- |"]
    for s in [t for t in tests if t.failures][:SHOWN]:
        (first, hint), count = s.failures.most_common(1)[0]
        cell = f"{first} {hint}".strip().replace("|", "\\|")
        lines.append(f"| {s.name.replace('|', '/')} | {s.passed}/{s.graded} ({s.pass_rate:.0%}) | {cell} ({count}) |")
    lines += ["", "## Scores per chapter", "", "![score histograms per chapter](stats.png)", ""]
    write_atomic(out / "stats.md", "\n".join(lines))


def _histograms(rows, chapters: list[Chapter], most: Counter, path: Path) -> None:
    """One small histogram of the students' points per chapter (``most``: chapter number -> its points), a grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    grid = max(1, -(-len(chapters) // cols))
    fig, axes = plt.subplots(grid, cols, figsize=(3.2 * cols, 2.2 * grid), squeeze=False)
    for ax, chapter in zip(axes.ravel(), chapters):
        scores = [r.chapters.get(chapter.number, 0.0) for r in rows]
        ax.hist(scores, bins=10, color="tab:blue", range=(0, most[chapter.number] or 1))
        ax.set_title(f"{chapter.number} {chapter.topic}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(chapters):]:
        ax.axis("off")
    fig.supxlabel("points", fontsize=9)
    fig.supylabel("students", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
