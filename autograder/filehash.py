"""sha256 over a set of files, each by its path and content: what a gradebook's fingerprints and the build's
stamps are made of."""
from __future__ import annotations

from pathlib import Path

SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".git"}  # caches a run leaves behind, and git's folder


def hash_files(digest, root: Path, paths) -> None:
    """Feed ``digest`` each file's path (relative to ``root``), size and bytes, in a fixed order; folders and
    anything under :data:`SKIP_PARTS` are left out."""
    for path in sorted(paths):
        rel = path.relative_to(root)
        if SKIP_PARTS.intersection(rel.parts) or not path.is_file():
            continue
        digest.update(f"{rel.as_posix()}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
