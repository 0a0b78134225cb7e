"""The worker: the only process that imports a submission's code.

Started by :mod:`autograder.sandbox.launcher` from a copy in a folder of its own (the submission's files are
in another, the scratch folder) as ``python -I worker.py CONFIG_JSON``, or forked by a fork server started as
``python -I worker.py --fork-server FD PRELOAD_JSON`` (:func:`fork_server`), which has made the imports every
worker makes once, so a worker starts in milliseconds. Before any student code runs it hides the paths the grader names
(tmpfs mounts, when it owns a mount namespace), drops to an unprivileged user when it started as root,
sets resource limits and sends its output to a log file. Then it serves requests read from ``fd_in``
(pickles written by the trusted grader) and answers on ``fd_out`` in the plain-data format of ``wire.py``.

Depends on the standard library, numpy and cloudpickle only (the grader's own packages are hidden from it).
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import pickle
import re
import resource
import signal
import socket
import struct
import sys
import traceback
import warnings

# -I leaves the script's folder off the path. It holds this file and wire.py only (never the submission's files),
# and everything the worker needs is imported here, before the submission's folder joins the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cloudpickle  # noqa: E402,F401  (requests may hold functions pickled by value)
import numpy as np  # noqa: E402

import wire  # noqa: E402

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH = 2, 4, 8, 4096, 16384, 1 << 18, 2
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG = 1


def _mount(src, target, fstype, flags, data):
    libc = ctypes.CDLL(None, use_errno=True)
    args = [None if x is None else os.fsencode(x) for x in (src, target, fstype, data)]
    if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}")


def _traversable(path: str, uid: int) -> bool:
    st = os.stat(path)
    return bool(st.st_mode & 0o001) or st.st_uid == uid


def _open_up_python(uid: int, scratch: str) -> None:
    """Let ``uid`` reach the interpreter's files when an ancestor (``/root``, mode 700) blocks it.

    The blocking folder is replaced, in this mount namespace only, by an empty tmpfs into which just the
    folders Python needs are bind-mounted back, so everything else in it stays out of reach. A folder put back
    may be closed too (a virtual environment inside a private temporary folder): the next level is opened the
    same way, until every path Python needs can be walked.
    """
    needed = {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    needed |= {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    stage = os.path.join(scratch, ".stage")
    for _ in range(64):  # one level per round; paths are never this deep
        blocked: dict[str, set[str]] = {}
        for path in needed:
            parts = path.split(os.sep)
            for i in range(2, len(parts)):
                anc = os.sep.join(parts[:i])
                if not _traversable(anc, uid):
                    blocked.setdefault(anc, set()).add(parts[i])
                    break
        if not blocked:
            return
        for anc, children in blocked.items():
            os.makedirs(stage, exist_ok=True)
            _mount(anc, stage, None, MS_BIND | MS_REC, None)
            _mount("tmpfs", anc, "tmpfs", 0, "mode=0755")
            for child in children:
                os.makedirs(os.path.join(anc, child), exist_ok=True)
                _mount(os.path.join(stage, child), os.path.join(anc, child), None, MS_BIND | MS_REC, None)
            ctypes.CDLL(None).umount2(os.fsencode(stage), MNT_DETACH)
            os.rmdir(stage)


def confine(cfg: dict) -> None:
    """Hide, drop privileges, limit. Raises if a requested measure cannot be applied."""
    scratch = cfg["scratch"]
    if cfg.get("mount_ns"):
        for path in cfg.get("hide", []):
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", 0, "mode=0755,size=1m")
    uid = cfg.get("uid")
    if uid is not None and os.getuid() == 0:
        if cfg.get("mount_ns"):
            _open_up_python(uid, scratch)
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(uid)
    limits = {resource.RLIMIT_CORE: 0, resource.RLIMIT_FSIZE: cfg["max_file_bytes"]}
    if cfg.get("memory_bytes"):
        limits[resource.RLIMIT_AS] = cfg["memory_bytes"]
    if cfg.get("cpu_seconds"):
        limits[resource.RLIMIT_CPU] = cfg["cpu_seconds"]
    for res, value in limits.items():
        resource.setrlimit(res, (value, value))
    os.chdir(scratch)
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.path[:] = [scratch] + [p for p in sys.path if p and not any(p.startswith(h) for h in cfg.get("hide", []))]


class Server:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.module = None
        self.objects: dict[int, object] = {}

    def handle(self, obj) -> int:
        key = len(self.objects) + 1
        self.objects[key] = obj
        return key

    def target(self, ref):
        return self.module if ref is None else self.objects[ref]

    def run(self, request):
        op = request[0]
        if op == "import":
            import importlib

            self.module = importlib.import_module(self.cfg["module"])
            names = [n for n in dir(self.module) if callable(getattr(self.module, n)) and not n.startswith("_")]
            return {"value": names}
        if op == "getattr":
            _, ref, name = request
            return {"value": getattr(self.target(ref), name)}
        if op == "next":
            try:
                return {"value": next(self.objects[request[1]])}
            except StopIteration:
                return {"stop": True}
        if op == "release":
            self.objects.pop(request[1], None)
            return {"value": None}
        if op == "call":
            _, ref, name, args, kwargs = request
            fn = self.target(ref) if name is None else getattr(self.target(ref), name)
            before = _arrays(args, kwargs)
            copies = [a.copy() for _, a in before]
            value = fn(*args, **kwargs)
            mutated = [[path, a] for (path, a), c in zip(before, copies) if not _same(a, c)]
            return {"value": value, "mutated": mutated}
        raise ValueError(f"unknown request {op!r}")


def _arrays(args, kwargs):
    """(path, array) for every ndarray in the arguments, nested in lists, tuples and dicts."""
    found = []

    def walk(v, path, depth):
        if type(v) is np.ndarray:
            found.append((path, v))
        elif depth < 8 and type(v) in (list, tuple):
            for i, x in enumerate(v):
                walk(x, path + [i], depth + 1)
        elif depth < 8 and type(v) is dict:
            for k, x in v.items():
                if type(k) in (str, int):
                    walk(x, path + [k], depth + 1)

    walk(list(args), ["args"], 0)
    walk(dict(kwargs), ["kwargs"], 0)
    return found


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _error_reply(exc: BaseException, scratch: str) -> dict:
    # The submission's frames only (file, line, function, code), and where a syntax error is: plain data.
    frames = [[os.path.basename(f.filename), f.lineno or 0, f.name, f.line or ""]
              for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(scratch)][-3:]
    syntax = [exc.filename and os.path.basename(exc.filename), exc.lineno, exc.text, exc.offset] \
        if isinstance(exc, SyntaxError) else None
    mro = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
    origin, tb = None, exc.__traceback__   # the submission's innermost function: names a stub helper
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith(scratch):
            origin = getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    # Raised in a process the submission started (concurrent.futures): its frames come back as the cause's text.
    remote = [name for filename, name in re.findall(r'File "([^"]+)", line \d+, in (\S+)',
                                                     getattr(exc.__cause__, "tb", None) or "")
              if filename.startswith(scratch)]
    origin = remote[-1] if remote else origin
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return {"error": {"type": type(exc).__name__, "mro": mro, "message": str(message)[:2000], "frames": frames,
                      "syntax": syntax, "origin": origin}}


def serve(cfg: dict) -> None:
    """Confine this process, say hello, then answer requests until the grader closes ``fd_in``."""
    fd_in, fd_out = cfg["fd_in"], cfg["fd_out"]
    confine(cfg)
    server = Server(cfg)
    wire.send_frame(fd_out, wire.encode({"value": {"uid": os.getuid(), "pid": os.getpid()}}))
    while True:
        header = os.read(fd_in, 8)
        if len(header) < 8:
            return
        (size,) = struct.unpack(">Q", header)
        data = bytearray()
        while len(data) < size:
            chunk = os.read(fd_in, min(size - len(data), 1 << 20))
            if not chunk:
                return
            data += chunk
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                reply = server.run(pickle.loads(bytes(data)))
            except BaseException as exc:  # student code may raise anything, SystemExit included
                reply = _error_reply(exc, cfg["scratch"])
        for stream in (sys.stdout, sys.stderr):  # what the call printed, in output.log for the grader's feedback
            try:
                stream.flush()
            except Exception:
                pass
        reply["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
        try:
            payload = wire.encode(reply, make_handle=server.handle)
        except Exception as exc:
            payload = wire.encode({"error": {"type": "WireError", "mro": ["ValueError"], "message": str(exc),
                                             "frames": []}, "warnings": []})
        wire.send_frame(fd_out, payload)


# ---------------------------------------------------------------- the fork server

def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _enter_namespaces(kind: str, uid: int, gid: int) -> None:
    """What ``unshare --pid --mount --net [--user --map-root-user]`` does, for the next child of this process:
    new PID, mount and network namespaces (``kind`` "user": in a new user namespace, where this process is
    root), and mounts made private, so nothing mounted in here is seen outside."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | (CLONE_NEWUSER if kind == "user" else 0)
    if ctypes.CDLL(None, use_errno=True).unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    if kind == "user":
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)


def _worker(cfg: dict, keep: set[int], parent: int) -> None:
    """The worker proper (PID 1 of its namespace when there is one): dies with ``parent``, gets a /proc of
    its own namespace, holds no file descriptor but its pipes, then serves."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent died before the line above? (In a PID namespace its parent is outside, getppid() says 0; the
    # worker then ends when the grader closes its pipe.)
    if not cfg.get("namespaces") and os.getppid() != parent:
        os._exit(1)
    if cfg.get("namespaces"):
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.environ.update(cfg["environ"])
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # found again from TMPDIR, the worker's own
    np.random.seed()  # the fork server's global state is every worker's: a fresh seed, as a new process has
    serve(cfg)


def _spawned(cfg: dict, fds: list[int]) -> None:
    """A fork server's child: a session of its own, the namespaces, and the worker as its child. It waits for
    the worker and writes its exit status (negative: the signal that killed it) to the status pipe, as
    ``unshare --fork --kill-child`` would: the grader kills this process's group, and the worker dies with it."""
    fd_in, fd_out, log, status = fds
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    os.dup2(log, 1)  # errors before the worker redirects its output go to startup.log, as a started one's
    os.dup2(log, 2)
    if cfg.get("namespaces"):
        _enter_namespaces(cfg["namespaces"], os.getuid(), os.getgid())
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        cfg.update(fd_in=fd_in, fd_out=fd_out)
        _worker(cfg, {0, 1, 2, fd_in, fd_out}, me)
        os._exit(0)
    for fd in (fd_in, fd_out, log):
        os.close(fd)
    _, code = os.waitpid(pid, 0)
    os.write(status, struct.pack(">i", os.waitstatus_to_exitcode(code)))
    os._exit(0)


def fork_server(fd: int, preload: list[str]) -> None:
    """Import ``preload`` once, then fork a worker for each request on the socket ``fd``: a JSON config and
    four descriptors (requests in, replies out, the startup log, the status pipe); answer with the child's PID.
    Ends when the grader closes the socket."""
    for name in ("numpy.random", *preload):  # numpy.random: every worker unpickles the tests' generators
        importlib.import_module(name)
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel; their status goes by pipe
    sock.send(b"ready")
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 4)
        except OSError:
            return
        if not data:
            return
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()  # before anything else: a worker must never reach the server that forks unconfined
                _spawned(json.loads(data), fds)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        for f in fds:
            os.close(f)
        sock.send(struct.pack(">i", pid))


if __name__ == "__main__":
    if sys.argv[1] == "--fork-server":
        fork_server(int(sys.argv[2]), json.loads(sys.argv[3]))
    else:
        serve(json.loads(sys.argv[1]))
