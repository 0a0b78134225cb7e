"""The grader's own MLP forward pass and loss (trusted: NumPy only, never the student's or the reference's code).

The hidden suites of chapters 3.3, 3.4 and 4.1 compare with these and differentiate them numerically; 4.6 takes
the cross-entropy of its capstone's probabilities with ``cross_entropy``.
"""
from __future__ import annotations

import numpy as np


def mlp_forward(params: dict, X: np.ndarray, activation: str = "relu") -> tuple[np.ndarray, dict]:
    """Class probabilities ``(m, K)`` and the cache ``{"A0": X, "Z1", "A1", ..., "ZL", "AL"}`` of the MLP
    ``params = {"W1", "b1", ..., "WL", "bL"}``: ``activation`` ("relu" or "sigmoid") in the hidden layers,
    a softmax over each row at the output."""
    L = len(params) // 2
    cache, A = {"A0": X}, X
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            A = np.maximum(Z, 0) if activation == "relu" else 1 / (1 + np.exp(-Z))
        else:
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the batch of ``-log probs[i, labels[i]]`` (in float64, no clipping)."""
    P = np.asarray(probs, dtype=np.float64)
    return float(-np.mean(np.log(P[np.arange(len(labels)), labels])))


def mean_cross_entropy(params: dict, X: np.ndarray, labels: np.ndarray, activation: str = "relu") -> float:
    """The mean over the batch of ``-log p[label]`` for the MLP's probabilities."""
    return cross_entropy(mlp_forward(params, X, activation)[0], labels)
