"""Chapter 3.3: a multi-layer perceptron (MLP), initialised and run forward.

``layer_sizes = [n_0, n_1, ..., n_L]`` describes the network: ``n_0`` inputs, hidden layers of ``n_1``
... ``n_{L-1}`` units with ReLU, and ``n_L`` output classes with softmax. Layer ``l`` computes
``Z_l = A_{l-1} @ W_l + b_l`` with ``W_l (n_{l-1}, n_l)`` and ``b_l (n_l,)``, then ``A_l = relu(Z_l)``
(hidden) or ``A_L = softmax(Z_L)`` (output).

He initialisation draws ``W_l`` from a normal distribution of standard deviation ``sqrt(2 / n_{l-1})``:
a ReLU zeroes about half of its inputs, and the factor 2 makes up for that, so the activations keep
roughly the same size from layer to layer. The square root matters: ``2 / n_{l-1}`` is the VARIANCE.
"""
import numpy as np

from activations import relu, softmax


def init_mlp(layer_sizes, rng):
    """He-initialised parameters of an MLP.

    Args:
        layer_sizes: sequence of ``L + 1`` positive ints ``[n_0, ..., n_L]`` (input size, hidden sizes,
            number of classes); ``L >= 1`` layers of weights.
        rng: a ``numpy.random.Generator``; the only source of randomness.

    Returns:
        dict with, for ``l = 1 .. L``: ``"W{l}"`` of shape ``(n_{l-1}, n_l)`` drawn as
        ``rng.standard_normal((n_{l-1}, n_l)) * sqrt(2 / n_{l-1})``, and ``"b{l}"`` of shape ``(n_l,)``, all
        zeros. float64.

    Raises:
        ValueError: if ``layer_sizes`` has fewer than 2 entries or a size below 1.

    Example:
        >>> params = init_mlp([784, 64, 10], np.random.default_rng(0))
        >>> sorted(params), params["W1"].shape, params["b2"].shape
        (['W1', 'W2', 'b1', 'b2'], (784, 64), (10,))
    """
    ### BEGIN SOLUTION
    sizes = [int(n) for n in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"init_mlp: layer_sizes must hold at least 2 positive sizes [n_in, ..., n_out], "
                         f"got {list(layer_sizes)}")
    params = {}
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        params[f"W{l}"] = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        params[f"b{l}"] = np.zeros(n_out)
    return params
    ### END SOLUTION


def forward_mlp(X, params):
    """Forward pass: ReLU hidden layers, softmax output.

    The number of layers ``L`` is read from ``params`` (keys ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``).

    Args:
        X: batch of shape ``(m, n_0)``.
        params: dict as returned by ``init_mlp``.

    Returns:
        ``(probs, cache)``: ``probs`` of shape ``(m, n_L)``, each row a probability vector; ``cache`` a dict
        holding what backpropagation needs: ``"A0"`` (``X`` itself), and for ``l = 1 .. L``: ``"Z{l}"`` (the
        pre-activation, ``(m, n_l)``) and ``"A{l}"`` (the activation, ``(m, n_l)``); ``cache["AL"]`` is
        ``probs``. float32 inputs and parameters give float32 results.

    Raises:
        ValueError: if ``X`` is not 2-D or its width does not match ``W1`` (the message names both shapes),
            or ``params`` holds no ``"W1"``.

    Example:
        >>> params = init_mlp([3, 4, 2], np.random.default_rng(0))
        >>> probs, cache = forward_mlp(np.ones((5, 3)), params)
        >>> probs.shape, sorted(cache)
        ((5, 2), ['A0', 'A1', 'A2', 'Z1', 'Z2'])
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    L = 0
    while f"W{L + 1}" in params:
        L += 1
    if L == 0:
        raise ValueError(f"forward_mlp: params has no 'W1' (keys: {sorted(params)})")
    W1 = params["W1"]
    if X.ndim != 2 or X.shape[1] != W1.shape[0]:
        raise ValueError(f"forward_mlp: X of shape {X.shape} does not fit W1 of shape {W1.shape}; "
                         f"X must be (m, {W1.shape[0]})")  # mutants: skip (wording)
    cache = {"A0": X}
    A = X
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = relu(Z) if l < L else softmax(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache
    ### END SOLUTION
