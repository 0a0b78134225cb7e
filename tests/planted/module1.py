"""Planted bugs for Module 1 (chapters 1.1-1.3)."""
from . import Bug

BUGS = [
    Bug("1.1", "no-eps", "(std + X.dtype.type(eps))", "std", "add eps"),
    Bug("1.1", "global-stats-for-any-axis", "mean = X.mean(axis=axis, keepdims=True)\n    std = X.std(axis=axis, keepdims=True)",
        "mean = X.mean()\n    std = X.std()", "over the given axis"),
    Bug("1.2", "python-loops",
        "    return X @ W\n",
        "    out = np.zeros((X.shape[0], W.shape[1]))\n"
        "    for i in range(X.shape[0]):\n        for j in range(W.shape[1]):\n"
        "            for k in range(X.shape[1]):\n                out[i, j] += X[i, k] * W[k, j]\n    return out\n",
        "instead of Python loops"),
    Bug("1.2", "bias-unchecked", "    if b.shape != (Z.shape[1],):", "    if b.ndim != 1 and b.ndim != 2:",
        "b.shape == (W.shape[1],)"),
    Bug("1.3", "naive-overflow", "    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow\n    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))",
        "    return 1 / (1 + np.exp(-Z))", "np.exp(-z) overflows"),
    # np.where computes both branches for every element: exp(-z) still overflows (the hint must say why)
    Bug("1.3", "where-both-branches",
        "    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow\n    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))",
        "    return np.where(Z >= 0, 1 / (1 + np.exp(-Z)), np.exp(Z) / (1 + np.exp(Z)))",
        "np.where computes both of its branches"),
    Bug("1.3", "derivative-of-output", "    s = sigmoid(Z)\n    return s * (1 - s)", "    return Z * (1 - Z)",
        "applied to the wrong argument"),
]
