"""Chapter 4.4: regularization, two ways to keep a network from memorising its training set.

**L2 regularization (weight decay).** Add ``lam / 2 * sum_l sum(W_l ** 2)`` to the loss. Its gradient with
respect to ``W_l`` is ``lam * W_l`` (the 1/2 is there to cancel the 2 of the square), so every step also
shrinks the weights a little toward 0, and large weights, which fit the noise of the training set, cost
something. Only the WEIGHTS are penalised: a bias only shifts a unit's output, it does not make the network
more sensitive to its inputs, and penalising it brings nothing.

This course uses the penalty exactly as written, ``lam / 2 * sum W^2``, NOT divided by the batch size ``m``
(some texts write ``lam / (2m)``; with that convention pass ``lam / m`` here). The total loss of a batch is
``cross_entropy(probs, y) + penalty``, and the total gradient ``backward(...)[k] + penalty_grads[k]``.

**Dropout.** During training, drop every hidden unit independently with probability ``p`` (set its
activation to 0), so the network cannot rely on any single unit. *Inverted* dropout scales the units it
keeps by ``1 / (1 - p)``: the expected value of every activation stays what it was, so at test time the
layer is simply the identity (nothing dropped, nothing rescaled). In this course ``p`` is the DROP
probability (``p = 0.2`` drops about 20% of the units), and the mask holds the scaling too:
``mask = keep / (1 - p)`` with ``keep`` 0 or 1, ``out = A * mask``. Backwards, the same mask routes the
gradient: ``dA = dout * mask``.
"""
import numpy as np


def l2_regularization(params, lam):
    """The L2 penalty ``lam / 2 * sum of the squared weights`` and its gradient.

    Every entry of ``params`` whose key starts with ``"W"`` is a weight; every other entry (``"b1"``, ...) is
    a bias and is not penalised. The penalty is not divided by the batch size (see the module docstring).

    Args:
        params: dict of arrays, e.g. ``{"W1", "b1", ..., "WL", "bL"}`` as from ``init_mlp``.
        lam: the regularization strength, a float ``>= 0`` (0 switches the penalty off).

    Returns:
        ``(penalty, grads)``: ``penalty`` a Python ``float``, ``lam / 2 * sum_l sum(W_l ** 2)``; ``grads`` a dict
        with the SAME keys as ``params``: ``lam * W`` for a weight, zeros of the bias's shape for a bias (each
        of the parameter's dtype), so ``grads[k]`` can be added to the loss's gradients key by key.

    Raises:
        ValueError: if ``lam`` is negative.

    Example:
        >>> params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([5.0, 5.0])}
        >>> penalty, grads = l2_regularization(params, lam=0.1)
        >>> penalty, grads["W1"], grads["b1"]        # 0.1 / 2 * (1 + 4)
        (0.25, array([[ 0.1, -0.2]]), array([0., 0.]))
    """
    ### BEGIN SOLUTION
    if lam < 0:
        raise ValueError(f"l2_regularization: lam must be >= 0, got {lam}")
    penalty = 0.0
    grads = {}
    for key, value in params.items():
        value = np.asarray(value)
        if key.startswith("W"):
            penalty += float(np.sum(np.square(value, dtype=np.float64)))
            grads[key] = lam * value
        else:
            grads[key] = np.zeros_like(value)
    return lam / 2 * penalty, grads
    ### END SOLUTION


def dropout(A, p, rng, training=True):
    """Inverted dropout: drop each unit with probability ``p``, scale the kept ones by ``1 / (1 - p)``.

    ``p`` is the probability of DROPPING a unit (not of keeping it). In training, each entry is kept
    independently with probability ``1 - p``: ``mask`` holds ``1 / (1 - p)`` where it is kept and 0 where it
    is dropped, and ``out = A * mask``, so ``E[out] = A``. At test time (``training=False``) nothing is
    dropped: ``out`` equals ``A`` and ``mask`` is all ones.

    Args:
        A: activations, an array of any shape (typically ``(m, n)``).
        p: drop probability, ``0 <= p < 1`` (``p = 0`` keeps everything).
        rng: ``numpy.random.Generator``, the only source of randomness: the same seed gives the same mask.
        training: ``True`` drops units; ``False`` returns ``A`` unchanged.

    Returns:
        ``(out, mask)``, both of ``A``'s shape and floating dtype (float32 stays float32, anything else becomes
        float64); pass ``mask`` to ``dropout_backward``. ``A`` itself is not modified.

    Raises:
        ValueError: if ``p`` is not in ``[0, 1)``.

    Example:
        >>> out, mask = dropout(np.ones((2, 4)), p=0.5, rng=np.random.default_rng(0))
        >>> mask                       # 0: dropped; 1 / (1 - 0.5) = 2: kept (which ones depends on the draw)
        array([[2., 0., 0., 0.],
               [2., 2., 2., 2.]])
        >>> dropout(np.ones((2, 2)), p=0.5, rng=np.random.default_rng(0), training=False)[0]
        array([[1., 1.],
               [1., 1.]])
    """
    ### BEGIN SOLUTION
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p is the drop probability and must be in [0, 1), got {p}")
    A = np.asarray(A)
    dtype = np.dtype(np.float32 if A.dtype == np.float32 else np.float64)
    A = A.astype(dtype, copy=False)
    if not training:
        return A.copy(), np.ones_like(A)
    keep = rng.random(A.shape) >= p  # True with probability 1 - p
    mask = keep.astype(dtype) / dtype.type(1 - p)
    return A * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask):
    """Gradient of dropout: ``dA = dout * mask``, the units dropped in the forward pass get no gradient.

    Args:
        dout: gradient of the loss with respect to dropout's output, shape of ``A``.
        mask: the mask ``dropout`` returned for that forward pass (already holds the ``1 / (1 - p)``).

    Returns:
        ``dA``, of ``dout``'s shape.

    Raises:
        ValueError: if ``dout`` and ``mask`` have different shapes (the message names both).

    Example:
        >>> dropout_backward(np.array([[1.0, 2.0]]), np.array([[0.0, 2.0]]))
        array([[0., 4.]])
    """
    ### BEGIN SOLUTION
    dout, mask = np.asarray(dout), np.asarray(mask)
    if dout.shape != mask.shape:
        raise ValueError(f"dropout_backward: dout of shape {dout.shape} does not match mask of shape {mask.shape}")
    return dout * mask
    ### END SOLUTION
