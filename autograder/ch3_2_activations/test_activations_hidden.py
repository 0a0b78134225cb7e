"""Hidden suite, chapter 3.2: ReLU and its derivative, row-wise and stable softmax, cross-entropy on both
label formats, clipping, shapes and dtypes."""
import numpy as np
import pytest

from autograder.gradcheck import elementwise_derivative
from autograder.plots import record_curve
from autograder.problems import one_hot
from dlcourse.testing import check_array, check_scalar, expect_raises, no_warnings, require


ROWS_HINT = ("a row of Z is one sample: softmax must make every ROW sum to 1. Normalising over axis=0 (the "
             "columns, as in column-major code where samples are columns) is the usual mistake: use "
             "Z.max(axis=1, keepdims=True) and E.sum(axis=1, keepdims=True)")
STABLE_HINT = ("exp overflows above ~709 and underflows to 0 below ~-745: subtract each row's own maximum, "
               "Z - Z.max(axis=1, keepdims=True), before np.exp (one global maximum is not enough when rows "
               "have very different scales)")
MEAN_HINT = "cross_entropy is the MEAN over the m rows of -log A[i, y_i], not the sum"


def true_softmax(Z):
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def true_cross_entropy(A, labels, eps=1e-12):
    A = np.clip(np.asarray(A, dtype=np.float64), eps, 1.0)
    return float(-np.mean(np.log(A[np.arange(len(labels)), labels])))


def random_probs(rng, m, K):
    return true_softmax(rng.normal(scale=2.0, size=(m, K)))


# ---------------------------------------------------------------- relu

def test_relu_random(student, rng):
    """relu: random inputs of random shape"""
    Z = rng.normal(scale=3.0, size=tuple(rng.integers(1, 6, size=rng.integers(1, 4))))
    check_array(student.relu(Z), np.maximum(Z, 0), f"relu(Z) on random Z of shape {Z.shape}", rtol=0, atol=0,
                hint="relu(z) = max(0, z) element-wise: np.maximum(Z, 0) keeps the shape")


def test_relu_input_not_mutated(student, rng, record_property):
    """relu: the input array is left untouched"""
    Z = rng.normal(size=(4, 5))
    before = Z.copy()
    out = student.relu(Z)
    record_curve(record_property, "relu(z)", before, np.maximum(before, 0), out, xlabel="z")
    check_array(Z, before, "Z after relu(Z)", rtol=0, atol=0,
                hint="Z[Z < 0] = 0 overwrites the caller's pre-activations, which backprop still needs; "
                     "return np.maximum(Z, 0), a new array")
    check_array(out, np.maximum(before, 0), "relu(Z) on random Z (4, 5)", rtol=0, atol=0,
                hint="relu(z) = max(0, z) element-wise: np.maximum(Z, 0) makes a new array")


def test_relu_float32(student, rng):
    """relu: float32 input keeps its dtype, float16 becomes float64"""
    Z = rng.normal(size=(3, 4)).astype(np.float32)
    check_array(student.relu(Z), np.maximum(Z, 0), "relu(Z float32)", rtol=0, atol=0, dtype=np.float32)
    half = np.array([[-1.5, 0.0, 2.0]], dtype=np.float16)
    check_array(student.relu(half), np.maximum(half.astype(np.float64), 0), "relu(Z float16)", rtol=0, atol=0,
                dtype=np.float64, hint="only float32 keeps its dtype; anything else (float16 too) becomes float64")


def test_relu_derivative_random(student, rng, record_property):
    """relu_derivative: 1 for positive, 0 for negative inputs, and 0 at exactly 0"""
    Z = rng.normal(size=(5, 6))
    Z[rng.random(Z.shape) < 0.2] = 0.0
    Z[0, 0] = 0.0
    out = student.relu_derivative(Z)
    record_curve(record_property, "relu_derivative(z)", Z, (Z > 0).astype(float), out, xlabel="z")
    check_array(out, (Z > 0).astype(float), "relu_derivative(Z) on random Z (5, 6) with zeros",
                rtol=0, atol=0, hint="the derivative is 1 where z > 0 and 0 elsewhere (0 at z = 0 in this course), "
                                     "never negative and never Z itself: (Z > 0).astype(float)")


def test_relu_derivative_matches_numerical(student, rng):
    """relu_derivative: matches a numerical derivative of relu away from 0"""
    Z = rng.normal(size=(4, 5))
    Z = np.where(np.abs(Z) < 1e-3, 0.5, Z)  # stay off the kink
    numeric = elementwise_derivative(lambda z: np.maximum(z, 0), Z)
    check_array(student.relu_derivative(Z), numeric, "relu_derivative(Z) vs numerical derivative", rtol=1e-6,
                atol=1e-8, hint="the slope of max(0, z) is 0 for z < 0 and 1 for z > 0")


def test_relu_derivative_float32(student, rng):
    """relu_derivative: float32 input keeps its dtype, float16 becomes float64"""
    Z = rng.normal(size=(3, 4)).astype(np.float32)
    check_array(student.relu_derivative(Z), (Z > 0).astype(np.float32), "relu_derivative(Z float32)", rtol=0,
                atol=0, dtype=np.float32)
    half = np.array([[-1.5, 0.0, 2.0]], dtype=np.float16)
    check_array(student.relu_derivative(half), np.array([[0.0, 0.0, 1.0]]), "relu_derivative(Z float16)", rtol=0,
                atol=0, dtype=np.float64, hint="only float32 keeps its dtype; anything else (float16 too) becomes float64")


# ---------------------------------------------------------------- softmax

@pytest.mark.points(2)
def test_softmax_rows_sum_to_one(student, rng):
    """softmax: every row sums to 1 on a non-square batch"""
    m, K = 7, 4  # non-square, and columns that do not sum like the rows
    Z = rng.normal(scale=2.0, size=(m, K))
    out = check_array(student.softmax(Z), true_softmax(Z), f"softmax(Z) with Z of shape {Z.shape}", rtol=1e-9,
                      atol=1e-12, hint=ROWS_HINT)
    check_array(out.sum(axis=1), np.ones(m), "softmax(Z).sum(axis=1) (the row sums)", rtol=1e-9, hint=ROWS_HINT)


@pytest.mark.parametrize("shape", [(1, 5), (6, 2), (3, 10)], ids=["one-row", "tall", "wide"])
def test_softmax_random(student, rng, shape):
    """softmax: random logits of several shapes"""
    Z = rng.normal(scale=3.0, size=shape)
    check_array(student.softmax(Z), true_softmax(Z), f"softmax(Z) with Z of shape {shape}", rtol=1e-9, atol=1e-12,
                hint=ROWS_HINT)


def test_softmax_shift_invariant(student, rng):
    """softmax: adding a constant to a row does not change it"""
    Z = rng.normal(size=(4, 3))
    shift = rng.uniform(-50, 50, size=(4, 1))
    check_array(student.softmax(Z + shift), true_softmax(Z), "softmax(Z + c) vs the softmax of Z, one c per row",
                rtol=1e-9, atol=1e-12, hint=ROWS_HINT)


@pytest.mark.points(2)
def test_softmax_stable(student, rng):
    """softmax: logits of 1e3 give no overflow warning and no NaN"""
    Z = rng.normal(size=(5, 4))
    Z[0] *= 1e3                      # huge logits
    Z[1] = Z[1] * 1e3 - 2e3          # very negative logits
    Z[2] = 1e3                        # a row of equal huge logits
    with no_warnings("softmax(Z) with logits of size 1e3", hint=STABLE_HINT):
        out = student.softmax(Z)
    check_array(out, true_softmax(Z), "softmax(Z) with logits of size 1e3", rtol=1e-9, atol=1e-12, hint=STABLE_HINT)


def test_softmax_float32(student, rng):
    """softmax: float32 input keeps its dtype, float16 becomes float64"""
    Z = rng.normal(size=(3, 4)).astype(np.float32)
    check_array(student.softmax(Z), true_softmax(Z), "softmax(Z float32)", rtol=1e-5, atol=1e-6, dtype=np.float32)
    half = np.array([[-1.5, 0.0, 2.0]], dtype=np.float16)
    check_array(student.softmax(half), true_softmax(half.astype(np.float64)), "softmax(Z float16)", rtol=1e-9,
                atol=1e-12, dtype=np.float64, hint="only float32 keeps its dtype; anything else (float16 too) becomes float64")


def test_softmax_input_not_mutated(student, rng):
    """softmax: the logits are left untouched"""
    Z = rng.normal(size=(3, 5))
    before = Z.copy()
    out = student.softmax(Z)
    check_array(Z, before, "Z after softmax(Z)", rtol=0, atol=0,
                hint="Z -= Z.max(...) changes the caller's array; write Z - Z.max(...) into a new one")
    check_array(out, true_softmax(before), "softmax(Z) with Z of shape (3, 5)", rtol=1e-9, atol=1e-12, hint=ROWS_HINT)


# ---------------------------------------------------------------- cross_entropy

def test_cross_entropy_random(student, rng):
    """cross_entropy: random probabilities with integer labels"""
    m, K = (int(v) for v in rng.integers(2, 9, size=2))
    A, y = random_probs(rng, m, K), rng.integers(0, K, size=m)
    check_scalar(student.cross_entropy(A, y), true_cross_entropy(A, y), f"cross_entropy(A {A.shape}, y {y.shape})",
                 rtol=1e-9, hint=f"-log of the probability of the true class, A[np.arange(m), y]; {MEAN_HINT}")


def test_cross_entropy_is_a_mean(student, rng):
    """cross_entropy: the batch mean, so a batch repeated twice gives the same loss"""
    A, y = random_probs(rng, 5, 3), rng.integers(0, 3, size=5)
    once = student.cross_entropy(A, y)
    expected = true_cross_entropy(A, y)
    check_scalar(once, expected, "cross_entropy(A (5, 3), y (5,))", rtol=1e-9, hint=MEAN_HINT,
                 slips={5.0: "your loss is m = 5 times the expected value: " + MEAN_HINT})
    check_scalar(student.cross_entropy(np.vstack([A, A]), np.concatenate([y, y])), expected,
                 "cross_entropy on the batch stacked twice (the loss of the batch once)", rtol=1e-9, hint=MEAN_HINT,
                 slips={10.0: "your loss is m = 10 times the expected value: " + MEAN_HINT})


@pytest.mark.points(2)
def test_int_and_one_hot_agree(student, rng):
    """cross_entropy: integer labels and one-hot labels give the same loss"""
    m, K = 6, 4
    A, y = random_probs(rng, m, K), rng.integers(0, K, size=m)
    expected = true_cross_entropy(A, y)
    check_scalar(student.cross_entropy(A, one_hot(y, K)), expected, f"cross_entropy(A {A.shape}, one-hot Y (6, 4))",
                 rtol=1e-9, hint="a 2-D y is one-hot: the loss is -sum(Y * log A) / m; a 1-D y holds class indices")
    check_scalar(student.cross_entropy(A, y), expected, f"cross_entropy(A {A.shape}, y (6,))", rtol=1e-9,
                 hint="a 1-D y holds class indices: -mean(log A[np.arange(m), y])")


@pytest.mark.parametrize("labels", ["int", "one-hot"])
def test_cross_entropy_clips_zero(student, rng, labels):
    """cross_entropy: a probability of exactly 0 gives a finite loss"""
    A = random_probs(rng, 4, 3)
    y = np.array([0, 1, 2, 1])
    A[0] = [0.0, 0.5, 0.5]  # the true class got probability 0
    A[1] = [0.0, 1.0, 0.0]  # a perfect prediction
    target = y if labels == "int" else one_hot(y, 3)
    hint = "log(0) = -inf: clip A to [eps, 1] (np.clip(A, eps, 1)) before taking the log"
    with no_warnings(f"cross_entropy(A, {labels} y) with A[0, y[0]] = 0", hint=hint):
        loss = student.cross_entropy(A, target)
    check_scalar(loss, true_cross_entropy(A, y), f"cross_entropy(A, {labels} y) with A[0, y[0]] = 0", rtol=1e-6,
                 hint=hint)


@pytest.mark.parametrize("y_shape", [(5,), (3,), (4, 2), (4, 1), (4, 3, 1)],
                         ids=["too-many-labels", "too-few-labels", "one-hot-wrong-K", "column", "one-hot-3d"])
def test_cross_entropy_shape_mismatch(student, rng, y_shape):
    """cross_entropy: labels of the wrong shape raise ValueError naming both shapes"""
    A = random_probs(rng, 4, 3)
    y = np.zeros(y_shape, dtype=np.int64)
    msg = expect_raises(ValueError, student.cross_entropy, A, y, call=f"cross_entropy(A (4, 3), y {y_shape})",
                        hint="y must be (m,) integer labels or (m, K) one-hot rows; check the shape and raise "
                             "ValueError (a (4, 1) column of labels would broadcast into a wrong loss)")
    require(str(y_shape) in msg and "(4, 3)" in msg,
            f"cross_entropy(A (4, 3), y {y_shape}): the ValueError should name both shapes, got {msg!r}")


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)], ids=["1d", "3d"])
def test_softmax_and_cross_entropy_need_2d(student, rng, shape):
    """softmax and cross_entropy: a 1-D or 3-D array raises ValueError"""
    Z = rng.normal(size=shape)
    msg = expect_raises(ValueError, student.softmax, Z, call=f"softmax(Z {shape})",
                        hint="softmax works on (m, K) rows: raise ValueError unless Z.ndim == 2")
    require(str(shape) in msg, f"softmax(Z {shape}): the ValueError should name Z's shape {shape}, got {msg!r}\n"
                               "Hint: check Z.ndim == 2 yourself first (NumPy's own error about axis 1 names no shape)")
    A = np.full(shape, 0.25)
    expect_raises(ValueError, student.cross_entropy, A, np.zeros(shape[0], dtype=np.int64),
                  call=f"cross_entropy(A {shape}, y)", hint="raise ValueError unless A.ndim == 2 (m, K)")


def test_cross_entropy_label_out_of_range(student, rng):
    """cross_entropy: a label outside 0..K-1 raises ValueError"""
    A = random_probs(rng, 3, 3)
    for bad in (3, 5, -1):
        y = np.array([0, bad, 1])
        expect_raises(ValueError, student.cross_entropy, A, y, call=f"cross_entropy(A (3, 3), y = [0, {bad}, 1])",
                      hint="labels index the K columns: check 0 <= y < K (a label of -1 would silently pick "
                           "the last class)")


def test_cross_entropy_returns_float(student, rng):
    """cross_entropy: returns one float, not an array"""
    A, y = random_probs(rng, 3, 2), np.array([0, 1, 1])
    loss = student.cross_entropy(A, y)
    require(isinstance(loss, float), f"cross_entropy(A (3, 2), y (3,)): expected a float, got {type(loss).__name__} "
                                     f"{loss!r}\nHint: the loss is one number, the mean over the batch: return "
                                     "float(...) of it, not an array of per-sample losses")
    check_scalar(loss, true_cross_entropy(A, y), "cross_entropy(A (3, 2), y (3,))", rtol=1e-9,
                 hint=f"-log of the probability of the true class, A[np.arange(m), y]; {MEAN_HINT}")
