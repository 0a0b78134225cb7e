"""Hidden suite, chapter 2.1: closed forms on random data, mean not sum, saturated probabilities, float32,
shape checks, and both gradients against the grader's numerical gradient."""
import numpy as np
import pytest

from autograder.gradcheck import numerical_gradient, relative_error
from autograder.plots import record_curve
from dlcourse.testing import check_array, check_scalar, expect_raises, no_warnings

MEAN_HINT = "a loss is the mean over all N = y_pred.size entries: np.mean, not np.sum"
CLIP_HINT = "log(0) = -inf: clip A to [eps, 1 - eps] (np.clip) before taking logs"
GRAD_N_HINT = "the loss divides by N = y_pred.size, so its gradient has the same 1/N factor"


def loss_slips(y_pred) -> dict:
    """What a wrong MSE's value tells: the factor between it and the right one names the slip."""
    n, rows = np.size(y_pred), len(y_pred)
    slips = {0.5: "your loss is half the expected value: this course's MSE is the plain mean of the squared "
                  "errors, with no factor 1/2",
             float(n): f"your loss is N = {n} times the expected value: a sum, not a mean (np.mean, or divide by "
                       "y_pred.size)"}
    if n != rows:
        slips[n / rows] = "divide by y_pred.size (all entries), not by len(y_pred) (the rows only)"
    return slips


def gradient_slips(y_pred) -> dict:
    """What a wrong MSE gradient's value tells."""
    n = np.size(y_pred)
    return {0.5: "your gradient is half the expected one: the derivative of (p - y)^2 is 2 (p - y), so the factor 2 "
                 "is missing",
            float(n): GRAD_N_HINT + f": yours is N = {n} times too large",
            n / 2: "your gradient lacks both the factor 2 of d(p - y)^2/dp = 2 (p - y) and the 1/N of the mean",
            -1.0: "the sign is reversed: the gradient of the loss with respect to y_pred is +2 (y_pred - y) / N"}


def true_mse(y_pred, y):
    return float(np.mean((np.asarray(y_pred, dtype=np.float64) - y) ** 2))


def true_bce(A, y, eps=1e-12):
    A = np.clip(np.asarray(A, dtype=np.float64), eps, 1 - eps)
    return float(-np.mean(y * np.log(A) + (1 - y) * np.log(1 - A)))


def random_shape(rng):
    """(m, 1), (m,) or (m, k): the loss averages over every entry whatever the shape."""
    m, k = int(rng.integers(2, 9)), int(rng.integers(2, 5))
    return [(m, 1), (m,), (m, k)][int(rng.integers(3))]


def probabilities(rng, shape, low=0.02, high=0.98):
    return rng.uniform(low, high, size=shape)


# ---------------------------------------------------------------- mse_loss

@pytest.mark.parametrize("shape", [(7, 1), (6,), (5, 3)], ids=["column", "vector", "matrix"])
def test_mse_random(student, rng, shape):
    """mse_loss: random predictions and targets"""
    y_pred, y = rng.normal(scale=3.0, size=shape), rng.normal(scale=3.0, size=shape)
    check_scalar(student.mse_loss(y_pred, y), true_mse(y_pred, y), f"mse_loss(y_pred, y) with shapes {shape}",
                 rtol=1e-10, hint="mean((y_pred - y) ** 2) over every entry", slips=loss_slips(y_pred))


def test_mse_is_a_mean(student, rng):
    """mse_loss: repeating the batch twice leaves the loss unchanged (a mean, not a sum)"""
    y_pred, y = rng.normal(size=(5, 1)), rng.normal(size=(5, 1))
    once = student.mse_loss(y_pred, y)
    twice = student.mse_loss(np.vstack([y_pred, y_pred]), np.vstack([y, y]))
    expected = true_mse(y_pred, y)
    for value, n, call in ((once, 5, "mse_loss(y_pred (5, 1), y (5, 1))"),
                           (twice, 10, "mse_loss on the batch repeated twice (the loss of the batch once)")):
        slips = {0.5: loss_slips(y_pred)[0.5], float(n): f"your loss is N = {n} times the expected value: {MEAN_HINT}"}
        check_scalar(value, expected, call, rtol=1e-10, hint=MEAN_HINT, slips=slips)


def test_mse_averages_every_column(student, rng):
    """mse_loss: a (m, k) batch is averaged over all m*k entries"""
    y_pred, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    check_scalar(student.mse_loss(y_pred, y), true_mse(y_pred, y), "mse_loss(y_pred (4, 3), y (4, 3))", rtol=1e-10,
                 hint="divide by y_pred.size (all entries), not by len(y_pred) (the rows only)",
                 slips=loss_slips(y_pred))


def test_mse_returns_float(student, rng):
    """mse_loss: returns a Python float, also for float32 input"""
    for dtype in (np.float64, np.float32):
        y_pred, y = rng.normal(size=(5, 1)).astype(dtype), rng.normal(size=(5, 1)).astype(dtype)
        out = student.mse_loss(y_pred, y)
        assert isinstance(out, float), (
            f"mse_loss(y_pred, y) with {np.dtype(dtype).name} arrays (5, 1): expected a Python float, got "
            f"{type(out).__name__} {out!r}\nHint: return float(np.mean(...)), not an array")
        check_scalar(out, true_mse(y_pred, y), f"mse_loss with {np.dtype(dtype).name} arrays", rtol=1e-6)


def test_mse_zero_for_perfect_predictions(student, rng):
    """mse_loss: 0 when the predictions are the targets"""
    y = rng.normal(size=(6, 1))
    check_scalar(student.mse_loss(y, y.copy()), 0.0, "mse_loss(y, y)", atol=0)
    check_scalar(student.mse_loss(y + 0.5, y), 0.25, "mse_loss(y + 0.5, y): every error 0.5", rtol=1e-10,
                 hint="mean((y_pred - y) ** 2) over every entry", slips=loss_slips(y))


@pytest.mark.parametrize("shapes", [((4, 1), (4,)), ((4,), (4, 1)), ((3, 1), (4, 1)), ((2, 3), (3, 2))],
                         ids=["column-vs-vector", "vector-vs-column", "wrong-length", "transposed"])
def test_mse_shape_mismatch(student, shapes):
    """mse_loss: mismatched shapes raise ValueError naming both"""
    a, b = np.ones(shapes[0]), np.zeros(shapes[1])
    msg = expect_raises(ValueError, student.mse_loss, a, b, call=f"mse_loss(y_pred {a.shape}, y {b.shape})",
                        hint="compare y_pred.shape with y.shape and raise ValueError: broadcasting (m, 1) against "
                             "(m,) makes an (m, m) matrix and a wrong loss")
    assert str(a.shape) in msg and str(b.shape) in msg, (
        f"mse_loss(y_pred {a.shape}, y {b.shape}): the ValueError should name both shapes, got {msg!r}")


# ---------------------------------------------------------------- binary_cross_entropy

@pytest.mark.parametrize("shape", [(8, 1), (6,), (4, 3)], ids=["column", "vector", "matrix"])
def test_bce_random(student, rng, shape):
    """binary_cross_entropy: random probabilities and labels"""
    A, y = probabilities(rng, shape), rng.integers(0, 2, size=shape).astype(np.float64)
    check_scalar(student.binary_cross_entropy(A, y), true_bce(A, y), f"binary_cross_entropy(A, y) with shapes {shape}",
                 rtol=1e-10, hint="-mean(y * log(A) + (1 - y) * log(1 - A)) over every entry")


def test_bce_soft_labels(student, rng):
    """binary_cross_entropy: labels between 0 and 1 follow the same formula"""
    A, y = probabilities(rng, (6, 1)), rng.uniform(size=(6, 1))
    check_scalar(student.binary_cross_entropy(A, y), true_bce(A, y), "binary_cross_entropy(A, y) with y in [0, 1]",
                 rtol=1e-10, hint="use the formula y log A + (1 - y) log(1 - A) for every entry, no branching on y")


def test_bce_is_a_mean(student, rng):
    """binary_cross_entropy: repeating the batch leaves the loss unchanged (a mean, not a sum)"""
    A, y = probabilities(rng, (5, 1)), rng.integers(0, 2, size=(5, 1)).astype(np.float64)
    once = student.binary_cross_entropy(A, y)
    thrice = student.binary_cross_entropy(np.vstack([A] * 3), np.vstack([y] * 3))
    expected = true_bce(A, y)
    check_scalar(once, expected, "binary_cross_entropy(A (5, 1), y (5, 1))", rtol=1e-10, hint=MEAN_HINT,
                 slips={5.0: f"your loss is N = 5 times the expected value: {MEAN_HINT}"})
    check_scalar(thrice, expected, "binary_cross_entropy on the batch repeated 3 times (the loss of the batch once)",
                 rtol=1e-10, hint=MEAN_HINT,
                 slips={15.0: f"your loss is N = 15 times the expected value: {MEAN_HINT}"})


@pytest.mark.points(2)
def test_bce_saturated(student, rng):
    """binary_cross_entropy: finite and exact when A holds exact 0s and 1s"""
    A = rng.integers(0, 2, size=(10, 1)).astype(np.float64)
    A[:2] = [[0.0], [1.0]]
    y = rng.integers(0, 2, size=(10, 1)).astype(np.float64)
    with no_warnings("binary_cross_entropy(A, y) with A of exact 0s and 1s", hint=CLIP_HINT):
        out = student.binary_cross_entropy(A, y)
    check_scalar(out, true_bce(A, y), "binary_cross_entropy(A, y) with A of exact 0s and 1s", rtol=1e-6,
                 hint=CLIP_HINT)


def test_bce_eps_is_used(student):
    """binary_cross_entropy: the eps argument sets the clipping margin"""
    A, y = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    check_scalar(student.binary_cross_entropy(A, y, eps=1e-3), -np.log(1e-3), "binary_cross_entropy([0, 1], [1, 0], "
                 "eps=1e-3)", rtol=1e-6, hint="clip to [eps, 1 - eps] with the eps you were given, not a constant")


def test_bce_float32_saturated(student, rng):
    """binary_cross_entropy: float32 A with exact 1s stays finite"""
    A = np.array([[1.0], [0.0], [0.7]], dtype=np.float32)
    y = np.array([[0.0], [1.0], [1.0]], dtype=np.float32)
    hint = "in float32, 1 - 1e-12 rounds to 1.0, so clipping a float32 array does nothing: convert A to float64 first"
    with no_warnings("binary_cross_entropy(A float32 with 1.0 and 0.0, y)", hint=hint):
        out = student.binary_cross_entropy(A, y)
    check_scalar(out, true_bce(A.astype(np.float64), y.astype(np.float64)), "binary_cross_entropy(A float32, y float32)",
                 rtol=1e-5, hint=hint)
    assert isinstance(out, float), f"binary_cross_entropy: expected a Python float, got {type(out).__name__} {out!r}"


def test_bce_shape_mismatch(student):
    """binary_cross_entropy: A (5, 1) against y (5,) raises ValueError naming both shapes"""
    A, y = np.full((5, 1), 0.5), np.ones(5)
    msg = expect_raises(ValueError, student.binary_cross_entropy, A, y, call="binary_cross_entropy(A (5, 1), y (5,))",
                        hint="compare A.shape with y.shape and raise ValueError instead of broadcasting")
    assert "(5, 1)" in msg and "(5,)" in msg, f"the ValueError should name both shapes, got {msg!r}"


# ---------------------------------------------------------------- gradients

@pytest.mark.points(2)
def test_mse_gradient_numerical(student, rng, record_property):
    """mse_gradient: matches the numerical gradient of the loss"""
    shape = random_shape(rng)
    y_pred, y = rng.normal(size=shape), rng.normal(size=shape)
    numeric = numerical_gradient(lambda p: true_mse(p, y), y_pred.copy())
    errors = y_pred - y
    out = student.mse_gradient(y_pred, y)
    record_curve(record_property, f"mse_gradient(y_pred, y), shapes {shape}", errors, numeric, out,
                 xlabel="y_pred - y")
    got = check_array(out, numeric, f"mse_gradient(y_pred, y) with shapes {shape}",
                      rtol=1e-5, atol=1e-7, hint=GRAD_N_HINT + "; the derivative of (p - y)^2 is 2 (p - y)",
                      slips=gradient_slips(y_pred))
    # Entries near 0 make an entry-wise relative error noisy: compare the whole arrays by their norms.
    err = np.linalg.norm(got - numeric) / (np.linalg.norm(got) + np.linalg.norm(numeric))
    assert err < 1e-7, f"mse_gradient: relative error {err:.2e} against the numerical gradient"


def test_mse_gradient_scales_with_batch(student, rng):
    """mse_gradient: doubling the batch halves each entry's gradient (the 1/N factor)"""
    y_pred, y = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    got = student.mse_gradient(np.vstack([y_pred, y_pred]), np.vstack([y, y]))
    check_array(got, np.vstack([y_pred - y] * 2) / 4, "mse_gradient on a batch of 8 (the same 4 samples twice)",
                rtol=1e-10, hint=GRAD_N_HINT, slips=gradient_slips(got))


@pytest.mark.points(2)
def test_bce_gradient_numerical(student, rng, record_property):
    """binary_cross_entropy_gradient: matches the numerical gradient of the loss"""
    shape = random_shape(rng)
    A, y = probabilities(rng, shape, 0.05, 0.95), rng.integers(0, 2, size=shape).astype(np.float64)
    numeric = numerical_gradient(lambda p: true_bce(p, y), A.copy())
    A_given = A.copy()
    out = student.binary_cross_entropy_gradient(A, y)
    for label in (0, 1):  # one curve per label: the gradient is a different function of A for y = 0 and y = 1
        record_curve(record_property, f"binary_cross_entropy_gradient(A, y) where y = {label}, shapes {shape}",
                     A_given, numeric, out, where=y == label, xlabel="A")
    got = check_array(out, numeric,
                      f"binary_cross_entropy_gradient(A, y) with shapes {shape}", rtol=1e-6, atol=1e-9,
                      hint=GRAD_N_HINT + "; d/dA of -(y log A + (1 - y) log(1 - A)) is -y/A + (1 - y)/(1 - A)")
    err = relative_error(got, numeric)
    assert err < 1e-6, f"binary_cross_entropy_gradient: relative error {err:.2e} against the numerical gradient"


def test_bce_gradient_saturated(student):
    """binary_cross_entropy_gradient: finite at A = 0 and 1 (uses the clipped A)"""
    A, y = np.array([[0.0], [1.0], [0.0], [1.0]]), np.array([[1.0], [0.0], [0.0], [1.0]])
    with no_warnings("binary_cross_entropy_gradient(A with 0s and 1s, y)", hint=CLIP_HINT):
        got = student.binary_cross_entropy_gradient(A, y)
    Ac = np.clip(A, 1e-12, 1 - 1e-12)
    check_array(got, (Ac - y) / (Ac * (1 - Ac)) / 4, "binary_cross_entropy_gradient(A = [0, 1, 0, 1], y = [1, 0, 0, 1])",
                rtol=1e-6, atol=1e-9, hint="clip A to [eps, 1 - eps] exactly as in the loss, then apply the formula")


@pytest.mark.parametrize("fn", ["mse_gradient", "binary_cross_entropy_gradient"])
def test_gradient_shape_mismatch(student, fn):
    """gradients: a (3, 1) prediction against (3,) targets raises ValueError"""
    msg = expect_raises(ValueError, getattr(student, fn), np.full((3, 1), 0.5), np.ones(3),
                        call=f"{fn}((3, 1), (3,))", hint="compare the shapes first, as in the loss")
    assert "(3, 1)" in msg and "(3,)" in msg, f"{fn}: the ValueError should name both shapes, got {msg!r}"
