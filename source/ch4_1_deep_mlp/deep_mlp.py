"""Chapter 4.1: deeper MLPs, and why their first layers can stop learning (vanishing gradients).

Chapters 3.3 and 3.4 built an MLP with ReLU hidden layers. This chapter makes the hidden activation a choice,
``"relu"`` or ``"sigmoid"``, for a network of any depth ``L`` (``layer_sizes = [n_0, ..., n_L]``), and looks at
the size of the gradients layer by layer.

Going backwards, every hidden layer multiplies the gradient by ``W_l.T`` and by the activation's derivative
``g'(Z_{l-1})``: ``dZ_{l-1} = (dZ_l @ W_l.T) * g'(Z_{l-1})``. The sigmoid's derivative is at most 0.25, so
each sigmoid layer shrinks the gradient about four-fold: in a 10-layer sigmoid net the first layer's gradient
is orders of magnitude smaller than the last layer's, and the first layers barely learn. That is the
*vanishing gradient*. ReLU's derivative is exactly 1 for every active unit, so with the right initialisation
the gradient keeps its size through the layers.

The initialisation has to match the activation, so that the signal neither shrinks nor grows from layer to
layer (weights drawn from a normal distribution of mean 0 and standard deviation ``std``):

* ReLU, He initialisation: ``std = sqrt(2 / n_in)`` (ReLU zeroes about half of the units; the 2 makes up
  for that);
* sigmoid, Xavier/Glorot initialisation in its fan-in form: ``std = sqrt(1 / n_in)``. (Glorot and Bengio's
  paper averages both fans, ``sqrt(2 / (n_in + n_out))``; for layers of equal width the two are the same,
  and this course uses the fan-in form, as for He.)

In both, ``2 / n_in`` and ``1 / n_in`` are VARIANCES: the standard deviation is their square root.
"""
import numpy as np

from activations import relu, relu_derivative, softmax
from sigmoid import sigmoid, sigmoid_derivative

ACTIVATIONS = ("relu", "sigmoid")  # the hidden activations this chapter supports


def init_deep(layer_sizes, rng, activation="relu"):
    """Parameters of an MLP of any depth, initialised for its hidden activation.

    Args:
        layer_sizes: sequence of ``L + 1`` positive ints ``[n_0, ..., n_L]`` (input size, hidden sizes,
            number of classes); ``L >= 1`` layers of weights.
        rng: a ``numpy.random.Generator``; the only source of randomness.
        activation: ``"relu"`` (He initialisation, ``std = sqrt(2 / n_in)``) or ``"sigmoid"``
            (Xavier/Glorot, fan-in form, ``std = sqrt(1 / n_in)``).

    Returns:
        dict with, for ``l = 1 .. L``: ``"W{l}"`` of shape ``(n_{l-1}, n_l)`` drawn as
        ``rng.standard_normal((n_{l-1}, n_l)) * std`` with ``n_in = n_{l-1}``, and ``"b{l}"`` of shape
        ``(n_l,)``, all zeros. float64.

    Raises:
        ValueError: if ``layer_sizes`` has fewer than 2 entries or a size below 1, or if ``activation`` is
            not one of ``"relu"``, ``"sigmoid"`` (the message names the allowed ones).

    Example:
        >>> params = init_deep([784, 128, 64, 10], np.random.default_rng(0), activation="sigmoid")
        >>> sorted(params), params["W2"].shape, round(float(params["W2"].std() * np.sqrt(128)), 1)
        (['W1', 'W2', 'W3', 'b1', 'b2', 'b3'], (128, 64), 1.0)
    """
    ### BEGIN SOLUTION
    if activation not in ACTIVATIONS:
        raise ValueError(f"init_deep: unknown activation {activation!r}; choose one of 'relu', 'sigmoid'")
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"init_deep: layer_sizes must hold at least 2 positive sizes [n_in, ..., n_out], "
                         f"got {list(layer_sizes)}")
    gain = 2.0 if activation == "relu" else 1.0  # He for ReLU, Xavier/Glorot (fan-in) for the sigmoid
    params = {}
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        params[f"W{l}"] = rng.standard_normal((n_in, n_out)) * np.sqrt(gain / n_in)
        params[f"b{l}"] = np.zeros(n_out)
    return params
    ### END SOLUTION


def forward_deep(X, params, activation="relu"):
    """Forward pass of an MLP of any depth: ``activation`` on the hidden layers, softmax on the output.

    Layer ``l`` computes ``Z_l = A_{l-1} @ W_l + b_l``, then ``A_l = g(Z_l)`` with ``g`` the hidden
    activation for ``l < L``, and ``A_L = softmax(Z_L)``. The number of layers ``L`` is read from ``params``
    (keys ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``).

    Args:
        X: batch of shape ``(m, n_0)``.
        params: dict as returned by ``init_deep``.
        activation: the hidden activation, ``"relu"`` or ``"sigmoid"``.

    Returns:
        ``(probs, cache)``: ``probs`` of shape ``(m, n_L)``, each row a probability vector; ``cache`` a dict
        with ``"A0"`` (``X`` itself) and, for ``l = 1 .. L``, ``"Z{l}"`` (pre-activation) and ``"A{l}"``
        (activation), each ``(m, n_l)``; ``cache["A{L}"]`` is ``probs``. float32 inputs and parameters give
        float32 results.

    Raises:
        ValueError: if ``activation`` is unknown (the message names the allowed ones), if ``X`` is not 2-D or
            its width does not match ``W1`` (the message names both shapes), or ``params`` holds no ``"W1"``.

    Example:
        >>> params = init_deep([3, 5, 4, 2], np.random.default_rng(0), activation="sigmoid")
        >>> probs, cache = forward_deep(np.ones((6, 3)), params, activation="sigmoid")
        >>> probs.shape, sorted(cache)
        ((6, 2), ['A0', 'A1', 'A2', 'A3', 'Z1', 'Z2', 'Z3'])
    """
    ### BEGIN SOLUTION
    if activation not in ACTIVATIONS:
        raise ValueError(f"forward_deep: unknown activation {activation!r}; choose one of 'relu', 'sigmoid'")
    g = relu if activation == "relu" else sigmoid
    X = np.asarray(X)
    L = 0
    while f"W{L + 1}" in params:
        L += 1
    if L == 0:
        raise ValueError(f"forward_deep: params has no 'W1' (keys: {sorted(params)})")
    W1 = params["W1"]
    if X.ndim != 2 or X.shape[1] != W1.shape[0]:
        raise ValueError(f"forward_deep: X of shape {X.shape} does not fit W1 of shape {W1.shape}; "
                         f"X must be (m, {W1.shape[0]})")  # mutants: skip
    cache = {"A0": X}
    A = X
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = g(Z) if l < L else softmax(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache
    ### END SOLUTION


def backward_deep(params, cache, y, activation="relu"):
    """Gradients of the mean cross-entropy loss of an MLP of any depth, for either hidden activation.

    With ``Y`` the one-hot labels: ``dZ_L = (A_L - Y) / m``; for every layer ``dW_l = A_{l-1}.T @ dZ_l``
    and ``db_l = dZ_l.sum(axis=0)``; one layer down ``dZ_{l-1} = (dZ_l @ W_l.T) * g'(Z_{l-1})``, where
    ``g'`` is ``relu_derivative`` or ``sigmoid_derivative``, taken at the PRE-activation ``Z_{l-1}``.

    Args:
        params: dict ``{"W1", "b1", ..., "WL", "bL"}`` as from ``init_deep``.
        cache: the dict ``forward_deep(X, params, activation)`` returned (only read, never changed).
        y: true classes, integer labels of shape ``(m,)`` or one-hot rows of shape ``(m, K)``.
        activation: the hidden activation the forward pass used, ``"relu"`` or ``"sigmoid"``.

    Returns:
        dict with the SAME keys as ``params``: ``grads["W{l}"]`` (shape of ``W_l``) and ``grads["b{l}"]``
        (shape of ``b_l``), the gradients of ``cross_entropy(probs, y)`` (the mean over the batch).

    Raises:
        ValueError: if ``activation`` is unknown (the message names the allowed ones), or ``y`` does not
            match the batch (the message names both shapes).

    Example:
        >>> params = init_deep([3, 4, 4, 2], np.random.default_rng(0), activation="sigmoid")
        >>> X, y = np.ones((5, 3)), np.array([0, 1, 1, 0, 1])
        >>> grads = backward_deep(params, forward_deep(X, params, "sigmoid")[1], y, activation="sigmoid")
        >>> sorted(grads), grads["W1"].shape
        (['W1', 'W2', 'W3', 'b1', 'b2', 'b3'], (3, 4))
    """
    ### BEGIN SOLUTION
    if activation not in ACTIVATIONS:
        raise ValueError(f"backward_deep: unknown activation {activation!r}; choose one of 'relu', 'sigmoid'")
    derivative = relu_derivative if activation == "relu" else sigmoid_derivative
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
        raise ValueError(f"backward_deep: y of shape {y.shape} does not match the output of shape {AL.shape}; "
                         f"expected ({m},) labels or ({m}, {K}) one-hot rows")
    grads = {}
    dZ = (AL - Y) / m  # a new array: the cache stays as it was
    for l in range(L, 0, -1):
        grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dZ = (dZ @ params[f"W{l}"].T) * derivative(cache[f"Z{l - 1}"])
    return grads
    ### END SOLUTION


def gradient_norms(grads):
    """The size of each layer's weight gradient: ``[||dW_1||, ..., ||dW_L||]``, in layer order.

    ``||dW_l||`` is the Frobenius norm, ``sqrt(sum of dW_l ** 2)``. The list starts at the FIRST layer
    (next to the input) whatever order the keys were put into ``grads`` (backpropagation fills it from the
    last layer down), and ``"W10"`` comes after ``"W9"``. Bias gradients are left out. The ratio
    ``norms[0] / norms[-1]`` shows vanishing gradients: far below 1 when the first layer learns much more
    slowly than the last.

    Args:
        grads: dict with ``"W1"`` ... ``"WL"`` (any shapes) and possibly ``"b1"`` ... ``"bL"``, as from
            ``backward_deep``.

    Returns:
        A list of ``L`` Python floats.

    Raises:
        ValueError: if ``grads`` holds no ``"W1"``.

    Example:
        >>> gradient_norms({"W2": np.array([[3.0, 4.0]]), "b2": np.zeros(2), "W1": np.ones((2, 2))})
        [2.0, 5.0]
    """
    ### BEGIN SOLUTION
    L = 0
    while f"W{L + 1}" in grads:
        L += 1
    if L == 0:
        raise ValueError(f"gradient_norms: grads has no 'W1' (keys: {sorted(grads)})")
    return [float(np.sqrt(np.sum(np.square(grads[f"W{l}"], dtype=np.float64)))) for l in range(1, L + 1)]
    ### END SOLUTION
