"""Chapter 1.3: the sigmoid, the first activation function, and its derivative.

``sigmoid(z) = 1 / (1 + exp(-z))`` squashes any real number into (0, 1). Written naively it overflows:
``exp(-z)`` is ``inf`` for ``z < -709``. Using ``exp(-|z|)``, which never exceeds 1, and choosing the
algebraically equal form by the sign of ``z`` keeps it exact and warning-free for any input.
"""
import numpy as np


def sigmoid(Z):
    """The logistic sigmoid, element-wise and numerically stable.

    Args:
        Z: array of any shape (a Python number is treated as a 0-d array).

    Returns:
        Array of the same shape with values in [0, 1]; float32 input stays float32, anything else becomes
        float64. No overflow warning for any finite input (|Z| of 1e4 and beyond).

    Example:
        >>> sigmoid(np.array([0.0, 2.0]))
        array([0.5       , 0.88079708])
    """
    ### BEGIN SOLUTION
    Z = np.asarray(Z)
    Z = Z.astype(Z.dtype if Z.dtype == np.float32 else np.float64, copy=False)
    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))
    ### END SOLUTION


def sigmoid_derivative(Z):
    """Derivative of the sigmoid with respect to its input: ``s * (1 - s)`` with ``s = sigmoid(Z)``.

    Args:
        Z: array of any shape, the pre-activation (not the sigmoid's output).

    Returns:
        Array of the same shape, values in [0, 0.25] (the peak is at ``Z = 0``).

    Example:
        >>> sigmoid_derivative(np.array([0.0]))
        array([0.25])
    """
    ### BEGIN SOLUTION
    s = sigmoid(Z)
    return s * (1 - s)
    ### END SOLUTION
