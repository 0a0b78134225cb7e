"""Chapter 2.4: debugging gradients with numerical gradients.

A backpropagation bug rarely crashes: the network just learns badly. The cure is to compare the analytic
gradient with one measured by finite differences. For each entry ``x_i``, the *centred* difference

    (f(x + h e_i) - f(x - h e_i)) / (2 h)

has an error of order ``h**2``, while the one-sided ``(f(x + h e_i) - f(x)) / h`` is only of order ``h``: with
``h = 1e-5`` that is about 1e-10 against 1e-5, the difference between a trustworthy check and a noisy one.

Two gradients are then compared by their relative error (it ignores the overall scale of the gradient):

    relative_error(a, b) = ||a - b|| / (||a|| + ||b||)      (Euclidean norms over all entries)

Rough guide, in float64: below 1e-7 the gradient is right; 1e-7 to 1e-4 look closer (kinks such as ReLU at 0,
or a too large h); above 1e-4 something is wrong.
"""
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of the scalar function ``f`` at ``x`` by centred differences, one entry at a time.

    Entry ``x[idx]`` is set to ``x[idx] + h``, then ``x[idx] - h``, calling ``f(x)`` each time, and then put back.
    The array is changed *in place*, so ``f`` may read ``x`` through a closure instead of its argument
    (``numerical_gradient(lambda _: loss(params), params["W"])``). Every entry is restored to exactly its old
    value afterwards (save it and put it back: adding and subtracting ``h`` again is not exact in floating point).

    Args:
        f: function of one argument returning a number (a Python float, a numpy scalar or a 0-d array).
        x: a numpy array of floats, any shape, 0-d included. Changed during the call, restored at the end.
        h: the step, a small positive number.

    Returns:
        A float64 array shaped like ``x``: entry ``idx`` is ``(f(x + h e_idx) - f(x - h e_idx)) / (2 h)``.

    Raises:
        TypeError: if ``x`` is not a numpy array of a floating dtype (an integer array cannot hold ``x + h``,
            and a Python number cannot be changed in place).

    Example:
        >>> x = np.array([1.0, -2.0, 3.0])
        >>> np.round(numerical_gradient(lambda v: np.sum(v ** 2), x), 6)   # the gradient is 2 x
        array([ 2., -4.,  6.])
    """
    ### BEGIN SOLUTION
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        # mutants: skip (the message's wording; the docstring asks for the TypeError, which the tests check)
        raise TypeError(f"numerical_gradient: x must be a numpy array of floats (it is changed in place), got "
                        f"{type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else ""))
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):  # works for any shape and memory layout, () for a 0-d array
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old  # the saved value: exact
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


def relative_error(a, b):
    """Relative error of two arrays: ``||a - b|| / (||a|| + ||b||)``, Euclidean norms over all entries.

    0 for equal arrays, and defined as 0 when both are all zeros (instead of 0/0); at most 1 (triangle
    inequality), with 1 reached when ``b = -a`` or when exactly one of them is zero. Unchanged when both are
    multiplied by the same positive number, and symmetric in ``a`` and ``b``.

    Args:
        a, b: arrays (or numbers) of the same shape.

    Returns:
        A Python ``float`` in ``[0, 1]``.

    Raises:
        ValueError: if the shapes differ (the message names both); no broadcasting.

    Example:
        >>> relative_error(np.array([3.0, 0.0]), np.array([0.0, 4.0]))   # 5 / (3 + 4)
        0.7142857142857143
    """
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: a has shape {a.shape} but b has shape {b.shape}; they must match")
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denominator)
    ### END SOLUTION
