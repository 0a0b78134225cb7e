"""Chapter 3.1: the single-layer perceptron, a first neural network that learns from data.

One layer of weights and a sigmoid: ``A = sigmoid(X @ W + b)`` is the probability that each sample
belongs to class 1 (the "1" of a yes/no question such as "is this digit a 1 rather than a 0?").
Training lowers the binary cross-entropy between ``A`` and the 0/1 labels by gradient descent. For
the sigmoid with cross-entropy the gradient is remarkably simple: with ``Y`` the labels as a column,

    dZ = (A - Y) / m,    dW = X.T @ dZ,    db = sum of dZ over the batch,

and every step moves against it: ``W <- W - lr * dW``, ``b <- b - lr * db``. The class predicted for a
sample is 1 when ``A >= 0.5`` (that is, ``X @ W + b >= 0``) and 0 otherwise.
"""
import numpy as np

from sigmoid import sigmoid


def forward_perceptron(X, W, b):
    """Probabilities of class 1 for a batch: ``sigmoid(X @ W + b)``.

    Args:
        X: batch of shape ``(m, n)``, one sample per row.
        W: weights of shape ``(n, 1)``.
        b: bias of shape ``(1,)``.

    Returns:
        Array of shape ``(m, 1)`` with values in [0, 1]; float32 inputs give float32.

    Raises:
        ValueError: if ``X`` is not 2-D, ``W`` is not ``(n, 1)`` for ``X`` of shape ``(m, n)``, or ``b`` is
            not ``(1,)``; the message names the shapes.

    Example:
        >>> forward_perceptron(np.array([[1.0, 2.0]]), np.array([[0.5], [-0.25]]), np.array([0.0]))
        array([[0.5]])
    """
    ### BEGIN SOLUTION
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 2:
        raise ValueError(f"forward_perceptron: X must be a batch of shape (m, n), got shape {X.shape}")
    if W.shape != (X.shape[1], 1):
        raise ValueError(f"forward_perceptron: X of shape {X.shape} needs W of shape ({X.shape[1]}, 1), "
                         f"got W of shape {W.shape}")
    if b.shape != (1,):
        raise ValueError(f"forward_perceptron: b must have shape (1,), got b of shape {b.shape}")
    return sigmoid(X @ W + b)
    ### END SOLUTION


def train_perceptron(X, y, lr, epochs, rng):
    """Train a perceptron by full-batch gradient descent on the binary cross-entropy.

    ``W`` starts as small random numbers drawn from ``rng`` (for example ``rng.normal(0, 0.01, (n, 1))``)
    and ``b`` at zero. Every epoch is ONE gradient step on the whole training set: forward pass, loss,
    gradient, update. The function prints nothing.

    Args:
        X: training batch of shape ``(m, n)``.
        y: labels of shape ``(m,)`` holding only 0 and 1 (a 1-D integer vector, not a column: reshape it
            to ``(m, 1)`` yourself before comparing it with the ``(m, 1)`` probabilities).
        lr: learning rate (step size), a float >= 0 (with ``lr=0`` nothing moves: the initial weights come
            back, which is handy for checking the first step by hand).
        epochs: number of gradient steps.
        rng: ``numpy.random.Generator`` for the initial weights; the same seed gives the same result.

    Returns:
        ``(W, b, losses)``: ``W`` of shape ``(n, 1)``, ``b`` of shape ``(1,)``, and ``losses``, a list of
        ``epochs`` Python floats: ``losses[k]`` is the mean binary cross-entropy on the training set
        computed in epoch ``k`` BEFORE its update (so ``losses[0]`` is the loss of the initial weights).
        The cross-entropy clips the probabilities to ``[1e-12, 1 - 1e-12]`` before taking the log.
        ``W`` and ``b`` are float32 for a float32 ``X``, float64 for any other (integer ``X`` too).

    Raises:
        ValueError: if ``X`` is not 2-D, ``y`` is not of shape ``(m,)`` (message names both shapes), or
            ``y`` holds a value other than 0 and 1.

    Example:
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
        >>> W, b, losses = train_perceptron(X, np.array([1, 0, 1, 0]), 0.5, 100, np.random.default_rng(0))
        >>> W.shape, b.shape, len(losses), losses[-1] < losses[0]
        ((2, 1), (1,), 100, True)
    """
    ### BEGIN SOLUTION
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"train_perceptron: X must be a batch of shape (m, n), got shape {X.shape}")
    m, n = X.shape
    if y.shape != (m,):
        raise ValueError(f"train_perceptron: X of shape {X.shape} needs labels y of shape ({m},), "
                         f"got y of shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"train_perceptron: y must hold only 0 and 1, got the values "
                         f"{np.unique(y)[:10]}")  # mutants: skip (wording)
    X = X.astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)
    Y = y.reshape(m, 1).astype(X.dtype)  # a column, like the (m, 1) probabilities
    W = rng.normal(0.0, 0.01, size=(n, 1)).astype(X.dtype)
    b = np.zeros(1, dtype=X.dtype)
    losses = []
    for _ in range(epochs):
        A = forward_perceptron(X, W, b)
        Ac = np.clip(A.astype(np.float64), 1e-12, 1 - 1e-12)
        losses.append(float(-np.mean(Y * np.log(Ac) + (1 - Y) * np.log(1 - Ac))))
        dZ = (A - Y) / m
        W = W - lr * (X.T @ dZ)
        b = b - lr * dZ.sum(axis=0)
    return W, b, losses
    ### END SOLUTION
