"""Hidden suite, chapter 3.4: every gradient against the grader's numerical gradient on random nets, both
label formats, the cache left intact, the training loop's contract, and 10-class MNIST accuracy of the
weights train_mlp returns (measured here, with the reference forward pass)."""
import numpy as np
import pytest

from autograder.gradcheck import relative_error
from autograder.oracle import mean_cross_entropy, mlp_forward
from autograder.problems import blobs, check_grads, check_params, numerical_grads, one_hot
from autograder.reference import reference
from dlcourse.testing import check_array, expect_raises, require


GRAD_TOL = 1e-6
KINK = 1e-3  # random nets are redrawn until their hidden pre-activations are this far from 0 ...
MIN_GRAD_NORM = 1e-3  # ... and every parameter's gradient has at least this norm (see random_problem)

# MNIST, 10 classes: [784, 64, 10], lr 0.5, mini-batches of 500 (few, large matrix products: with 2 BLAS threads
# on a busy 2-core machine, 250 steps of 100 rows took 3.6-4.4 s, 120 steps of 500 rows 0.4 s), time limit 15 s.
# subset5k (5,000 training images, 12 epochs = 120 steps): the reference solution over 150 seeds (0..149), test
#   accuracy on the official 10k images: min 0.9009, 1st percentile 0.9014, median 0.9137, mean 0.9129,
#   99th percentile 0.9201, max 0.9208, std 0.0042; training 0.3-0.9 s.
#   Threshold 0.88: 2.1 points under the worst seed, 7.8 standard deviations under the mean. Without shuffling
#   (the subset is sorted by label) the reference reaches 0.10-0.17.
# full (60,000 images, 1 epoch = 120 steps): NOT MEASURED (the full set is not available offline here). As many
#   steps as the subset run, on 12x more distinct images, so it is expected to do at least as well; the threshold
#   is set conservatively to the subset's.
MNIST_RUNS = {
    "subset5k": {"epochs": 12, "threshold": 0.88},
    "full": {"epochs": 1, "threshold": 0.88},
}
MNIST_SIZES, MNIST_LR, MNIST_BATCH = [784, 64, 10], 0.5, 500

SCALE_HINTS = {
    "m": "the gradient is m times too big: divide by the batch size m once (dZ_L = (A_L - Y) / m), the loss is a mean",
    "1/m": "the gradient is m times too small: divide by m only once, in dZ_L, not again in every dW and db",
    "-1": "the gradient has the wrong sign: dZ_L = A_L - Y (probabilities minus one-hot labels), not Y - A_L",
}
GENERIC_HINT = ("output layer dZ_L = (A_L - Y) / m; each layer dW_l = A_{l-1}.T @ dZ_l and db_l = dZ_l.sum(axis=0); "
                "one layer down dZ_{l-1} = (dZ_l @ W_l.T) * relu_derivative(Z_{l-1}): use W_l BEFORE it is updated, "
                "and the ReLU mask of Z_{l-1} (not of Z_l, not forgotten)")


# ---------------------------------------------------------------- helpers (trusted, numpy only)

def random_problem(rng, depth):
    """A small float64 net with ``depth`` layers of weights, a batch, labels, and the numerical gradients.

    Redrawn until every hidden pre-activation is at least KINK away from 0 (where ReLU's numerical derivative
    breaks) and every parameter's gradient has a norm of at least MIN_GRAD_NORM (a smaller one cannot be
    measured to a relative 1e-6: the rounding noise of a numerical gradient is ~1e-10 in absolute terms).
    """
    sizes = [int(rng.integers(2, 6))] + [int(n) for n in rng.integers(3, 7, size=depth - 1)] + [int(rng.integers(2, 5))]
    m = int(rng.integers(3, 7))
    for _ in range(500):
        params = {}
        for l in range(1, depth + 1):
            params[f"W{l}"] = rng.normal(size=(sizes[l - 1], sizes[l])) * np.sqrt(2 / sizes[l - 1])
            params[f"b{l}"] = rng.normal(size=sizes[l]) * 0.1
        X = rng.normal(size=(m, sizes[0]))
        labels = rng.integers(0, sizes[-1], size=m)
        _, cache = mlp_forward(params, X)
        if any(np.abs(cache[f"Z{l}"]).min() <= KINK for l in range(1, depth)):
            continue
        numeric = numerical_grads(params, X, labels)
        if min(np.linalg.norm(g) for g in numeric.values()) >= MIN_GRAD_NORM:
            return sizes, params, X, labels, numeric
    raise RuntimeError(f"no well-conditioned random net of sizes {sizes} found")  # the grader's problem, not yours


def scale_hint(got, numeric, m):
    """Name the mistake when the student's gradient is a known multiple of the true one."""
    denom = float(np.vdot(numeric, numeric))
    if denom == 0:
        return GENERIC_HINT
    c = float(np.vdot(got, numeric)) / denom
    if relative_error(got, c * numeric) < 1e-4:
        for key, factor in (("m", m), ("1/m", 1 / m), ("-1", -1.0)):
            if m > 1 or key == "-1":
                if abs(c / factor - 1) < 1e-3:
                    return SCALE_HINTS[key]
    return GENERIC_HINT


def check_mlp_grads(grads, params, numeric, m, where):
    """Every gradient the student returned against the grader's numerical gradients ``numeric`` of the mean loss
    over a batch of ``m`` samples (a known wrong factor named in the hint)."""
    check_grads(grads, params, numeric, where, lambda got, num: scale_hint(got, num, m), tol=GRAD_TOL)


# ---------------------------------------------------------------- backward_mlp

@pytest.mark.points(3)
@pytest.mark.parametrize("depth", [2, 3])
def test_gradients_match_numerical(student, rng, depth):
    """backward_mlp: every gradient matches the numerical gradient (relative error < 1e-6)"""
    for _ in range(3):
        sizes, params, X, labels, numeric = random_problem(rng, depth)
        grads = student.backward_mlp(params, mlp_forward(params, X)[1], labels)
        check_mlp_grads(grads, params, numeric, len(labels),
                    f"backward_mlp on a random {depth}-layer net {sizes}, m = {len(labels)}")


def test_gradients_one_layer(student, rng):
    """backward_mlp: a net without hidden layer (softmax regression)"""
    sizes, params, X, labels, numeric = random_problem(rng, 1)
    grads = student.backward_mlp(params, mlp_forward(params, X)[1], labels)
    check_mlp_grads(grads, params, numeric, len(labels), f"backward_mlp on a 1-layer net {sizes} (no hidden layer)")


@pytest.mark.points(2)
def test_gradients_one_hot(student, rng):
    """backward_mlp: one-hot labels give the right gradients too"""
    sizes, params, X, labels, numeric = random_problem(rng, 2)
    grads = student.backward_mlp(params, mlp_forward(params, X)[1], one_hot(labels, sizes[-1]))
    check_mlp_grads(grads, params, numeric, len(labels), f"backward_mlp with one-hot y on a 2-layer net {sizes}")


def test_int_and_one_hot_agree(student, rng):
    """backward_mlp: integer labels and one-hot labels give the same gradients"""
    sizes, params, X, labels, numeric = random_problem(rng, 3)
    _, cache = mlp_forward(params, X)
    from_int = student.backward_mlp(params, cache, labels)
    from_one_hot = student.backward_mlp(params, cache, one_hot(labels, sizes[-1]))
    check_mlp_grads(from_int, params, numeric, len(labels), f"backward_mlp with labels y on a 3-layer net {sizes}")
    for key in params:
        check_array(from_one_hot[key], from_int[key], f"backward_mlp: grads[{key!r}] with one-hot y vs labels y",
                    rtol=1e-9, atol=1e-12, hint="turn labels of shape (m,) into one-hot rows (np.eye(K)[y]) and keep a "
                                                "(m, K) y as it is; then both follow the same path")


def test_gradient_of_the_mean(student, rng):
    """backward_mlp: a batch repeated twice gives the same gradients (the loss is a mean)"""
    sizes, params, X, labels, numeric = random_problem(rng, 2)
    once = student.backward_mlp(params, mlp_forward(params, X)[1], labels)
    X2, labels2 = np.vstack([X, X]), np.concatenate([labels, labels])
    twice = student.backward_mlp(params, mlp_forward(params, X2)[1], labels2)
    check_mlp_grads(once, params, numeric, len(labels), f"backward_mlp on a 2-layer net {sizes}, m = {len(labels)}")
    for key in params:
        check_array(twice[key], once[key], f"backward_mlp: grads[{key!r}] for the batch stacked twice vs once",
                    rtol=1e-9, atol=1e-12, hint="divide by m = the number of rows of this batch (len(y) or "
                                                "A0.shape[0]), once: the gradients are those of the MEAN loss")


def test_cache_and_params_unchanged(student, rng):
    """backward_mlp: the cache and the parameters are left untouched"""
    sizes, params, X, labels, numeric = random_problem(rng, 2)
    _, cache = mlp_forward(params, X)
    before_cache = {k: v.copy() for k, v in cache.items()}
    before_params = {k: v.copy() for k, v in params.items()}
    grads = student.backward_mlp(params, cache, labels)
    for key, value in before_cache.items():
        check_array(cache[key], value, f"cache[{key!r}] after backward_mlp", rtol=0, atol=0,
                    hint="dZ = cache['AL']; dZ[range(m), y] -= 1 changes the cache's probabilities in place: start "
                         "from a copy (dZ = AL - Y, or AL.copy())")
    for key, value in before_params.items():
        check_array(params[key], value, f"params[{key!r}] after backward_mlp", rtol=0, atol=0,
                    hint="backward_mlp only computes the gradients; the update belongs to the training loop")
    check_mlp_grads(grads, before_params, numeric, len(labels), f"backward_mlp on a 2-layer net {sizes}")


@pytest.mark.parametrize("case", ["one-more", "one-fewer", "scalar", "one-hot-narrow", "one-hot-wide"])
def test_labels_shape_mismatch(student, rng, case):
    """backward_mlp: labels that do not match the batch raise ValueError naming both shapes"""
    sizes, params, X, labels, _ = random_problem(rng, 2)
    _, cache = mlp_forward(params, X)
    m, K = X.shape[0], sizes[-1]
    bad = {"one-more": np.zeros(m + 1, dtype=np.int64), "one-fewer": np.zeros(m - 1, dtype=np.int64),
           "scalar": np.array(0), "one-hot-narrow": np.zeros((m, K - 1)), "one-hot-wide": np.zeros((m, K + 1))}[case]
    msg = expect_raises(ValueError, student.backward_mlp, params, cache, bad,
                        call=f"backward_mlp(params, cache of {m} samples, y of shape {bad.shape})",
                        hint=f"y must be ({m},) labels or ({m}, {K}) one-hot: compare y.shape with == to both, and "
                             "raise ValueError otherwise")
    require(str(bad.shape) in msg and (str((m, K)) in msg or f"({m},)" in msg),
            f"backward_mlp with y of shape {bad.shape} for {m} samples: the ValueError should name y's shape "
            f"{bad.shape} and the batch's ({m},) or ({m}, {K}), got {msg!r}")


# ---------------------------------------------------------------- train_mlp

def check_params_structure(params, sizes, where):
    check_params(params, sizes, where, hint="start from init_mlp(layer_sizes, rng) and update those arrays")


@pytest.mark.points(2)
# Reference over 1,500 seeds: the last epoch's loss is at most 0.19 (2-layer) / 0.20 (3-layer) of the first one's,
# training accuracy at least 0.975 / 0.967. (A narrow 3-layer net such as [2, 6, 5, 3] gets stuck for ~1% of seeds.)
@pytest.mark.parametrize("sizes, lr", [([2, 8, 3], 0.3), ([2, 16, 16, 3], 0.1)], ids=["2-layer", "3-layer"])
def test_train_contract_and_progress(student, rng, sizes, lr):
    """train_mlp: returns params of the right shapes and one decreasing loss per epoch"""
    X, labels = blobs(rng)
    params, history = student.train_mlp(X, labels, sizes, lr=lr, epochs=12, batch_size=16, rng=rng)
    where = f"train_mlp(X {X.shape}, y, {sizes}, lr={lr}, epochs=12, batch_size=16, rng)"
    check_params_structure(params, sizes, where)
    require(isinstance(history, (list, tuple)) and len(history) == 12,
            f"{where}: history should be a list of 12 per-epoch losses, got {type(history).__name__} "
            f"{history if not isinstance(history, (list, tuple)) else f'of length {len(history)}'}")
    values = np.asarray(history, dtype=np.float64)
    require(np.isfinite(values).all() and values[-1] < 0.5 * values[0],
            f"{where}: losses per epoch {np.round(values, 3).tolist()}: expected them finite and at least halved\n"
            "Hint: every mini-batch: probs, cache = forward_mlp(Xb, params); grads = backward_mlp(params, cache, yb); "
            "params[k] -= lr * grads[k] for every key")
    accuracy = float(np.mean(mlp_forward(params, X)[0].argmax(axis=1) == labels))
    require(accuracy > 0.9, f"{where}: training accuracy {accuracy:.2f} on 3 separable clusters, expected > 0.9")


def test_train_history_is_mean_loss(student, rng):
    """train_mlp: history holds each epoch's mean cross-entropy"""
    X, labels = blobs(rng, per=20)
    params, history = student.train_mlp(X, labels, [2, 5, 3], lr=0.0, epochs=3, batch_size=15, rng=rng)
    expected = mean_cross_entropy(params, X, labels)  # lr = 0: the parameters never move
    check_array(np.asarray(history, dtype=np.float64), np.full(3, expected),
                "train_mlp(..., lr=0.0, epochs=3): history (with lr = 0 every epoch has the loss of the initial net)",
                rtol=1e-7, hint="history[e] is the mean cross-entropy over the epoch's samples: average the "
                                "mini-batch losses weighted by their sizes (or the loss on all of X); one float "
                                "per epoch, not per mini-batch, not a sum")


def test_train_reproducible(student, seed):
    """train_mlp: the same rng seed gives the same trained network, another seed another one"""
    X, labels = blobs(np.random.default_rng([seed, 7]))
    run = [student.train_mlp(X, labels, [2, 6, 3], lr=0.3, epochs=3, batch_size=20,
                             rng=np.random.default_rng([seed, s])) for s in (1, 1, 2)]
    hint = ("use only the rng argument, for init_mlp and for the shuffling (rng.permutation(m)); np.random.shuffle "
            "or np.random.seed use the global state")
    for key in ("W1", "b1", "W2", "b2"):
        check_array(run[1][0][key], run[0][0][key], f"train_mlp twice with the same seed: params[{key!r}]", rtol=1e-12,
                    atol=1e-14, hint=hint)
    require(not np.allclose(run[2][0]["W1"], run[0][0]["W1"]),
            f"train_mlp with two different rng seeds returned the same W1\nHint: {hint}")


def test_train_inputs_unchanged(student, rng):
    """train_mlp: X and y are left untouched (shuffle indices, not the data)"""
    X, labels = blobs(rng, per=10)
    X_before, labels_before = X.copy(), labels.copy()
    params, history = student.train_mlp(X, labels, [2, 4, 3], lr=0.3, epochs=4, batch_size=8, rng=rng)
    hint = ("rng.shuffle(X) reorders the caller's data (and shuffling X and y separately breaks the pairs): "
            "draw order = rng.permutation(m) and take X[order[i:i + batch_size]]")
    check_array(X, X_before, "X after train_mlp(X, y, ...)", rtol=0, atol=0, hint=hint)
    check_array(labels, labels_before, "y after train_mlp(X, y, ...)", rtol=0, atol=0, hint=hint)
    # The training itself (reference over 1,000 seeds: the last epoch's loss at most 0.70 of the first one's).
    where = "train_mlp(X (30, 2), y, [2, 4, 3], lr=0.3, epochs=4, batch_size=8, rng)"
    check_params_structure(params, [2, 4, 3], where)
    values = np.asarray(history, dtype=np.float64) if isinstance(history, (list, tuple)) else np.zeros(0)
    require(values.shape == (4,) and np.isfinite(values).all() and values[-1] < values[0],
            f"{where}: history should hold 4 finite per-epoch losses, the last below the first; got {history!r}\n"
            "Hint: every mini-batch: forward_mlp, backward_mlp, params[k] -= lr * grads[k]; then append the epoch's "
            "mean loss")


@pytest.mark.parametrize("case", ["X-1d", "X-3d", "y-short", "y-long", "y-column", "X-narrow", "X-wide"])
def test_train_rejects_bad_input(student, rng, case):
    """train_mlp: X not (m, layer_sizes[0]) or y not (m,) raise ValueError naming the shapes, before training"""
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 3, size=6)
    X, y = {"X-1d": (X[0], y[:2]), "X-3d": (X[:, :, None] * np.ones(2), y), "y-short": (X, y[:5]),
            "y-long": (X, np.append(y, 0)), "y-column": (X, y[:, None]), "X-narrow": (X[:, :1], y),
            "X-wide": (np.hstack([X, X]), y)}[case]
    call = f"train_mlp(X {X.shape}, y {y.shape}, layer_sizes=[2, 4, 3], lr=0.1, epochs=1, batch_size=4, rng)"
    msg = expect_raises(ValueError, student.train_mlp, X, y, [2, 4, 3], 0.1, 1, 4, rng, call=call,
                        hint="check X.ndim == 2, X.shape[1] == layer_sizes[0] and y.shape == (X.shape[0],) "
                             "(with == / !=, not < or >) before training, and raise ValueError")
    require(str(X.shape) in msg, f"{call}: the ValueError should name X's shape {X.shape}, got {msg!r}")


@pytest.mark.points(4)
def test_mnist_accuracy(student, mnist, rng):
    """train_mlp: 10-class MNIST, test accuracy of the trained network"""
    run = MNIST_RUNS[mnist.training_set]
    where = (f"train_mlp(MNIST {mnist.training_set} X {mnist.X_train.shape}, y, {MNIST_SIZES}, lr={MNIST_LR}, "
             f"epochs={run['epochs']}, batch_size={MNIST_BATCH}, rng)")
    params, history = student.train_mlp(mnist.X_train, mnist.y_train, MNIST_SIZES, lr=MNIST_LR, epochs=run["epochs"],
                                        batch_size=MNIST_BATCH, rng=rng, _time_limit=15)
    check_params_structure(params, MNIST_SIZES, where)
    probs, _ = reference("ch3_3_mlp_forward").forward_mlp(mnist.X_test, {k: np.asarray(params[k], dtype=np.float64)
                                                                         for k in ("W1", "b1", "W2", "b2")})
    accuracy = float(np.mean(probs.argmax(axis=1) == mnist.y_test))
    losses = np.round(np.asarray(history, dtype=np.float64), 3).tolist()
    require(accuracy >= run["threshold"],
            f"{where}: accuracy {accuracy:.4f} on the 10,000 test images, expected at least {run['threshold']:.2f} "
            f"(the reference reaches 0.90-0.92 on the 5k subset); losses per epoch: {losses}\n"
            "Hint: the training set is sorted by label: shuffle it every epoch (order = rng.permutation(m)), or the "
            "last mini-batches, all 9s, undo the rest; and step AGAINST the gradient: params[k] -= lr * grads[k]")
