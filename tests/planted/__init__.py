"""Planted-bug submissions: realistic student mistakes, each applied to a copy of the reference solutions.

Every chapter module lists its bugs as ``Bug(chapter, name, old, new, expect)``: ``old`` is a snippet of the
reference module (it must occur exactly once), ``new`` its buggy replacement, and ``expect`` a piece of text
the grader's feedback for that chapter must contain (the hint that points at the mistake).
"""
from __future__ import annotations

import importlib
import pkgutil
import shutil
from dataclasses import dataclass
from pathlib import Path

from dlcourse.chapters import Chapter, list_chapters


@dataclass(frozen=True)
class Bug:
    chapter: str  # "1.3"
    name: str
    old: str
    new: str
    expect: str

    def __str__(self) -> str:
        return f"{self.chapter}-{self.name}"


def all_bugs() -> list[Bug]:
    bugs: list[Bug] = []
    for info in pkgutil.iter_modules(__path__):
        bugs += importlib.import_module(f"{__name__}.{info.name}").BUGS
    return bugs


def batches(bugs: list[Bug]) -> list[list[Bug]]:
    """Batch k holds the k-th bug of every chapter: one grading run checks one bug per chapter."""
    by_chapter: dict[str, list[Bug]] = {}
    for bug in bugs:
        by_chapter.setdefault(bug.chapter, []).append(bug)
    depth = max(len(v) for v in by_chapter.values())
    return [[v[k] for v in by_chapter.values() if k < len(v)] for k in range(depth)]


def make_submission(solutions: Path, dest: Path, bugs: list[Bug]) -> Path:
    """Copy the reference solutions to ``dest`` and plant ``bugs`` (at most one per chapter)."""
    shutil.copytree(solutions, dest)
    chapters = {c.number: c for c in list_chapters(solutions)}
    for bug in bugs:
        chapter: Chapter = chapters[bug.chapter]
        module = dest / chapter.name / f"{chapter.module}.py"
        text = module.read_text()
        assert text.count(bug.old) == 1, f"{bug}: the snippet to replace occurs {text.count(bug.old)} times in {module}"
        module.write_text(text.replace(bug.old, bug.new))
    return dest
