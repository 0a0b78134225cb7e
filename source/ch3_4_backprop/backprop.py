"""Chapter 3.4: backpropagation through an MLP, and training it with mini-batch SGD.

The loss is the mean cross-entropy of the softmax output, ``L = -(1/m) sum_i log A_L[i, y_i]``. Going
backwards through the layers (row-major batches, ``Y`` the one-hot labels):

* output layer, softmax and cross-entropy together: ``dZ_L = (A_L - Y) / m``;
* every layer ``l``: ``dW_l = A_{l-1}.T @ dZ_l`` (shape of ``W_l``), ``db_l = dZ_l.sum(axis=0)``;
* one layer down: ``dA_{l-1} = dZ_l @ W_l.T``, then through the ReLU:
  ``dZ_{l-1} = dA_{l-1} * relu_derivative(Z_{l-1})``.

The ``1/m`` sits in ``dZ_L`` once, so every gradient is the gradient of the MEAN loss.
"""
import numpy as np
from tqdm.auto import tqdm

from activations import cross_entropy, relu_derivative
from mlp_forward import forward_mlp, init_mlp


def backward_mlp(params, cache, y):
    """Gradients of the mean cross-entropy loss with respect to every parameter.

    Args:
        params: dict ``{"W1", "b1", ..., "WL", "bL"}`` as from ``init_mlp``.
        cache: the dict ``forward_mlp(X, params)`` returned with the probabilities (``"A0"`` = X, ``"Z{l}"``,
            ``"A{l}"``; ``"A{L}"`` holds the softmax output). It is only read, never changed.
        y: true classes, integer labels of shape ``(m,)`` or one-hot rows of shape ``(m, K)``.

    Returns:
        dict with the SAME keys as ``params``: ``grads["W{l}"]`` (shape of ``W_l``) is ``dL/dW_l`` and
        ``grads["b{l}"]`` (shape of ``b_l``) is ``dL/db_l``, for the loss
        ``cross_entropy(forward_mlp(X, params)[0], y)`` (the mean over the batch).

    Raises:
        ValueError: if ``y`` does not match the batch (the message names both shapes).

    Example:
        >>> params = init_mlp([3, 4, 2], np.random.default_rng(0))
        >>> X, y = np.ones((5, 3)), np.array([0, 1, 1, 0, 1])
        >>> grads = backward_mlp(params, forward_mlp(X, params)[1], y)
        >>> sorted(grads), grads["W1"].shape
        (['W1', 'W2', 'b1', 'b2'], (3, 4))
    """
    ### BEGIN SOLUTION
    L = 0
    while f"W{L + 1}" in params:
        L += 1
    AL = cache[f"A{L}"]
    m, K = AL.shape
    y = np.asarray(y)
    if y.shape == (m,):
        Y = np.zeros_like(AL)
        Y[np.arange(m), y.astype(np.int64)] = 1
    elif y.shape == (m, K):
        Y = y
    else:
        raise ValueError(f"backward_mlp: y of shape {y.shape} does not match the output of shape {AL.shape}; "
                         f"expected ({m},) labels or ({m}, {K}) one-hot rows")
    grads = {}
    dZ = (AL - Y) / m  # a new array: the cache stays as it was
    for l in range(L, 0, -1):
        grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ params[f"W{l}"].T) * relu_derivative(cache[f"Z{l - 1}"])
    return grads
    ### END SOLUTION


def train_mlp(X, y, layer_sizes, lr, epochs, batch_size, rng):
    """Train an MLP with mini-batch stochastic gradient descent.

    ``params = init_mlp(layer_sizes, rng)``; then, every epoch, the samples are shuffled with ``rng`` (a new
    order each epoch) and cut into mini-batches of ``batch_size`` rows (the last one may be shorter); for
    each mini-batch: forward pass, loss, ``backward_mlp``, and the step ``p -= lr * grad`` on every
    parameter. A progress bar (loss and training accuracy per epoch, time left) shows in a terminal or
    notebook; nothing is printed otherwise.

    Args:
        X: training inputs of shape ``(m, layer_sizes[0])``.
        y: integer labels of shape ``(m,)`` with values in ``0..layer_sizes[-1] - 1``.
        layer_sizes: ``[n_0, ..., n_L]`` as for ``init_mlp``.
        lr: learning rate (a positive float).
        epochs: number of passes over the training set.
        batch_size: rows per mini-batch.
        rng: ``numpy.random.Generator`` for the initialisation and the shuffling: the same seed gives the
            same trained network.

    Returns:
        ``(params, history)``: the trained parameters (dict as from ``init_mlp``) and a list of ``epochs``
        floats, ``history[e]`` being the mean training loss of epoch ``e`` (the cross-entropy of each
        mini-batch before its update, averaged over the epoch's samples).

    Raises:
        ValueError: if ``X`` and ``y`` have different numbers of rows, or ``X`` does not have
            ``layer_sizes[0]`` columns (the message names the shapes).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
        >>> params, history = train_mlp(X, y, [2, 8, 2], lr=0.5, epochs=20, batch_size=32, rng=rng)
        >>> history[-1] < history[0]
        True
    """
    ### BEGIN SOLUTION
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[1] != layer_sizes[0]:
        raise ValueError(f"train_mlp: X of shape {X.shape} and y of shape {y.shape} do not fit "
                         f"layer_sizes {list(layer_sizes)}; need X (m, {layer_sizes[0]}) and y (m,)")  # mutants: skip
    params = init_mlp(layer_sizes, rng)
    m = X.shape[0]
    history = []
    # A progress bar in a terminal or notebook; silent when the output is not one (as under the grader).
    bar = tqdm(range(epochs), desc="train_mlp", unit="epoch", disable=None, leave=False)  # mutants: skip
    for _ in bar:
        order = rng.permutation(m)
        total = 0.0
        correct = 0  # mutants: skip (the training accuracy only the progress bar shows)
        for start in range(0, m, batch_size):
            idx = order[start:start + batch_size]
            yb = y[idx]
            probs, cache = forward_mlp(X[idx], params)
            total += cross_entropy(probs, yb) * len(idx)
            correct += int((probs.argmax(axis=1) == yb).sum())  # mutants: skip (shown, not returned)
            grads = backward_mlp(params, cache, yb)
            for key in params:
                params[key] -= lr * grads[key]
        history.append(total / m)
        bar.set_postfix(loss=f"{history[-1]:.4f}", train_acc=f"{correct / m:.3f}")  # mutants: skip (display)
    return params, history
    ### END SOLUTION
