"""Chapters: names, numbers and where their files live.

A chapter folder is named ``chM_N_topic`` (``ch1_3_sigmoid``); the same name is used in ``source/``,
``exercises/``, ``solutions/`` and ``autograder/``. Its student module is ``topic.py`` (``sigmoid.py``),
and ``M.N`` (``1.3``) is how people, scores and commands refer to it.
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
    """Filter ``chapters`` by a comma-separated list of numbers or names (``"1.1,ch1_3_sigmoid"``)."""
    if not spec:
        return list(chapters)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    by_key = {c.number: c for c in chapters} | {c.name: c for c in chapters}
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        known = ", ".join(c.number for c in chapters)
        raise ChapterError(f"unknown chapter(s) {', '.join(unknown)}; this kit has {known}")
    picked = {by_key[w] for w in wanted}
    return [c for c in chapters if c in picked]


def chapter_of_path(path: Path) -> Chapter | None:
    """The chapter whose folder contains ``path`` (the nearest ``chM_N_topic`` ancestor), if any."""
    for part in reversed(Path(path).resolve().parts):
        if CHAPTER_RE.match(part):
            return Chapter.from_name(part)
    return None


def repo_root() -> Path:
    """The kit's root folder (holding source/, autograder/, solutions/)."""
    return Path(__file__).resolve().parents[1]
