"""Chapter 4.6: the capstone, small CNNs that learn MNIST within a time budget.

The capstone puts the course's layers and the optimisation tools of chapter 4.5 together: the convolution
(4.2) and pooling (4.3) layers and a dense layer with dropout (4.4) in a small CNN, trained with momentum on
shuffled mini-batches, with L2 weight decay, gradient clipping, data augmentation (every training image turned,
scaled and moved a little at random: 5,000 images then look like many more), a learning rate that decays with
the time used, and early stopping on a validation split; it stops when its time budget is used. The final run
trains two such networks at once on all the images, one per core, and they vote together on every test image
seen five ways. The network
(reference design: the tests only rely on the functions' contracts):

    X (m, 1, 28, 28) -> conv 3x3 pad 1, 8 filters -> ReLU -> max pool 2   -> (m, 8, 14, 14)
                     -> conv 3x3 pad 1, 16 filters -> ReLU -> max pool 2  -> (m, 16, 7, 7)
                     -> flatten (784) -> dense 128 -> ReLU -> dropout 0.3 (training only)
                     -> dense 10 -> softmax (10 classes)

The lesson tells what it reaches, and how the recipe was chosen.
"""
import functools
import math
import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits
from tqdm.auto import tqdm

from activations import cross_entropy, relu, relu_derivative, softmax
from convolution import conv2d, conv2d_backward
from optimization import clip_gradients, early_stopping, momentum_update
from pooling import max_pool, max_pool_backward
from regularization import dropout, dropout_backward, l2_regularization

P_DROP = 0.3  # dropout's drop probability in the hidden layer
VIEWS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))  # predict_ensemble's views: (down, right) moves in pixels


def one_blas_thread(fn):
    """Decorator: run ``fn`` with NumPy's BLAS on one thread. A helper given to you, for speed only.

    The convolution and pooling layers already split the batch over two threads of their own (chapter 4.2's
    ``_in_two_halves``). After a matrix product on two threads (a dense layer's), the BLAS keeps its second
    thread spinning, waiting for more work, on the core one of those halves needs next. So the forward and
    backward passes below keep the BLAS on one thread (see the lesson). Results agree with two BLAS threads
    up to float rounding.
    """
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _blas_controller().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)
    return run


@functools.cache
def _blas_controller():
    """This process's ThreadpoolController, made on first use (it looks through the loaded libraries). A helper."""
    return ThreadpoolController()


def random_affine(X, rng, degrees=15.0, scale=0.15, shift=2.0):
    """Data augmentation: turn, scale and move every image by its own random amounts, about its centre.

    For each image ``n`` draw an angle ``a`` (degrees) from ``uniform(-degrees, degrees)``, a zoom ``s`` as
    ``1 + uniform(-scale, scale)`` and a move ``(dy, dx)`` from ``uniform(-shift, shift)``, all at once and in
    this order: ``rng.uniform(-degrees, degrees, N)``, ``rng.uniform(-scale, scale, N)``, ``rng.uniform(-shift,
    shift, (N, 2))`` (column 0 is ``dy``, column 1 ``dx``). Output pixel ``(i, j)`` of image ``n`` then takes the
    input's value at the point

        ``(cy + (cos a * u - sin a * v) / s,  cx + (sin a * u + cos a * v) / s)``,
        ``u = i - cy - dy``, ``v = j - cx - dx``, ``cy = (H - 1) / 2``, ``cx = (W - 1) / 2``,

    read by bilinear interpolation between the four pixels around it (weights ``1 - f`` and ``f`` along each
    axis, ``f`` the fractional part), pixels outside the image counting as 0. So the content turns clockwise by
    ``a`` for ``a > 0`` (as the image is shown, rows downwards), grows by ``s`` and moves down by ``dy`` and right
    by ``dx``. All channels of an image move together.

    Args:
        X: images of shape ``(N, C, H, W)``. Not modified.
        rng: ``numpy.random.Generator``, the only source of randomness.
        degrees, scale, shift: the largest turn (degrees), change of size (a fraction) and move (pixels), each
            ``>= 0``; all three 0 return the images unchanged.

    Returns:
        A new float32 array of ``X``'s shape.

    Raises:
        ValueError: if ``X`` is not 4-D (the message names its shape).

    Example:
        >>> X = np.random.default_rng(0).random((2, 1, 28, 28))
        >>> out = random_affine(X, np.random.default_rng(1))
        >>> out.shape, out.dtype
        ((2, 1, 28, 28), dtype('float32'))
        >>> np.allclose(random_affine(X, np.random.default_rng(1), 0, 0, 0), X, atol=1e-6)
        True
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"random_affine: X must be images (N, C, H, W), got shape {X.shape}")
    N, C, H, W = X.shape
    angle = np.deg2rad(rng.uniform(-degrees, degrees, N))
    zoom = 1 + rng.uniform(-scale, scale, N)
    dy, dx = rng.uniform(-shift, shift, (N, 2)).T
    cy, cx = (H - 1) / 2, (W - 1) / 2
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    # The point each output pixel reads is affine in (i - cy, j - cx, 1): a 2 x 3 matrix per image. All of
    # them at once: ONE matrix product (N * 2, 3) @ (3, H * W), the rows then the columns each pixel reads.
    maps = np.stack([cos, -sin, cy - cos * dy + sin * dx,
                     sin, cos, cx - sin * dy - cos * dx], axis=1).reshape(N * 2, 3)
    i, j = np.mgrid[0:H, 0:W].reshape(2, H * W)
    where = (maps @ np.stack([i - cy, j - cx, np.ones(H * W)])).reshape(N, 2, H * W)
    corner = np.floor(where)                                        # the top-left pixel of the four
    frac = (where - corner).astype(np.float32)
    fy, fx = frac[:, None, 0], frac[:, None, 1]                     # (N, 1, H * W)
    # A border of zeros two pixels wide. The corner clipped to [-2, H] (rows) and [-2, W] (columns) lands on
    # it whenever that pixel is outside the image, and so does the pixel below or right of it.
    Wp = W + 4
    padded = np.zeros((N, C, H + 4, Wp), np.float32)
    padded[:, :, 2:-2, 2:-2] = X
    top = np.clip(corner[:, 0], -2, H).astype(np.intp) + 2
    left = np.clip(corner[:, 1], -2, W).astype(np.intp) + 2
    # Each top-left pixel's place in the padded batch laid out flat (image n, channel c starts at
    # (n * C + c) * size): np.take on a flat array gathers 5 times faster than np.take_along_axis.
    size = (H + 4) * Wp
    index = np.arange(N * C).reshape(N, C, 1) * size + (top * Wp + left)[:, None]    # (N, C, H * W)
    flat = padded.reshape(-1)
    # The four pixels: the top-left ones, and those 1 place (right), Wp (down) and Wp + 1 further on.
    tl, tr, bl, br = (np.take(flat[offset:], index) for offset in (0, 1, Wp, Wp + 1))
    upper = tl + fx * (tr - tl)                                     # (1 - fx) * tl + fx * tr
    lower = bl + fx * (br - bl)
    return (upper + fy * (lower - upper)).reshape(N, C, H, W)
    ### END SOLUTION


def init_capstone(rng):
    """He-initialised float32 parameters of the capstone CNN (see the module docstring).

    Args:
        rng: ``numpy.random.Generator``; the only source of randomness.

    Returns:
        dict of float32 arrays: ``"W1" (8, 1, 3, 3)``, ``"b1" (8,)``, ``"W2" (16, 8, 3, 3)``, ``"b2" (16,)``,
        ``"W3" (784, 128)``, ``"b3" (128,)``, ``"W4" (128, 10)``, ``"b4" (10,)``. The weights are
        ``rng.standard_normal(shape) * sqrt(2 / n_in)`` with ``n_in`` the inputs of one unit (``1*3*3``,
        ``8*3*3``, ``784``; ``1 / 128`` for the output layer, which has no ReLU after it), drawn in that order;
        the biases are zeros. Keys starting with ``"W"`` are the weights (that is what ``l2_regularization``
        penalises).

    Example:
        >>> params = init_capstone(np.random.default_rng(0))
        >>> {k: v.shape for k, v in params.items()}["W3"], params["W1"].dtype
        ((784, 128), dtype('float32'))
    """
    ### BEGIN SOLUTION
    def he(shape, n_in, gain=2.0):
        return (rng.standard_normal(shape) * np.sqrt(gain / n_in)).astype(np.float32)

    return {"W1": he((8, 1, 3, 3), 9), "b1": np.zeros(8, np.float32),
            "W2": he((16, 8, 3, 3), 72), "b2": np.zeros(16, np.float32),
            "W3": he((784, 128), 784), "b3": np.zeros(128, np.float32),
            "W4": he((128, 10), 128, gain=1.0), "b4": np.zeros(10, np.float32)}
    ### END SOLUTION


@one_blas_thread
def capstone_forward(params, X, rng=None):
    """Forward pass of the capstone CNN: class probabilities for a batch of MNIST images.

    ``conv2d(., W1, b1, stride=1, padding=1)`` -> ``relu`` -> ``max_pool(., 2, 2)`` -> the same with ``W2``,
    ``b2`` -> flatten (row-major, ``(m, 16 * 7 * 7)``) -> ``@ W3 + b3`` -> ``relu`` -> ``dropout(., 0.3, rng,
    training=rng is not None)`` -> ``@ W4 + b4`` -> ``softmax``. The computation runs in the dtype of
    ``params["W1"]`` (float32 from ``init_capstone``; float64 parameters give float64 throughout, as a gradient
    check needs): ``X`` is converted to it.

    Args:
        params: dict as from ``init_capstone``.
        X: images, ``(m, 784)`` (rows of 28 * 28 pixels) or ``(m, 1, 28, 28)``.
        rng: ``numpy.random.Generator`` for dropout's mask when training (its only draw); None (evaluation): no
            dropout.

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
    # Pooled first, then the ReLU: the same numbers as relu then max_pool (max and ReLU commute: the largest of
    # four values, clipped at 0, is the largest of the four clipped), with the ReLU on a quarter of the values.
    Z1, conv1 = conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    M1, pool1 = max_pool(Z1, 2, 2)
    P1 = relu(M1)
    Z2, conv2 = conv2d(P1, params["W2"], params["b2"], stride=1, padding=1)
    M2, pool2 = max_pool(Z2, 2, 2)
    P2 = relu(M2)
    flat = P2.reshape(P2.shape[0], -1)
    Z3 = flat @ params["W3"] + params["b3"]
    A3, mask = dropout(relu(Z3), P_DROP, rng, training=rng is not None)
    probs = softmax(A3 @ params["W4"] + params["b4"])
    # Z1 is not needed by capstone_backward: the lesson draws the first layer's feature maps from it.
    cache = {"Z1": Z1, "M1": M1, "M2": M2, "flat": flat, "P2_shape": P2.shape, "Z3": Z3, "A3": A3, "mask": mask,
             "probs": probs, "conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2}
    return probs, cache
    ### END SOLUTION


@one_blas_thread
def capstone_backward(params, cache, y):
    """Gradients of the mean cross-entropy ``cross_entropy(probs, y)`` with respect to every parameter.

    Backwards through the layers of ``capstone_forward``: softmax and cross-entropy together give
    ``dZ4 = (probs - Y) / m``; the output layer as in chapter 3.4; ``dropout_backward`` with the forward pass's
    mask and the ReLU mask of the hidden layer; the hidden layer; then ``max_pool_backward``, the ReLU mask of
    the pre-activation and ``conv2d_backward`` for each convolution block, the second one first (the first
    with ``need_dX=False``: nothing needs the gradient of the images). The L2 penalty is not included (the
    training loop adds it).

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
        >>> grads["W2"].shape, grads["b4"].shape
        ((16, 8, 3, 3), (10,))
    """
    ### BEGIN SOLUTION
    probs = cache["probs"]
    m = probs.shape[0]
    y = np.asarray(y)
    if y.shape != (m,):
        raise ValueError(f"capstone_backward: y of shape {y.shape} does not match the {m} images of the forward "
                         f"pass (probs of shape {probs.shape}); expected ({m},)")
    dZ4 = probs.copy()
    dZ4[np.arange(m), y.astype(np.int64)] -= 1
    dZ4 /= m
    grads = {"W4": cache["A3"].T @ dZ4, "b4": dZ4.sum(axis=0)}
    dZ3 = dropout_backward(dZ4 @ np.asarray(params["W4"]).T, cache["mask"]) * relu_derivative(cache["Z3"])
    grads["W3"], grads["b3"] = cache["flat"].T @ dZ3, dZ3.sum(axis=0)
    dP2 = (dZ3 @ np.asarray(params["W3"]).T).reshape(cache["P2_shape"])
    # The ReLU mask of the pooled pre-activation, before max_pool_backward: the gradient reaches only each window's
    # maximum, whose mask is the pooled one, so this is max_pool_backward(dP2) * relu_derivative(Z2) on a quarter
    # of the values.
    dZ2 = max_pool_backward(dP2 * relu_derivative(cache["M2"]), cache["pool2"])
    dP1, grads["W2"], grads["b2"] = conv2d_backward(dZ2, cache["conv2"])
    dZ1 = max_pool_backward(dP1 * relu_derivative(cache["M1"]), cache["pool1"])
    _, grads["W1"], grads["b1"] = conv2d_backward(dZ1, cache["conv1"], need_dX=False)  # the images need none
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


def train_capstone(X, y, rng, *, time_budget=60.0, max_epochs=None, X_val=None, y_val=None, validate=True,
                   clock=time.perf_counter, show_progress=True):
    """Train the capstone CNN on MNIST until the time budget is used (or early stopping, or ``max_epochs``).

    The recipe: unless ``X_val`` is given, a random 10% of ``(X, y)`` is held out for validation (not trained
    on); ``params = init_capstone(rng)``. Every epoch: shuffle the training images, cut them into mini-batches
    of 64, and per mini-batch: ``random_affine`` (its defaults), ``capstone_forward`` with dropout (the
    ``rng``), ``capstone_backward`` plus the gradient of ``l2_regularization`` (weight decay ``5e-4``),
    ``clip_gradients`` to a global norm of 5, and ``momentum_update`` (``mu = 0.9``) of every parameter with the
    learning rate ``0.025 * (1 + cos(pi * f))`` (0.05 decaying to 0), ``f`` the fraction used before the
    mini-batch: of ``time_budget``, or, when ``max_epochs`` is given, ``steps done / (max_epochs *
    ceil(m_train / 64))``. After each epoch: the validation loss and accuracy.

    The random draws, in this order: the split (``order = rng.permutation(m)``, its first ``max(1, m // 10)``
    images for validation, the rest in the order of ``order`` for training), ``init_capstone(rng)``, then every
    epoch ``rng.permutation(m_train)``, whose consecutive slices of 64 are the mini-batches, each one through
    ``random_affine(Xb, rng)`` and then ``capstone_forward(params, Xb, rng)`` (dropout's mask).

    The best epoch and early stopping watch only the epochs that ended with a learning rate of at most a fifth
    of its start: until then the latest epoch counts as the best; from then on the watched epoch with the
    lowest validation loss (the earlier one on a tie), and training stops when ``early_stopping(watched_losses,
    patience=5)``.

    ``validate=False`` is the final run, once the recipe is chosen: all of ``(X, y)`` is trained on, no split is
    drawn, no validation pass is made, nothing stops training early, and the last epoch is the one returned.

    The time: ``clock()`` is read when the call starts, before and after every mini-batch, and after every
    validation pass, nowhere else. Before a mini-batch, training stops if the time used so far plus the
    duration of the last mini-batch plus that of the last validation pass (from the reading before it) reach
    ``time_budget``; that partial epoch is validated too. So the call returns after about ``time_budget``
    seconds, not later. A progress bar per epoch (tqdm) shows the loss, the accuracy and the time left; it is
    silent when the output is not a terminal (nor a notebook).

    Args:
        X: training images, floats in ``[0, 1]``, ``(m, 784)`` or ``(m, 1, 28, 28)``. Not modified.
        y: integer labels ``(m,)`` with values in ``0..9``.
        rng: ``numpy.random.Generator``, the only source of randomness.
        time_budget: seconds of training, ``> 0``.
        max_epochs: stop after this many epochs (None: only the time and early stopping stop it).
        X_val, y_val: a validation set (same formats as ``X``, ``y``), both or neither; when given, all of
            ``(X, y)`` is trained on.
        validate: False trains without any validation (then ``X_val`` and ``y_val`` must be None).
        clock: a function returning the time in seconds (tests pass a clock of their own).
        show_progress: False hides the progress bar (``train_ensemble``'s workers: bars from several processes
            would garble a terminal, and a notebook's cannot come from another process).

    Returns:
        ``(params, history)``: ``params``, float32 copies of the parameters of the best epoch (keys and shapes
        as from ``init_capstone``); ``history``, a dict of per-epoch lists ``"train_loss"``,
        ``"train_accuracy"`` (on the augmented mini-batches with dropout, before their updates), ``"val_loss"``,
        ``"val_accuracy"`` (empty lists with ``validate=False``), ``"seconds"`` (time used when the epoch's
        validation, or with ``validate=False`` its last mini-batch, ended), and ``"best_epoch"``
        (index of the returned epoch, -1 if no step was made) and ``"stop_reason"`` (``"time_budget"``,
        ``"max_epochs"`` or ``"early_stopping"``).

    Raises:
        ValueError: if ``X`` is not ``(m, 784)`` / ``(m, 1, 28, 28)`` with values in ``[0, 1]``, ``y`` does not
            match it (the message names both shapes), a label is outside ``0..9``, ``m < 2`` when a validation
            set is to be split off, only one of ``X_val`` / ``y_val`` is given, a validation set is given with
            ``validate=False``, ``time_budget <= 0`` or ``max_epochs`` is not a whole number ``>= 1``.

    Example:
        >>> from dlcourse.mnist import load_mnist                                      # doctest: +SKIP
        >>> X, y = load_mnist("train"); X_test, y_test = load_mnist("test")            # doctest: +SKIP
        >>> params, history = train_capstone(X, y, np.random.default_rng(0), time_budget=60)  # doctest: +SKIP
        >>> float(np.mean(predict_capstone(params, X_test) == y_test)) > 0.97          # doctest: +SKIP
        True
    """
    ### BEGIN SOLUTION
    start = clock()
    lr0, mu, batch_size, weight_decay, max_norm, patience = 0.05, 0.9, 64, 5e-4, 5.0, 5
    if not time_budget > 0:
        raise ValueError(f"train_capstone: time_budget must be > 0 seconds, got {time_budget!r}")
    if max_epochs is not None and (int(max_epochs) != max_epochs or max_epochs < 1):
        raise ValueError(f"train_capstone: max_epochs must be None or an int >= 1, got {max_epochs!r}")
    X, y = _checked_data(X, y, "X", "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("train_capstone: give both X_val and y_val, or neither")
    if not validate and X_val is not None:
        raise ValueError("train_capstone: validate=False trains without validation; give no X_val, y_val")
    if validate and X_val is None:
        if len(X) < 2:
            raise ValueError(f"train_capstone: need at least 2 images to split off a validation set, got X of "
                             f"shape {X.shape}")
        order = rng.permutation(len(X))
        n_val = max(1, len(X) // 10)
        X_val, y_val, X, y = X[order[:n_val]], y[order[:n_val]], X[order[n_val:]], y[order[n_val:]]
    elif X_val is not None:
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
    now = start  # the latest reading of the clock
    while True:
        epoch = len(history["train_loss"])
        order = rng.permutation(m)
        loss_sum = correct = seen = 0
        # mutants: skip (the progress bar: display only)
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}", unit="batch",
                   disable=None if show_progress else True)
        out_of_time = False
        for begin in range(0, m, batch_size):
            step_start = now = clock()
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
            Xb, yb = random_affine(X[idx], rng), y[idx]
            probs, cache = capstone_forward(params, Xb, rng)
            grads = capstone_backward(params, cache, yb)
            _, decay = l2_regularization(params, weight_decay)
            grads, _ = clip_gradients({key: grads[key] + decay[key] for key in params}, max_norm)
            for key in params:
                momentum_update(params[key], grads[key], velocity[key], lr, mu)
            loss_sum += cross_entropy(probs, yb) * len(idx)
            correct += int(np.sum(probs.argmax(axis=1) == yb))
            seen += len(idx)
            step += 1
            now = clock()
            step_seconds = now - step_start
            # mutants: skip (display only)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            left=f"{max(0.0, time_budget - elapsed):.0f}s", refresh=False)
            bar.update(1)  # mutants: skip (display only)
        if seen == 0:  # the budget ran out before this epoch's first step
            bar.close()
            break
        history["train_loss"].append(loss_sum / seen)
        history["train_accuracy"].append(correct / seen)
        val_loss = -math.inf  # without validation every epoch is the best so far: the last one is returned
        if validate:
            val_start = now
            val_probs = _probabilities(params, X_val)
            val_loss = cross_entropy(val_probs, y_val)
            now = clock()
            val_seconds = now - val_start
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(float(np.mean(val_probs.argmax(axis=1) == y_val)))
            # mutants: skip (display only)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            val_acc=f"{history['val_accuracy'][-1]:.3f}",
                            left=f"{max(0.0, time_budget - (now - start)):.0f}s")
        history["seconds"].append(now - start)
        bar.close()
        # Until the watch starts (nothing watched: min is inf) the latest epoch stands in as the best; then the
        # lowest watched loss wins, the earlier epoch on a tie.
        if val_loss < min(watched, default=math.inf):
            best = {key: value.copy() for key, value in params.items()}
            history["best_epoch"] = epoch
        if validate and lr <= lr0 / 5:
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


def train_ensemble(X, y, rng, *, networks=2, time_budget=60.0, max_epochs=None):
    """The final run: several capstone CNNs trained at once on all the images, one per core, for
    ``predict_ensemble`` to combine.

    Network ``k`` is ``train_capstone(X, y, rngs[k], validate=False, ...)`` with ``rngs = rng.spawn(networks)``
    (independent streams: each network has its own initial weights, order, augmentation and dropout) and
    ``time_budget``, ``max_epochs`` as given. The recipe was chosen with a validation split; this run trains on
    every image. On Linux each network trains in a worker process of its own, started by fork (it inherits the
    functions and the data), on one thread (the BLAS's, and the layers' two halves one after the other): a network
    this small gains little from a second thread, so two cores do most as two networks. Each network's budget is
    what is left of ``time_budget`` when its worker starts, less as much again for the way back, so the call returns
    within ``time_budget`` seconds. Elsewhere (no safe fork), and for one network, they train one after another in
    this process, each with an equal share of the budget.

    Args:
        X, y, time_budget, max_epochs: as for ``train_capstone`` (for every network).
        rng: ``numpy.random.Generator``; only ``rng.spawn(networks)`` is drawn from it.
        networks: how many networks, an int ``>= 1`` (2: one per core of a 2-core machine).

    Returns:
        A list of ``networks`` ``(params, history)`` pairs, network ``k`` trained with ``rngs[k]``.

    Raises:
        ValueError: if ``networks`` is not a whole number ``>= 1``; whatever ``train_capstone`` raises for the
            other arguments.

    Example:
        >>> runs = train_ensemble(X, y, np.random.default_rng(0), time_budget=60)      # doctest: +SKIP
        >>> predict_ensemble([params for params, _ in runs], X_test)                  # doctest: +SKIP
    """
    ### BEGIN SOLUTION
    if isinstance(networks, bool) or int(networks) != networks or networks < 1:
        raise ValueError(f"train_ensemble: networks must be a whole number >= 1, got {networks!r}")
    networks = int(networks)
    rngs = rng.spawn(networks)
    if networks == 1 or not sys.platform.startswith("linux"):
        return [train_capstone(X, y, r, time_budget=time_budget / networks, max_epochs=max_epochs, validate=False)
                for r in rngs]
    started = time.perf_counter()  # CLOCK_MONOTONIC: the forked workers read the same clock
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (BLAS's) may deadlock; the workers only compute
        # with numpy, whose BLAS resets its threads on fork.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        fork = multiprocessing.get_context("fork")
        with threadpool_limits(1), ProcessPoolExecutor(networks, mp_context=fork) as pool:
            runs = [pool.submit(_train_member, X, y, r, started, time_budget, max_epochs) for r in rngs]
            return [run.result() for run in runs]
    ### END SOLUTION


def _train_member(X, y, rng, started, time_budget, max_epochs):
    """``train_capstone`` in a worker of ``train_ensemble``, with the budget left since ``started``, less as much
    again for the way back (the result sent to the caller, the worker stopped): ``train_ensemble`` then returns
    within ``time_budget``. A helper."""
    # One thread per network: the layers' own second thread (chapter 4.2's _in_two_halves, which reads this)
    # would only compete with the other network's worker for the same cores.
    os.environ["OMP_NUM_THREADS"] = "1"
    left = time_budget - 2 * (time.perf_counter() - started)
    return train_capstone(X, y, rng, time_budget=max(left, 1e-9), max_epochs=max_epochs, validate=False,
                          show_progress=False)


def predict_ensemble(networks, X):
    """The ensemble's digit for every image: probabilities summed over networks and over five views of the image.

    The views are the image itself and the image moved by one pixel down, up, right and left (zeros come in at
    the border): ``VIEWS``, ``(down, right)`` pairs. For every network and every view, the probabilities of
    ``capstone_forward`` (no dropout); their sum's argmax is the prediction. A digit a pixel off centre, or a
    network unsure of it, is outvoted.

    Args:
        networks: a non-empty list of parameter dicts, as ``train_capstone`` returns (with ``train_ensemble``:
            ``[params for params, _ in runs]``).
        X: images, ``(m, 784)`` or ``(m, 1, 28, 28)``, floats in ``[0, 1]``.

    Returns:
        int64 array of shape ``(m,)`` with values ``0..9``.

    Raises:
        ValueError: if ``networks`` is empty or holds something other than dicts, or ``X`` is neither
            ``(m, 784)`` nor ``(m, 1, 28, 28)`` (the message names its shape).

    Example:
        >>> networks = [init_capstone(np.random.default_rng(k)) for k in range(2)]
        >>> predict_ensemble(networks, np.zeros((3, 784))).shape
        (3,)
    """
    ### BEGIN SOLUTION
    if isinstance(networks, dict) or not networks or not all(isinstance(p, dict) for p in networks):
        raise ValueError("predict_ensemble: networks must be a non-empty list of parameter dicts (train_ensemble "
                         "returns (params, history) pairs: pass [params for params, _ in runs]), got "
                         f"{type(networks).__name__} {networks if isinstance(networks, list) and not networks else ''}")
    X = _as_images(X, "predict_ensemble")
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    total = np.zeros((len(X), 10))
    for params in networks:
        for down, right in VIEWS:  # out[y, x] = X[y - down, x - right]
            total += _probabilities(params, padded[:, :, 1 - down:29 - down, 1 - right:29 - right])
    return total.argmax(axis=1).astype(np.int64)
    ### END SOLUTION
