"""Chapter 4.5: advanced optimization, and the capstone: a small CNN that learns MNIST within a time budget.

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
validation loss swings from epoch to epoch, see ``train_capstone``.)

**The capstone** puts the toolkit together: the convolution (4.2) and pooling (4.3) layers in a small CNN,
trained with momentum on shuffled mini-batches, with L2 weight decay (4.4), gradient clipping, data
augmentation (every training image shifted by up to 2 pixels: 5,000 images then look like many more), a
learning rate that decays with the time used, and early stopping on a validation split; it stops when its
time budget is used. The network (reference design: the tests only rely on the functions' contracts):

    X (m, 1, 28, 28) -> conv 3x3 pad 1, 8 filters -> ReLU -> max pool 2   -> (m, 8, 14, 14)
                     -> conv 3x3 pad 1, 16 filters -> ReLU -> max pool 2  -> (m, 16, 7, 7)
                     -> flatten (784) -> dense -> softmax (10 classes)

It is small on purpose: every matrix product stays small enough for one core (larger products are split
over threads, which stall each other when other programs share the cores: on a busy 2-core machine a
dense hidden layer of 128 units made training 4x slower). On the 5,000-image subset it reaches about
98.3% (98.1-98.5% over seeds and machine load) on the official 10,000 test images in 60 s of training, and
about 97.8% in 8 s; with the full 60,000 images it sees 12x more distinct digits in the same time, which
should only help (not measured here).
"""
import math
import time

import numpy as np
from tqdm.auto import tqdm

from activations import cross_entropy, relu, relu_derivative, softmax
from convolution import conv2d, conv2d_backward
from pooling import max_pool, max_pool_backward
from regularization import l2_regularization


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


def init_capstone(rng):
    """He-initialised float32 parameters of the capstone CNN (see the module docstring).

    Args:
        rng: ``numpy.random.Generator``; the only source of randomness.

    Returns:
        dict of float32 arrays: ``"W1" (8, 1, 3, 3)``, ``"b1" (8,)``, ``"W2" (16, 8, 3, 3)``, ``"b2" (16,)``,
        ``"W3" (784, 10)``, ``"b3" (10,)``. The weights are ``rng.standard_normal(shape) * sqrt(2 / n_in)``
        with ``n_in`` the inputs of one unit (``1*3*3``, ``8*3*3``; ``1 / 784`` for the output layer, which
        has no ReLU after it), drawn in that order; the biases are zeros. Keys starting with ``"W"`` are the
        weights (that is what ``l2_regularization`` penalises).

    Example:
        >>> params = init_capstone(np.random.default_rng(0))
        >>> {k: v.shape for k, v in params.items()}["W3"], params["W1"].dtype
        ((784, 10), dtype('float32'))
    """
    ### BEGIN SOLUTION
    def he(shape, n_in, gain=2.0):
        return (rng.standard_normal(shape) * np.sqrt(gain / n_in)).astype(np.float32)

    return {"W1": he((8, 1, 3, 3), 9), "b1": np.zeros(8, np.float32),
            "W2": he((16, 8, 3, 3), 72), "b2": np.zeros(16, np.float32),
            "W3": he((784, 10), 784, gain=1.0), "b3": np.zeros(10, np.float32)}
    ### END SOLUTION


def capstone_forward(params, X):
    """Forward pass of the capstone CNN: class probabilities for a batch of MNIST images.

    ``conv2d(., W1, b1, stride=1, padding=1)`` -> ``relu`` -> ``max_pool(., 2, 2)`` -> the same with ``W2``,
    ``b2`` -> flatten (row-major, ``(m, 16 * 7 * 7)``) -> ``@ W3 + b3`` -> ``softmax``. The computation
    runs in the dtype of ``params["W1"]`` (float32 from ``init_capstone``; float64 parameters give float64
    throughout, as a gradient check needs): ``X`` is converted to it.

    Args:
        params: dict as from ``init_capstone``.
        X: images, ``(m, 784)`` (rows of 28 * 28 pixels) or ``(m, 1, 28, 28)``.

    Returns:
        ``(probs, cache)``: ``probs`` of shape ``(m, 10)`` (rows sum to 1) and a dict holding what
        ``capstone_backward`` needs (plain data: arrays, numbers, tuples, dicts).

    Raises:
        ValueError: if ``X`` is neither ``(m, 784)`` nor ``(m, 1, 28, 28)`` (the message names its shape).

    Example:
        >>> params = init_capstone(np.random.default_rng(0))
        >>> probs, cache = capstone_forward(params, np.zeros((2, 784)))
        >>> probs.shape, probs.dtype
        ((2, 10), dtype('float32'))
    """
    ### BEGIN SOLUTION
    dtype = np.asarray(params["W1"]).dtype
    X = _as_images(X, "capstone_forward").astype(dtype, copy=False)
    Z1, conv1 = conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    P1, pool1 = max_pool(relu(Z1), 2, 2)
    Z2, conv2 = conv2d(P1, params["W2"], params["b2"], stride=1, padding=1)
    P2, pool2 = max_pool(relu(Z2), 2, 2)
    flat = P2.reshape(P2.shape[0], -1)
    probs = softmax(flat @ params["W3"] + params["b3"])
    cache = {"Z1": Z1, "Z2": Z2, "flat": flat, "P2_shape": P2.shape, "probs": probs,
             "conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2}
    return probs, cache
    ### END SOLUTION


def capstone_backward(params, cache, y):
    """Gradients of the mean cross-entropy ``cross_entropy(probs, y)`` with respect to every parameter.

    Backwards through the layers of ``capstone_forward``: softmax and cross-entropy together give
    ``dZ3 = (probs - Y) / m``; the dense layer as in chapter 3.4; then ``max_pool_backward``, the ReLU mask of
    the pre-activation and ``conv2d_backward`` for each convolution block, the second one first. The L2
    penalty is not included (the training loop adds it).

    Args:
        params: the parameters the forward pass used.
        cache: the cache ``capstone_forward(params, X)`` returned (only read).
        y: integer labels of shape ``(m,)``.

    Returns:
        dict with the keys of ``params``; each gradient has its parameter's shape and the forward pass's dtype.

    Raises:
        ValueError: if ``y`` is not ``(m,)`` for the ``m`` images of the forward pass (the message names both).

    Example:
        >>> params = init_capstone(np.random.default_rng(0))
        >>> probs, cache = capstone_forward(params, np.zeros((2, 784)))
        >>> grads = capstone_backward(params, cache, np.array([3, 7]))
        >>> grads["W2"].shape, grads["b3"].shape
        ((16, 8, 3, 3), (10,))
    """
    ### BEGIN SOLUTION
    probs = cache["probs"]
    m = probs.shape[0]
    y = np.asarray(y)
    if y.shape != (m,):
        raise ValueError(f"capstone_backward: y of shape {y.shape} does not match the {m} images of the forward "
                         f"pass (probs of shape {probs.shape}); expected ({m},)")
    dZ3 = probs.copy()
    dZ3[np.arange(m), y.astype(np.int64)] -= 1
    dZ3 /= m
    grads = {"W3": cache["flat"].T @ dZ3, "b3": dZ3.sum(axis=0)}
    dP2 = (dZ3 @ np.asarray(params["W3"]).T).reshape(cache["P2_shape"])
    dZ2 = max_pool_backward(dP2, cache["pool2"]) * relu_derivative(cache["Z2"])
    dP1, grads["W2"], grads["b2"] = conv2d_backward(dZ2, cache["conv2"])
    dZ1 = max_pool_backward(dP1, cache["pool1"]) * relu_derivative(cache["Z1"])
    _, grads["W1"], grads["b1"] = conv2d_backward(dZ1, cache["conv1"])
    return {key: grads[key] for key in params}
    ### END SOLUTION


def _as_images(X, where):
    """``X`` as ``(m, 1, 28, 28)`` images; ``(m, 784)`` rows are reshaped. A helper given to you."""
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == 784:
        return X.reshape(-1, 1, 28, 28)
    if X.ndim == 4 and X.shape[1:] == (1, 28, 28):
        return X
    raise ValueError(f"{where}: X must be (m, 784) or (m, 1, 28, 28) MNIST images, got shape {X.shape}")


def train_capstone(X, y, rng, *, time_budget=60.0, max_epochs=None, X_val=None, y_val=None):
    """Train the capstone CNN on MNIST until the time budget is used (or early stopping, or ``max_epochs``).

    The recipe: unless ``X_val`` is given, a random 10% of ``(X, y)`` is held out for validation (not trained
    on); ``params = init_capstone(rng)``. Every epoch: shuffle the training images, cut them into mini-batches
    of 64, and per mini-batch: ``random_shift`` by up to 2 pixels, ``capstone_forward``,
    ``capstone_backward`` plus the gradient of ``l2_regularization`` (weight decay ``5e-4``),
    ``clip_gradients`` to a global norm of 5, and ``momentum_update`` (``mu = 0.9``) of every parameter with a
    learning rate that decays from 0.05 to 0 along a half cosine over the budget, ``0.025 * (1 + cos(pi * f))``
    with ``f`` the fraction used before the mini-batch (of ``time_budget``, or, when ``max_epochs`` is given,
    ``steps done / (max_epochs * ceil(m_train / 64))``, so a run with ``max_epochs`` is reproducible). After
    each epoch: the validation loss and accuracy. The random draws, in this order: the split
    (``order = rng.permutation(m)``, its first ``max(1, m // 10)`` images for validation, the rest in the order
    of ``order`` for training), ``init_capstone(rng)``, then every epoch ``rng.permutation(m_train)``, whose
    consecutive slices of 64 are the mini-batches, each one shifted by ``random_shift(Xb, rng, 2)``. Early stopping and the choice of the
    best epoch watch the validation losses of the epochs that ended with a learning rate of at most a fifth of
    its start (the last 30% of the schedule): the parameters of the watched epoch with the lowest validation
    loss are returned, and training stops when ``early_stopping(watched_losses, patience=5)``. (Earlier
    epochs are not watched: while the steps are large the validation loss swings from epoch to epoch by more
    than training improves it, so an early "best" epoch is luck, and stopping there wastes the annealing.
    Measured on the 5k subset with a 60 s budget: picking the best of all epochs cost up to 0.8 points of test
    accuracy, early stopping from the first epoch with patience 5 up to 2 points: it stopped after 15 to 33
    of 50 to 90 epochs.)

    The clock is checked before every mini-batch: training stops when the next mini-batch and the validation
    after it would not end within ``time_budget`` seconds (wall clock, from the call; both are estimated from
    their last durations), in the middle of an epoch if need be; that partial epoch is evaluated too. So the
    call returns after about ``time_budget`` seconds, not later. A progress bar per epoch (tqdm) shows the loss, the accuracy and the time left, then the validation
    accuracy; it is silent when the output is not a terminal (nor a notebook). Nothing is printed.

    Args:
        X: training images, floats in ``[0, 1]`` (pixel / 255, as ``load_mnist`` gives them), ``(m, 784)`` or
            ``(m, 1, 28, 28)``. Not modified.
        y: integer labels ``(m,)`` with values in ``0..9``.
        rng: ``numpy.random.Generator``: the split, the initialisation, the shuffling and the shifts all come
            from it.
        time_budget: seconds of training, ``> 0``.
        max_epochs: stop after this many epochs (None: no limit but the time and early stopping). With
            ``max_epochs`` set and a budget that does not run out, the same seed gives the same result.
        X_val, y_val: a validation set (same formats as ``X``, ``y``), both or neither; when given, all of
            ``(X, y)`` is trained on.

    Returns:
        ``(params, history)``: ``params``, the dict of the best epoch (keys and shapes as from
        ``init_capstone``, float32), for ``predict_capstone``; ``history``, a dict of per-epoch lists
        ``"train_loss"``, ``"train_accuracy"`` (the cross-entropy and accuracy on the augmented mini-batches,
        before their updates),
        ``"val_loss"``, ``"val_accuracy"``, ``"seconds"`` (time used at the end of each epoch), and
        ``"best_epoch"`` (index of the epoch whose parameters were returned, -1 if no step was made) and
        ``"stop_reason"`` (``"time_budget"``, ``"max_epochs"`` or ``"early_stopping"``).

    Raises:
        ValueError: if ``X`` is not ``(m, 784)`` / ``(m, 1, 28, 28)`` with values in ``[0, 1]``, ``y`` does not
            match it (the message names both shapes), a label is outside ``0..9``, ``m < 2`` without a
            validation set, only one of ``X_val`` / ``y_val`` is given, ``time_budget <= 0`` or
            ``max_epochs < 1``.

    Example:
        >>> from dlcourse.mnist import load_mnist                                      # doctest: +SKIP
        >>> X, y = load_mnist("train"); X_test, y_test = load_mnist("test")            # doctest: +SKIP
        >>> params, history = train_capstone(X, y, np.random.default_rng(0), time_budget=60)  # doctest: +SKIP
        >>> float(np.mean(predict_capstone(params, X_test) == y_test)) > 0.97          # doctest: +SKIP
        True
    """
    ### BEGIN SOLUTION
    start = time.perf_counter()
    lr0, mu, batch_size, weight_decay, max_norm, patience, max_shift = 0.05, 0.9, 64, 5e-4, 5.0, 5, 2
    if not time_budget > 0:
        raise ValueError(f"train_capstone: time_budget must be > 0 seconds, got {time_budget!r}")
    if max_epochs is not None and (int(max_epochs) != max_epochs or max_epochs < 1):
        raise ValueError(f"train_capstone: max_epochs must be None or an int >= 1, got {max_epochs!r}")
    X, y = _checked_data(X, y, "X", "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("train_capstone: give both X_val and y_val, or neither")
    if X_val is None:
        if len(X) < 2:
            raise ValueError(f"train_capstone: need at least 2 images to split off a validation set, got X of "
                             f"shape {X.shape}")
        order = rng.permutation(len(X))
        n_val = max(1, len(X) // 10)
        X_val, y_val, X, y = X[order[:n_val]], y[order[:n_val]], X[order[n_val:]], y[order[n_val:]]
    else:
        X_val, y_val = _checked_data(X_val, y_val, "X_val", "y_val")
    X = X.astype(np.float32)  # a float32 copy: faster, and the caller's array is never touched

    params = init_capstone(rng)
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    best = {key: value.copy() for key, value in params.items()}
    history = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": [],
               "best_epoch": -1, "stop_reason": "time_budget"}
    watched = []  # validation losses of the epochs that ended with lr <= lr0 / 5
    m = len(X)
    steps_per_epoch = -(-m // batch_size)
    step = 0
    step_seconds = val_seconds = 0.0  # the last durations of a training step and of a validation pass
    while True:
        epoch = len(history["val_loss"])
        order = rng.permutation(m)
        loss_sum = correct = seen = 0
        # mutants: skip (the progress bar: display only)
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}", unit="batch", disable=None)
        out_of_time = False
        for begin in range(0, m, batch_size):
            step_start = time.perf_counter()
            elapsed = step_start - start
            if elapsed + step_seconds + val_seconds >= time_budget:
                out_of_time = True
                break
            if max_epochs is None:
                progress = elapsed / time_budget
            else:
                progress = step / (max_epochs * steps_per_epoch)
            lr = lr0 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            idx = order[begin:begin + batch_size]
            Xb, yb = random_shift(X[idx], rng, max_shift), y[idx]
            probs, cache = capstone_forward(params, Xb)
            grads = capstone_backward(params, cache, yb)
            _, decay = l2_regularization(params, weight_decay)
            grads, _ = clip_gradients({key: grads[key] + decay[key] for key in params}, max_norm)
            for key in params:
                momentum_update(params[key], grads[key], velocity[key], lr, mu)
            loss_sum += cross_entropy(probs, yb) * len(idx)
            correct += int(np.sum(probs.argmax(axis=1) == yb))
            seen += len(idx)
            step += 1
            step_seconds = time.perf_counter() - step_start
            # mutants: skip (display only)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            left=f"{max(0.0, time_budget - elapsed):.0f}s", refresh=False)
            bar.update(1)
        if seen == 0:  # the budget ran out before this epoch's first step
            bar.close()
            break
        val_start = time.perf_counter()
        val_probs = _probabilities(params, X_val)
        val_loss = cross_entropy(val_probs, y_val)
        val_seconds = time.perf_counter() - val_start
        history["train_loss"].append(loss_sum / seen)
        history["train_accuracy"].append(correct / seen)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(float(np.mean(val_probs.argmax(axis=1) == y_val)))
        history["seconds"].append(time.perf_counter() - start)
        # mutants: skip (display only)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                        val_acc=f"{history['val_accuracy'][-1]:.3f}",
                        left=f"{max(0.0, time_budget - history['seconds'][-1]):.0f}s")
        bar.close()
        # Until the watch starts the latest epoch stands in as the best; then the lowest watched loss wins.
        if lr > lr0 / 5 or val_loss < min(watched, default=math.inf):
            best = {key: value.copy() for key, value in params.items()}
            history["best_epoch"] = epoch
        if lr <= lr0 / 5:
            watched.append(val_loss)
        if out_of_time:
            break
        if max_epochs is not None and epoch + 1 >= max_epochs:
            history["stop_reason"] = "max_epochs"
            break
        if early_stopping(watched, patience):
            history["stop_reason"] = "early_stopping"
            break
    return best, history
    ### END SOLUTION


def _checked_data(X, y, x_name, y_name):
    """``(X as (m, 1, 28, 28), y as int64 (m,))`` after the checks ``train_capstone`` documents. A helper."""
    shape = np.shape(X)
    X = _as_images(X, "train_capstone")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"train_capstone: {y_name} of shape {y.shape} does not match {x_name} of shape "
                         f"{shape}; expected ({X.shape[0]},) labels")
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"train_capstone: {x_name} must hold pixels scaled to [0, 1] (pixel / 255), got values "
                         f"from {X.min()} to {X.max()}")
    labels = y.astype(np.int64)
    if y.size and (not np.array_equal(labels, y) or labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"train_capstone: {y_name} must hold integer labels 0..9, got values from {y.min()} "
                         f"to {y.max()}")
    return X, labels


def _probabilities(params, X, chunk=500):
    """``capstone_forward``'s probabilities for many images, a chunk at a time (bounded memory). A helper."""
    X = _as_images(X, "predict_capstone")
    parts = [capstone_forward(params, X[i:i + chunk])[0] for i in range(0, len(X), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)


def predict_capstone(params, X):
    """The predicted digit of every image: ``argmax`` of ``capstone_forward``'s probabilities.

    Runs the forward pass on chunks of images, so 10,000 test images need little memory.

    Args:
        params: dict as returned by ``train_capstone``.
        X: images, ``(m, 784)`` or ``(m, 1, 28, 28)``, floats in ``[0, 1]``.

    Returns:
        int64 array of shape ``(m,)`` with values ``0..9``.

    Raises:
        ValueError: if ``X`` is neither ``(m, 784)`` nor ``(m, 1, 28, 28)`` (the message names its shape).

    Example:
        >>> params = init_capstone(np.random.default_rng(0))
        >>> predict_capstone(params, np.zeros((3, 784))).shape
        (3,)
    """
    ### BEGIN SOLUTION
    return _probabilities(params, X).argmax(axis=1).astype(np.int64)
    ### END SOLUTION
