"""Chapter 4.6: the capstone, a small CNN that learns MNIST within a time budget.

The capstone puts the course's layers and the optimisation tools of chapter 4.5 together: the convolution
(4.2) and pooling (4.3) layers in a small CNN, trained with momentum on shuffled mini-batches, with L2 weight
decay (4.4), gradient clipping, data augmentation (every training image shifted by up to 2 pixels: 5,000
images then look like many more), a learning rate that decays with the time used, and early stopping on a
validation split; it stops when its time budget is used. The network (reference design: the tests only rely
on the functions' contracts):

    X (m, 1, 28, 28) -> conv 3x3 pad 1, 8 filters -> ReLU -> max pool 2   -> (m, 8, 14, 14)
                     -> conv 3x3 pad 1, 16 filters -> ReLU -> max pool 2  -> (m, 16, 7, 7)
                     -> flatten (784) -> dense -> softmax (10 classes)

It is small on purpose: every matrix product stays small enough for one core, so it trains at a steady
speed even on a busy machine. The lesson tells what it reaches, and how the recipe was chosen.
"""
import math
import time

import numpy as np
from tqdm.auto import tqdm

from activations import cross_entropy, relu, relu_derivative, softmax
from convolution import conv2d, conv2d_backward
from optimization import clip_gradients, early_stopping, momentum_update, random_shift
from pooling import max_pool, max_pool_backward
from regularization import l2_regularization


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
    # Pooled first, then the ReLU: the same numbers as relu then max_pool (max and ReLU commute: the largest of
    # four values, clipped at 0, is the largest of the four clipped), with the ReLU on a quarter of the values.
    Z1, conv1 = conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    M1, pool1 = max_pool(Z1, 2, 2)
    P1 = relu(M1)
    Z2, conv2 = conv2d(P1, params["W2"], params["b2"], stride=1, padding=1)
    M2, pool2 = max_pool(Z2, 2, 2)
    P2 = relu(M2)
    flat = P2.reshape(P2.shape[0], -1)
    probs = softmax(flat @ params["W3"] + params["b3"])
    # Z1 is not needed by capstone_backward: the lesson draws the first layer's feature maps from it.
    cache = {"Z1": Z1, "M1": M1, "M2": M2, "flat": flat, "P2_shape": P2.shape, "probs": probs,
             "conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2}
    return probs, cache
    ### END SOLUTION


def capstone_backward(params, cache, y):
    """Gradients of the mean cross-entropy ``cross_entropy(probs, y)`` with respect to every parameter.

    Backwards through the layers of ``capstone_forward``: softmax and cross-entropy together give
    ``dZ3 = (probs - Y) / m``; the dense layer as in chapter 3.4; then ``max_pool_backward``, the ReLU mask of
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


def train_capstone(X, y, rng, *, time_budget=60.0, max_epochs=None, X_val=None, y_val=None,
                   clock=time.perf_counter):
    """Train the capstone CNN on MNIST until the time budget is used (or early stopping, or ``max_epochs``).

    The recipe: unless ``X_val`` is given, a random 10% of ``(X, y)`` is held out for validation (not trained
    on); ``params = init_capstone(rng)``. Every epoch: shuffle the training images, cut them into mini-batches
    of 64, and per mini-batch: ``random_shift`` by up to 2 pixels, ``capstone_forward``,
    ``capstone_backward`` plus the gradient of ``l2_regularization`` (weight decay ``5e-4``),
    ``clip_gradients`` to a global norm of 5, and ``momentum_update`` (``mu = 0.9``) of every parameter with the
    learning rate ``0.025 * (1 + cos(pi * f))`` (0.05 decaying to 0), ``f`` the fraction used before the
    mini-batch: of ``time_budget``, or, when ``max_epochs`` is given, ``steps done / (max_epochs *
    ceil(m_train / 64))``. After each epoch: the validation loss and accuracy.

    The random draws, in this order: the split (``order = rng.permutation(m)``, its first ``max(1, m // 10)``
    images for validation, the rest in the order of ``order`` for training), ``init_capstone(rng)``, then every
    epoch ``rng.permutation(m_train)``, whose consecutive slices of 64 are the mini-batches, each one shifted by
    ``random_shift(Xb, rng, 2)``.

    The best epoch and early stopping watch only the epochs that ended with a learning rate of at most a fifth
    of its start: until then the latest epoch counts as the best; from then on the watched epoch with the
    lowest validation loss (the earlier one on a tie), and training stops when ``early_stopping(watched_losses,
    patience=5)``.

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
        clock: a function returning the time in seconds (tests pass a clock of their own).

    Returns:
        ``(params, history)``: ``params``, float32 copies of the parameters of the best epoch (keys and shapes
        as from ``init_capstone``); ``history``, a dict of per-epoch lists ``"train_loss"``,
        ``"train_accuracy"`` (on the shifted mini-batches, before their updates), ``"val_loss"``,
        ``"val_accuracy"``, ``"seconds"`` (time used when the epoch's validation ended), and ``"best_epoch"``
        (index of the returned epoch, -1 if no step was made) and ``"stop_reason"`` (``"time_budget"``,
        ``"max_epochs"`` or ``"early_stopping"``).

    Raises:
        ValueError: if ``X`` is not ``(m, 784)`` / ``(m, 1, 28, 28)`` with values in ``[0, 1]``, ``y`` does not
            match it (the message names both shapes), a label is outside ``0..9``, ``m < 2`` without a
            validation set, only one of ``X_val`` / ``y_val`` is given, ``time_budget <= 0`` or
            ``max_epochs`` is not a whole number ``>= 1``.

    Example:
        >>> from dlcourse.mnist import load_mnist                                      # doctest: +SKIP
        >>> X, y = load_mnist("train"); X_test, y_test = load_mnist("test")            # doctest: +SKIP
        >>> params, history = train_capstone(X, y, np.random.default_rng(0), time_budget=60)  # doctest: +SKIP
        >>> float(np.mean(predict_capstone(params, X_test) == y_test)) > 0.97          # doctest: +SKIP
        True
    """
    ### BEGIN SOLUTION
    start = clock()
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
    now = start  # the latest reading of the clock
    while True:
        epoch = len(history["val_loss"])
        order = rng.permutation(m)
        loss_sum = correct = seen = 0
        # mutants: skip (the progress bar: display only)
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}", unit="batch", disable=None)
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
            now = clock()
            step_seconds = now - step_start
            # mutants: skip (display only)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            left=f"{max(0.0, time_budget - elapsed):.0f}s", refresh=False)
            bar.update(1)  # mutants: skip (display only)
        if seen == 0:  # the budget ran out before this epoch's first step
            bar.close()
            break
        val_start = now
        val_probs = _probabilities(params, X_val)
        val_loss = cross_entropy(val_probs, y_val)
        now = clock()
        val_seconds = now - val_start
        history["train_loss"].append(loss_sum / seen)
        history["train_accuracy"].append(correct / seen)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(float(np.mean(val_probs.argmax(axis=1) == y_val)))
        history["seconds"].append(now - start)
        # mutants: skip (display only)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                        val_acc=f"{history['val_accuracy'][-1]:.3f}",
                        left=f"{max(0.0, time_budget - history['seconds'][-1]):.0f}s")
        bar.close()
        # Until the watch starts (nothing watched: min is inf) the latest epoch stands in as the best; then the
        # lowest watched loss wins, the earlier epoch on a tie.
        if val_loss < min(watched, default=math.inf):
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
