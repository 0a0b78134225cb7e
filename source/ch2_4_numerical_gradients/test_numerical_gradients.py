"""Visible tests for chapter 2.4 (run: pytest exercises/ch2_4_numerical_gradients)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged


def make_x():
    """A fresh point for every test (numerical_gradient changes it during the call)."""
    return np.array([[1.0, -2.0], [0.5, 3.0]])


def sum_of_squares(v):
    return np.sum(v ** 2)


def sum_of_cubes(v):
    return np.sum(v ** 3)


def test_gradient_of_sum_of_squares(student):
    """numerical_gradient: the gradient of sum(x**2) is 2x"""
    check_array(student.numerical_gradient(sum_of_squares, make_x()), 2 * make_x(),
                "numerical_gradient(sum(x**2), x (2, 2))", rtol=1e-7,
                hint="for each entry: (f(x + h e_i) - f(x - h e_i)) / (2h), with x changed in place and put back")


def test_centred_differences(student):
    """numerical_gradient: centred differences on sum(x**3) with h=1e-3 give 3x**2 + h**2"""
    h = 1e-3
    check_array(student.numerical_gradient(sum_of_cubes, make_x(), h=h), 3 * make_x() ** 2 + h ** 2,
                "numerical_gradient(sum(x**3), x (2, 2), h=1e-3)", rtol=1e-7,
                hint="use (f(x + h) - f(x - h)) / (2h): the one-sided (f(x + h) - f(x)) / h is off by about 3 x h")


def test_x_restored(student):
    """numerical_gradient: x holds its original values afterwards"""
    x = make_x()
    # Documented in place: x itself is changed during the call (so f may read it through a closure, as here) and
    # every entry is put back at the end.
    grad = student.numerical_gradient(lambda _: sum_of_cubes(x), x)
    check_array(x, make_x(), "x after numerical_gradient(f, x)", rtol=0, atol=0,
                hint="save old = x[idx] before changing it and finish with x[idx] = old")
    check_array(grad, 3 * make_x() ** 2 + 1e-10, "numerical_gradient(lambda _: sum(x**3), x): f reads x itself",
                rtol=1e-6, hint="change x[idx] in the array you were given (not in a copy), then call f(x): f may "
                                "read x through a closure, as a network's loss reads its parameters")


def test_relative_error(student):
    """relative_error: ||a - b|| / (||a|| + ||b||), 0 for equal arrays"""
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    out = student.relative_error(a, b)
    call = "relative_error([3, 0], [0, 4])"
    hint = "compute a - b into a new array (a -= b changes the caller's a)"
    check_unchanged(a, np.array([3.0, 0.0]), call, "a", hint)
    check_unchanged(b, np.array([0.0, 4.0]), call, "b", hint)
    check_scalar(out, 5.0 / 7.0, call,
                 hint="Euclidean norms over all entries: ||a - b|| = 5, ||a|| + ||b|| = 3 + 4")
    check_scalar(student.relative_error(make_x(), make_x()), 0.0, "relative_error(a, a)", atol=0)
