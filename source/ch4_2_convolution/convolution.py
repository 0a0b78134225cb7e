"""Chapter 4.2: convolutional layers, forward and backward.

A convolutional layer slides ``F`` small filters over the image. Images are ``X (N, C, H, W)`` (batch,
channels, height, width), filters ``W (F, C, KH, KW)`` (one ``KH x KW`` kernel per input channel for each of
the ``F`` filters) and the bias ``b (F,)``: one number per filter. With ``Xp`` the input padded by
``padding`` zeros on every side and ``s`` the stride, output pixel ``(y, x)`` of filter ``f`` looks at the
window of ``Xp`` whose top-left corner is ``(y * s, x * s)``:

    out[n, f, y, x] = b[f] + sum over c, i, j of  Xp[n, c, y*s + i, x*s + j] * W[f, c, i, j]

This is a cross-correlation: the kernel is NOT flipped. Every framework (``torch.nn.functional.conv2d``,
Keras' ``Conv2D``) computes exactly this and still calls it a convolution; the mathematician's convolution
would use ``W[f, c, KH-1-i, KW-1-j]``. The two agree only for symmetric kernels, and since the filters are
learnt, the network does not care; but weights trained here map 1:1 onto a framework's only without the flip.

Output size, per spatial axis (floor, as in frameworks: a last partial window that would stick out of the
padded input is dropped, so bottom rows / right columns that no window reaches do not contribute):

    H_out = (H + 2*padding - KH) // stride + 1        W_out = (W + 2*padding - KW) // stride + 1

Backward, with ``dout = dL/dout`` of shape ``(N, F, H_out, W_out)``:

    db[f]          = sum over n, y, x of dout[n, f, y, x]
    dW[f, c, i, j] = sum over n, y, x of dout[n, f, y, x] * Xp[n, c, y*s + i, x*s + j]
    dXp[n, c, y*s + i, x*s + j] += sum over f of dout[n, f, y, x] * W[f, c, i, j]   (for every window)

and ``dX`` is ``dXp`` without its padding border. Where windows overlap, a pixel collects the gradient of
every window it belongs to.

Vectorising (no Python loop over pixels): copy each of the ``KH * KW`` kernel taps ``(i, j)``, i.e. the
strided slice ``Xp[:, :, i::s, j::s]`` cut to ``(H_out, W_out)``, into one array ("im2col"): the layer is
then ONE matrix product with ``W.reshape(F, C * KH * KW)``. The backward pass is two matrix products and
the reverse of im2col: adding the ``KH * KW`` slices back into ``dXp``.

The reference solution also runs the two halves of the batch at the same time, on two threads (NumPy lets
go of Python's lock inside copies and matrix products), as frameworks do with their own threads. This is
only about speed and is not asked of you: the given ``_in_two_halves`` below does it, if you want to try.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


_pools = {}   # process id -> a one-thread pool (threads do not survive a fork, so a forked child makes its own)


def _in_two_halves(work, n, size):
    """Call ``work(a, z)`` for the two halves of a batch of ``n`` images, at the same time where it pays.

    Args:
        work: a function of ``(a, z)`` that handles images ``a:z`` (writing into arrays shared by both
            halves, at disjoint places) and returns a result.
        n: the batch size. The halves are always ``0:h`` and ``h:n`` with ``h = n // 2`` (so ``0:0`` and
            ``0:1`` for one image): results do not depend on whether the two calls ran at the same time.
        size: how many numbers the work touches; below about 100,000 (a fraction of a millisecond of work)
            handing half of it to another thread costs more than it saves.

    One thread does both halves when the process may use one CPU only, or when ``OMP_NUM_THREADS`` is 1 (as
    PyTorch, this reads it as the number of threads to compute with; the grader's workers set it).

    Returns:
        ``[work(0, h), work(h, n)]``.
    """
    h = n // 2
    pool = None
    one_thread = os.environ.get("OMP_NUM_THREADS", "").strip() == "1" or len(os.sched_getaffinity(0)) < 2
    if size >= 100_000 and not one_thread:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(1, thread_name_prefix="conv2d")
    if pool is None:
        return [work(0, h), work(h, n)]
    try:
        second = pool.submit(work, h, n)
    except RuntimeError:                                # no thread could be started (limits, shutdown)
        return [work(0, h), work(h, n)]
    try:
        first = work(0, h)
    finally:
        rest = second.result()                           # wait for the other half even if this one raised
    return [first, rest]


def conv2d(X, W, b, stride=1, padding=0):
    """Forward pass of a 2-D convolutional layer (a cross-correlation, kernel not flipped).

    Args:
        X: images of shape ``(N, C, H, W)``.
        W: filters of shape ``(F, C, KH, KW)``; ``C`` must match the images.
        b: bias of shape ``(F,)``, one per filter.
        stride: step of the window, an int ``>= 1``, the same along both axes.
        padding: zeros added on each side of both spatial axes, an int ``>= 0``.

    Returns:
        ``(out, cache)``: ``out`` of shape ``(N, F, H_out, W_out)`` with
        ``H_out = (H + 2*padding - KH) // stride + 1`` (floor, like the frameworks) and the same for the
        width; ``cache`` a plain dict (numbers, tuples, arrays) holding what ``conv2d_backward`` needs.
        float32 ``X`` and ``W`` give a float32 ``out``; otherwise float64.

    Raises:
        ValueError: if ``X`` or ``W`` is not 4-D, their channel counts differ, ``b`` is not ``(F,)``
            (messages name the shapes), ``stride < 1`` or ``padding < 0``, or the kernel is larger than the
            padded image.

    Example:
        >>> X = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])        # (1, 1, 2, 2): X[y, x] - X[y+1, x+1]
        >>> out, cache = conv2d(X, W, np.zeros(1))
        >>> out
        array([[[[-5., -5., -5.],
                 [-5., -5., -5.],
                 [-5., -5., -5.]]]])
        >>> conv2d(X, W, np.zeros(1), stride=2, padding=1)[0].shape   # (4 + 2 - 2) // 2 + 1 = 3
        (1, 1, 3, 3)
    """
    ### BEGIN SOLUTION
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 4 or W.ndim != 4:
        raise ValueError(f"conv2d: X must be (N, C, H, W) and W (F, C, KH, KW), got X of shape {X.shape} "
                         f"and W of shape {W.shape}")
    N, C, H, Wd = X.shape
    F, CW, KH, KW = W.shape
    if C != CW:
        raise ValueError(f"conv2d: X of shape {X.shape} has {C} channels but W of shape {W.shape} "
                         f"has filters for {CW}")
    if b.shape != (F,):
        raise ValueError(f"conv2d: b has shape {b.shape} but W of shape {W.shape} needs b of shape ({F},)")
    if int(stride) != stride or stride < 1 or int(padding) != padding or padding < 0:
        raise ValueError(f"conv2d: stride must be an int >= 1 and padding an int >= 0, got stride={stride!r}, "
                         f"padding={padding!r}")
    s, p = int(stride), int(padding)
    Hp, Wp = H + 2 * p, Wd + 2 * p
    if KH > Hp or KW > Wp:
        raise ValueError(f"conv2d: the {KH}x{KW} kernel of W {W.shape} is larger than X of shape {X.shape} "
                         f"padded by {p} ({Hp}x{Wp})")
    Ho, Wo = (Hp - KH) // s + 1, (Wp - KW) // s + 1
    dtype = np.float32 if X.dtype == np.float32 and W.dtype == np.float32 else np.float64

    # im2col: tap (i, j) of every window at once is the strided slice of Xp below, (n, C, Ho, Wo). Copy the
    # KH * KW taps into cols, and the layer is one matrix product per image.
    Xp = np.empty((N, C, Hp, Wp), dtype)                # each half pads its own images (in parallel)
    cols = np.empty((N, C, KH, KW, Ho, Wo), dtype)
    out = np.empty((N, F, Ho * Wo), dtype)
    Wmat = W.reshape(F, C * KH * KW).astype(dtype, copy=False)
    bias = b.astype(dtype)[:, None]

    def forward(a, z):                                  # images a:z
        Xp[a:z] = 0
        Xp[a:z, :, p:p + H, p:p + Wd] = X[a:z]
        for i in range(KH):
            for j in range(KW):
                cols[a:z, :, i, j] = Xp[a:z, :, i:i + s * (Ho - 1) + 1:s, j:j + s * (Wo - 1) + 1:s]
        # (F, C*KH*KW) @ (n, C*KH*KW, Ho*Wo): one small product per image, faster here than one wide product
        np.matmul(Wmat, cols[a:z].reshape(z - a, C * KH * KW, Ho * Wo), out=out[a:z])
        out[a:z] += bias

    _in_two_halves(forward, N, cols.size)
    cache = {"X_shape": (N, C, H, Wd), "W": W, "cols": cols.reshape(N, C * KH * KW, Ho * Wo), "stride": s,
             "padding": p, "out_shape": (N, F, Ho, Wo)}
    out = out.reshape(N, F, Ho, Wo)
    return out, cache
    ### END SOLUTION


def conv2d_backward(dout, cache, need_dX=True):
    """Backward pass of ``conv2d``: the gradients of the loss with respect to ``X``, ``W`` and ``b``.

    Args:
        dout: ``dL/dout``, the gradient flowing back into the layer's output, shape ``(N, F, H_out, W_out)``.
        cache: the cache returned by ``conv2d`` for the forward pass being differentiated.
        need_dX: ``False`` skips ``dX`` (returned as ``None``): a network's first layer, whose input is the
            data, needs only ``dW`` and ``db`` (as a framework skips inputs that do not require a gradient).

    Returns:
        ``(dX, dW, db)`` with the shapes of ``X (N, C, H, W)``, ``W (F, C, KH, KW)`` and ``b (F,)``
        (``dX`` is ``None`` when ``need_dX`` is false). ``db`` sums ``dout`` over the batch and every output
        position; pixels of ``X`` that no window reaches (left over by the floor in the output size) get a
        zero gradient.

    Raises:
        ValueError: if ``dout`` does not have the shape of the forward output (the message names both).

    Example:
        >>> X, W = np.ones((2, 1, 3, 3)), np.ones((4, 1, 2, 2))
        >>> out, cache = conv2d(X, W, np.zeros(4))
        >>> dX, dW, db = conv2d_backward(np.ones(out.shape), cache)
        >>> db                                      # 2 images x 2 x 2 output positions
        array([8., 8., 8., 8.])
        >>> dX[0, 0]                                # how many (window, filter) pairs cover each pixel
        array([[ 4.,  8.,  4.],
               [ 8., 16.,  8.],
               [ 4.,  8.,  4.]])
    """
    ### BEGIN SOLUTION
    dout = np.asarray(dout)
    N, C, H, Wd = cache["X_shape"]
    W, cols, s, p = np.asarray(cache["W"]), cache["cols"], cache["stride"], cache["padding"]
    F, _, KH, KW = W.shape
    if dout.shape != tuple(cache["out_shape"]):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape} but the forward output had shape "
                         f"{tuple(cache['out_shape'])}")
    _, _, Ho, Wo = dout.shape
    dtype = np.result_type(cols.dtype, dout.dtype)
    WT = W.reshape(F, C * KH * KW).T.astype(dtype)
    # mutants: skip (buffer size: a larger buffer holds zeros no window reads, and the slice at the end cuts them)
    dXp = np.empty((N, C, H + 2 * p, Wd + 2 * p), dtype) if need_dX else None   # zeroed by the halves
    # mutants: skip (a speed setting: every block size >= 1 gives the same values)
    step = max(1, 2 ** 19 // (C * KH * KW * Ho * Wo))    # images per dcols block: at most 2 MB in float32

    def backward(a, z):                                 # images a:z; returns their parts of dW and db
        dz = dout[a:z].reshape(z - a, F, Ho * Wo).astype(dtype, copy=False)
        # dW = sum over images of dz @ cols.T, computed as its transpose: with the long side (C*KH*KW) first the
        # BLAS ran 2.3 times faster (layer 2 of the capstone, AVX2); the values agree up to rounding.
        dW = (cols[a:z] @ dz.transpose(0, 2, 1)).sum(axis=0).T
        # col2im (skipped without need_dX), a block of images at a time (dcols stays in the CPU cache): each tap
        # adds its slice of dcols back where conv2d copied it from; overlapping windows add up.
        for n0 in range(a, z, step) if need_dX else range(0):
            n1 = min(n0 + step, z)
            dXp[n0:n1] = 0
            dcols = (WT @ dz[n0 - a:n1 - a]).reshape(n1 - n0, C, KH, KW, Ho, Wo)
            for i in range(KH):
                for j in range(KW):
                    dXp[n0:n1, :, i:i + s * (Ho - 1) + 1:s, j:j + s * (Wo - 1) + 1:s] += dcols[:, :, i, j]
        return dW, dout[a:z].sum(axis=(0, 2, 3))

    (dW0, db0), (dW1, db1) = _in_two_halves(backward, N, cols.size)
    dW, db = (dW0 + dW1).reshape(W.shape), (db0 + db1).astype(dtype)
    if not need_dX:
        return None, dW, db
    dX = dXp[:, :, p:p + H, p:p + Wd]                    # drop the padding border
    return dX, dW, db
    ### END SOLUTION
