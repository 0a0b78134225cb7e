"""Chapter 4.3: max pooling, and a small convolutional network built from the pieces so far.

Max pooling shrinks each channel of an image on its own: a ``size x size`` window moves over the image in
steps of ``stride`` and keeps only the largest value it sees. With ``X (N, C, H, W)``:

    out[n, c, y, x] = max over i, j < size of  X[n, c, y*stride + i, x*stride + j]

    H_out = (H - size) // stride + 1          W_out = (W - size) // stride + 1

(floor, as in frameworks: rows or columns left over at the bottom/right, not enough for a whole window, are
ignored). Pooling has no parameters: nothing is learnt.

Backward: the maximum of a window depends only on its largest entry, so the whole gradient ``dout[n, c, y, x]``
goes to that one position of ``X``; the other entries of the window get nothing (a max-pooling layer passes
the gradient through a "switch"). When the window holds the maximum more than once (a tie, common after a
ReLU: several zeros), this module gives the gradient to the FIRST maximum in row-major order (top row first,
then left to right), like PyTorch; never to several positions, which would count it twice. When windows
overlap (``stride < size``), an entry that is the maximum of several windows collects the gradient of each.
Left-over rows and columns get a zero gradient.

The reference solution pools the two halves of a batch at the same time, with chapter 4.2's ``_in_two_halves``
(each image is pooled on its own); this is about speed only and not asked of you.

The small CNN of this chapter (the "LeNet" recipe in miniature):

    X (N, C, H, W) -> conv 3x3, padding 1 (F filters) -> ReLU -> max pool 2x2 -> flatten -> dense -> softmax
"""
import numpy as np

from activations import relu, softmax
from convolution import conv2d


def max_pool(X, size=2, stride=2):
    """Forward pass of max pooling over ``size x size`` windows, moved by ``stride``.

    Args:
        X: array of shape ``(N, C, H, W)``.
        size: window height and width, an int ``>= 1``.
        stride: step between windows, an int ``>= 1`` (``stride < size`` makes windows overlap).

    Returns:
        ``(out, cache)``: ``out`` of shape ``(N, C, H_out, W_out)`` with ``H_out = (H - size) // stride + 1``
        (and the same for the width), float32 for float32 ``X``, else float64; ``cache`` a plain dict
        (numbers, tuples, arrays) for ``max_pool_backward``.

    Raises:
        ValueError: if ``X`` is not 4-D, ``size`` or ``stride`` is below 1, or the window is larger than
            the image (the message names the shape of ``X``).

    Example:
        >>> X = np.array([[[[1.0, 2.0, 0.0, 0.0],
        ...                 [3.0, 4.0, 0.0, 5.0],
        ...                 [0.0, 0.0, 1.0, 1.0],
        ...                 [6.0, 0.0, 1.0, 1.0]]]])
        >>> out, cache = max_pool(X)
        >>> out
        array([[[[4., 5.],
                 [6., 1.]]]])
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"max_pool: X must be (N, C, H, W), got shape {X.shape}")
    if int(size) != size or size < 1 or int(stride) != stride or stride < 1:
        raise ValueError(f"max_pool: size and stride must be ints >= 1, got size={size!r}, stride={stride!r}")
    k, s = int(size), int(stride)
    N, C, H, W = X.shape
    if k > H or k > W:
        raise ValueError(f"max_pool: a {k}x{k} window does not fit X of shape {X.shape}")
    X = X.astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1

    out = np.empty((N, C, Ho, Wo), X.dtype)
    argmax = np.zeros(out.shape, np.int8 if k * k <= 127 else np.int32)

    # Visit the k*k positions of the window in row-major order; position t = i*k + j is the slice of X
    # holding entry (i, j) of every window at once. A strictly larger value takes over, so on a tie the
    # first maximum keeps it. Since t only grows, "argmax = t where the new value is larger" is an
    # elementwise maximum (no branch).
    def pool(a, z):                                     # images a:z
        best, arg = out[a:z], argmax[a:z]
        best[...] = X[a:z, :, :s * (Ho - 1) + 1:s, :s * (Wo - 1) + 1:s]
        for t in range(1, k * k):
            i, j = divmod(t, k)
            window = X[a:z, :, i:i + s * (Ho - 1) + 1:s, j:j + s * (Wo - 1) + 1:s]
            larger = window > best
            np.maximum(best, window, out=best)
            np.maximum(arg, larger * arg.dtype.type(t), out=arg)

    # Every image is pooled on its own: chapter 4.2's helper runs the two halves of the batch on two cores.
    # (Imported here, not at the top: the exercise's own imports stay those of the stub.)
    from convolution import _in_two_halves
    _in_two_halves(pool, N, X.size)
    return out, {"X_shape": (N, C, H, W), "argmax": argmax, "size": k, "stride": s}
    ### END SOLUTION


def max_pool_backward(dout, cache):
    """Backward pass of ``max_pool``: route each window's gradient to its maximum.

    Args:
        dout: ``dL/dout`` of shape ``(N, C, H_out, W_out)``.
        cache: the cache returned by ``max_pool``.

    Returns:
        ``dX`` of the shape of ``X``: ``dout[n, c, y, x]`` added at the position of the maximum of window
        ``(y, x)`` (the first one in row-major order on a tie), zero everywhere else; windows that overlap
        add up.

    Raises:
        ValueError: if ``dout`` does not have the shape of the forward output (the message names both).

    Example:
        >>> X = np.array([[[[1.0, 2.0], [4.0, 3.0]]]])
        >>> out, cache = max_pool(X)
        >>> max_pool_backward(np.array([[[[10.0]]]]), cache)
        array([[[[ 0.,  0.],
                 [10.,  0.]]]])
    """
    ### BEGIN SOLUTION
    dout = np.asarray(dout)
    argmax, k, s = cache["argmax"], cache["size"], cache["stride"]
    if dout.shape != argmax.shape:
        raise ValueError(f"max_pool_backward: dout has shape {dout.shape} but the forward output had shape "
                         f"{argmax.shape}")
    Ho, Wo = argmax.shape[2:]
    dX = np.zeros(cache["X_shape"], dout.dtype if dout.dtype == np.float32 else np.float64)

    def route(a, z):                                    # images a:z
        for t in range(k * k):
            i, j = divmod(t, k)
            target = dX[a:z, :, i:i + s * (Ho - 1) + 1:s, j:j + s * (Wo - 1) + 1:s]
            if s >= k:   # windows do not overlap: every entry belongs to one window at most
                np.multiply(dout[a:z], argmax[a:z] == t, out=target)
            else:
                target += dout[a:z] * (argmax[a:z] == t)

    from convolution import _in_two_halves
    _in_two_halves(route, len(dX), dX.size)
    return dX
    ### END SOLUTION


def init_cnn(input_shape, num_filters, num_classes, rng):
    """He-initialised parameters of the chapter's CNN (conv 3x3 -> ReLU -> max pool 2x2 -> dense -> softmax).

    Args:
        input_shape: ``(C, H, W)``, the shape of ONE image (no batch axis).
        num_filters: ``F``, the number of 3x3 filters of the convolution.
        num_classes: ``K``, the number of outputs of the dense layer.
        rng: a ``numpy.random.Generator``; the only source of randomness.

    Returns:
        dict with ``"W1"`` of shape ``(F, C, 3, 3)`` drawn as ``rng.standard_normal(...) * sqrt(2 / (C*3*3))``
        (a filter sees ``C*3*3`` inputs), ``"b1"`` zeros ``(F,)``, ``"W2"`` of shape ``(D, K)`` with
        ``D = F * (H // 2) * (W // 2)`` (the flattened pooled maps) drawn as ``... * sqrt(2 / D)``, and
        ``"b2"`` zeros ``(K,)``. float64. ``W1`` is drawn before ``W2``.

    Raises:
        ValueError: if ``input_shape`` is not 3 ints, or a size is too small (``H`` or ``W`` below 2,
            ``F`` or ``K`` below 1).

    Example:
        >>> params = init_cnn((1, 28, 28), 8, 10, np.random.default_rng(0))
        >>> params["W1"].shape, params["W2"].shape        # 8 * 14 * 14 = 1568
        ((8, 1, 3, 3), (1568, 10))
    """
    ### BEGIN SOLUTION
    if len(input_shape) != 3:
        raise ValueError(f"init_cnn: input_shape must be (C, H, W) for one image, got {tuple(input_shape)}")
    C, H, W = (int(v) for v in input_shape)
    F, K = int(num_filters), int(num_classes)
    if C < 1 or H < 2 or W < 2 or F < 1 or K < 1:
        raise ValueError(f"init_cnn: need C >= 1, H, W >= 2 and at least one filter and class, got "
                         f"input_shape={tuple(input_shape)}, num_filters={num_filters}, num_classes={num_classes}")
    D = F * (H // 2) * (W // 2)
    return {"W1": rng.standard_normal((F, C, 3, 3)) * np.sqrt(2.0 / (C * 9)), "b1": np.zeros(F),
            "W2": rng.standard_normal((D, K)) * np.sqrt(2.0 / D), "b2": np.zeros(K)}
    ### END SOLUTION


def cnn_forward(X, params):
    """Forward pass of the chapter's CNN: class probabilities for a batch of images.

    ``Z1 = conv2d(X, W1, b1, stride=1, padding=1)`` (the 3x3 "same" convolution keeps ``H x W``),
    ``A1 = relu(Z1)``, ``P1 = max_pool(A1, 2, 2)`` (``H // 2 x W // 2``), ``flat = P1.reshape(N, -1)``
    (row-major: channel, then row, then column, the order of ``torch.flatten``), ``Z2 = flat @ W2 + b2``,
    ``probs = softmax(Z2)``.

    Args:
        X: images of shape ``(N, C, H, W)``.
        params: dict with ``"W1" (F, C, 3, 3)``, ``"b1" (F,)``, ``"W2" (F * (H//2) * (W//2), K)``,
            ``"b2" (K,)``, e.g. from ``init_cnn``.

    Returns:
        ``(probs, cache)``: ``probs`` of shape ``(N, K)``, every row sums to 1; ``cache`` a dict with
        ``"X"``, ``"Z1"``, ``"A1"``, ``"P1"``, ``"flat"``, ``"Z2"``, ``"probs"`` (the arrays named above) and
        the layer caches ``"conv_cache"`` and ``"pool_cache"`` (for a backward pass). float32 ``X`` and
        parameters give float32 results.

    Raises:
        ValueError: if ``X`` does not fit ``W1`` (as in ``conv2d``) or the flattened maps do not fit ``W2``
            (the message names both shapes).

    Example:
        >>> params = init_cnn((1, 6, 6), 2, 3, np.random.default_rng(0))
        >>> probs, cache = cnn_forward(np.ones((4, 1, 6, 6)), params)
        >>> probs.shape, cache["P1"].shape, cache["flat"].shape
        ((4, 3), (4, 2, 3, 3), (4, 18))
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    W2, b2 = np.asarray(params["W2"]), np.asarray(params["b2"])
    Z1, conv_cache = conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    A1 = relu(Z1)
    P1, pool_cache = max_pool(A1, 2, 2)
    flat = P1.reshape(P1.shape[0], -1)
    if W2.ndim != 2 or W2.shape[0] != flat.shape[1]:
        # mutants: skip (the message's wording; that it names W2's shape is tested)
        raise ValueError(f"cnn_forward: the pooled maps of shape {P1.shape} flatten to {flat.shape[1]} values "
                         f"per image, but W2 has shape {W2.shape}; W2 must be ({flat.shape[1]}, K)")
    Z2 = flat @ W2 + b2
    probs = softmax(Z2)
    cache = {"X": X, "Z1": Z1, "A1": A1, "P1": P1, "flat": flat, "Z2": Z2, "probs": probs,
             "conv_cache": conv_cache, "pool_cache": pool_cache}
    return probs, cache
    ### END SOLUTION
