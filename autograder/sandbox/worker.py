"""The worker: the only process that imports a submission's code.

Started by :mod:`autograder.sandbox.launcher` from a copy in a folder of its own (the submission's files are
in another, the scratch folder) as ``python -I worker.py CONFIG_JSON``. Before any student code runs it hides the paths the grader names
(tmpfs mounts, when it owns a mount namespace), drops to an unprivileged user when it started as root,
sets resource limits and sends its output to a log file. Then it serves requests read from ``fd_in``
(pickles written by the trusted grader) and answers on ``fd_out`` in the plain-data format of ``wire.py``.

Depends on the standard library, numpy and cloudpickle only (the grader's own packages are hidden from it).
"""
from __future__ import annotations

import ctypes
import json
import os
import pickle
import resource
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

MS_BIND, MS_REC, MNT_DETACH = 4096, 16384, 2


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
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return {"error": {"type": type(exc).__name__, "mro": mro, "message": str(message)[:2000], "frames": frames,
                      "syntax": syntax, "origin": origin}}


def main() -> None:
    cfg = json.loads(sys.argv[1])
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
        reply["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
        try:
            payload = wire.encode(reply, make_handle=server.handle)
        except Exception as exc:
            payload = wire.encode({"error": {"type": "WireError", "mro": ["ValueError"], "message": str(exc),
                                             "frames": []}, "warnings": []})
        wire.send_frame(fd_out, payload)


if __name__ == "__main__":
    main()
