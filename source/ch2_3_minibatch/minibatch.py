"""Chapter 2.3: mini-batch gradient descent.

Full-batch gradient descent (chapter 2.2) looks at all ``m`` samples before every step. Mini-batch gradient
descent cuts the data into batches of ``batch_size`` rows and takes one step per batch, so one pass over
the data (an *epoch*) makes ``ceil(m / batch_size)`` cheaper, noisier steps.

Two rules make it work well:

* every sample is used exactly once per epoch, the last, shorter batch included;
* the order is shuffled afresh every epoch (from the ``rng`` you pass, so a run can be repeated exactly),
  otherwise the same batches come back in the same order, and any ordering in the data (all the 0s first,
  then all the 1s) biases every step.
"""
import numpy as np


def iterate_minibatches(X, y, batch_size, rng, shuffle=True):
    """Cut ``(X, y)`` into mini-batches: an iterator (e.g. a generator) of ``(X_batch, y_batch)`` pairs.

    One pass over it is one epoch: ``ceil(m / batch_size)`` batches, every sample in exactly one of them.
    All batches have ``batch_size`` rows except the last, which has the ``m % batch_size`` remaining rows
    when ``batch_size`` does not divide ``m`` (it is kept, not dropped). Rows of ``X`` and ``y`` stay paired.

    Args:
        X: inputs, shape ``(m, n)`` (any array whose first axis indexes the samples).
        y: targets, shape ``(m,)``, ``(m, 1)`` or ``(m, k)``: the same first dimension as ``X``.
        batch_size: rows per batch, a positive integer (larger than ``m`` gives one batch of everything).
        rng: a ``numpy.random.Generator``; with ``shuffle=True`` the order is a random permutation drawn from
            it (for instance ``rng.permutation(m)``), so the same seed gives the same batches.
        shuffle: ``False`` keeps the original order (rows 0..m-1) and draws nothing from ``rng``.

    Returns:
        An iterator of ``(X_batch, y_batch)``, each of shape ``(b, ...)`` with ``b <= batch_size``.

    Raises:
        ValueError: if ``X`` and ``y`` have different numbers of rows (the message names both shapes), or
            ``batch_size < 1``.

    Example:
        >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
        >>> [yb.tolist() for _, yb in iterate_minibatches(X, y, 2, np.random.default_rng(0), shuffle=False)]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """
    ### BEGIN SOLUTION
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(f"iterate_minibatches: X of shape {X.shape} and y of shape {y.shape} must have the same "
                         "number of rows (one per sample)")
    if batch_size < 1:
        raise ValueError(f"iterate_minibatches: batch_size must be at least 1, got {batch_size}")
    m = X.shape[0]
    order = rng.permutation(m) if shuffle else np.arange(m)
    # A generator expression: the checks above run at the call, the batches are cut lazily.
    return ((X[idx], y[idx]) for idx in (order[start:start + batch_size] for start in range(0, m, batch_size)))
    ### END SOLUTION


def minibatch_gradient_descent(X, y, W, b, lr, epochs, batch_size, rng):
    """Fit ``y ~ X @ W + b`` (mean squared error) by mini-batch gradient descent.

    Every epoch takes one step per batch of ``iterate_minibatches(X, y, batch_size, rng)`` (shuffled; nothing
    else draws from ``rng``). A step on a batch of ``nb`` rows uses that batch's own MSE gradient,
    ``dW = (2 / nb) * X_batch.T @ (X_batch @ W + b - y_batch)`` and ``db = (2 / nb) * sum(...)``: the last,
    shorter batch divides by its own size. (With ``k > 1`` output columns the factor is ``2 / (nb * k)``.)

    Args:
        X: inputs, shape ``(m, n)``.
        y: targets, shape ``(m, 1)``; ``(m,)`` is accepted and treated as ``(m, 1)`` (``(m, k)`` for ``W (n, k)``).
        W: initial weights ``(n, 1)`` (or ``(n, k)``); not modified, the function works on a copy.
        b: initial bias ``(1,)`` (or ``(k,)``); not modified.
        lr: learning rate.
        epochs: number of passes over the data.
        batch_size: rows per batch.
        rng: ``numpy.random.Generator`` that shuffles every epoch.

    Returns:
        ``(W, b, losses)``: new float64 arrays, and a list of ``epochs`` Python floats, ``losses[e]`` being the
        MSE on the *whole* data set after epoch ``e`` (so ``losses[-1]`` is the loss of the returned W and b).

    Raises:
        ValueError: if the shapes do not fit together, or ``batch_size < 1``.
        FloatingPointError: when the loss after an epoch is not finite; the message names the epoch
            (counted from 0) and suggests a smaller learning rate.

    Example:
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1); y = 3 * X - 1
        >>> W, b, losses = minibatch_gradient_descent(X, y, np.zeros((1, 1)), np.zeros(1), 0.1, 200, 8,
        ...                                           np.random.default_rng(0))
        >>> np.round(W, 4), np.round(b, 4), len(losses)
        (array([[3.]]), array([-1.]), 200)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"minibatch_gradient_descent: X of shape {X.shape} does not fit W of shape {W.shape}; "
                         "need X (m, n) and W (n, k)")
    m, k = X.shape[0], W.shape[1]
    if b.shape != (k,):
        raise ValueError(f"minibatch_gradient_descent: b has shape {b.shape} but W of shape {W.shape} needs "
                         f"b of shape ({k},)")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1 and k == 1:
        y = y.reshape(-1, 1)
    if y.shape != (m, k):
        raise ValueError(f"minibatch_gradient_descent: y has shape {y.shape} but X of shape {X.shape} and W of "
                         f"shape {W.shape} predict shape ({m}, {k})")
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, not as warnings
        for epoch in range(epochs):
            for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng, shuffle=True):
                err = X_batch @ W + b - y_batch
                dZ = (2 / err.size) * err  # the batch's own size: the last batch may be shorter
                W -= lr * (X_batch.T @ dZ)
                b -= lr * dZ.sum(axis=0)
            loss = float(np.mean((X @ W + b - y) ** 2))
            if not np.isfinite(loss):
                raise FloatingPointError(f"minibatch_gradient_descent diverged: the loss is {loss} after epoch "
                                         f"{epoch}; the learning rate lr={lr} is too large, try a smaller lr")
            losses.append(loss)
    return W, b, losses
    ### END SOLUTION
