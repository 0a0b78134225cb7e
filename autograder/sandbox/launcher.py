"""Start and talk to a worker process that runs one chapter of a submission.

Isolation is layered by what the machine offers, and reported (:func:`isolation_level`):

* always: a fresh scratch folder holding only the files the chapter needs, a clean environment (none of the
  grader's variables), resource limits (address space, CPU time, file size), its own process group, and a
  time limit enforced from here;
* where ``unshare`` works (root, or unprivileged user namespaces): new PID, network and mount namespaces, so
  it has no network, cannot see or signal the grader, every process it starts dies with it, and the kit's
  folders (hidden suites, reference solutions, the submission itself) are covered by empty tmpfs mounts;
* when the grader runs as root: the worker drops to ``nobody`` before importing anything of the student's.

Workers are forked by a fork server (:class:`_ForkServer`), one per grading process, that has imported numpy
once: a worker then starts in about 16 ms of CPU instead of 110 ms as a new interpreter (and 5.2's, which
imports torch, saves 1.3 s more). The measures above are the same either way, taken by the forked child
itself; ``DLCOURSE_FORK_SERVER=0`` starts every worker as a new interpreter instead, through ``unshare(1)``.
"""
from __future__ import annotations

import atexit
import fcntl
import functools
import importlib.util
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cloudpickle

from . import wire
from .procs import serving_pid

# When a wait on the worker must end, in time.monotonic() seconds: a function, asked again each time that
# moment comes, since a chapter's budget does not run while the worker waits for a CPU (budget.py).
Deadline = Callable[[], float]

HERE = Path(__file__).resolve().parent
PASS_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_TOP_PAD_")
# glibc's malloc hands the top of its heap back to the system as soon as a free leaves more than a few hundred
# KB there; NumPy code that makes and drops arrays of that size on every call (a batch's temporaries) then
# page-faults the same memory in again each time: 476 faults and 1.1 ms for a computation of 0.19 ms, measured.
# Keeping 64 MB of slack at the top stops it (0 faults): a full grading of the reference took 19 CPU-s, not 20.
MALLOC_TOP_PAD = str(64 << 20)
MAX_REPLY_BYTES = 1 << 30
# Requests and replies go through pipes. With the default 64 KiB buffer, an 8 MB array makes 128 hand-overs between
# the two processes, each a wake-up that waits for a core: 16 MB there and back took 60 ms on an idle 2-core machine
# (1 MiB: 26-38 ms), and far longer behind a long run queue. 1 MiB is Linux's default limit for unprivileged users.
PIPE_BYTES = 1 << 20


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


def _code_folder() -> Path:
    """A new folder holding a copy of the worker's code (worker.py, wire.py), readable by every user."""
    code = Path(tempfile.mkdtemp(prefix="dlcourse-worker-code-"))
    code.chmod(0o755)
    for name in ("worker.py", "wire.py"):
        shutil.copyfile(HERE / name, code / name)
    return code


def worker_env() -> dict[str, str]:
    """A worker's environment: none of the grader's variables but the locale, PATH and BLAS settings."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("MALLOC_TOP_PAD_", MALLOC_TOP_PAD)
    # One BLAS thread unless the grader says otherwise: multi-threaded BLAS spinning on a busy machine is
    # 10-100x slower (measured), which would turn a timing check into a coin toss; and submissions graded
    # in parallel get one core each.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


# Modules worth importing once in a fork server rather than in every worker that needs them: torch takes
# 1.3-1.6 CPU-s to import, more than the rest of a chapter's grading. Only workers whose files import one of
# them get a server that holds it (a bigger address space counts against the worker's memory limit).
PRELOADABLE = ("torch",)
# Linux only (it relies on /proc, prctl and unshare); DLCOURSE_FORK_SERVER=0: a new interpreter per worker.
FORK_SERVER = sys.platform.startswith("linux") and os.environ.get("DLCOURSE_FORK_SERVER", "1") != "0"


def _preload(files) -> tuple[str, ...]:
    """The PRELOADABLE modules that the worker's files import and this machine has."""
    wanted = set()
    for path in files:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        wanted |= {m for m in PRELOADABLE if re.search(rf"^\s*(import|from)\s+{m}\b", text, re.M)}
    return tuple(m for m in sorted(wanted) if importlib.util.find_spec(m) is not None)


class _Forked:
    """A worker forked by a fork server, seen like the :class:`subprocess.Popen` of one started directly:
    ``pid`` is its parent's (the process group to kill), the exit status comes through a pipe."""

    def __init__(self, pid: int, status_fd: int):
        self.pid, self._status, self.returncode = pid, status_fd, None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._status], [], [], 0)[0]:
            self.wait()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._status], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("worker", timeout)
            data = os.read(self._status, 4)
            os.close(self._status)
            # No status: the parent itself was killed (by stop(), or the kernel); the worker died with it.
            self.returncode = struct.unpack(">i", data)[0] if len(data) == 4 else -signal.SIGKILL
        return self.returncode


class _ForkServer:
    """A process that has imported numpy, cloudpickle and ``preload`` once and forks a worker on request.

    Starting a worker as a new interpreter costs 0.12 CPU-s here (Python, numpy), paid per chapter per
    submission; a fork costs a few milliseconds. The server runs the worker's own code with a worker's
    environment and imports nothing of a submission's; each child enters its namespaces, hides the kit and
    drops its privileges itself, exactly as a worker started directly does (``worker.py``'s ``_spawned``).
    """

    def __init__(self, preload: tuple[str, ...]):
        self.lock = threading.Lock()
        self.code = _code_folder()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [sys.executable, "-I", str(self.code / "worker.py"), "--fork-server", str(theirs.fileno()),
               json.dumps(list(preload))]
        self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), env=worker_env(), cwd="/",
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.sock.settimeout(120)  # importing torch on a crowded machine
        try:
            ready = self.sock.recv(16)
        except OSError:
            ready = b""
        if ready != b"ready":
            self.close()
            raise OSError("the fork server did not start")
        self.sock.settimeout(30)

    def spawn(self, cfg: dict, fds: list[int]) -> _Forked:
        status_r, status_w = os.pipe()
        try:
            with self.lock:  # one request and its answer at a time (a Dask worker may grade on several threads)
                socket.send_fds(self.sock, [json.dumps(cfg).encode()], [*fds, status_w])
                (pid,) = struct.unpack(">i", self.sock.recv(4))
        except BaseException:
            os.close(status_r)
            raise
        finally:
            os.close(status_w)
        return _Forked(pid, status_r)

    def close(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.code, ignore_errors=True)


_SERVERS: dict[tuple, _ForkServer | None] = {}
_SERVERS_LOCK = threading.Lock()


def _fork_server(preload: tuple[str, ...]) -> _ForkServer | None:
    """This process's fork server for ``preload``, started on first use; None where one cannot run (then
    workers start as new interpreters)."""
    with _SERVERS_LOCK:
        return _server_for(preload)


def _server_for(preload: tuple[str, ...]) -> _ForkServer | None:
    key = (os.getpid(), preload)
    server = _SERVERS.get(key, False)
    if server is False or server is not None and server.proc.poll() is not None:
        if server:
            server.close()  # dead: its socket and code folder go
        if not _SERVERS:
            atexit.register(_close_servers)
        try:
            server = _ForkServer(preload)
        except (OSError, subprocess.SubprocessError):
            server = None
        _SERVERS[key] = server
    return server


def _close_servers() -> None:
    for key, server in list(_SERVERS.items()):
        if server is not None and key[0] == os.getpid():
            server.close()
    _SERVERS.clear()


def _widen(fd: int) -> None:
    """Give the pipe of ``fd`` a buffer of ``PIPE_BYTES`` where the system allows it (Linux); else keep it."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):  # no F_SETPIPE_SZ (not Linux), or above /proc/sys/fs/pipe-max-size
        pass


@dataclass
class Worker:
    """One worker process serving the module ``module`` from ``files`` (name -> source path)."""

    module: str
    files: dict[str, Path]
    hide: list[Path]
    limits: Limits = field(default_factory=Limits)
    proc: subprocess.Popen | None = None
    pid: int | None = None  # the process that runs the worker's code (proc.pid may hold its namespaces)
    scratch: Path | None = None
    code: Path | None = None

    def start(self, deadline: Deadline) -> None:
        """Start the worker and wait for its hello until ``deadline()``; ``pid`` is then its serving process."""
        self.scratch = Path(tempfile.mkdtemp(prefix="dlcourse-worker-"))
        for name, src in self.files.items():
            shutil.copyfile(src, self.scratch / name)
        r_req, w_req = os.pipe()
        r_rep, w_rep = os.pipe()
        for fd in (w_req, w_rep):
            _widen(fd)
        prefix = _unshare_prefix()
        cfg = {"scratch": str(self.scratch), "module": self.module, "fd_in": r_req, "fd_out": w_rep,
               "hide": [str(p) for p in self.hide], "mount_ns": bool(prefix),
               "memory_bytes": self.limits.memory_bytes, "max_file_bytes": self.limits.max_file_bytes,
               "cpu_seconds": max(1, int(deadline() - time.monotonic()) + 2)}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            cfg.update(uid=nobody.pw_uid, gid=nobody.pw_gid)
            for p in [self.scratch, *self.scratch.iterdir()]:
                os.chown(p, nobody.pw_uid, nobody.pw_gid)
        startup_log = open(self.scratch / "startup.log", "wb")  # Python's own errors before the worker redirects
        try:
            server = _fork_server(_preload(self.files.values())) if FORK_SERVER else None
            if server is not None:
                cfg.update(namespaces=("user" if "--user" in prefix else "root") if prefix else None,
                           environ={"HOME": str(self.scratch), "TMPDIR": str(self.scratch)})
                try:
                    self.proc = server.spawn(cfg, [r_req, w_rep, startup_log.fileno()])
                except OSError:  # the server died or hangs: this worker as a new interpreter, a new server next
                    server.close()
            if self.proc is None:
                self.proc = self._popen(cfg, prefix, startup_log, (r_req, w_rep))
        finally:
            startup_log.close()
            os.close(r_req)
            os.close(w_rep)
        self._out, self._in = w_req, r_rep
        self._read_reply(deadline, what="starting the worker")
        self.pid = serving_pid(self.proc.pid)

    def _popen(self, cfg: dict, prefix: tuple[str, ...], log, fds: tuple[int, int]) -> subprocess.Popen:
        """A worker as a new interpreter, when no fork server runs here."""
        # The worker's own code in a folder of its own, not the submission's: a student's numpy.py (or wire.py)
        # beside their module must never be imported while the worker still runs as the grader's user.
        self.code = _code_folder()
        env = worker_env()
        env.update(HOME=str(self.scratch), TMPDIR=str(self.scratch))
        cmd = [*prefix, sys.executable, "-I", str(self.code / "worker.py"), json.dumps(cfg)]
        return subprocess.Popen(cmd, pass_fds=fds, env=env, cwd=self.scratch, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True)

    def request(self, message: tuple, deadline: Deadline, what: str) -> bytes:
        """Send one request and wait for its reply until ``deadline()`` (monotonic seconds), asked again
        whenever it is reached: it may have moved later meanwhile (:mod:`.budget`)."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerDied("the worker is not running")
        try:
            wire.send_frame(self._out, cloudpickle.dumps(message))
        except BrokenPipeError:
            raise WorkerDied(self._death_reason(what)) from None
        return self._read_reply(deadline, what)

    def _read_exact(self, n: int, deadline: Deadline, what: str) -> bytes:
        data = bytearray()
        while len(data) < n:
            left = deadline() - time.monotonic()
            if left <= 0:
                self.stop()
                raise WorkerTimeout(f"{what} did not finish within the time limit (an endless loop, or far too slow?)")
            if not select.select([self._in], [], [], left)[0]:
                continue
            chunk = os.read(self._in, min(n - len(data), 1 << 20))
            if not chunk:
                raise WorkerDied(self._death_reason(what))
            data += chunk
        return bytes(data)

    def _read_reply(self, deadline: Deadline, what: str) -> bytes:
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
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # not ours to kill after all: closing its pipes below ends it
                pass
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
