"""Is a generated folder still what its inputs make? A stamp of input and output digests, so a build can be skipped.

``nbgrader_config.py`` refreshes nbgrader's source notebooks every time nbgrader loads it, and nbgrader loads it
three times per command: rendering the 21 chapters each time cost 4.2 s of every ``nbgrader`` command. The stamp
lets the refresh see in milliseconds that nothing changed. It is a JSON file beside the folder:
``{"inputs": digest, "outputs": {path: sha256}}``; the outputs are re-hashed, so an output edited or deleted by
hand is rebuilt too.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from dlcourse.work import sha256

from .filehash import hash_files

# Libraries whose version changes what a render writes (nbgrader's stubs, nbformat's JSON, build-time figures).
LIBRARIES = ("nbgrader", "nbformat", "matplotlib", "numpy")


def inputs_digest(trees: list[Path], code: list[Path]) -> str:
    """sha256 over every file of ``trees`` and the ``.py`` files of the packages ``code`` (paths and contents),
    and the versions of Python and of :data:`LIBRARIES`."""
    h = hashlib.sha256(sys.version.encode())
    for lib in LIBRARIES:
        try:
            h.update(f"\0{lib}={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"\0{lib}=none".encode())
    for folders, pattern in ((trees, "*"), (code, "*.py")):
        for folder in sorted({f.resolve() for f in folders}):
            h.update(f"\0[{folder.name}]".encode())  # a file moved from one tree to another changes the digest
            hash_files(h, folder, (p for p in folder.rglob(pattern) if not p.name.endswith(".tmp")))
    return h.hexdigest()


def _sha(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except OSError:
        return None


def is_current(stamp: Path, root: Path, inputs: str) -> bool:
    """True when ``stamp`` records ``inputs`` and every output it lists (relative to ``root``) is unchanged."""
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("inputs") != inputs or not isinstance(data.get("outputs"), dict):
        return False
    return all(_sha(root / rel) == digest for rel, digest in data["outputs"].items())


def write(stamp: Path, root: Path, inputs: str, outputs: list[str]) -> None:
    """Record ``inputs`` and the current content of ``outputs`` (paths relative to ``root``); atomic."""
    data = {"inputs": inputs, "outputs": {rel: _sha(root / rel) for rel in sorted(outputs)}}
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(stamp)
