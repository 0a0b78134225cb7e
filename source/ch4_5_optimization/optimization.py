"""Chapter 4.5: better optimization: momentum, gradient clipping, early stopping, data augmentation.

**Momentum.** Plain gradient descent steps ``-lr * grad`` from wherever it stands; in a long narrow valley
that zig-zags across the valley and crawls along it. Momentum keeps a *velocity* per parameter, a running
sum of the past steps that decays by ``mu`` every step, and moves the parameter by it. This course uses the
classical form (Polyak's heavy ball), with ``v`` the actual step taken:

    v     = mu * v - lr * grad
    param = param + v

Directions on which the gradient keeps its sign add up (up to ``1 / (1 - mu)`` times the plain step: 10x
for ``mu = 0.9``); directions on which it flips sign cancel out. ``mu = 0`` is plain SGD. (Other texts store
``v = mu * v + lr * grad`` and subtract it: the same steps, the opposite sign of ``v``. Adam-style texts use
the moving average ``v = beta * v + (1 - beta) * grad``, ``param -= lr * v``: a different method, whose
steps are ``1 - beta`` times smaller. Neither is the convention here.)

**Gradient clipping.** A single bad mini-batch can produce a huge gradient and throw the parameters far
away. Clipping by the GLOBAL norm treats all the gradients of the network as one long vector ``g``:

    total_norm = sqrt(sum over every array of sum(grad ** 2))
    if total_norm > max_norm:   every grad *= max_norm / total_norm

so the step keeps its direction and only its length is capped (clipping each array on its own would change
the direction; clipping each entry to ``[-max_norm, max_norm]`` even more so).

**Early stopping.** Track the validation loss after every epoch, keep the parameters of the best epoch, and
stop when ``patience`` epochs in a row brought no improvement: training longer would only fit the noise of
the training set. (It compares losses measured with small steps: while the learning rate is large the
validation loss swings from epoch to epoch; the capstone of chapter 4.6 watches only the epochs of its last,
slow part.)

**Data augmentation.** A digit moved by a pixel or two is still the same digit. ``random_shift`` moves every
image of a batch by its own random offset of up to ``max_shift`` pixels (zeros fill what comes in from the
border), so a small training set shows the network many variants of each digit. The capstone (chapter 4.6)
uses the first three, and an augmentation that also turns and scales the digits.
"""
import math

import numpy as np


def momentum_update(param, grad, velocity, lr, mu):
    """One step of classical momentum, IN PLACE: ``v = mu * v - lr * grad``, then ``param = param + v``.

    ``velocity`` is the step itself (it starts at zeros, ``np.zeros_like(param)``); ``mu = 0`` gives plain
    SGD, ``param - lr * grad``. Both arrays are updated in place (``velocity *= mu; velocity -= lr * grad;
    param += velocity``) and keep their dtype (float32 stays float32); the same two arrays are also returned,
    so ``param, velocity = momentum_update(param, grad, velocity, lr, mu)`` works as well.

    Args:
        param: the parameter, a float ndarray of any shape; updated in place.
        grad: its gradient, the same shape (not modified).
        velocity: the velocity, a float ndarray of the same shape; updated in place.
        lr: learning rate, ``>= 0``.
        mu: momentum coefficient, ``0 <= mu < 1`` (0.9 is the usual choice).

    Returns:
        ``(param, velocity)``: the two argument arrays, updated.

    Raises:
        ValueError: if the three shapes differ (the message names them), ``lr < 0`` or ``mu`` is outside
            ``[0, 1)``.
        TypeError: if ``param`` or ``velocity`` is not a float ndarray (it could not be updated in place).

    Example:
        >>> p, v = np.array([1.0, 2.0]), np.zeros(2)
        >>> momentum_update(p, np.array([1.0, -1.0]), v, lr=0.1, mu=0.9)    # v = -0.1 * g
        (array([0.9, 2.1]), array([-0.1,  0.1]))
        >>> momentum_update(p, np.array([1.0, -1.0]), v, lr=0.1, mu=0.9)    # v = 0.9 * v - 0.1 * g
        (array([0.71, 2.29]), array([-0.19,  0.19]))
    """
    ### BEGIN SOLUTION
    for name, arr in (("param", param), ("velocity", velocity)):
        if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
            raise TypeError(f"momentum_update: {name} must be a float numpy array (it is updated in place), got "
                            f"{type(arr).__name__} {getattr(arr, 'dtype', '')}")
    grad = np.asarray(grad)
    if not param.shape == grad.shape == velocity.shape:
        raise ValueError(f"momentum_update: param {param.shape}, grad {grad.shape} and velocity {velocity.shape} "
                         "must have the same shape")
    if lr < 0 or not 0 <= mu < 1:
        raise ValueError(f"momentum_update: need lr >= 0 and 0 <= mu < 1, got lr={lr}, mu={mu}")
    velocity *= mu
    velocity -= lr * grad
    param += velocity
    return param, velocity
    ### END SOLUTION


def clip_gradients(grads, max_norm):
    """Clip a dict of gradients by their GLOBAL norm: one factor for all the arrays, the direction kept.

    ``total_norm = sqrt(sum over all arrays of sum(g ** 2))``, all the gradients seen as one vector. If
    ``total_norm > max_norm`` every array is multiplied by ``max_norm / total_norm`` (the clipped gradients
    then have global norm ``max_norm``); otherwise they are returned unchanged. Not per array, not per entry.

    Args:
        grads: dict of gradient arrays (any shapes), e.g. from a backward pass. Not modified.
        max_norm: the largest global norm allowed, ``> 0``.

    Returns:
        ``(clipped, total_norm)``: ``clipped`` a NEW dict with the same keys and new arrays of the same shapes
        and dtypes (float32 stays float32; the input dict and its arrays are left as they were);
        ``total_norm`` the global norm BEFORE clipping, a Python float (0.0 for all-zero gradients or an empty
        dict, which are returned as they are, without a division by zero).

    Raises:
        ValueError: if ``max_norm`` is not positive.

    Example:
        >>> clipped, norm = clip_gradients({"W": np.array([3.0, 0.0]), "b": np.array([4.0])}, max_norm=1.0)
        >>> norm, clipped["W"], clipped["b"]                        # sqrt(9 + 16) = 5: everything * 1/5
        (5.0, array([0.6, 0. ]), array([0.8]))
    """
    ### BEGIN SOLUTION
    if not max_norm > 0:
        raise ValueError(f"clip_gradients: max_norm must be > 0, got {max_norm}")
    arrays = {key: np.asarray(g) for key, g in grads.items()}
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in arrays.values()))
    if total > max_norm:
        scale = max_norm / total
        return {key: g * g.dtype.type(scale) if g.dtype.kind == "f" else g * scale for key, g in arrays.items()}, total
    return {key: g.copy() for key, g in arrays.items()}, total
    ### END SOLUTION


def early_stopping(val_losses, patience, min_delta=0.0):
    """Should training stop? True when the last ``patience`` epochs brought no improvement.

    With ``n = len(val_losses)`` (one validation loss per epoch so far, the latest last): if
    ``n <= patience`` there is no epoch before the window to compare with, and the answer is False.
    Otherwise let ``best = min(val_losses[:n - patience])``, the best loss BEFORE the last ``patience``
    epochs. Epoch ``i`` of the window improved if ``val_losses[i] < best - min_delta`` (an improvement of
    MORE than ``min_delta``; a tie is no improvement). Stop (True) when none of the last ``patience``
    epochs improved. A NaN loss never counts as an improvement.

    So with ``patience = 2``, the call after epoch ``k + 2`` says True when the best loss is still the one
    of epoch ``k``: two epochs without progress.

    Args:
        val_losses: sequence (list or 1-D array) of validation losses, one per epoch.
        patience: how many epochs without improvement to accept, an int ``>= 1``.
        min_delta: the smallest decrease that counts as an improvement, ``>= 0``.

    Returns:
        A Python bool.

    Raises:
        ValueError: if ``patience < 1`` or ``min_delta < 0``.

    Example:
        >>> early_stopping([1.0, 0.8, 0.85, 0.9], patience=2)          # 0.8, then two epochs without better
        True
        >>> early_stopping([1.0, 0.8, 0.85, 0.9], patience=3)          # 0.8 improved on 1.0
        False
        >>> early_stopping([1.0, 0.95, 0.93], patience=2, min_delta=0.1)   # 0.93 is only 0.07 better
        True
    """
    ### BEGIN SOLUTION
    if int(patience) != patience or patience < 1:
        raise ValueError(f"early_stopping: patience must be an int >= 1, got {patience!r}")
    if not min_delta >= 0:
        raise ValueError(f"early_stopping: min_delta must be >= 0, got {min_delta!r}")
    losses = [float(v) for v in np.asarray(val_losses, dtype=np.float64).reshape(-1)]
    n, patience = len(losses), int(patience)
    if n <= patience:
        return False
    best = min((v for v in losses[:n - patience] if not math.isnan(v)), default=math.inf)
    return not any(v < best - min_delta for v in losses[n - patience:])
    ### END SOLUTION


def random_shift(X, rng, max_shift=2):
    """Data augmentation: shift every image by its own random offset of up to ``max_shift`` pixels.

    For each image ``n`` draw ``dy`` and ``dx`` independently and uniformly from the integers
    ``-max_shift .. max_shift`` and move the content down by ``dy`` and right by ``dx``:
    ``out[n, c, y, x] = X[n, c, y - dy, x - dx]``, 0 where ``(y - dy, x - dx)`` falls outside the image.
    All channels of an image move together. A digit moved by a pixel or two is still the same digit, so the
    network sees new training images every epoch. The draws, in this order: ``dy = rng.integers(-max_shift,
    max_shift + 1, size=N)``, then ``dx`` the same way (none when ``max_shift`` is 0).

    Args:
        X: images of shape ``(N, C, H, W)``. Not modified.
        rng: ``numpy.random.Generator``, the only source of randomness.
        max_shift: the largest offset, an int ``>= 0`` (0 returns a copy of ``X``).

    Returns:
        A new array of ``X``'s shape and dtype.

    Raises:
        ValueError: if ``X`` is not 4-D (the message names its shape) or ``max_shift`` is negative.

    Example:
        >>> X = np.zeros((1, 1, 5, 5)); X[0, 0, 2, 2] = 1.0
        >>> out = random_shift(X, np.random.default_rng(0), max_shift=1)
        >>> out.shape, float(out.sum())           # the pixel moved by at most 1 row and 1 column
        ((1, 1, 5, 5), 1.0)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"random_shift: X must be (N, C, H, W), got shape {X.shape}")
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be an int >= 0, got {max_shift!r}")
    s = int(max_shift)
    N, C, H, W = X.shape
    if s == 0 or N == 0:
        return X.copy()
    dy = rng.integers(-s, s + 1, size=N)
    dx = rng.integers(-s, s + 1, size=N)
    # mutants: skip (the buffer's size: a larger one holds zeros the gather never reads)
    padded = np.zeros((N, C, H + 2 * s, W + 2 * s), X.dtype)
    padded[:, :, s:s + H, s:s + W] = X
    # out[n, c, y, x] = X[n, c, y - dy, x - dx] = padded[n, c, y - dy + s, x - dx + s]: one gather
    rows = (s - dy)[:, None] + np.arange(H)
    cols = (s - dx)[:, None] + np.arange(W)
    return padded[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]
    ### END SOLUTION
