"""The grader's own numerical gradient checker (trusted: never the student's ``numerical_gradient``)."""
from __future__ import annotations

import numpy as np


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred differences of the scalar function ``f`` at ``x`` (any shape); ``x`` is restored.

    Returns an array shaped like ``x``: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for each entry ``i``.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = float(f(x))
        flat[i] = old - h
        minus = float(f(x))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def elementwise_derivative(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Numerical derivative of an element-wise function: all entries at once, shape of ``z``."""
    z = np.asarray(z, dtype=np.float64)
    return (f(z + h) - f(z - h)) / (2 * h)


def relative_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|, tiny): 0 for equal arrays, about 1 for unrelated ones."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
