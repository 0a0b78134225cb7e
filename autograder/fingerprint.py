"""What a student's grade depends on, as one hash: a gradebook that meets the same hash again skips the grading.

    fingerprint = sha256(the submission's graded files, the kit's grading material, the grader's code, the
                         chapters, the seed, the time budget)

Change any of them (a student pushes again, the instructor fixes a hidden test, a new seed) and the student is
graded again; change none and re-running ``dlcourse gradebook`` on the same folder only fills in what is missing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dlcourse.chapters import Chapter
from dlcourse.work import MANIFEST

from .engine import AUTOGRADER
from .filehash import hash_files
from .kit import Kit


def submission_hash(folder: Path, chapters: list[Chapter]) -> str:
    """The files the grader reads from a submission: its chapter folders and its release manifest."""
    digest = hashlib.sha256()
    hash_files(digest, folder, [folder / MANIFEST])
    for chapter in chapters:
        hash_files(digest, folder, (folder / chapter.name).rglob("*"))
    return digest.hexdigest()


def kit_hash(kit: Kit) -> str:
    """The kit's grading material (visible and hidden suites, reference modules) and the grader's own code."""
    import dlcourse

    digest = hashlib.sha256()
    for root, pattern in ((kit.source, "ch*/test_*.py"), (kit.hidden, "ch*/*.py"), (kit.solutions, "ch*/*.py")):
        hash_files(digest, root, root.glob(pattern))
    runtime = Path(dlcourse.__file__).resolve().parent
    for package in (AUTOGRADER, runtime):
        hash_files(digest, package, package.rglob("*.py"))
    return digest.hexdigest()


def fingerprint(files: str, kit: str, chapters: list[Chapter], seed: int, budget: float) -> str:
    settings = json.dumps({"files": files, "kit": kit, "chapters": [c.name for c in chapters], "seed": seed,
                           "budget": budget}, sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()


def student_seed(seed: int, student: str) -> int:
    """A seed of its own per student (``--seed-per-student``): derived from the run's seed and the folder name,
    so a regrade of the same student with the same run seed reproduces it."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{student}".encode()).digest()[:4], "big") & 0x7FFFFFFF
