"""Visible tests for chapter 1.2 (run: pytest exercises/ch1_2_matrix_ops)."""
import numpy as np

from dlcourse.testing import check_array, expect_raises

X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
b = np.array([0.5, -1.0, 2.0])


def test_matrix_multiply_small(student):
    """matrix_multiply: a 3x2 by 2x3 product"""
    check_array(student.matrix_multiply(X, W), X @ W, "matrix_multiply(X (3, 2), W (2, 3))",
                hint="row i, column j is the dot product of row i of X with column j of W")


def test_matrix_multiply_shape_mismatch(student):
    """matrix_multiply: mismatched shapes raise ValueError naming both"""
    msg = expect_raises(ValueError, student.matrix_multiply, X, X, call="matrix_multiply(X (3, 2), X (3, 2))",
                        hint="compare X.shape[1] with W.shape[0] and raise ValueError")
    assert "(3, 2)" in msg, f"the ValueError message should name both shapes, got: {msg!r}"


def test_dense_forward_small(student):
    """dense_forward: Z = X @ W + b, b added to every row"""
    check_array(student.dense_forward(X, W, b), X @ W + b, "dense_forward(X (3, 2), W (2, 3), b (3,))",
                hint="b has one entry per output unit; broadcasting adds it to every row")
