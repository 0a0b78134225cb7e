"""Visible tests for chapter 1.2 (run: pytest exercises/ch1_2_matrix_ops)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, expect_raises

KEEP_HINT = "compute into a new array (Z = X @ W, then Z + b); leave the caller's X, W and b as they were"


def make_x():
    return np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


def make_w():
    return np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])


def make_b():
    return np.array([0.5, -1.0, 2.0])


def test_matrix_multiply_small(student):
    """matrix_multiply: a 3x2 by 2x3 product"""
    X, W = make_x(), make_w()
    out = student.matrix_multiply(X, W)
    call = "matrix_multiply(X (3, 2), W (2, 3))"
    check_unchanged(X, make_x(), call, "X", KEEP_HINT)
    check_unchanged(W, make_w(), call, "W", KEEP_HINT)
    check_array(out, make_x() @ make_w(), call,
                hint="row i, column j is the dot product of row i of X with column j of W")


def test_matrix_multiply_shape_mismatch(student):
    """matrix_multiply: mismatched shapes raise ValueError naming both"""
    msg = expect_raises(ValueError, student.matrix_multiply, make_x(), make_x(),
                        call="matrix_multiply(X (3, 2), X (3, 2))",
                        hint="compare X.shape[1] with W.shape[0] and raise ValueError")
    assert "(3, 2)" in msg, f"the ValueError message should name both shapes, got: {msg!r}"


def test_dense_forward_small(student):
    """dense_forward: Z = X @ W + b, b added to every row"""
    X, W, b = make_x(), make_w(), make_b()
    out = student.dense_forward(X, W, b)
    call = "dense_forward(X (3, 2), W (2, 3), b (3,))"
    for name, arg, before in (("X", X, make_x()), ("W", W, make_w()), ("b", b, make_b())):
        check_unchanged(arg, before, call, name, KEEP_HINT)
    check_array(out, make_x() @ make_w() + make_b(), call,
                hint="b has one entry per output unit; broadcasting adds it to every row")
