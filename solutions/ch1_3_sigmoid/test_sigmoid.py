"""Visible tests for chapter 1.3 (run: pytest exercises/ch1_3_sigmoid)."""
import numpy as np

from dlcourse.testing import check_array, no_warnings

Z = np.array([[-2.0, -1.0, 0.0], [0.5, 1.0, 2.0]])


def test_sigmoid_values(student):
    """sigmoid: known values keep their shape"""
    check_array(student.sigmoid(Z), 1 / (1 + np.exp(-Z)), "sigmoid(Z) with Z = [[-2, -1, 0], [0.5, 1, 2]]",
                hint="sigmoid(z) = 1 / (1 + exp(-z)), element-wise")


def test_sigmoid_large_inputs(student):
    """sigmoid: large inputs give 0 and 1 without an overflow warning"""
    big = np.array([-1000.0, 1000.0])
    with no_warnings("sigmoid([-1000, 1000])",
                     hint="exp(-z) overflows for z = -1000; use exp(-|z|) and pick the formula by the sign of z"):
        out = student.sigmoid(big)
    check_array(out, np.array([0.0, 1.0]), "sigmoid([-1000, 1000])")


def test_sigmoid_derivative_values(student):
    """sigmoid_derivative: peaks at 0.25 for z = 0"""
    s = 1 / (1 + np.exp(-Z))
    check_array(student.sigmoid_derivative(Z), s * (1 - s), "sigmoid_derivative(Z)",
                hint="the derivative is s * (1 - s) where s = sigmoid(Z), not Z * (1 - Z)")
