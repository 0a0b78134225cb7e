"""The reference solutions, imported into the trusted grading process for the hidden suites.

A hidden suite that needs a correct helper from an earlier chapter (a forward pass to measure the
accuracy of trained weights, the loss whose gradient is checked) takes it from here, never from the
submission: ``reference("ch3_3_mlp_forward").forward_mlp``. The modules come from the kit's ``solutions/``.
"""
from __future__ import annotations

import functools
import importlib
import sys

from .kit import Kit

_kit: Kit | None = None


def use_kit(kit: Kit) -> None:
    """The kit whose solutions :func:`reference` imports (the grading engine sets the one it grades with)."""
    global _kit
    _kit = kit


def reference(chapter_name: str):
    """The reference module of a chapter (``"ch3_3_mlp_forward"`` or ``"3.3"``)."""
    return _import(_kit or Kit.find(), chapter_name)


@functools.lru_cache(maxsize=None)
def _import(kit: Kit, chapter_name: str):
    chapters = kit.references()
    chapter = next((c for c in chapters if chapter_name in (c.name, c.number)), None)
    if chapter is None:
        raise LookupError(f"no reference solution for chapter {chapter_name!r} in {kit.solutions}")
    # Reference modules import earlier chapters by module name: make all of them importable.
    for c in chapters:
        folder = str(kit.solutions / c.name)
        if folder not in sys.path:
            sys.path.append(folder)
    return importlib.import_module(chapter.module)
