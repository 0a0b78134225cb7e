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
    """||a - b|| / (||a|| + ||b||) in the Euclidean norm: 0 for equal arrays, 1 for opposite ones.

    Taken over the whole array, not entry by entry: an entry that is nearly 0 in both (a tiny sigmoid
    derivative, a dead ReLU) carries the numerical gradient's noise and must not dominate the verdict.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)
