"""Chapter 2.2: gradient descent, on the simplest model there is, linear regression.

The model predicts ``y_hat = X @ W + b`` and is scored by the mean squared error
``L = mean((y_hat - y) ** 2)`` over the ``m`` samples. Its gradient is

    dL/dW = (2 / m) * X.T @ (y_hat - y)        dL/db = (2 / m) * sum over the rows of (y_hat - y)

and one step of gradient descent moves *against* it: ``W <- W - lr * dL/dW``, ``b <- b - lr * dL/db``.

A small learning rate ``lr`` lowers the loss at every step; one that is too large makes every step overshoot
further than the last, until the numbers overflow to ``inf`` and ``nan``. A training loop should say so
loudly instead of handing back NaN weights.
"""
import numpy as np


def gradient_descent(X, y, W, b, lr, num_iterations):
    """Fit ``y ~ X @ W + b`` by full-batch gradient descent on the mean squared error.

    Each iteration computes the predictions, records the loss, computes the gradient and updates W and b.
    (With ``k > 1`` output columns the mean runs over all ``m * k`` entries: the factor is ``2 / (m * k)``.)

    Args:
        X: inputs, shape ``(m, n)``.
        y: targets, shape ``(m, 1)``; a vector of shape ``(m,)`` is accepted and treated as ``(m, 1)``
            (more generally ``(m, k)`` for ``W`` of shape ``(n, k)``).
        W: initial weights, shape ``(n, 1)`` (``(n, k)``). Not modified: the function works on a copy.
        b: initial bias, shape ``(1,)`` (``(k,)``). Not modified either.
        lr: learning rate, a positive number.
        num_iterations: number of updates (0 returns copies of W and b and an empty list).

    Returns:
        ``(W, b, losses)``: the new weights and bias (new float64 arrays of the shapes of ``W`` and ``b``)
        and a list of ``num_iterations`` Python floats, ``losses[i]`` being the MSE *before* update ``i``
        (so ``losses[0]`` is the loss of the initial ``W`` and ``b``).

    Raises:
        ValueError: if the shapes do not fit together (the message names them).
        FloatingPointError: as soon as a loss is not finite (inf or nan): the message names the iteration
            (counted from 0) and suggests a smaller learning rate.

    Example:
        >>> X = np.array([[0.0], [1.0], [2.0]]); y = 2 * X + 1
        >>> W, b, losses = gradient_descent(X, y, np.zeros((1, 1)), np.zeros(1), lr=0.1, num_iterations=500)
        >>> np.round(W, 3), np.round(b, 3), losses[0]
        (array([[2.]]), array([1.]), 11.666666666666666)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    W = np.array(W, dtype=np.float64)  # a copy: the updates below never touch the caller's arrays
    b = np.array(b, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"gradient_descent: X of shape {X.shape} does not fit W of shape {W.shape}; "
                         "need X (m, n) and W (n, k)")
    m, k = X.shape[0], W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"gradient_descent: b has shape {b.shape} but W of shape {W.shape} needs b of shape ({k},)")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1 and k == 1:
        y = y.reshape(-1, 1)  # (m,) - (m, 1) would broadcast to (m, m)
    if y.shape != (m, k):
        raise ValueError(f"gradient_descent: y has shape {y.shape} but X of shape {X.shape} and W of shape "
                         f"{W.shape} predict shape ({m}, {k})")
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, not as warnings
        for i in range(num_iterations):
            err = X @ W + b - y
            loss = float(np.mean(err ** 2))
            if not np.isfinite(loss):
                raise FloatingPointError(f"gradient_descent diverged: the loss is {loss} at iteration {i}; "
                                         f"the learning rate lr={lr} is too large, try a smaller lr")
            losses.append(loss)
            dZ = (2 / err.size) * err
            W -= lr * (X.T @ dZ)
            b -= lr * dZ.sum(axis=0)
    return W, b, losses
    ### END SOLUTION
