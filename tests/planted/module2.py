"""Planted bugs for Module 2 (chapters 2.1-2.4)."""
from . import Bug

BUGS = [
    # 2.1 losses
    Bug("2.1", "mse-sum-not-mean", "return float(np.mean(diff ** 2))", "return float(np.sum(diff ** 2))",
        "np.mean, not np.sum"),
    Bug("2.1", "bce-no-clipping", "    A = np.clip(A, eps, 1 - eps)\n    return float(", "    return float(",
        "clip A to [eps, 1 - eps]"),
    Bug("2.1", "mse-gradient-missing-1/N", "return 2 * (y_pred - y) / y_pred.size", "return 2 * (y_pred - y)",
        "same 1/N factor"),
    # The value tells these apart from a missing 1/N: the hint names the factor that is there, or missing.
    Bug("2.1", "mse-with-a-half", "return float(np.mean(diff ** 2))", "return float(0.5 * np.mean(diff ** 2))",
        "with no factor 1/2"),
    Bug("2.1", "mse-gradient-missing-2", "return 2 * (y_pred - y) / y_pred.size", "return (y_pred - y) / y_pred.size",
        "so the factor 2 is missing"),
    # 2.2 gradient descent
    Bug("2.2", "missing-1/m", "dZ = (2 / err.size) * err", "dZ = 2 * err", "average the gradient over the m samples"),
    Bug("2.2", "sign-error", "W -= lr * (X.T @ dZ)\n            b -= lr * dZ.sum(axis=0)",
        "W += lr * (X.T @ dZ)\n            b += lr * dZ.sum(axis=0)", "step against the gradient"),
    Bug("2.2", "silent-nan", "            if not np.isfinite(loss):\n", "            if loss is None:\n",
        "raise FloatingPointError instead of returning NaN"),
    # 2.3 mini-batches
    Bug("2.3", "unshuffled", "order = rng.permutation(m) if shuffle else np.arange(m)", "order = np.arange(m)",
        "index X and y by rng.permutation(m)"),
    Bug("2.3", "last-batch-dropped", "for start in range(0, m, batch_size)",
        "for start in range(0, m - batch_size + 1, batch_size)", "keeps the last, shorter batch"),
    Bug("2.3", "divides-by-batch_size", "dZ = (2 / err.size) * err  # the batch's own size",
        "dZ = (2 / (batch_size * k)) * err  # the batch's own size", "divide by the batch's own size"),
    # 2.4 numerical gradients
    Bug("2.4", "forward-differences",
        "        x[idx] = old - h\n        f_minus = float(f(x))\n        x[idx] = old  # the saved value: exact\n"
        "        grad[idx] = (f_plus - f_minus) / (2 * h)",
        "        x[idx] = old\n        f_minus = float(f(x))\n        grad[idx] = (f_plus - f_minus) / h",
        "the one-sided"),
    Bug("2.4", "x-not-restored", "        x[idx] = old  # the saved value: exact\n", "",
        "save old = x[idx] first"),
    Bug("2.4", "relative-error-divides-by-b", "denominator = np.linalg.norm(a) + np.linalg.norm(b)",
        "denominator = np.linalg.norm(b)", "||a|| + ||b||"),
]
