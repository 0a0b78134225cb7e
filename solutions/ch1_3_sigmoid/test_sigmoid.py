"""Visible tests for chapter 1.3 (run: pytest exercises/ch1_3_sigmoid)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, no_warnings

IN_PLACE_HINT = ("compute into a new array; Z *= -1 or np.exp(-Z, out=Z) changes the caller's Z "
                 "(np.exp(-np.abs(Z)) makes a new one)")


def make_z():
    """A fresh input for every test: negative, zero and positive entries."""
    return np.array([[-2.0, -1.0, 0.0], [0.5, 1.0, 2.0]])


def test_sigmoid_values(student):
    """sigmoid: known values keep their shape"""
    Z = make_z()
    out = student.sigmoid(Z)
    call = "sigmoid(Z) with Z = [[-2, -1, 0], [0.5, 1, 2]]"
    check_unchanged(Z, make_z(), call, "Z", IN_PLACE_HINT)
    check_array(out, 1 / (1 + np.exp(-make_z())), call, hint="sigmoid(z) = 1 / (1 + exp(-z)), element-wise")


def test_sigmoid_large_inputs(student):
    """sigmoid: large inputs give 0 and 1 without an overflow warning"""
    big = np.array([-1000.0, 1000.0])
    with no_warnings("sigmoid([-1000, 1000])",
                     hint="exp(-z) overflows for z = -1000, and np.where(z >= 0, ..., ...) does not prevent it: "
                          "np.where computes both of its branches for every element before it chooses. Compute "
                          "e = np.exp(-np.abs(z)) (never above 1) once, then pick 1 / (1 + e) or e / (1 + e) by "
                          "the sign of z"):
        out = student.sigmoid(big)
    check_array(out, np.array([0.0, 1.0]), "sigmoid([-1000, 1000])")


def test_sigmoid_derivative_values(student):
    """sigmoid_derivative: peaks at 0.25 for z = 0"""
    Z = make_z()
    s = 1 / (1 + np.exp(-make_z()))
    out = student.sigmoid_derivative(Z)
    check_array(out, s * (1 - s), "sigmoid_derivative(Z)",
                hint="the derivative is s * (1 - s) where s = sigmoid(Z), not Z * (1 - Z)")
    check_unchanged(Z, make_z(), "sigmoid_derivative(Z)", "Z",
                    "compute into new arrays; if your sigmoid changes its argument, sigmoid_derivative does too")
