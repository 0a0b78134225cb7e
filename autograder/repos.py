"""Student repositories (GitHub Classroom): which commit to grade, and its files.

``gh classroom clone student-repos`` leaves one clone per student in a folder. A repository is graded at a
commit, never at its working tree (which may hold uncommitted edits): the latest commit of ``HEAD``, or the
last one made before a deadline. Commit dates are written by the student's machine, so a deadline read from
them can be fooled by a wrong clock; for a hard deadline, clone when it passes.
"""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


class RepoError(Exception):
    """A repository that cannot be graded (no commit, no commit before the deadline, git failed)."""


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # committer date, ISO 8601

    @property
    def short(self) -> str:
        return self.sha[:10]


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 date or date-time (``2026-12-01``, ``2026-12-01T23:59``, with ``Z`` or an offset); without a
    zone it is this machine's local time. ``ValueError`` names the expected form."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--before {text!r} is not a date: use ISO 8601, e.g. 2026-12-01T23:59:00+01:00") from None
    return when.astimezone() if when.tzinfo is None else when


def is_repo(folder: Path) -> bool:
    return os.path.lexists(folder / ".git")


def check_plain(folder: Path) -> None:
    """Refuse a ``.git`` that could make git read another repository (the kit's own, say): a ``.git`` file or
    link (``gitdir: ...``), a shared ``commondir``, or objects borrowed through ``alternates``. A clone made by
    git (or ``gh classroom clone``) has none of them."""
    git_dir = folder / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        raise RepoError(".git is a file or a link, not a repository of its own")
    for borrowed in ("commondir", "objects/info/alternates", "objects/info/http-alternates"):
        if (git_dir / borrowed).exists():
            raise RepoError(f".git/{borrowed} makes the repository read another one")


# No command a repository's own configuration names (a file-system monitor, hooks) runs while it is read.
_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")


def _git(folder: Path, *args: str) -> str:
    proc = subprocess.run(["git", *_SAFE, "-C", str(folder), *args], capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=120)
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RepoError(f"git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout.decode(errors="replace")


def commit_to_grade(folder: Path, before: datetime | None = None) -> Commit:
    """The commit of ``HEAD`` to grade: the latest, or the last one with a committer date before ``before``."""
    check_plain(folder)
    try:
        _git(folder, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except RepoError:
        raise RepoError("the repository has no commit yet") from None
    args = ["rev-list", "-1"]
    if before is not None:
        args.append(f"--before={before.astimezone(timezone.utc).isoformat()}")
    sha = _git(folder, *args, "HEAD").strip()
    if not sha:
        raise RepoError(f"no commit before {before.isoformat()}")
    date = _git(folder, "show", "-s", "--format=%cI", sha).strip()
    return Commit(sha, date)


def export(folder: Path, commit: Commit, dest: Path) -> Path:
    """The files of ``commit`` written to ``dest`` (``git archive``; the clone itself is left untouched)."""
    proc = subprocess.run(["git", *_SAFE, "-C", str(folder), "archive", "--format=tar", commit.sha],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    if proc.returncode != 0:
        raise RepoError(f"git archive failed: {proc.stderr.decode(errors='replace').strip()[-200:]}")
    return extract(proc.stdout, dest)


def extract(archive: bytes, dest: Path) -> Path:
    """The files of a tar archive written to ``dest``: regular files and folders inside it only."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # refuses absolute paths, links out of dest and device files
            tar.extractall(dest, filter="data")
        else:
            _extract_safely(tar, dest)
    return dest


def _extract_safely(tar: tarfile.TarFile, dest: Path) -> None:
    """Python < 3.10.12 has no extraction filters: regular files and folders inside ``dest`` only."""
    root = dest.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if root not in (target, *target.parents) or not (member.isfile() or member.isdir()):
            continue
        tar.extract(member, root)
