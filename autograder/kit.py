"""The kit a grader reads: the chapters' sources, reference solutions, release stubs and hidden suites.

A kit is a folder laid out like the instructor's repository::

    source/<chapter>/       the master module and the visible tests (test_*.py)
    solutions/<chapter>/    the reference module <topic>.py
    exercises/<chapter>/    the release: the stub module as students got it
    autograder/<chapter>/   the hidden suites (test_*_hidden.py)

The grader's code (this package) holds none of them. It finds the kit, in this order: the folder passed in
(``--kit``), ``$DLCOURSE_KIT``, the checkout this package is installed from (``pip install -e .``), the
current folder or one of its parents. A Gradescope bundle carries a kit of its own (its selected chapters).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dlcourse.chapters import Chapter, list_chapters

KIT_ENV = "DLCOURSE_KIT"


class KitError(Exception):
    """No kit where one was looked for; the message is one line that says where to point."""


def _is_kit(path: Path) -> bool:
    return (path / "source").is_dir() and (path / "solutions").is_dir()


@dataclass(frozen=True)
class Kit:
    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def exercises(self) -> Path:
        return self.root / "exercises"

    @property
    def hidden(self) -> Path:
        return self.root / "autograder"

    def chapters(self) -> list[Chapter]:
        """The chapters this kit grades (those with a source folder), in curriculum order."""
        return list_chapters(self.source)

    def references(self) -> list[Chapter]:
        """The chapters with a reference module (every chapter up to the last graded one, in a bundle)."""
        return list_chapters(self.solutions)

    def suites(self, chapter: Chapter) -> list[Path]:
        visible = sorted((self.source / chapter.name).glob("test_*.py"))
        hidden = sorted((self.hidden / chapter.name).glob("test_*.py"))
        return visible + hidden

    def master(self, chapter: Chapter) -> Path:
        return self.source / chapter.name / f"{chapter.module}.py"

    def reference(self, chapter: Chapter) -> Path:
        return self.solutions / chapter.name / f"{chapter.module}.py"

    def stub(self, chapter: Chapter) -> Path:
        return self.exercises / chapter.name / f"{chapter.module}.py"

    @classmethod
    def find(cls, path: str | os.PathLike | None = None) -> "Kit":
        """The kit at ``path``, else at ``$DLCOURSE_KIT``, the checkout of this package, or the current folder
        or a parent of it; :class:`KitError` when none of them is one."""
        if path is not None or os.environ.get(KIT_ENV):
            where = Path(path if path is not None else os.environ[KIT_ENV]).expanduser().resolve()
            if not _is_kit(where):
                named = "--kit" if path is not None else f"${KIT_ENV}"
                raise KitError(f"{where} ({named}) is not a kit: it needs source/ and solutions/ folders")
            return cls(where)
        checkout = Path(__file__).resolve().parents[1]
        if _is_kit(checkout):
            return cls(checkout)
        for folder in (Path.cwd(), *Path.cwd().parents):
            if _is_kit(folder) and (folder / "autograder").is_dir():
                return cls(folder)
        raise KitError("no kit found (a folder with source/, solutions/ and autograder/): run this in the kit's "
                       f"folder, pass --kit PATH or set {KIT_ENV}")
