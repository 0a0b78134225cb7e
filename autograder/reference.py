"""The reference solutions, imported into the trusted grading process for the hidden suites.

A hidden suite that needs a correct helper from an earlier chapter (a forward pass to measure the
accuracy of trained weights, the loss whose gradient is checked) takes it from here, never from the
submission: ``reference("ch3_3_mlp_forward").forward_mlp``.
"""
from __future__ import annotations

import functools
import importlib
import sys

from dlcourse.chapters import Chapter, list_chapters, repo_root

SOLUTIONS = repo_root() / "solutions"


@functools.lru_cache(maxsize=None)
def reference(chapter_name: str):
    """The reference module of a chapter (``"ch1_3_sigmoid"`` or ``"1.3"``)."""
    chapters = list_chapters(SOLUTIONS)
    chapter = next((c for c in chapters if chapter_name in (c.name, c.number)), None)
    if chapter is None:
        raise LookupError(f"no reference solution for chapter {chapter_name!r} in {SOLUTIONS}")
    # Reference modules import earlier chapters by module name: make all of them importable.
    for c in chapters:
        folder = str(SOLUTIONS / c.name)
        if folder not in sys.path:
            sys.path.append(folder)
    return importlib.import_module(chapter.module)


__all__ = ["reference", "Chapter"]
