"""Chapter 3.2: activation functions for multi-layer networks, and the loss that goes with softmax.

* ``relu(z) = max(0, z)`` is the hidden-layer activation: cheap, and it does not saturate for ``z > 0``.
* ``softmax`` turns the ``K`` scores (logits) of one sample into ``K`` probabilities that sum to 1. The
  batch is row-major, so each ROW of ``Z (m, K)`` is one sample and is normalised on its own. Since
  ``softmax(z) = softmax(z - c)`` for any constant ``c``, subtracting the row's maximum first keeps every
  exponent ``<= 0``: nothing overflows, and the largest term is exactly ``exp(0) = 1``.
* ``cross_entropy`` measures how much probability the network gave to the right class:
  ``-mean_i log A[i, y_i]``.
"""
import numpy as np


def relu(Z):
    """The rectified linear unit ``max(0, z)``, element-wise.

    Args:
        Z: array of any shape.

    Returns:
        A new array of the same shape (``Z`` itself is left untouched); float32 input stays float32,
        anything else becomes float64.

    Example:
        >>> relu(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """
    ### BEGIN SOLUTION
    Z = np.asarray(Z)
    Z = Z.astype(Z.dtype if Z.dtype == np.float32 else np.float64, copy=False)
    return np.maximum(Z, 0)
    ### END SOLUTION


def relu_derivative(Z):
    """Derivative of ReLU with respect to its input: 1 where ``z > 0``, 0 where ``z < 0``.

    ReLU has a kink at ``z = 0`` where the derivative is not defined; this course uses 0 there (any value
    in [0, 1] would do for gradient descent, and 0 is what ``Z > 0`` gives).

    Args:
        Z: array of any shape, the pre-activation (not ReLU's output).

    Returns:
        Array of the same shape holding 0.0 and 1.0, float32 for float32 input, else float64.

    Example:
        >>> relu_derivative(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 1.])
    """
    ### BEGIN SOLUTION
    Z = np.asarray(Z)
    dtype = Z.dtype if Z.dtype == np.float32 else np.float64
    return (Z > 0).astype(dtype)
    ### END SOLUTION


def softmax(Z):
    """Row-wise softmax: each row of ``Z`` (one sample's logits) becomes a probability vector.

    ``softmax(Z)[i, j] = exp(Z[i, j] - max_k Z[i, k]) / sum_k exp(Z[i, k] - max_k Z[i, k])``.
    The maximum is taken per row, so rows of very different size (logits of 1e3 beside logits of 1) give
    neither an overflow warning nor NaN.

    Args:
        Z: logits of shape ``(m, K)``: ``m`` samples (rows), ``K`` classes (columns).

    Returns:
        Array of shape ``(m, K)``, entries in [0, 1], every ROW sums to 1 (the columns do not).
        float32 input stays float32, anything else becomes float64.

    Raises:
        ValueError: if ``Z`` is not 2-D (the message names its shape).

    Example:
        >>> softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
        array([[0.5 , 0.5 ],
               [0.25, 0.75]])
    """
    ### BEGIN SOLUTION
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"softmax: Z must be 2-D (m samples, K classes), got shape {Z.shape}")
    Z = Z.astype(Z.dtype if Z.dtype == np.float32 else np.float64, copy=False)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # exponents <= 0: no overflow
    return E / E.sum(axis=1, keepdims=True)
    ### END SOLUTION


def cross_entropy(A, y, eps=1e-12):
    """Mean categorical cross-entropy of predicted probabilities ``A`` against the true classes.

    ``L = -(1/m) * sum_i sum_k Y[i, k] * log(A[i, k])``, where ``Y`` is the one-hot matrix of the labels;
    with integer labels this is ``-(1/m) * sum_i log A[i, y_i]``. ``A`` is clipped to ``[eps, 1]`` first so
    a probability of exactly 0 gives a large but finite loss (``-log(eps)``) instead of ``inf``.

    Args:
        A: predicted probabilities of shape ``(m, K)`` (rows from ``softmax``).
        y: the true classes, either integer labels of shape ``(m,)`` with values in ``0..K-1``, or one-hot
            rows of shape ``(m, K)`` (``Y[i, y_i] = 1``, other entries 0). Both give the same loss.
        eps: the smallest probability used inside the log.

    Returns:
        The loss as a Python ``float`` (the mean over the ``m`` samples, not the sum).

    Raises:
        ValueError: if ``A`` is not 2-D, if ``y`` has the wrong shape (the message names both shapes), or if
            an integer label is outside ``0..K-1``.

    Example:
        >>> A = np.array([[0.5, 0.5], [0.25, 0.75]])
        >>> cross_entropy(A, np.array([0, 1]))   # -(log 0.5 + log 0.75) / 2
        0.4904146265058631
        >>> cross_entropy(A, np.array([[1, 0], [0, 1]]))
        0.4904146265058631
    """
    ### BEGIN SOLUTION
    A, y = np.asarray(A), np.asarray(y)
    if A.ndim != 2:
        raise ValueError(f"cross_entropy: A must be 2-D (m, K), got shape {A.shape}")
    m, K = A.shape
    logA = np.log(np.clip(A.astype(np.float64), eps, 1.0))
    if y.ndim == 1:
        if y.shape != (m,):
            raise ValueError(f"cross_entropy: labels y of shape {y.shape} do not match A of shape {A.shape}; "
                             f"expected ({m},) or ({m}, {K})")
        labels = y.astype(np.int64)
        if m and (labels.min() < 0 or labels.max() >= K):
            # mutants: skip (the message's wording)
            raise ValueError(f"cross_entropy: labels must lie in 0..{K - 1} for A of shape {A.shape}, "
                             f"got values from {labels.min()} to {labels.max()}")
        return float(-logA[np.arange(m), labels].mean())
    if y.shape != A.shape:
        raise ValueError(f"cross_entropy: one-hot y of shape {y.shape} does not match A of shape {A.shape}")
    return float(-(y * logA).sum() / m)
    ### END SOLUTION
