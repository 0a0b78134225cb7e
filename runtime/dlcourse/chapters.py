"""Chapters: names, numbers and where their files live.

A chapter folder is named ``chM_N_topic`` (``ch1_3_sigmoid``); the same name is used in a student's
repository and, in the instructor's kit, in its sources, release, solutions and hidden suites.
Its student module is ``topic.py`` (``sigmoid.py``), and ``M.N`` (``1.3``) is how people, scores and
commands refer to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CHAPTER_RE = re.compile(r"^ch(\d+)_(\d+)_([a-z][a-z0-9_]*)$")


class ChapterError(ValueError):
    """A chapter name, number or folder that does not follow the conventions."""


@dataclass(frozen=True, order=True)
class Chapter:
    major: int
    minor: int
    topic: str

    @classmethod
    def from_name(cls, name: str) -> "Chapter":
        m = CHAPTER_RE.match(name)
        if not m:
            raise ChapterError(f"{name!r} is not a chapter folder name (expected chM_N_topic, e.g. ch1_3_sigmoid)")
        return cls(int(m.group(1)), int(m.group(2)), m.group(3))

    @property
    def name(self) -> str:
        return f"ch{self.major}_{self.minor}_{self.topic}"

    @property
    def number(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def module(self) -> str:
        """Name of the student module (without .py)."""
        return self.topic

    def __str__(self) -> str:
        return self.name


def is_chapter_dir(path: Path) -> bool:
    return path.is_dir() and CHAPTER_RE.match(path.name) is not None


def list_chapters(root: Path) -> list[Chapter]:
    """Chapters found as folders of ``root``, in curriculum order."""
    if not root.is_dir():
        return []
    return sorted(Chapter.from_name(p.name) for p in root.iterdir() if is_chapter_dir(p))


def select(chapters: list[Chapter], spec: str | None) -> list[Chapter]:
    """Filter ``chapters`` by a comma-separated list of numbers, names or ranges of numbers
    (``"1.1,ch1_3_sigmoid"``, ``"1.1-2.4"``, ``"1.1-2.4,3.1"``); a range takes every chapter between its ends."""
    if not spec:
        return list(chapters)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    by_key = {c.number: c for c in chapters} | {c.name: c for c in chapters}
    known = ", ".join(c.number for c in chapters)
    picked: set[Chapter] = set()
    unknown = []
    for w in wanted:
        if w in by_key:
            picked.add(by_key[w])
            continue
        lo, sep, hi = w.partition("-")
        if sep and lo.strip() in by_key and hi.strip() in by_key:
            first, last = by_key[lo.strip()], by_key[hi.strip()]
            if last < first:
                raise ChapterError(f"chapter range {w} runs backwards; write {last.number}-{first.number}")
            picked |= {c for c in chapters if first <= c <= last}
        else:
            unknown.append(w)
    if unknown:
        raise ChapterError(f"unknown chapter(s) {', '.join(unknown)}; this kit has {known}")
    return [c for c in chapters if c in picked]


def chapter_of_path(path: Path) -> Chapter | None:
    """The chapter whose folder contains ``path`` (the nearest ``chM_N_topic`` ancestor), if any."""
    for part in reversed(Path(path).resolve().parts):
        if CHAPTER_RE.match(part):
            return Chapter.from_name(part)
    return None
