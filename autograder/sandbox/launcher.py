"""Start and talk to a worker process that runs one chapter of a submission.

Isolation is layered by what the machine offers, and reported (:func:`isolation_level`):

* always: a fresh scratch folder holding only the files the chapter needs, a clean environment (none of the
  grader's variables), resource limits (address space, CPU time, file size), its own process group, and a
  time limit enforced from here;
* where ``unshare`` works (root, or unprivileged user namespaces): new PID, network and mount namespaces, so
  it has no network, cannot see or signal the grader, every process it starts dies with it, and the kit's
  folders (hidden suites, reference solutions, the submission itself) are covered by empty tmpfs mounts;
* when the grader runs as root: the worker drops to ``nobody`` before importing anything of the student's.
"""
from __future__ import annotations

import functools
import json
import os
import pwd
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cloudpickle

from . import wire

HERE = Path(__file__).resolve().parent
PASS_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MAX_REPLY_BYTES = 1 << 30


class WorkerDied(RuntimeError):
    """The worker ended or stopped answering; ``reason`` says how, in words for a student."""


class WorkerTimeout(WorkerDied):
    pass


@dataclass
class Limits:
    memory_bytes: int = 4 << 30
    max_file_bytes: int = 64 << 20


@functools.lru_cache(maxsize=None)
def _unshare_prefix() -> tuple[str, ...]:
    """The ``unshare`` command line that works here, or () where none does."""
    exe = shutil.which("unshare")
    if not exe:
        return ()
    base = [exe, "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--net"]
    candidates = [base] if os.geteuid() == 0 else []
    candidates.append([exe, "--user", "--map-root-user"] + base[1:])
    for cmd in candidates:
        try:
            ok = subprocess.run(cmd + ["true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return tuple(cmd)
    return ()


def isolation_level() -> str:
    """One line saying which measures a worker gets on this machine."""
    parts = []
    prefix = _unshare_prefix()
    if os.geteuid() == 0:
        parts.append("unprivileged user 'nobody'")
    if prefix:
        ns = "user, " if "--user" in prefix else ""
        parts.append(f"{ns}pid, network and mount namespaces (kit folders hidden)")
    else:
        parts.append("no namespaces available (worker can see the file system and network)")
    parts.append("rlimits (memory, CPU, file size), process group, time limit")
    return "; ".join(parts)


@dataclass
class Worker:
    """One worker process serving the module ``module`` from ``files`` (name -> source path)."""

    module: str
    files: dict[str, Path]
    hide: list[Path]
    limits: Limits = field(default_factory=Limits)
    proc: subprocess.Popen | None = None
    scratch: Path | None = None
    code: Path | None = None

    def start(self, deadline: float) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="dlcourse-worker-"))
        for name, src in self.files.items():
            shutil.copyfile(src, self.scratch / name)
        # The worker's own code in a folder of its own, not the submission's: a student's numpy.py (or wire.py)
        # beside their module must never be imported while the worker still runs as the grader's user.
        self.code = Path(tempfile.mkdtemp(prefix="dlcourse-worker-code-"))
        self.code.chmod(0o755)
        for name in ("worker.py", "wire.py"):
            shutil.copyfile(HERE / name, self.code / name)
        r_req, w_req = os.pipe()
        r_rep, w_rep = os.pipe()
        prefix = _unshare_prefix()
        cfg = {"scratch": str(self.scratch), "module": self.module, "fd_in": r_req, "fd_out": w_rep,
               "hide": [str(p) for p in self.hide], "mount_ns": bool(prefix),
               "memory_bytes": self.limits.memory_bytes, "max_file_bytes": self.limits.max_file_bytes,
               "cpu_seconds": max(1, int(deadline - time.monotonic()) + 2)}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            cfg.update(uid=nobody.pw_uid, gid=nobody.pw_gid)
            for p in [self.scratch, *self.scratch.iterdir()]:
                os.chown(p, nobody.pw_uid, nobody.pw_gid)
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        env.update(HOME=str(self.scratch), TMPDIR=str(self.scratch), PYTHONHASHSEED="0")
        # One BLAS thread unless the grader says otherwise: multi-threaded BLAS spinning on a busy machine is
        # 10-100x slower (measured), which would turn a timing check into a coin toss; and submissions graded
        # in parallel get one core each.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        startup_log = open(self.scratch / "startup.log", "wb")  # Python's own errors before the worker redirects
        cmd = [*prefix, sys.executable, "-I", str(self.code / "worker.py"), json.dumps(cfg)]
        self.proc = subprocess.Popen(cmd, pass_fds=(r_req, w_rep), env=env, cwd=self.scratch,
                                     stdin=subprocess.DEVNULL, stdout=startup_log, stderr=startup_log,
                                     start_new_session=True)
        startup_log.close()
        os.close(r_req)
        os.close(w_rep)
        self._out, self._in = w_req, r_rep
        self._read_reply(deadline, what="starting the worker")

    def request(self, message: tuple, deadline: float, what: str) -> bytes:
        """Send one request and wait for its reply until ``deadline`` (monotonic seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerDied("the worker is not running")
        try:
            wire.send_frame(self._out, cloudpickle.dumps(message))
        except BrokenPipeError:
            raise WorkerDied(self._death_reason(what)) from None
        return self._read_reply(deadline, what)

    def _read_exact(self, n: int, deadline: float, what: str) -> bytes:
        data = bytearray()
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                self.stop()
                raise WorkerTimeout(f"{what} did not finish within the time limit (an endless loop, or far too slow?)")
            chunk = os.read(self._in, min(n - len(data), 1 << 20))
            if not chunk:
                raise WorkerDied(self._death_reason(what))
            data += chunk
        return bytes(data)

    def _read_reply(self, deadline: float, what: str) -> bytes:
        (size,) = struct.unpack(">Q", self._read_exact(8, deadline, what))
        if size > MAX_REPLY_BYTES:
            self.stop()
            raise WorkerDied(f"{what} sent back {size} bytes, more than the grader accepts")
        return self._read_exact(size, deadline, what)

    def _death_reason(self, what: str) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.stop()
        if code is not None and code < 0:
            sig = signal.Signals(-code).name
            hint = " (out of memory or CPU time?)" if sig in ("SIGKILL", "SIGXCPU", "SIGSEGV") else ""
            return f"the worker was killed by {sig} during {what}{hint}"
        log = self.output()
        tail = f"; its last output: {log[-300:].strip()}" if log.strip() else ""
        return f"the worker exited (status {code}) during {what}, e.g. through os._exit(){tail}"

    def output(self) -> str:
        """What the student's code printed (capped), for feedback."""
        try:
            logs = [self.scratch / "startup.log", self.scratch / "output.log"]
            return "".join(p.read_text(errors="replace") for p in logs if p.exists())[-4000:]
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for fd in (getattr(self, "_out", None), getattr(self, "_in", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._out = self._in = None

    def cleanup(self) -> None:
        self.stop()
        for folder in (self.scratch, self.code):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
