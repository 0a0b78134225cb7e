"""Chapter 1.1: NumPy arrays, and the first tool every network needs: normalising its inputs.

Features on very different scales (pixel intensities 0-255 next to values near 0.01) slow gradient
descent down; standardising them to mean 0 and standard deviation 1 puts every feature on one footing.
"""
import numpy as np


def normalize(X, axis=None, eps=1e-8):
    """Standardise ``X`` to mean 0 and standard deviation 1.

    ``(X - mean) / (std + eps)``, where mean and std are taken over ``axis``:

    * ``axis=None``: one mean and one std for the whole array (global);
    * ``axis=0``: per column, i.e. per feature of a batch ``(m, n)``;
    * ``axis=1``: per row, i.e. per sample.

    ``eps`` keeps a constant column (std 0) at 0 instead of 0/0 = NaN.

    Args:
        X: array of shape ``(m, n)`` (any shape for ``axis=None``). Not modified.
        axis: ``None``, ``0`` or ``1``.
        eps: small positive number added to the std.

    Returns:
        A new array of the same shape as ``X``; float32 input stays float32, anything else becomes float64.

    Raises:
        ValueError: if ``X`` is empty, or ``axis`` is not valid for ``X``.

    Example:
        >>> normalize(np.array([[1.0, 10.0], [3.0, 10.0]]), axis=0)
        array([[-1.,  0.],
               [ 1.,  0.]])
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    if X.size == 0:
        raise ValueError(f"normalize: X is empty (shape {X.shape})")
    # NumPy raises its AxisError (a ValueError) for an invalid axis too: this check only words it better
    if axis is not None and not -X.ndim <= axis < X.ndim:  # mutants: skip
        raise ValueError(f"normalize: axis {axis} is not valid for X of shape {X.shape}")
    X = X.astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)
    mean = X.mean(axis=axis, keepdims=True)
    std = X.std(axis=axis, keepdims=True)
    return (X - mean) / (std + X.dtype.type(eps))  # a float32 eps keeps float32 results
    ### END SOLUTION
