"""Grading a class on a Dask cluster: ``dlcourse gradebook SUBMISSIONS --scheduler tcp://HOST:8786``.

The machine that holds the gradebook packs each student's files (their chapter folders and release manifest)
into a tar archive and submits it, as bytes, with Dask's own ``Client.submit``: no shared file system is
assumed. A worker unpacks it into a private folder and grades it exactly as a local run does
(:func:`autograder.gradebook.grade_job`: the same sandbox, the same per-chapter budgets), then returns the
payload (plain data); results are written by the gradebook's machine as they arrive (``as_completed``). When a
worker dies, the scheduler gives its tasks to another worker; each student's result is stored once, whoever
graded it.

A worker needs what a grading machine needs: the kit and the grader installed the same way
(``pip install -e ./runtime -e ".[cluster]"`` in a checkout of the same commit), and MNIST, which the kit
carries. A worker whose kit differs from the gradebook's (another commit, a local edit) refuses to grade, so a
class is never graded by two versions of the suites.
"""
from __future__ import annotations

import functools
import io
import socket
import tarfile
import tempfile
from dataclasses import asdict
from pathlib import Path

from dlcourse.work import MANIFEST

from . import repos
from .engine import GradingError, find_kit
from .fingerprint import kit_hash
from .gradebook import Job, Row, grade_job, not_graded


def pack(job: Job) -> bytes:
    """The files the grader reads from ``job.folder`` as an uncompressed tar archive (notebooks, modules)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in [MANIFEST, *job.chapters]:
            path = job.folder / name
            if path.exists() and not path.is_symlink():
                tar.add(path, arcname=name, filter=lambda info: info if info.isfile() or info.isdir() else None)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def _private() -> Path:
    """One folder per worker process for the submissions it unpacks; the sandbox hides all of it."""
    return Path(tempfile.mkdtemp(prefix="dlcourse-cluster-"))


@functools.lru_cache(maxsize=1)
def _kit_version(root: str) -> str:
    return kit_hash(find_kit(root))


def grade_archive(job: dict, archive: bytes, kit_version: str) -> dict:
    """Run on a worker: unpack one student's archive and grade it; the payload of :func:`grade_job`."""
    kit = find_kit()
    if _kit_version(str(kit.root)) != kit_version:
        raise GradingError(f"the kit on worker {socket.gethostname()} ({kit.root}) differs from the gradebook's: "
                           "install the same commit of the kit on every worker")
    with tempfile.TemporaryDirectory(dir=_private()) as tmp:
        folder = repos.extract(archive, Path(tmp) / job["student"])
        task = Job(**{**job, "folder": folder, "row": Row(**job["row"])})
        return grade_job(task, kit, hide_also=(_private(),))


def grade_on_cluster(address: str, pending: list[Job], kit_version: str, arrived) -> None:
    """Submit every job to the cluster at ``address``; ``arrived(student, payload)`` as each one finishes."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise GradingError("--scheduler needs Dask: pip install 'dlcourse-grader[cluster]'") from None
    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise GradingError(f"no Dask scheduler at {address}: {exc}") from None
    with client:
        futures = {}
        for job in pending:
            fields = {**asdict(job), "folder": "", "row": asdict(job.row)}
            # The key names the student and the files graded: a resubmitted task is the same task, never a copy.
            key = f"dlcourse-grade-{job.student}-{job.fingerprint[:16]}"
            futures[client.submit(grade_archive, fields, pack(job), kit_version, key=key, pure=False)] = job
        for future in as_completed(futures):
            job = futures[future]
            try:
                payload = future.result()
            except Exception as exc:  # the task failed on its worker (or every worker it was given died)
                payload = not_graded(job, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            arrived(job.student, payload)
