"""Visible tests for chapter 3.2 (run: pytest exercises/ch3_2_activations)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, no_warnings

RELU_HINT = "Z[Z < 0] = 0 changes the caller's Z: return np.maximum(Z, 0), a new array"
SOFTMAX_HINT = ("Z -= Z.max(axis=1, keepdims=True) (or np.exp(Z, out=Z)) changes the caller's Z: "
                "write E = np.exp(Z - Z.max(axis=1, keepdims=True)), a new array")


def make_z():
    """A fresh input for every test: negative, zero and positive entries."""
    return np.array([[-2.0, 0.0, 1.5],
                     [3.0, -0.5, 0.0]])


def test_relu_values(student):
    """relu: negatives become 0, positives pass unchanged"""
    check_array(student.relu(make_z()), np.array([[0.0, 0.0, 1.5], [3.0, 0.0, 0.0]]),
                "relu(Z) with Z = [[-2, 0, 1.5], [3, -0.5, 0]]", hint="relu(z) = max(0, z): use np.maximum(Z, 0)")


def test_relu_keeps_input(student):
    """relu: Z itself is not changed"""
    Z = make_z()
    out = student.relu(Z)
    call = "relu(Z) with Z = [[-2, 0, 1.5], [3, -0.5, 0]]"
    check_unchanged(Z, make_z(), call, "Z", RELU_HINT)
    check_array(out, np.array([[0.0, 0.0, 1.5], [3.0, 0.0, 0.0]]), call,
                hint="relu(z) = max(0, z): use np.maximum(Z, 0)")


def test_relu_derivative_values(student):
    """relu_derivative: 1 for z > 0, 0 for z < 0 and at z = 0"""
    Z = make_z()
    out = student.relu_derivative(Z)
    call = "relu_derivative(Z) with Z = [[-2, 0, 1.5], [3, -0.5, 0]]"
    check_unchanged(Z, make_z(), call, "Z", "Z[Z > 0] = 1 changes the caller's Z: return (Z > 0).astype(Z.dtype), "
                                            "a new array")
    check_array(out, np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), call,
                hint="(Z > 0) as floats: the slope is 1 right of 0 and 0 left of it; this course takes 0 at z = 0")


def test_softmax_rows_sum_to_one(student):
    """softmax: each row (one sample) becomes probabilities summing to 1"""
    Z2 = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    e = np.exp(Z2[0] - 3.0)
    expected = np.stack([e / e.sum(), np.full(3, 1 / 3)])
    check_array(student.softmax(Z2), expected, "softmax(Z) with Z = [[1, 2, 3], [1, 1, 1]]", rtol=1e-9,
                hint="normalise each row: divide by the sum over axis=1 (keepdims=True); axis=0 sums the columns")


def test_softmax_large_logits(student):
    """softmax: logits of 1000 give no overflow warning and no NaN"""
    big = np.array([[1000.0, 999.0], [-1000.0, 1000.0]])
    hint = "exp(1000) overflows: subtract each row's maximum (Z.max(axis=1, keepdims=True)) before np.exp"
    with no_warnings("softmax([[1000, 999], [-1000, 1000]])", hint=hint):
        out = student.softmax(big)
    p = 1 / (1 + np.exp(-1.0))
    check_array(out, np.array([[p, 1 - p], [0.0, 1.0]]), "softmax([[1000, 999], [-1000, 1000]])", hint=hint)


def test_softmax_keeps_input(student):
    """softmax: Z itself is not changed"""
    Z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]])
    out = student.softmax(Z)
    call = "softmax(Z) with Z = [[1, 2, 3], [-1, 0, 5]]"
    check_unchanged(Z, np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]]), call, "Z", SOFTMAX_HINT)
    E = np.exp(np.array([[-2.0, -1.0, 0.0], [-6.0, -5.0, 0.0]]))
    check_array(out, E / E.sum(axis=1, keepdims=True), call, rtol=1e-9,
                hint="exp(Z - row max), divided by its sum over axis=1 (keepdims=True)")


def test_cross_entropy_small(student):
    """cross_entropy: the mean of -log(probability of the true class)"""
    A = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 2])
    check_scalar(student.cross_entropy(A, y), -(np.log(0.7) + np.log(0.8)) / 2,
                 "cross_entropy(A, y=[0, 2]) with A = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]", rtol=1e-9,
                 hint="pick A[i, y[i]] for each row i (A[np.arange(m), y]), take -log, and average over the m rows")


def test_cross_entropy_keeps_input(student):
    """cross_entropy: A itself is not changed, also where it is clipped"""
    A, y = np.array([[1.0, 0.0, 0.0], [0.0, 0.25, 0.75]]), np.array([0, 2])
    out = student.cross_entropy(A, y)
    call = "cross_entropy(A, y=[0, 2]) with A = [[1, 0, 0], [0, 0.25, 0.75]]"
    check_unchanged(A, np.array([[1.0, 0.0, 0.0], [0.0, 0.25, 0.75]]), call, "A",
                    "np.clip(A, eps, 1, out=A) (or A[A < eps] = eps) changes the caller's A: "
                    "write np.clip(A, eps, 1.0), a new array")
    check_unchanged(y, np.array([0, 2]), call, "y", "leave the labels as they were")
    check_scalar(out, -np.log(0.75) / 2, call, rtol=1e-9,
                 hint="pick A[i, y[i]] for each row i (A[np.arange(m), y]), take -log, and average over the m rows")
