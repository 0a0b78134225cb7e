"""Plain-data encoding for what comes back from a submission's worker process.

The grader never unpickles anything the student's process produced: a reply is an ``.npz`` archive whose
``__tree__`` entry is JSON describing the value and whose other entries are the arrays it holds, read back
with ``np.load(..., allow_pickle=False)``. Only ``None``, bool, int, float, complex, str, list, tuple, dict,
exact ``numpy.ndarray`` of a numeric or bool dtype and numpy scalars survive the trip; every decoded array is
checked to be a plain ndarray of such a dtype before any test sees it. Anything else the worker keeps and
sends a handle for (``{"t": "handle"}``), so objects such as a trained network stay on the worker's side.

This file is copied into the worker's scratch folder: it depends on the standard library and numpy only.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np

NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex
MAX_DEPTH = 64
_LEN = struct.Struct(">Q")


class WireError(ValueError):
    """A reply that is not well-formed plain data."""


# ---------------------------------------------------------------- framing

def send_frame(fd: int, payload: bytes) -> None:
    import os

    data = memoryview(_LEN.pack(len(payload)) + payload)
    while data:
        n = os.write(fd, data)
        data = data[n:]


# ---------------------------------------------------------------- encoding (worker side)

def encode(value, make_handle=None) -> bytes:
    """Serialise ``value`` to npz bytes; ``make_handle(obj) -> int`` keeps non-data objects in the worker."""
    arrays: list[np.ndarray] = []

    def node(v, depth):
        if depth > MAX_DEPTH:
            raise WireError("value is nested too deeply")
        if v is None:
            return {"t": "none"}
        if type(v) is bool:
            return {"t": "bool", "v": v}
        if type(v) is int:
            return {"t": "int", "v": str(v)}
        if type(v) is float:
            return {"t": "float", "v": v.hex()}
        if type(v) is complex:
            return {"t": "complex", "re": v.real.hex(), "im": v.imag.hex()}
        if type(v) is str:
            return {"t": "str", "v": v}
        if isinstance(v, np.generic) and v.dtype.kind in NUMERIC_KINDS:
            arrays.append(np.asarray(v))
            return {"t": "npscalar", "a": len(arrays) - 1}
        if type(v) is np.ndarray and v.dtype.kind in NUMERIC_KINDS:
            arrays.append(v)
            return {"t": "array", "a": len(arrays) - 1}
        if type(v) in (list, tuple):
            return {"t": type(v).__name__, "v": [node(x, depth + 1) for x in v]}
        if type(v) is dict:
            return {"t": "dict", "k": [node(k, depth + 1) for k in v], "v": [node(x, depth + 1) for x in v.values()]}
        if make_handle is not None:
            return {"t": "handle", "id": make_handle(v), "type": type(v).__name__, "callable": callable(v)}
        return {"t": "unsupported", "type": f"{type(v).__module__}.{type(v).__qualname__}"}

    tree = node(value, 0)
    buf = io.BytesIO()
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    np.savez(buf, __tree__=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8), **named)
    return buf.getvalue()


# ---------------------------------------------------------------- decoding (grader side)

def decode(payload: bytes, make_remote=None):
    """Inverse of :func:`encode`; ``make_remote(node) -> object`` turns a handle node into a proxy."""
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            files = {k: npz[k] for k in npz.files}
        tree = json.loads(bytes(files.pop("__tree__")).decode())
    except WireError:
        raise
    except Exception as exc:  # anything np.load or json rejects is a malformed reply
        raise WireError(f"the worker sent data that is not a valid reply ({type(exc).__name__})") from None

    def array(i):
        a = files.get(f"a{i}")
        if type(a) is not np.ndarray or a.dtype.kind not in NUMERIC_KINDS or a.dtype.hasobject:
            raise WireError("the worker sent an array that is not a plain numeric ndarray")
        return a

    def node(n, depth):
        if depth > MAX_DEPTH or not isinstance(n, dict):
            raise WireError("malformed reply tree")
        t = n.get("t")
        if t == "none":
            return None
        if t == "bool":
            return bool(n["v"])
        if t == "int":
            return int(str(n["v"]))
        if t == "float":
            return float.fromhex(str(n["v"]))
        if t == "complex":
            return complex(float.fromhex(str(n["re"])), float.fromhex(str(n["im"])))
        if t == "str":
            return str(n["v"])
        if t == "array":
            return array(n["a"])
        if t == "npscalar":
            a = array(n["a"])
            if a.shape != ():
                raise WireError("malformed numpy scalar")
            return a[()]
        if t in ("list", "tuple"):
            items = [node(x, depth + 1) for x in n["v"]]
            return items if t == "list" else tuple(items)
        if t == "dict":
            return {node(k, depth + 1): node(v, depth + 1) for k, v in zip(n["k"], n["v"], strict=True)}
        if t == "handle" and make_remote is not None:
            return make_remote({"id": int(n["id"]), "type": str(n["type"]), "callable": bool(n["callable"])})
        if t == "unsupported":
            raise WireError(f"returned a {n.get('type')} object, which the grader cannot accept; "
                            "return numbers, numpy arrays, lists, tuples or dicts")
        raise WireError(f"unknown node type {t!r} in reply")

    return node(tree, 0)
