"""Hidden suite, chapter 2.4: numerical_gradient on any shape (0-d included), centred not one-sided, x changed in
place and restored exactly, h honoured; relative_error's definition and properties; both used to catch a wrong
analytic gradient. The grader's own numbers come from autograder.gradcheck, never from the submission."""
import numpy as np
import pytest

from autograder import gradcheck
from dlcourse.testing import check_array, check_scalar, expect_raises

CENTRED_HINT = ("use the centred difference (f(x + h e_i) - f(x - h e_i)) / (2h); the one-sided (f(x + h e_i) - f(x)) / h "
                "has an error of order h instead of h**2")
RESTORE_HINT = ("save old = x[idx] first and end with x[idx] = old: x[idx] += h ... x[idx] -= h does not give back "
                "exactly the old value in floating point")
REL_HINT = "relative_error(a, b) = ||a - b|| / (||a|| + ||b||) with Euclidean norms over all entries (np.linalg.norm)"


def cubic_mix(v):
    """A smooth function whose gradient is known: sum(v**3) / 3 + sum(sin(v)) + (sum v)**2 / 2."""
    return np.sum(v ** 3) / 3 + np.sum(np.sin(v)) + np.sum(v) ** 2 / 2


def cubic_mix_grad(v):
    return v ** 2 + np.cos(v) + np.sum(v)


def norm_relative_error(a, b):
    """The definition students implement (the trusted copy)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def shaped(rng, shape):
    return rng.uniform(-2.0, 2.0, size=shape)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)], ids=["1d", "2d", "3d"])
def test_any_shape(student, rng, shape):
    """numerical_gradient: matches the analytic gradient on random arrays of any shape"""
    x = shaped(rng, shape)
    got = check_array(student.numerical_gradient(cubic_mix, x.copy()), cubic_mix_grad(x),
                      f"numerical_gradient(f, x {shape})", rtol=1e-6, atol=1e-8,
                      hint="loop over every entry (np.ndindex(x.shape) or np.nditer), return an array shaped like x")
    err = norm_relative_error(got, cubic_mix_grad(x))
    assert err < 1e-8, f"numerical_gradient on x {shape}: relative error {err:.2e} against the true gradient"


def test_zero_dimensional(student, rng):
    """numerical_gradient: a 0-d array gives a 0-d gradient"""
    x = np.array(rng.uniform(0.5, 2.0))
    got = student.numerical_gradient(lambda v: float(v) ** 3, x.copy())
    check_array(np.asarray(got), np.array(3 * float(x) ** 2), f"numerical_gradient(v**3, x = np.array({float(x):.4f}))",
                rtol=1e-7, hint="np.ndindex(()) yields the single index (); x[()] reads and writes a 0-d array")


@pytest.mark.points(2)
def test_centred_accuracy(student, rng):
    """numerical_gradient: centred differences (exact 3x**2 + h**2 on a cubic)"""
    x = rng.uniform(0.5, 2.0, size=(3, 3)) * rng.choice([-1.0, 1.0], size=(3, 3))
    h = 1e-3
    check_array(student.numerical_gradient(lambda v: np.sum(v ** 3), x.copy(), h=h), 3 * x ** 2 + h ** 2,
                "numerical_gradient(sum(x**3), x (3, 3), h=1e-3)", rtol=1e-8, atol=0, hint=CENTRED_HINT)


def test_uses_h(student, rng):
    """numerical_gradient: the h argument is the step used"""
    x = shaped(rng, (4,))
    h = 0.1
    check_array(student.numerical_gradient(lambda v: np.sum(v ** 3), x.copy(), h=h), 3 * x ** 2 + h ** 2,
                "numerical_gradient(sum(x**3), x (4,), h=0.1): centred differences give 3 x**2 + h**2",
                rtol=1e-8, atol=1e-12, hint="step by the h you were given (not a constant), and divide by 2h")


def test_default_h(student, rng):
    """numerical_gradient: the default h is 1e-5"""
    x = rng.uniform(-1.0, 1.0, size=4)
    k, h = 1e4, 1e-5  # sin(k v) oscillates so fast that the centred difference shows which h was used
    got = student.numerical_gradient(lambda v: np.sum(np.sin(k * v)), x.copy())
    check_array(got, (np.sin(k * (x + h)) - np.sin(k * (x - h))) / (2 * h), "numerical_gradient(sum(sin(1e4 x)), "
                "x (4,)) with the default h", rtol=1e-6, atol=1e-4,
                hint="keep the signature numerical_gradient(f, x, h=1e-5) and use h as the step")


@pytest.mark.points(2)
def test_x_restored_exactly(student, rng):
    """numerical_gradient: every entry of x is restored bit for bit"""
    x = rng.normal(scale=10.0, size=(4, 5))
    before = x.copy()
    got = student.numerical_gradient(cubic_mix, x)
    check_array(x, before, "x after numerical_gradient(f, x)", rtol=0, atol=0, hint=RESTORE_HINT)
    check_array(got, cubic_mix_grad(before), "numerical_gradient(f, x (4, 5)), x of scale 10", rtol=1e-6, atol=1e-6,
                hint="for each entry: (f(x + h e_i) - f(x - h e_i)) / (2h), returned as an array shaped like x")


@pytest.mark.points(2)
def test_changes_x_in_place(student, rng):
    """numerical_gradient: perturbs x in place, so f may read it through a closure"""
    W = rng.normal(size=(3, 2))
    before, expected = W.copy(), 3 * W ** 2

    def loss_of_W(_ignored):
        return np.sum(W ** 3)  # reads W itself, the way a network's loss reads its parameters

    got = student.numerical_gradient(loss_of_W, W)
    check_array(got, expected, "numerical_gradient(lambda _: sum(W**3), W): f ignores its argument and reads W",
                rtol=1e-6, atol=1e-8, hint="change x[idx] in the array you were given (not a copy), then call f(x)")
    check_array(W, before, "W afterwards", rtol=0, atol=0, hint=RESTORE_HINT)


def test_f_returning_an_array(student, rng):
    """numerical_gradient: f may return a 0-d array"""
    x = shaped(rng, (3,))
    got = student.numerical_gradient(lambda v: np.sum(v ** 2, keepdims=True).reshape(()), x.copy())
    check_array(got, 2 * x, "numerical_gradient(f returning a 0-d array, x (3,))", rtol=1e-7,
                hint="turn f's result into a number with float(f(x))")


def test_rejects_integer_arrays(student):
    """numerical_gradient: an integer or bool array, a list or a number raises TypeError"""
    expect_raises(TypeError, student.numerical_gradient, lambda v: float(np.sum(v ** 2)), np.array([1, 2, 3]),
                  call="numerical_gradient(f, np.array([1, 2, 3]))",
                  hint="x + h cannot be stored in an integer array: check x.dtype.kind == 'f' and raise TypeError")
    for x, what in ((np.array([True, False]), "a bool array"), ([1.0, 2.0], "a list"), (1.5, "a Python float")):
        expect_raises(TypeError, student.numerical_gradient, lambda v: float(np.sum(np.square(v))), x,
                      call=f"numerical_gradient(f, {what} {x!r})",
                      hint="only a numpy array of floats (x.dtype.kind == 'f') can be nudged in place: raise "
                           "TypeError for anything else")


@pytest.mark.points(2)
def test_catches_wrong_gradient(student, rng):
    """numerical_gradient + relative_error: accept the right MSE gradient, flag a wrong one"""
    X, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    W = rng.normal(size=(3, 1))

    def loss(W_):
        return np.mean((X @ W_ - y) ** 2)

    right = 2 / len(X) * X.T @ (X @ W - y)
    wrong = {"missing 1/m": X.T @ (X @ W - y), "wrong sign": -right, "missing factor 2": right / 2}
    numeric = student.numerical_gradient(loss, W.copy())
    check_array(numeric, gradcheck.numerical_gradient(loss, W.copy()), "numerical_gradient(MSE of a linear model, W)",
                rtol=1e-6, atol=1e-9, hint=CENTRED_HINT)
    ok = student.relative_error(right, numeric)
    assert ok < 1e-7, (f"relative_error(right gradient, numerical) = {ok:.3g}: the right gradient should score "
                       f"below 1e-7\nHint: {REL_HINT}")
    for name, bad in wrong.items():
        err = student.relative_error(bad, numeric)
        assert err > 0.1, (f"relative_error(gradient with {name}, numerical) = {err:.3g}: a wrong gradient should "
                           f"score far above 1e-7 (the true value is {norm_relative_error(bad, numeric):.3g})\n"
                           f"Hint: {REL_HINT}")


# ---------------------------------------------------------------- relative_error

@pytest.mark.points(2)
def test_relative_error_random(student, rng):
    """relative_error: the norm formula on random arrays"""
    a = rng.normal(size=(4, 3))
    b = a + rng.normal(scale=10.0 ** rng.uniform(-6, 0), size=(4, 3))
    check_scalar(student.relative_error(a, b), norm_relative_error(a, b), "relative_error(a, b) with a, b (4, 3)",
                 rtol=1e-9, hint=REL_HINT + "; not the mean or the maximum of entry-wise ratios")


def test_relative_error_zeros(student):
    """relative_error: two zero arrays give 0, not nan"""
    out = student.relative_error(np.zeros(3), np.zeros(3))
    check_scalar(out, 0.0, "relative_error(zeros(3), zeros(3))", atol=0,
                 hint="0/0 is nan: when ||a|| + ||b|| is 0, return 0.0")
    check_scalar(student.relative_error(np.zeros(3), np.array([0.0, 2.0, 0.0])), 1.0,
                 "relative_error(zeros(3), [0, 2, 0])", rtol=1e-12,
                 hint="return 0.0 only when ||a|| + ||b|| is 0; otherwise ||a - b|| / (||a|| + ||b||), here 2 / 2")


def test_relative_error_properties(student, rng):
    """relative_error: symmetric, scale-free, 1 for opposite or zero against nonzero"""
    a, b = rng.normal(size=5), rng.normal(size=5)
    ab = check_scalar(student.relative_error(a, b), norm_relative_error(a, b), "relative_error(a, b)", rtol=1e-9,
                      hint=REL_HINT)
    check_scalar(student.relative_error(b, a), ab, "relative_error(b, a) against relative_error(a, b)", rtol=1e-12,
                 hint="the formula is symmetric: divide by ||a|| + ||b||, not by ||a|| alone")
    check_scalar(student.relative_error(1e6 * a, 1e6 * b), ab, "relative_error(1e6 a, 1e6 b)", rtol=1e-9,
                 hint="a relative error does not change when both arrays are scaled: divide by ||a|| + ||b||")
    check_scalar(student.relative_error(a, -a), 1.0, "relative_error(a, -a)", rtol=1e-12, hint=REL_HINT)
    check_scalar(student.relative_error(a, np.zeros(5)), 1.0, "relative_error(a, 0)", rtol=1e-12, hint=REL_HINT)


def test_relative_error_returns_float(student, rng):
    """relative_error: returns a Python float"""
    a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    out = student.relative_error(a, b)
    assert isinstance(out, float), (f"relative_error: expected a Python float, got {type(out).__name__} {out!r}\n"
                                    "Hint: return float(...)")
    check_scalar(out, norm_relative_error(a, b), "relative_error(a, b) with a, b (2, 2)", rtol=1e-9, hint=REL_HINT)


def test_relative_error_shape_mismatch(student):
    """relative_error: arrays of different shapes raise ValueError"""
    msg = expect_raises(ValueError, student.relative_error, np.ones((3, 1)), np.ones(3),
                        call="relative_error(a (3, 1), b (3,))",
                        hint="compare a.shape with b.shape and raise ValueError: broadcasting (3, 1) against (3,) "
                             "compares every entry with every other")
    assert "(3, 1)" in msg and "(3,)" in msg, f"the ValueError should name both shapes, got {msg!r}"
    # (1,) against (3,): broadcasting would compare the one entry with all three, silently
    expect_raises(ValueError, student.relative_error, np.ones(1), np.ones(3), call="relative_error(a (1,), b (3,))",
                  hint="raise ValueError whenever a.shape != b.shape, also when one of them would broadcast")
