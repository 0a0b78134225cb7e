"""Planted bugs for chapters 3.1 (perceptron), 3.5 (evaluation) and 3.6 (XOR)."""
from . import Bug

BUGS = [
    # 3.1 perceptron
    Bug("3.1", "gradient-ascent", "W = W - lr * (X.T @ dZ)", "W = W + lr * (X.T @ dZ)", "moved UP the gradient"),
    Bug("3.1", "no-1/m", "dZ = (A - Y) / m\n", "dZ = A - Y\n", "divide by m"),
    Bug("3.1", "loss-broadcast-y-vector",
        "losses.append(float(-np.mean(Y * np.log(Ac) + (1 - Y) * np.log(1 - Ac))))",
        "losses.append(float(-np.mean(y * np.log(Ac) + (1 - y) * np.log(1 - Ac))))",
        "broadcasts to an (m, m) matrix"),
    Bug("3.1", "global-random-state", "W = rng.normal(0.0, 0.01, size=(n, 1))",
        "W = np.random.normal(0.0, 0.01, size=(n, 1))",
        "never from np.random"),
    # 3.5 evaluation
    Bug("3.5", "confusion-transposed", "minlength=K * K).reshape(K, K)", "minlength=K * K).reshape(K, K).T",
        "not transposed"),
    Bug("3.5", "macro-weighted-by-support",
        "return float(precision.mean()), float(recall.mean()), float(f1.mean())",
        "w = actual / actual.sum()\n    return float(precision @ w), float(recall @ w), float(f1 @ w)",
        "not weighted by support"),
    Bug("3.5", "macro-f1-of-the-means", "float(f1.mean())",
        "float(2 * precision.mean() * recall.mean() / (precision.mean() + recall.mean()))",
        "mean of the per-class F1 values"),
    Bug("3.5", "nan-for-empty-class",
        "precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)",
        "precision = tp / predicted", "divide only where the denominator is > 0"),
    Bug("3.5", "loop-over-samples",
        "    return np.bincount(K * y_true + y_pred, minlength=K * K).reshape(K, K)\n",
        "    C = np.zeros((K, K), dtype=np.int64)\n    for t, p in zip(y_true, y_pred):\n        C[t, p] += 1\n"
        "    return C\n",
        "no Python loop over the samples"),
    # 3.6 XOR
    Bug("3.6", "no-hidden-nonlinearity", "A1 = np.tanh(X @ W1 + b1)", "A1 = X @ W1 + b1",
        "the hidden layer needs its non-linearity"),
    Bug("3.6", "argmax-of-one-column", "return (A2[:, 0] > 0.5).astype(np.int64)", "return A2.argmax(axis=1)",
        "argmax over a single output column is always 0"),
    Bug("3.6", "column-predictions", "return (A2[:, 0] > 0.5).astype(np.int64)", "return (A2 > 0.5).astype(np.int64)",
        "int vector of shape (m,)"),
]
