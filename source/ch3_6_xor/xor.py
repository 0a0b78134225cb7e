"""Chapter 3.6: hidden layers, and XOR, the problem a single layer cannot solve.

XOR is 1 when exactly one of two bits is 1: the points (0, 1) and (1, 0) are class 1, (0, 0) and (1, 1)
class 0. No straight line separates them, so a perceptron (one layer: ``sigmoid(X @ W + b)``, whose
boundary ``X @ W + b = 0`` is a line) gets at most 3 of the 4 right. A hidden layer bends the space:

    A1 = tanh(X @ W1 + b1)        (m, hidden)   hidden layer, non-linear
    A2 = sigmoid(A1 @ W2 + b2)    (m, 1)        probability of class 1

Trained by full-batch gradient descent on the binary cross-entropy, the backward pass is the chain rule,
layer by layer (``Y`` the labels as a column, ``m`` the batch size, and ``tanh'(z) = 1 - tanh(z)**2``):

    dZ2 = (A2 - Y) / m,   dW2 = A1.T @ dZ2,   db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W2.T) * (1 - A1**2),   dW1 = X.T @ dZ1,   db1 = dZ1.sum(axis=0)

Without the tanh the two layers collapse into one linear map, and XOR is out of reach again.
"""
import numpy as np

from sigmoid import sigmoid


def xor_data():
    """The four XOR points and their labels.

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(4, 2)``, rows ``[0, 0], [0, 1], [1, 0], [1, 1]`` in this order;
        ``y`` int64 of shape ``(4,)``, ``[0, 1, 1, 0]``.

    Example:
        >>> X, y = xor_data()
        >>> y
        array([0, 1, 1, 0])
    """
    ### BEGIN SOLUTION
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y
    ### END SOLUTION


def forward_xor(params, X):
    """Forward pass of the 2-hidden-1 network: ``A1 = tanh(X @ W1 + b1)``, ``A2 = sigmoid(A1 @ W2 + b2)``.

    Args:
        params: dict with ``"W1"`` ``(2, hidden)``, ``"b1"`` ``(hidden,)``, ``"W2"`` ``(hidden, 1)``,
            ``"b2"`` ``(1,)``.
        X: inputs of shape ``(m, 2)`` (any points, not only the four corners).

    Returns:
        ``(A1, A2)``: the hidden activations ``(m, hidden)`` and the probabilities of class 1 ``(m, 1)``.

    Raises:
        ValueError: if ``X`` is not ``(m, 2)`` or the parameters do not fit together (message names the shapes).

    Example:
        >>> params = {"W1": np.zeros((2, 3)), "b1": np.zeros(3), "W2": np.zeros((3, 1)), "b2": np.zeros(1)}
        >>> A1, A2 = forward_xor(params, np.ones((5, 2)))
        >>> A1.shape, A2.shape, float(A2[0, 0])
        ((5, 3), (5, 1), 0.5)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    h = W1.shape[1] if W1.ndim == 2 else -1
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"forward_xor: X must have shape (m, 2), got {X.shape}")
    if W1.shape != (2, h) or b1.shape != (h,) or W2.shape != (h, 1) or b2.shape != (1,):
        raise ValueError(f"forward_xor: parameters do not fit: W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, "
                         f"b2 {b2.shape}; expected (2, h), (h,), (h, 1), (1,)")
    A1 = np.tanh(X @ W1 + b1)
    A2 = sigmoid(A1 @ W2 + b2)
    return A1, A2
    ### END SOLUTION


def train_xor(rng, hidden=4, lr=1.0, epochs=1000, tries=5):
    """Train a 2-hidden-1 network (tanh hidden layer, sigmoid output) on the four XOR points.

    Full-batch gradient descent on the binary cross-entropy, ``epochs`` steps. Weights start as random
    numbers from ``rng``, drawn in this order: ``W1 = rng.normal(0, 0.5, size=(2, hidden))``, then
    ``W2 = rng.normal(0, 0.5, size=(hidden, 1))`` (all-zero weights never break the symmetry between hidden
    units); biases start at zero.

    A few starting points end on a plateau (two of the points stuck at probability 0.5) however long the
    training runs. The cure is a random restart: when the trained network still gets a point wrong, start
    again from new weights drawn from the same ``rng``, at most ``tries`` times in all; the defaults solve
    XOR from any seed.

    Args:
        rng: ``numpy.random.Generator``; the same seed gives the same parameters.
        hidden: number of hidden units (with 1 it cannot solve XOR: its output depends on one line only).
        lr: learning rate.
        epochs: gradient steps per try.
        tries: how many random starts at most.

    Returns:
        ``params``: dict of float arrays ``"W1"`` ``(2, hidden)``, ``"b1"`` ``(hidden,)``, ``"W2"``
        ``(hidden, 1)``, ``"b2"`` ``(1,)``: the first try that classifies all four points, else the try
        with the lowest loss after training (the mean binary cross-entropy on the four points, probabilities
        clipped to ``[1e-12, 1 - 1e-12]``; on a tie the earlier try).

    Raises:
        ValueError: if ``hidden`` is below 1.

    Example:
        >>> params = train_xor(np.random.default_rng(0))
        >>> predict_xor(params, xor_data()[0])
        array([0, 1, 1, 0])
    """
    ### BEGIN SOLUTION
    if hidden < 1:
        raise ValueError(f"train_xor: hidden must be at least 1, got {hidden}")
    X, y = xor_data()
    Y, m = y.reshape(-1, 1), X.shape[0]
    best, best_loss = None, np.inf
    for _ in range(tries):
        params = {"W1": rng.normal(0.0, 0.5, size=(2, hidden)), "b1": np.zeros(hidden),
                  "W2": rng.normal(0.0, 0.5, size=(hidden, 1)), "b2": np.zeros(1)}
        for _ in range(epochs):
            A1, A2 = forward_xor(params, X)
            dZ2 = (A2 - Y) / m
            dZ1 = (dZ2 @ params["W2"].T) * (1 - A1**2)
            params["W2"] -= lr * (A1.T @ dZ2)
            params["b2"] -= lr * dZ2.sum(axis=0)
            params["W1"] -= lr * (X.T @ dZ1)
            params["b1"] -= lr * dZ1.sum(axis=0)
        if np.array_equal(predict_xor(params, X), y):
            return params
        A2 = np.clip(forward_xor(params, X)[1], 1e-12, 1 - 1e-12)
        loss = float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))
        if best is None or loss < best_loss:  # a diverged try (NaN loss) still returns something
            best, best_loss = params, loss
    return best
    ### END SOLUTION


def predict_xor(params, X):
    """Class 0 or 1 for each row of ``X``: 1 where the network's probability ``A2`` is above 0.5.

    Args:
        params: dict as returned by ``train_xor``.
        X: inputs of shape ``(m, 2)``.

    Returns:
        Integer array of shape ``(m,)`` holding 0 and 1 (a vector, not an ``(m, 1)`` column).

    Example:
        >>> params = {"W1": np.ones((2, 1)), "b1": np.zeros(1), "W2": np.ones((1, 1)), "b2": np.array([-0.5])}
        >>> predict_xor(params, np.array([[0.0, 0.0], [1.0, 1.0]]))
        array([0, 1])
    """
    ### BEGIN SOLUTION
    _, A2 = forward_xor(params, X)
    return (A2[:, 0] > 0.5).astype(np.int64)
    ### END SOLUTION
