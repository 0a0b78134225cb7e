"""Chapter 2.1: loss functions, the single number training drives down, and their gradients.

A loss compares a prediction with the target and averages the error over the batch:

* mean squared error, for regression: ``MSE = mean((y_pred - y) ** 2)``;
* binary cross-entropy, for probabilities ``A`` in [0, 1] of the class 1:
  ``BCE = -mean(y * log(A) + (1 - y) * log(1 - A))``.

``log(0)`` is ``-inf``, so ``A`` is clipped to ``[eps, 1 - eps]`` first: a network whose sigmoid output
saturates at exactly 0 or 1 still gets a finite (if large) loss and gradient.

Both losses are the mean over *all* entries of the arrays (for the usual ``(m, 1)`` column that is the
mean over the batch), so the gradients carry a factor ``1 / N`` with ``N = y_pred.size``.

Shapes must match exactly. In particular ``(m, 1)`` against ``(m,)`` is refused: ``y_pred - y`` would
broadcast to an ``(m, m)`` matrix and silently give a wrong loss. Reshape one of them
(``y.reshape(-1, 1)``) before calling.
"""
import numpy as np


def _check_same_shape(name, a, b, a_name, b_name):
    """Both as float64 arrays; ValueError naming both shapes when they differ (no silent broadcasting)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{name}: {a_name} has shape {a.shape} but {b_name} has shape {b.shape}; the shapes must "
                         f"match (reshape, e.g. y.reshape(-1, 1), instead of relying on broadcasting)")
    return a, b


def mse_loss(y_pred, y):
    """Mean squared error: ``mean((y_pred - y) ** 2)`` over all entries.

    Args:
        y_pred: predictions, array of any shape, e.g. ``(m, 1)``.
        y: targets, the same shape as ``y_pred``.

    Returns:
        A Python ``float`` (computed in float64).

    Raises:
        ValueError: if the shapes differ (``(m, 1)`` against ``(m,)`` included); the message names both.

    Example:
        >>> mse_loss(np.array([[1.0], [2.0]]), np.array([[1.0], [4.0]]))
        2.0
    """
    ### BEGIN SOLUTION
    y_pred, y = _check_same_shape("mse_loss", y_pred, y, "y_pred", "y")
    diff = y_pred - y
    return float(np.mean(diff ** 2))
    ### END SOLUTION


def mse_gradient(y_pred, y):
    """Gradient of ``mse_loss(y_pred, y)`` with respect to ``y_pred``: ``2 * (y_pred - y) / N``.

    ``N = y_pred.size`` is the number of entries the loss averages over: forgetting it gives the
    gradient of the *sum* of squared errors, N times too large.

    Args:
        y_pred: predictions, array of any shape.
        y: targets, the same shape.

    Returns:
        A float64 array shaped like ``y_pred``.

    Raises:
        ValueError: if the shapes differ; the message names both.

    Example:
        >>> mse_gradient(np.array([[1.0], [2.0]]), np.array([[1.0], [4.0]]))
        array([[ 0.],
               [-2.]])
    """
    ### BEGIN SOLUTION
    y_pred, y = _check_same_shape("mse_gradient", y_pred, y, "y_pred", "y")
    return 2 * (y_pred - y) / y_pred.size
    ### END SOLUTION


def binary_cross_entropy(A, y, eps=1e-12):
    """Binary cross-entropy ``-mean(y * log(A) + (1 - y) * log(1 - A))``, with ``A`` clipped to ``[eps, 1 - eps]``.

    The clipping keeps the loss finite (and free of warnings) when ``A`` is exactly 0 or 1. It is done
    in float64: in float32, ``1 - 1e-12`` rounds to ``1.0`` and ``log(1 - A)`` would be ``-inf`` again.

    Args:
        A: predicted probabilities of the class 1, values in [0, 1], any shape (e.g. ``(m, 1)``).
        y: labels (0 or 1; soft labels in [0, 1] work too), the same shape as ``A``.
        eps: clipping margin, a small positive number.

    Returns:
        A Python ``float``: the mean over all entries.

    Raises:
        ValueError: if the shapes differ; the message names both.

    Example:
        >>> round(binary_cross_entropy(np.array([0.9, 0.2]), np.array([1.0, 0.0])), 6)
        0.164252
        >>> binary_cross_entropy(np.array([0.0]), np.array([1.0]))  # -log(1e-12), finite
        27.631021115928547
    """
    ### BEGIN SOLUTION
    A, y = _check_same_shape("binary_cross_entropy", A, y, "A", "y")
    A = np.clip(A, eps, 1 - eps)
    return float(-np.mean(y * np.log(A) + (1 - y) * np.log(1 - A)))
    ### END SOLUTION


def binary_cross_entropy_gradient(A, y, eps=1e-12):
    """Gradient of ``binary_cross_entropy(A, y, eps)`` with respect to ``A``.

    ``(-y / A + (1 - y) / (1 - A)) / N``, equivalently ``(A - y) / (A * (1 - A)) / N``, where ``A`` is the
    *clipped* ``A`` (as in the loss) and ``N = A.size``. At ``A`` = 0 or 1 it is therefore large but finite.

    Args:
        A: predicted probabilities, any shape.
        y: labels, the same shape.
        eps: clipping margin, as in the loss.

    Returns:
        A float64 array shaped like ``A``.

    Raises:
        ValueError: if the shapes differ; the message names both.

    Example:
        >>> binary_cross_entropy_gradient(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
        array([-1.,  1.])
    """
    ### BEGIN SOLUTION
    A, y = _check_same_shape("binary_cross_entropy_gradient", A, y, "A", "y")
    A = np.clip(A, eps, 1 - eps)
    return (A - y) / (A * (1 - A)) / A.size
    ### END SOLUTION
