"""Hidden suite, chapter 4.6: the affine augmentation (against the reference and against exact turns and moves),
the capstone's initialisation (shapes, float32, the documented draws), its forward pass with and without dropout,
its backward pass against numerical directional derivatives of its own forward pass, and the training itself:
MNIST test accuracy after a short time budget (measured here from its predictions), the budget respected, small
deterministic runs against the reference (the first step, whole epochs, early stopping, the time schedule driven
by a clock of the test's own), reproducibility, an honest history, input formats, errors; then the ensemble: one
network per spawned generator, and the prediction over networks and views."""
import time

import numpy as np
import pytest

from autograder.oracle import cross_entropy
from autograder.plots import record_training
from autograder.problems import toy_digits
from autograder.reference import memoized, reference, seconds_here
from dlcourse.testing import check_array, check_scalar, expect_raises, require


# ---------------------------------------------------------------- random_affine

class FixedDraws:
    """A stand-in for a Generator whose ``uniform`` calls return the given arrays, in order: an exact turn, zoom or
    move, where a real generator's draws are random. Sent to the student's process by value."""

    def __init__(self, *draws):
        self.draws = [np.asarray(d, dtype=float) for d in draws]

    def uniform(self, low=0.0, high=1.0, size=None):
        out = self.draws.pop(0)
        if out.shape != np.empty(size).shape:  # raised in the student's process: plain Python, no kit import
            raise ValueError(f"random_affine drew rng.uniform(..., size={size!r}); expected the documented sizes in "
                             f"order: N angles, N scales, (N, 2) moves")
        return out


AFFINE_HINT = ("output pixel (i, j) reads the input at (cy + (cos a * u - sin a * v) / s, cx + (sin a * u + cos a * v) "
               "/ s) with u = i - cy - dy, v = j - cx - dx, cy = (H - 1) / 2, cx = (W - 1) / 2, a in radians; "
               "bilinear: (1 - fy) * ((1 - fx) * top-left + fx * top-right) + fy * (...bottom...), f the fractional "
               "parts; 0 outside the image")


def test_random_affine_exact_turns_and_moves(student, rng):
    """random_affine: no draw changes nothing, a quarter turn is np.rot90 clockwise, a whole-pixel move a shift"""
    N, C = 3, 2
    X = rng.random((N, C, 28, 28))
    X_before = X.copy()
    cases = [("a zero draw (no turn, zoom 1, no move)", dict(), (np.zeros(N), np.zeros(N), np.zeros((N, 2))), X),
             ("a quarter turn (a = 90 degrees)", dict(degrees=90.0), (np.full(N, 90.0), np.zeros(N), np.zeros((N, 2))),
              np.rot90(X, -1, axes=(2, 3)))]
    moved = np.zeros_like(X)  # down by 1, left by 2: out[i, j] = X[i - 1, j + 2]
    moved[:, :, 1:, :-2] = X[:, :, :-1, 2:]
    cases.append(("a move of dy = 1, dx = -2", dict(), (np.zeros(N), np.zeros(N), np.tile([1.0, -2.0], (N, 1))),
                  moved))
    for what, kwargs, draws, want in cases:
        out = student.random_affine(X, FixedDraws(*draws), **kwargs)
        check_array(np.asarray(out), want, f"random_affine(X (3, 2, 28, 28), rng) with {what}", rtol=0, atol=1e-5,
                    hint=AFFINE_HINT)
    check_array(X, X_before, "X after random_affine(X, rng)", rtol=0, atol=0,
                hint="write into a new array; never the caller's images")


@pytest.mark.parametrize("shape, kwargs", [((5, 1, 28, 28), dict()),
                                           ((5, 1, 28, 28), dict(degrees=30.0, scale=0.3, shift=4.0)),
                                           ((3, 2, 30, 27), dict(degrees=40.0, scale=0.3, shift=6.0))],
                         ids=["defaults", "wide", "two-channels-30x27"])
def test_random_affine_matches_reference(student, rng, shape, kwargs):
    """random_affine: the reference's images for the same seed: the draws, the map and the bilinear reading"""
    X = rng.random(shape) * (rng.random(shape) < 0.3)
    seed = int(rng.integers(2 ** 31))
    out = student.random_affine(X, np.random.default_rng(seed), **kwargs)
    shown = "".join(f", {k}={v}" for k, v in kwargs.items())
    call = f"random_affine(X {shape}, np.random.default_rng({seed}){shown})"
    require(isinstance(out, np.ndarray) and out.dtype == np.float32,
            f"{call}: expected a float32 array, got {type(out).__name__} {getattr(out, 'dtype', '')}")
    want = reference("ch4_6_capstone").random_affine(X, np.random.default_rng(seed), **kwargs)
    check_array(out, want, call, rtol=1e-4, atol=1e-5,
                hint="draw rng.uniform(-degrees, degrees, N), then rng.uniform(-scale, scale, N) (zoom = 1 + it), then "
                     "rng.uniform(-shift, shift, (N, 2)) (dy, dx); " + AFFINE_HINT)


def test_random_affine_bad_shape(student):
    """random_affine: images that are not (N, C, H, W) raise ValueError naming the shape"""
    msg = expect_raises(ValueError, student.random_affine, np.zeros((4, 784)), np.random.default_rng(0),
                        call="random_affine(X (4, 784), rng)",
                        hint="reshape rows to images first: random_affine takes (N, C, H, W)")
    require("(4, 784)" in msg, f"random_affine(X (4, 784)): the ValueError should name the shape, got {msg!r}")
    msg = expect_raises(ValueError, student.random_affine, np.zeros((2, 1, 1, 28, 28)), np.random.default_rng(0),
                        call="random_affine(X (2, 1, 1, 28, 28), rng)", hint="images are 4-D: (N, C, H, W)")
    require("(2, 1, 1, 28, 28)" in msg,
            f"random_affine(X (2, 1, 1, 28, 28)): the ValueError should name the shape, got {msg!r}")


# ---------------------------------------------------------------- capstone_forward / capstone_backward

CAPSTONE_SHAPES = {"W1": (8, 1, 3, 3), "b1": (8,), "W2": (16, 8, 3, 3), "b2": (16,), "W3": (784, 128),
                   "b3": (128,), "W4": (128, 10), "b4": (10,)}


def test_init_capstone(student, rng):
    """init_capstone: the documented shapes, float32, He scales drawn in the documented order, zero biases"""
    seed = int(rng.integers(2 ** 31))
    params = student.init_capstone(np.random.default_rng(seed))
    require(isinstance(params, dict) and sorted(params) == sorted(CAPSTONE_SHAPES),
            f"init_capstone(rng): expected a dict with the keys {sorted(CAPSTONE_SHAPES)}, got "
            f"{sorted(params) if isinstance(params, dict) else type(params).__name__}")
    for key, shape in CAPSTONE_SHAPES.items():
        require(np.shape(params[key]) == shape,
                f"init_capstone(rng): params[{key!r}] has shape {np.shape(params[key])}, expected {shape}\nHint: "
                "conv kernels are (filters, channels, 3, 3): 8 filters on 1 channel, then 16 on 8; the hidden layer "
                "takes the 16 * 7 * 7 = 784 pooled values to 128 units, the output layer those to 10 classes")
    draws = np.random.default_rng(seed)
    for key, n_in, gain in (("W1", 9, 2.0), ("W2", 72, 2.0), ("W3", 784, 2.0), ("W4", 128, 1.0)):
        want = (draws.standard_normal(CAPSTONE_SHAPES[key]) * np.sqrt(gain / n_in)).astype(np.float32)
        check_array(params[key], want, f"init_capstone(np.random.default_rng({seed})): params[{key!r}]", rtol=1e-6,
                    atol=1e-8, dtype=np.float32,
                    hint=f"{key} = rng.standard_normal(shape) * sqrt({gain:g} / {n_in}) as float32, drawn in the order "
                         "W1, W2, W3, W4 (n_in is the number of inputs of one unit; gain 1 for the output layer)")
    for key in ("b1", "b2", "b3", "b4"):
        check_array(params[key], np.zeros(CAPSTONE_SHAPES[key]), f"init_capstone(rng): params[{key!r}]", atol=0,
                    dtype=np.float32, hint="the biases start at zero (float32)")



GRAD_TOL = 1e-5


@pytest.mark.points(3)
def test_capstone_gradients(student, rng):
    """capstone_backward: every gradient matches a numerical directional derivative of capstone_forward's loss"""
    params = {k: np.array(v, dtype=np.float64) for k, v in student.init_capstone(rng).items()}
    for key in params:
        if not key.startswith("W"):
            params[key] = params[key] + rng.normal(scale=0.05, size=params[key].shape)
    X, y = rng.random((4, 784)), rng.integers(0, 10, size=4)
    mask_seed = int(rng.integers(2 ** 31))

    def forward(p):  # in training, with dropout: a generator of the same seed draws the same mask at every call
        return student.capstone_forward(p, X, np.random.default_rng(mask_seed))

    probs, cache = forward(params)
    require(np.asarray(probs).dtype == np.float64,
            f"capstone_forward with float64 params: probs are {np.asarray(probs).dtype}, expected float64\nHint: "
            "compute in the dtype of params['W1'] (convert X to it), so a gradient check can run in float64")
    grads = student.capstone_backward(params, cache, y)
    require(isinstance(grads, dict) and sorted(grads) == sorted(params),
            f"capstone_backward: expected a dict with the keys {sorted(params)}, got "
            f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    # A tiny step (float64 rounding costs ~1e-9 relative here) makes it unlikely that a ReLU or the winner of a
    # max-pool window changes within it; as it still happens for ~5% of random directions, a parameter passes when
    # one of 3 directions agrees (a wrong gradient agrees with none of them).
    h = 1e-7
    for key in params:
        g = np.asarray(grads[key], dtype=np.float64)
        require(g.shape == params[key].shape, f"capstone_backward: grads[{key!r}] has shape {g.shape}, params[{key!r}] "
                                              f"{params[key].shape}")
        for _ in range(3):
            D = rng.normal(size=params[key].shape)
            D /= np.linalg.norm(D)
            plus = cross_entropy(forward({**params, key: params[key] + h * D})[0], y)
            minus = cross_entropy(forward({**params, key: params[key] - h * D})[0], y)
            numeric = (plus - minus) / (2 * h)
            analytic = float(np.vdot(g, D))
            err = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-12)
            if err < GRAD_TOL:
                break
        require(err < GRAD_TOL,
                f"capstone_backward(params, cache, y) for 4 images, forward with dropout (rng given): along a random "
                f"direction of {key!r} the gradient gives {analytic:.6g}, a numerical derivative of capstone_forward's "
                f"mean cross-entropy gives {numeric:.6g} (relative error {err:.1e}, must be < {GRAD_TOL:g})\nHint: "
                "dZ = (probs - Y) / m once; back through the output layer, dropout_backward with the forward pass's "
                "mask and the ReLU mask of the hidden layer, the hidden layer, reshape to the pooled maps, "
                "max_pool_backward, times the ReLU mask of the PRE-activation, conv2d_backward; the second "
                "convolution block first")


@pytest.mark.parametrize("training", [False, True], ids=["evaluation", "training"])
def test_capstone_forward_dropout(student, rng, training):
    """capstone_forward: dropout 0.3 on the hidden layer only when an rng is given, drawn as the reference's"""
    ref = reference("ch4_6_capstone")
    params = {k: np.array(v, dtype=np.float64) for k, v in ref.init_capstone(rng).items()}
    X = rng.random((6, 784))
    mask_seed = int(rng.integers(2 ** 31))
    args = (np.random.default_rng(mask_seed),) if training else ()
    call = (f"capstone_forward(params, X (6, 784), np.random.default_rng({mask_seed}))" if training
            else "capstone_forward(params, X (6, 784)) (no rng: evaluation)")
    probs = np.asarray(student.capstone_forward(params, X, *args)[0])
    want = ref.capstone_forward(params, X, *(np.random.default_rng(mask_seed),) if training else ())[0]
    check_array(probs, want, call, rtol=1e-6, atol=1e-9,
                hint=("in training (rng given) the hidden layer's ReLU output goes through dropout(A, 0.3, rng), its "
                      "only draw, before the output layer" if training else
                      "without an rng nothing is dropped (dropout(..., training=False) returns A itself): evaluation "
                      "and prediction see the whole network"))


# ---------------------------------------------------------------- the capstone

# MNIST: train_capstone(X_train as float32, y_train, rng, time_budget=4), accuracy of predict_capstone on the official
# 10k test images, computed here. The budget is wall-clock time, so how much the network learns in it depends on how
# busy the 2-core machine is: the reference (affine augmentation, hidden layer of 128 with dropout, one network) was
# measured at three levels of load (2026-12-04, OpenBLAS 0.3.31 SkylakeX, one BLAS thread as in the sandbox).
# subset5k (5,000 training images), reference solution, 10 seeds each:
#   idle, seeds 0..9: min 0.9638, median 0.9745, max 0.9784; 5-7 epochs.
#   another grading beside it (one busy-loop process), seeds 0..9: min 0.9680, median 0.9730, max 0.9773.
#   heavy load (3 busy-loop processes), seeds 100..109: min 0.9378, median 0.9510, max 0.9607; 2-3 epochs;
#     returned within 4.23 s.
#   Threshold 0.90: 3.8 points under the worst seed under heavy load, 6.4 under the worst beside another grading.
#   2026-12-05, random_affine 3x faster and the sandbox's malloc slack (MALLOC_TOP_PAD_), one BLAS thread, idle,
#     seeds 0..9: min 0.9751, median 0.9776, max 0.9819; 7-8 epochs; returned within 4.59 s. The loaded
#     figures above predate both changes, which only add epochs: the threshold keeps at least that margin.
#   (0.92 was too close for the previous reference: during a mutation run beside the project's test suite, a load
#   heavier still, its equivalent scored 0.9192.)
#   (Earlier measures, the previous reference without the hidden layer: 4 s gave min 0.9649 beside another grading
#   and 0.9340 under heavy load; the budget was 8 s until the class benchmark showed this test was a third of a whole
#   submission's CPU time.)
# full (60k training images): NOT MEASURED (not available offline here). In 4 s the reference makes about as many
#   steps as on the subset, on 12x more distinct images, so it is expected to do at least as well; the threshold is
#   the subset's.
MNIST_BUDGET = 4.0
# The budget follows the grading machine's speed: at least the time the reference takes here, now, for BUDGET_STEPS
# mini-batches (timed just before the student's run, with their worker stopped: the median of 3 runs of 10). Measured
# 2026-12-05 on a 2 GHz AMD EPYC with AVX2 only (OpenBLAS Haswell kernel, 3x slower than the machine above): a
# mini-batch took 20-40 ms idle; 4 s gave the reference 2-3 epochs and 0.948-0.954 idle, and under the project's test
# suite beside it 1 epoch and 0.853-0.891, under the threshold. With the budget below: idle, 5.4-7.7 s, 4-5 epochs,
# 0.966-0.971 (seeds 0..4); under 3 busy loops 9.9-16.4 s, 4-5 epochs, 0.964-0.971 (seeds 100..103). On the machine
# above a mini-batch takes about 8 ms (7-8 epochs of 71 in about 4.5 s), so 300 of them (4 epochs of the subset) fit
# in 4 s and the budget there stays 4 s, as measured.
# At most MAX_SCALE times the budget: what a slow machine can ask of a grading's time.
BUDGET_STEPS, MAX_SCALE = 300, 5.0
# overrun: seconds the call may take beyond a 4 s time_budget, measured here (the last mini-batch, the last
# validation, sending the images to the worker: the full set is 188 MB of float32 and its validation split 6,000
# images); it grows with the budget on a slower machine.
MNIST_RUNS = {"subset5k": {"threshold": 0.90, "overrun": 2.5}, "full": {"threshold": 0.90, "overrun": 6.0}}


DRAWS_HINT = ("the random draws come in a fixed order: the split (order = rng.permutation(m), its first max(1, m // 10) "
              "images for validation) unless X_val is given, then init_capstone(rng), then every epoch "
              "rng.permutation(m_train), cut into consecutive mini-batches of 64, each through "
              "random_affine(Xb, rng) and then capstone_forward(params, Xb, rng) (dropout's mask); with "
              "validate=False no split")
UPDATE_HINT = ("the update of every mini-batch: capstone_backward + the gradient of l2_regularization(params, 5e-4), "
               "clip_gradients(..., 5), then momentum_update(param, grad, velocity, lr, 0.9) with lr = 0.025 * "
               "(1 + cos(pi * f)), f = steps done BEFORE the mini-batch / (max_epochs * ceil(m_train / 64)), counted "
               "over the whole run (0.05 for the first mini-batch)")
EPOCH_HINTS = {
    "train_loss": "train_loss is the cross-entropy of each mini-batch's probabilities BEFORE its update, averaged over "
                  "the epoch's images. If that is right: " + DRAWS_HINT + "; and " + UPDATE_HINT,
    "train_accuracy": "train_accuracy is the fraction of the epoch's (augmented) training images whose argmax of the "
                      "probabilities BEFORE the mini-batch's update is the label",
    "val_loss": "val_loss is cross_entropy(capstone_forward(params, X_val)[0], y_val) with the parameters at the END of "
                "the epoch (on X_val, y_val when given, else on the split-off 10%). If that is right: " + UPDATE_HINT,
    "val_accuracy": "val_accuracy is the fraction of the validation images whose argmax is the label (a float)",
}


def run_both(student, args, kwargs, train_seed, clock=None):
    """The student's and the reference's train_capstone on the same inputs, each with np.random.default_rng(seed)
    and, when ``clock`` makes clocks, a fresh clock of its own. The reference's run is the same for every
    submission graded with this seed: it is computed once per grading process."""
    runs = []
    for fn, extra in ((student.train_capstone, {"_time_limit": 60}),
                      (memoized(reference("ch4_6_capstone").train_capstone), {})):
        if clock is not None:
            extra = {**extra, "clock": clock()}
        runs.append(fn(*args, np.random.default_rng(train_seed), **kwargs, **extra))
    return tuple(runs)


def check_same_training(got, want, where, m_train, m_val):
    """The student's train_capstone run against the reference's with the same seed: every history entry epoch by
    epoch (the first difference is reported, with the part of the recipe it points to), the number of epochs, the
    stop reason, the best epoch and the returned parameters."""
    params, history = got
    ref_params, ref_history = want
    require(isinstance(history, dict) and isinstance(params, dict),
            f"{where}: expected (params, history), two dicts, got {type(params).__name__}, {type(history).__name__}")
    n = len(ref_history["train_loss"])
    lists = {key: list(history.get(key, [])) for key in EPOCH_HINTS}
    tolerances = {"train_loss": (1e-3, 1e-5), "train_accuracy": (0.0, 1.01 / m_train),
                  "val_loss": (1e-3, 1e-5), "val_accuracy": (0.0, 1.01 / m_val)}
    for e in range(min([n, *(len(v) for k, v in lists.items() if ref_history[k])])):
        for key, hint in EPOCH_HINTS.items():
            if not ref_history[key]:  # validate=False: no validation, nothing to compare
                continue
            if e > 0 and key.startswith("train"):
                hint = ("epoch 0 agreed: check what goes on from epoch to epoch: a new rng.permutation(m_train) every "
                        "epoch, the velocity kept, f counted over all max_epochs * ceil(m_train / 64) steps (not "
                        "restarted every epoch). " + hint)
            rtol, atol = tolerances[key]
            # Rounding in another order (a correct implementation of its own) drifts over the steps of a run: the
            # early-stopping run's training loss differed by 1.3e-3 relative after 18 steps with another BLAS
            # thread count. The tolerance grows with the epoch; the first epochs, where a wrong recipe shows at
            # once, stay tight.
            rtol, atol = (rtol * (1 + e / 4), atol) if key.endswith("loss") else (rtol, atol * (1 + e // 8))
            check_scalar(lists[key][e], ref_history[key][e], f"{where}: history[{key!r}][{e}] (epoch {e})",
                         rtol=rtol, atol=atol, hint=hint)
    stop_hint = ("stop after max_epochs epochs, or when early_stopping(watched, patience=5) says so, where watched are "
                 "the validation losses of the epochs whose last mini-batch had lr <= 0.05 / 5")
    for key in EPOCH_HINTS:
        want_n = len(ref_history[key])
        require(len(lists[key]) == want_n,
                f"{where}: history[{key!r}] has {len(lists[key])} values, expected {want_n}"
                + (f", one per epoch (the reference stopped with {ref_history['stop_reason']!r})\nHint: {stop_hint}"
                   if want_n else "\nHint: validate=False makes no validation pass: the validation lists stay empty"))
    require(history.get("stop_reason") == ref_history["stop_reason"],
            f"{where}: history['stop_reason'] = {history.get('stop_reason')!r}, expected "
            f"{ref_history['stop_reason']!r}\nHint: {stop_hint}")
    require(history.get("best_epoch") == ref_history["best_epoch"],
            f"{where}: history['best_epoch'] = {history.get('best_epoch')!r}, expected {ref_history['best_epoch']} "
            f"(validation losses {np.round(ref_history['val_loss'], 4).tolist()})\nHint: until an epoch ends with lr "
            "<= 0.05 / 5 the latest epoch is the best; from then on only those (watched) epochs count, and the one "
            "with the lowest validation loss wins (a tie keeps the earlier one)")
    for key in ref_params:
        # Float32 rounding in another order (another BLAS thread count, another correct implementation) grows over
        # tens of steps: up to 1.3e-4 on a bias of 0.04 whose largest entry is 0.18 (measured, 28 steps). Allowing
        # 0.2% of the array's largest entry keeps it under a third of the tolerance; the parameters of a neighbouring
        # epoch still miss it by 10-60 times (measured with the live parameters returned).
        scale = 2e-3 * float(np.max(np.abs(ref_params[key]), initial=0.0))
        check_array(params.get(key), ref_params[key], f"{where}: the returned params[{key!r}]", rtol=2e-3,
                    atol=2e-5 + scale,
                    hint="return a copy of the parameters taken at the end of the best epoch (history['best_epoch'])")


def check_predictions(pred, m, where):
    require(isinstance(pred, np.ndarray) and pred.shape == (m,) and pred.dtype.kind in "iu",
            f"{where}: expected integer labels of shape ({m},), got {type(pred).__name__} "
            f"{getattr(pred, 'shape', '')} {getattr(pred, 'dtype', '')}\nHint: probs.argmax(axis=1) gives int64")


def mnist_budget(student, mnist) -> float:
    """MNIST_BUDGET seconds, or longer on a slow or busy machine: the time the reference takes here for
    BUDGET_STEPS mini-batches of 64 (augmentation, forward, backward, update), at most MAX_SCALE budgets. Timed
    with the student's worker stopped: their code cannot slow the timing down to win more time."""
    X, y = mnist.X_train[:640].astype(np.float32), mnist.y_train[:640]
    ref = reference("ch4_6_capstone")
    ten_steps = seconds_here(ref.train_capstone, X, y, np.random.default_rng(0), student=student, time_budget=120.0,
                             max_epochs=1, validate=False, show_progress=False)
    return float(np.clip(BUDGET_STEPS / 10 * ten_steps, MNIST_BUDGET, MAX_SCALE * MNIST_BUDGET))


@pytest.mark.points(5)
def test_capstone_mnist_accuracy(student, mnist, rng, record_property):
    """train_capstone: MNIST test accuracy after a short time budget"""
    run = MNIST_RUNS[mnist.training_set]
    budget = mnist_budget(student, mnist)
    overrun = run["overrun"] * budget / MNIST_BUDGET  # the last mini-batch and validation take longer here too
    where = (f"train_capstone(MNIST {mnist.training_set} X {mnist.X_train.shape}, y, rng, "
             f"time_budget={budget:.1f})")
    about = (f"{MNIST_BUDGET:g} s, or on a slow or busy machine the time the reference takes for {BUDGET_STEPS} "
             f"mini-batches there" + (": this one" if budget > MNIST_BUDGET else ""))
    X = mnist.X_train.astype(np.float32)  # half the bytes to send; the contract takes any floats in [0, 1]
    start = time.perf_counter()
    params, history = student.train_capstone(X, mnist.y_train, rng, time_budget=budget, _time_limit=budget + 10)
    took = time.perf_counter() - start
    require(took <= budget + overrun,
            f"{where} took {took:.1f} s, more than its budget + {overrun:.1f} s\nHint: check the clock before "
            "every mini-batch and stop as soon as time_budget seconds are used")
    pred = student.predict_capstone(params, mnist.X_test.astype(np.float32), _time_limit=30)
    check_predictions(pred, len(mnist.y_test), f"predict_capstone(params, X_test {mnist.X_test.shape})")
    accuracy = float(np.mean(pred == mnist.y_test))
    # Measured here, on the grader's side, from the predictions: the figure a course's leaderboard shows.
    record_property("leaderboard", ("Capstone test accuracy", round(accuracy, 4)))
    record_training(record_property, "train_capstone on MNIST", history, mnist.y_test, pred,
                    keys=("train_loss", "val_loss", "train_accuracy", "val_accuracy"))
    val = history.get("val_accuracy") if isinstance(history, dict) else None
    require(accuracy >= run["threshold"],
            f"{where}: accuracy {accuracy:.4f} on the 10,000 test images, expected at least {run['threshold']:.2f} "
            f"(the budget is {about}; the reference reaches 0.95-0.98 in it); validation accuracy per epoch: "
            f"{val}\nHint: shuffle every epoch (the 5k subset is sorted by label), momentum 0.9 with a learning rate "
            "around 0.05 for mini-batches of 64, He initialisation, a learning rate that decays to 0 by the end of "
            "the budget, and a network small enough to make many steps in the time")


@pytest.mark.points(2)
def test_capstone_reproducible(student, seed):
    """train_capstone: with max_epochs the same seed gives the same network, another seed another; inputs untouched"""
    X, y = toy_digits(np.random.default_rng([seed, 3]), 640)
    X_before, y_before = X.copy(), y.copy()
    runs = [student.train_capstone(X, y, np.random.default_rng([seed, s]), time_budget=120.0, max_epochs=1,
                                   _time_limit=60) for s in (1, 1, 2)]
    hint = ("take every random draw (the split, init_capstone, the shuffling, the augmentation, dropout) from the rng "
            "argument; "
            "with max_epochs set, let the learning rate follow the epochs, not the clock")
    for key in runs[0][0]:
        check_array(np.asarray(runs[1][0][key]), np.asarray(runs[0][0][key]),
                    f"train_capstone(X (640, 784), y, rng, max_epochs=1) twice with the same seed: params[{key!r}]",
                    rtol=1e-5, atol=1e-7, hint=hint)
    require(any(not np.allclose(runs[2][0][k], runs[0][0][k]) for k in runs[0][0]),
            f"train_capstone with two different rng seeds returned the same parameters\nHint: {hint}")
    want = memoized(reference("ch4_6_capstone").train_capstone)(X, y, np.random.default_rng([seed, 1]),
                                                                time_budget=120.0, max_epochs=1)
    check_same_training(runs[0], want, f"train_capstone(X (640, 784), y, np.random.default_rng([{seed}, 1]), "
                                       "max_epochs=1) (64 images split off), against the reference", 576, 64)
    check_array(X, X_before, "X after train_capstone(X, y, ...)", rtol=0, atol=0,
                hint="augment copies of the images (random_affine returns a new array); never modify the caller's X")
    check_array(y, y_before, "y after train_capstone(X, y, ...)", rtol=0, atol=0)


@pytest.mark.points(2)
def test_capstone_history_and_validation(student, rng):
    """train_capstone: max_epochs respected, history per epoch, validation accuracy of the returned parameters"""
    X, y = toy_digits(rng, 500)  # 8 mini-batches, the last of 52 images
    X_val, y_val = toy_digits(rng, 200)
    train_seed = int(rng.integers(2 ** 31))
    (params, history), want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=2, X_val=X_val,
                                                             y_val=y_val), train_seed)
    where = (f"train_capstone(X (500, 784), y, np.random.default_rng({train_seed}), max_epochs=2, X_val (200, 784), "
             "y_val)")
    require(isinstance(history, dict), f"{where}: history should be a dict of per-epoch lists, got "
                                       f"{type(history).__name__}")
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"):
        require(len(history.get(key, [])) == 2, f"{where}: history[{key!r}] should hold one value per epoch (2), got "
                                                f"{history.get(key)!r}")
    require(history.get("stop_reason") == "max_epochs",
            f"{where}: history['stop_reason'] should be 'max_epochs', got {history.get('stop_reason')!r}")
    best = history.get("best_epoch")
    require(best in (0, 1), f"{where}: history['best_epoch'] = {best!r} should be the index (0 or 1) of the epoch "
                            "whose parameters were returned")
    pred = student.predict_capstone(params, X_val)
    check_predictions(pred, 200, "predict_capstone(params, X_val (200, 784))")
    check_scalar(history["val_accuracy"][best], float(np.mean(pred == y_val)),
                 f"{where}: history['val_accuracy'][best_epoch] vs the accuracy of the returned params on X_val",
                 rtol=1e-9, hint="evaluate on the X_val, y_val given (not on a split of X), and return the "
                                 "parameters of the best epoch (a copy taken then, not the arrays training goes on "
                                 "updating)")
    check_same_training((params, history), want, f"{where}, against the reference with the same seed", 500, 200)


@pytest.mark.parametrize("images", ["digits", "bright"])
def test_capstone_first_step(student, rng, images):
    """train_capstone: one mini-batch (64 images, max_epochs=1) gives the reference's loss, update and history"""
    X, y = toy_digits(rng, 64)
    if images == "bright":  # nearly white images: the first gradient's global norm (about 8) is clipped to 5
        X = rng.uniform(0.95, 1.0, size=X.shape)
    X_val, y_val = toy_digits(rng, 32)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=1, X_val=X_val, y_val=y_val), train_seed)
    what = "nearly white images (a gradient clipped to norm 5)" if images == "bright" else "a single mini-batch"
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), max_epochs=1, "
                                   f"X_val (32, 784), y_val): {what}", 64, 32)


def test_capstone_early_stopping(student, rng):
    """train_capstone: early stopping and the best epoch on the watched epochs, as the reference"""
    # 30 one-step epochs; a third of the validation labels are wrong, so the validation loss rises once the network
    # has learned the training patterns: the watched epochs (from about epoch 22) never improve on the first of them.
    X, y = toy_digits(rng, 64)
    X_val, y_val = toy_digits(rng, 30)
    y_val[:10] = (y_val[:10] + rng.integers(1, 10, size=10)) % 10
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=30, X_val=X_val, y_val=y_val),
                         train_seed)
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), "
                                   "max_epochs=30, X_val (30, 784), y_val with 10 wrong labels)", 64, 30)


def stepping_clock(steps):
    """A clock for train_capstone that reads 0 first, then moves on by ``steps`` in turn at every reading. Sent to
    the student's process by value (a closure); a fresh one per run, so both runs see the same times."""
    state = {"now": 0.0, "k": 0}

    def clock():
        now = state["now"]
        state["now"] += steps[state["k"] % len(steps)]
        state["k"] += 1
        return now
    return clock


CLOCK_HINT = ("the test's clock moves on at every reading, so the runs agree only if the clock is read where the "
              "contract says, and nowhere else: once when the call starts, before and after every mini-batch, and "
              "after every validation pass. Before a mini-batch, stop if elapsed + the last mini-batch's duration + "
              "the last validation's duration (from the reading before it) >= time_budget; lr = 0.025 * (1 + cos(pi "
              "* elapsed / time_budget)); history['seconds'] is the reading after the validation minus the start")


# (images, time_budget, the clock's steps, a third of the validation labels wrong): the first stops in the middle
# of an epoch exactly at the budget (41 = the time used + the last step + the last validation: >= matters); the
# second stops early on the clock's schedule; the others, one mini-batch an epoch on uneven steps (a step reads
# 0.25 -> 0.75, its validation 0.75 -> 2.75, the next epoch's check 3.75 + 0.5 + 2.0 = 6.25), stop before the
# first step's durations are known (2.0: the first check is 0.25 + 0 + 0), just after (6.0) or just before
# (6.5) the second epoch.
UNEVEN = (0.25, 0.5, 2.0, 1.0)
CLOCK_RUNS = {"stops-mid-epoch": (256, 41.0, (1.0,), False), "early-stopping-on-the-clock": (64, 90.0, (1.0,), True),
              "one-epoch": (64, 2.0, UNEVEN, False), "stops-at-6.25": (64, 6.0, UNEVEN, False),
              "goes-on-at-6.25": (64, 6.5, UNEVEN, False)}


@pytest.mark.parametrize("run", CLOCK_RUNS)
def test_capstone_time_schedule(student, rng, run):
    """train_capstone on a test clock: the budget, the learning rate over time, history['seconds'], as the reference"""
    m, budget, steps, noisy = CLOCK_RUNS[run]
    X, y = toy_digits(rng, m)
    X_val, y_val = toy_digits(rng, 30)
    if noisy:  # the validation loss rises once training fits the patterns: early stopping on the watched epochs
        y_val[:10] = (y_val[:10] + rng.integers(1, 10, size=10)) % 10
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=budget, X_val=X_val, y_val=y_val), train_seed,
                         clock=lambda: stepping_clock(steps))
    where = (f"train_capstone(X ({m}, 784), y, np.random.default_rng({train_seed}), time_budget={budget:g}, X_val "
             f"(30, 784), y_val, clock=a test clock reading 0, then moving on by {', '.join(map(str, steps))} s in turn)")
    history = got[1] if isinstance(got, tuple) and len(got) == 2 else None
    seconds = list(history.get("seconds", [])) if isinstance(history, dict) else None
    require(seconds == want[1]["seconds"], f"{where}: history['seconds'] = {seconds}, expected "
                                           f"{want[1]['seconds']}\nHint: {CLOCK_HINT}")
    check_same_training(got, want, where, m, 30)


def test_capstone_input_formats(student, rng):
    """predict_capstone: (m, 784) rows and (m, 1, 28, 28) images give the same labels"""
    params = student.init_capstone(rng)
    X = rng.random((30, 784))
    flat = student.predict_capstone(params, X)
    check_predictions(flat, 30, "predict_capstone(params, X (30, 784))")
    images = student.predict_capstone(params, X.reshape(30, 1, 28, 28))
    check_array(images, flat, "predict_capstone(params, X as (30, 1, 28, 28)) vs X as (30, 784)", atol=0,
                hint="reshape (m, 784) rows to (m, 1, 28, 28) images (row-major), and accept both")


def test_capstone_backward_bad_labels(student, rng):
    """capstone_backward: labels that do not match the forward pass's images raise ValueError naming both"""
    params = reference("ch4_6_capstone").init_capstone(rng)
    _, cache = student.capstone_forward(params, rng.uniform(size=(4, 784)))
    for y in (np.zeros((4, 1), dtype=np.int64), np.zeros(5, dtype=np.int64), np.zeros(3, dtype=np.int64)):
        call = f"capstone_backward(params, cache of 4 images, y {y.shape})"
        msg = expect_raises(ValueError, student.capstone_backward, params, cache, y, call=call,
                            hint="check y.shape == (m,) for the m images of the forward pass (a (m, 1) column "
                                 "would index an (m, m) block of probs) and raise ValueError")
        require(str(y.shape) in msg, f"{call}: the ValueError should name y's shape {y.shape}, got {msg!r}")


def test_capstone_split_of_a_small_set(student, rng):
    """train_capstone: without X_val, max(1, m // 10) images are held out, even from 8 images"""
    X, y = toy_digits(rng, 8)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=1), train_seed)
    check_same_training(got, want, f"train_capstone(X (8, 784), y, np.random.default_rng({train_seed}), max_epochs=1) "
                                   "(1 image held out: max(1, 8 // 10))", 7, 1)


def test_capstone_tiny_budget(student, rng):
    """train_capstone: a budget too short for one mini-batch trains nothing (the clock is checked before each)"""
    X, y = toy_digits(rng, 64)
    X_val, y_val = toy_digits(rng, 16)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=1e-6, X_val=X_val, y_val=y_val), train_seed)
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), "
                                   "time_budget=1e-6, X_val, y_val): no time for a single step", 64, 16)


def test_capstone_errors(student, rng):
    """train_capstone: mismatched labels, labels outside 0..9 and unscaled pixels raise ValueError at once"""
    X, y = toy_digits(rng, 40)
    msg = expect_raises(ValueError, student.train_capstone, X, y[:39], rng, time_budget=30.0, max_epochs=1,
                        call="train_capstone(X (40, 784), y (39,), rng)",
                        hint="check that y has one label per image before training: raise ValueError")
    require("(40, 784)" in msg and "(39,)" in msg,
            f"train_capstone(X (40, 784), y (39,)): the ValueError should name both shapes, got {msg!r}")
    bad = y.copy()
    bad[0] = 10
    expect_raises(ValueError, student.train_capstone, X, bad, rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X, y with a label 10, rng)", hint="labels are digits 0..9: raise ValueError")
    expect_raises(ValueError, student.train_capstone, X[:1], y[:1], rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X (1, 784), y (1,), rng) without X_val",
                  hint="one image cannot be split into training and validation: raise ValueError when m < 2 "
                       "and no validation set is given")
    _, history = student.train_capstone(X[:2], y[:2], rng, time_budget=30.0, max_epochs=1)
    require(len(history["val_loss"]) == 1, "train_capstone(X (2, 784), y (2,), rng, max_epochs=1): expected one "
                                           f"epoch, got history['val_loss'] = {history['val_loss']}\nHint: two "
                                           "images are enough: one for validation, one to train on")
    for kwargs in (dict(time_budget=0.0), dict(time_budget=-0.5), dict(time_budget=-1.0),
                   dict(time_budget=30.0, max_epochs=1.5), dict(time_budget=30.0, y_val=y[:5]),
                   dict(time_budget=30.0, X_val=X[:5])):
        shown = ", ".join(f"{k}={v.shape if k in ('X_val', 'y_val') else v}" for k, v in kwargs.items())
        expect_raises(ValueError, student.train_capstone, X, y, rng, **kwargs,
                      call=f"train_capstone(X, y, rng, {shown})",
                      hint="time_budget must be > 0, max_epochs a whole number >= 1 (or None), and X_val and y_val "
                           "come together or not at all: raise ValueError before training")
    _, history = student.train_capstone(X[:8], y[:8], rng, time_budget=30.0, max_epochs=np.int64(1))
    require(len(history["val_loss"]) == 1, "train_capstone(X (8, 784), y, rng, max_epochs=np.int64(1)): expected one "
                                           "epoch\nHint: a NumPy integer is a whole number: compare by value")
    expect_raises(ValueError, student.train_capstone, X, y, rng, time_budget=30.0, max_epochs=0,
                  call="train_capstone(X, y, rng, max_epochs=0)", hint="max_epochs must be None or >= 1: raise "
                                                                     "ValueError (0 epochs would train nothing)")
    expect_raises(ValueError, student.train_capstone, X * 255, y, rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X * 255 (pixels 0..255), y, rng)",
                  hint="the pixels must be scaled to [0, 1] (pixel / 255): raise ValueError for values outside")


# ---------------------------------------------------------------- the ensemble

def test_capstone_final_run_without_validation(student, rng):
    """train_capstone(validate=False): no split, no validation, every image trained on, the last epoch returned"""
    X, y = toy_digits(rng, 150)  # 3 mini-batches, the last of 22 images
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=3, validate=False), train_seed)
    where = f"train_capstone(X (150, 784), y, np.random.default_rng({train_seed}), max_epochs=3, validate=False)"
    check_same_training(got, want, where + ", against the reference", 150, 1)
    require(got[1].get("best_epoch") == 2, f"{where}: history['best_epoch'] = {got[1].get('best_epoch')!r}, expected "
                                           "2\nHint: without validation the last epoch is returned")
    X_val, y_val = toy_digits(rng, 10)
    expect_raises(ValueError, student.train_capstone, X, y, rng, time_budget=30.0, max_epochs=1, X_val=X_val,
                  y_val=y_val, validate=False, call="train_capstone(X, y, rng, X_val, y_val, validate=False)",
                  hint="validate=False trains without validation: a validation set given with it is a mistake "
                       "to report (raise ValueError), not to ignore")


def test_capstone_final_run_on_the_clock(student, rng):
    """train_capstone(validate=False) on a test clock: no validation duration in the budget check, as the reference"""
    X, y = toy_digits(rng, 192)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=10.0, validate=False), train_seed,
                         clock=lambda: stepping_clock(UNEVEN))
    where = (f"train_capstone(X (192, 784), y, np.random.default_rng({train_seed}), time_budget=10, validate=False, "
             f"clock=a test clock reading 0, then moving on by {', '.join(map(str, UNEVEN))} s in turn)")
    seconds = list(got[1].get("seconds", [])) if isinstance(got, tuple) and isinstance(got[1], dict) else None
    require(seconds == want[1]["seconds"], f"{where}: history['seconds'] = {seconds}, expected "
                                           f"{want[1]['seconds']}\nHint: {CLOCK_HINT}; without validation an "
                                           "epoch's seconds are the reading after its last mini-batch")
    check_same_training(got, want, where, 192, 1)


@pytest.mark.points(2)
def test_train_ensemble_one_network_per_spawned_generator(student, rng):
    """train_ensemble: network k is train_capstone(validate=False) with rng.spawn(networks)[k]"""
    X, y = toy_digits(rng, 192)
    train_seed = int(rng.integers(2 ** 31))
    runs = student.train_ensemble(X, y, np.random.default_rng(train_seed), networks=2, time_budget=120.0,
                                  max_epochs=2, _time_limit=90)
    where = f"train_ensemble(X (192, 784), y, np.random.default_rng({train_seed}), networks=2, max_epochs=2)"
    require(isinstance(runs, (list, tuple)) and len(runs) == 2 and all(isinstance(r, tuple) and len(r) == 2
                                                                       for r in runs),
            f"{where}: expected a list of 2 (params, history) pairs, got {type(runs).__name__} "
            f"{len(runs) if isinstance(runs, (list, tuple)) else ''}")
    ref = memoized(reference("ch4_6_capstone").train_capstone)
    for k, child in enumerate(np.random.default_rng(train_seed).spawn(2)):
        want = ref(X, y, child, time_budget=120.0, max_epochs=2, validate=False)
        check_same_training(runs[k], want, f"{where}: network {k} against train_capstone(X, y, "
                                           f"np.random.default_rng({train_seed}).spawn(2)[{k}], max_epochs=2, "
                                           "validate=False)", 192, 1)
    require(not np.allclose(runs[0][0]["W1"], runs[1][0]["W1"]),
            f"{where}: both networks have the same W1\nHint: give each network its own generator, "
            "rngs = rng.spawn(networks)")
    (single,) = student.train_ensemble(X, y, np.random.default_rng(train_seed), networks=1, time_budget=120.0,
                                       max_epochs=1, _time_limit=90)
    (child,) = np.random.default_rng(train_seed).spawn(1)
    check_same_training(single, ref(X, y, child, time_budget=120.0, max_epochs=1, validate=False),
                        f"train_ensemble(X (192, 784), y, np.random.default_rng({train_seed}), networks=1, max_epochs=1) "
                        f"against train_capstone(X, y, np.random.default_rng({train_seed}).spawn(1)[0], max_epochs=1, "
                        "validate=False)", 192, 1)
    # One network has the whole budget, no more: one too short for a single mini-batch trains nothing.
    (idle,) = student.train_ensemble(X, y, np.random.default_rng(train_seed), networks=1, time_budget=1e-6,
                                     _time_limit=90)
    (child,) = np.random.default_rng(train_seed).spawn(1)
    check_same_training(idle, ref(X, y, child, time_budget=1e-6, validate=False),
                        f"train_ensemble(X (192, 784), y, np.random.default_rng({train_seed}), networks=1, "
                        "time_budget=1e-6): no time for a single step; the one network's budget is time_budget", 192, 1)


def test_train_ensemble_bad_networks(student, rng):
    """train_ensemble: a count of networks that is not a whole number >= 1 raises ValueError"""
    X, y = toy_digits(rng, 32)
    for networks in (0, -1, 1.5):
        expect_raises(ValueError, student.train_ensemble, X, y, rng, networks=networks, time_budget=30.0,
                      max_epochs=1, call=f"train_ensemble(X, y, rng, networks={networks})",
                      hint="networks must be a whole number >= 1: raise ValueError before training")


def ensemble_probabilities(networks, X):
    """The oracle of predict_ensemble: the reference's capstone_forward probabilities (no dropout) summed over the
    networks and the five views, each view built here by slicing a zero-padded copy."""
    ref = reference("ch4_6_capstone")
    images = np.asarray(X, dtype=np.float64).reshape(-1, 1, 28, 28)
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    total = np.zeros((len(images), 10))
    for params in networks:
        for down, right in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            view = padded[:, :, 1 - down:29 - down, 1 - right:29 - right]
            total += ref.capstone_forward({k: np.asarray(v, np.float64) for k, v in params.items()}, view)[0]
    return total


def test_predict_ensemble(student, rng):
    """predict_ensemble: the argmax of the probabilities summed over the networks and the five views"""
    ref = reference("ch4_6_capstone")
    networks = [ref.init_capstone(rng) for _ in range(3)]
    for params in networks:  # larger output weights: confident, different networks and views disagree more
        params["W4"] = params["W4"] * 6
    X, _ = toy_digits(rng, 60)
    for chosen, what in ((networks, "3 networks"), (networks[:1], "1 network")):
        total = ensemble_probabilities(chosen, X)
        pred = student.predict_ensemble(chosen, X)
        check_predictions(pred, 60, f"predict_ensemble({what}, X (60, 784))")
        # A label counts if its summed probability is the largest up to rounding (float32 sums in another order).
        wrong = np.flatnonzero(total[np.arange(60), np.clip(pred, 0, 9)] < total.max(axis=1) - 1e-4)
        require(wrong.size == 0,
                f"predict_ensemble({what}, X (60, 784)): image {wrong[:1].tolist()} predicted "
                f"{pred[wrong[:1]].tolist()}, but the probabilities summed over the networks and the views favour "
                f"{total[wrong[:1]].argmax(axis=1).tolist()}\nHint: for every network and every view (the image, "
                "and the image moved by one pixel down, up, right, left with zeros coming in), add "
                "capstone_forward's probabilities without dropout; then argmax")
    for bad, what in (([], "an empty list"), (networks[0], "one params dict (not a list)")):
        expect_raises(ValueError, student.predict_ensemble, bad, X, call=f"predict_ensemble({what}, X)",
                      hint="networks is a non-empty list of parameter dicts: raise ValueError otherwise")
