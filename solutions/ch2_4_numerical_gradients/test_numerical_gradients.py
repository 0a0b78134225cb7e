"""Visible tests for chapter 2.4 (run: pytest exercises/ch2_4_numerical_gradients)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar

x0 = np.array([[1.0, -2.0], [0.5, 3.0]])


def sum_of_squares(v):
    return np.sum(v ** 2)


def sum_of_cubes(v):
    return np.sum(v ** 3)


def test_gradient_of_sum_of_squares(student):
    """numerical_gradient: the gradient of sum(x**2) is 2x"""
    check_array(student.numerical_gradient(sum_of_squares, x0.copy()), 2 * x0,
                "numerical_gradient(sum(x**2), x (2, 2))", rtol=1e-7,
                hint="for each entry: (f(x + h e_i) - f(x - h e_i)) / (2h), with x changed in place and put back")


def test_centred_differences(student):
    """numerical_gradient: centred differences on sum(x**3) with h=1e-3 give 3x**2 + h**2"""
    h = 1e-3
    check_array(student.numerical_gradient(sum_of_cubes, x0.copy(), h=h), 3 * x0 ** 2 + h ** 2,
                "numerical_gradient(sum(x**3), x (2, 2), h=1e-3)", rtol=1e-7,
                hint="use (f(x + h) - f(x - h)) / (2h): the one-sided (f(x + h) - f(x)) / h is off by about 3 x h")


def test_x_restored(student):
    """numerical_gradient: x holds its original values afterwards"""
    x = x0.copy()
    student.numerical_gradient(sum_of_cubes, x)
    check_array(x, x0, "x after numerical_gradient(f, x)", rtol=0, atol=0,
                hint="save old = x[idx] before changing it and finish with x[idx] = old")


def test_relative_error(student):
    """relative_error: ||a - b|| / (||a|| + ||b||), 0 for equal arrays"""
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    check_scalar(student.relative_error(a, b), 5.0 / 7.0, "relative_error([3, 0], [0, 4])",
                 hint="Euclidean norms over all entries: ||a - b|| = 5, ||a|| + ||b|| = 3 + 4")
    check_scalar(student.relative_error(x0, x0.copy()), 0.0, "relative_error(a, a)", atol=0)
