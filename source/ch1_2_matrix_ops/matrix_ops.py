"""Chapter 1.2: matrix operations, and the dense layer they add up to.

A whole batch goes through a layer in one matrix product: with the batch row-major, ``X`` is
``(m, n_in)``, the weights ``W`` are ``(n_in, n_out)`` and ``Z = X @ W + b`` is ``(m, n_out)``.
"""
import numpy as np


def matrix_multiply(X, W):
    """The matrix product ``X @ W``, checking the shapes first.

    Args:
        X: array of shape ``(m, n)``.
        W: array of shape ``(n, k)``.

    Returns:
        Array of shape ``(m, k)``.

    Raises:
        ValueError: if either is not 2-D, or the inner sizes differ; the message names both shapes.

    Example:
        >>> matrix_multiply(np.ones((2, 3)), np.ones((3, 4))).shape
        (2, 4)
    """
    ### BEGIN SOLUTION
    X, W = np.asarray(X), np.asarray(W)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"matrix_multiply: cannot multiply X of shape {X.shape} by W of shape {W.shape}; "
                         "need (m, n) @ (n, k)")
    return X @ W
    ### END SOLUTION


def dense_forward(X, W, b):
    """Forward pass of a dense (fully connected) layer: ``Z = X @ W + b``.

    Args:
        X: batch of shape ``(m, n_in)``.
        W: weights of shape ``(n_in, n_out)``.
        b: bias of shape ``(n_out,)``, added to every row.

    Returns:
        ``Z`` of shape ``(m, n_out)``.

    Raises:
        ValueError: on a shape mismatch (X and W as in ``matrix_multiply``, or ``b`` not ``(n_out,)``);
            the message names the shapes.

    Example:
        >>> dense_forward(np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))
        array([[3., 4., 5., 6.],
               [3., 4., 5., 6.]])
    """
    ### BEGIN SOLUTION
    Z = matrix_multiply(X, W)
    b = np.asarray(b)
    if b.shape != (Z.shape[1],):
        raise ValueError(f"dense_forward: b has shape {b.shape} but W of shape {np.shape(W)} needs "
                         f"b of shape ({Z.shape[1]},)")  # mutants: skip (wording beyond the Raises: contract)
    return Z + b
    ### END SOLUTION
