"""Visible tests for chapter 1.1 (run: pytest exercises/ch1_1_arrays)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged

IN_PLACE_HINT = "compute into a new array; X -= ... changes the caller's X (write X - mean, or X = X - mean)"


def make_x():
    """A fresh 3x3 example for every test: features on different scales, column 2 constant (5.0)."""
    return np.array([[1.0, 10.0, 5.0],
                     [3.0, 20.0, 5.0],
                     [5.0, 30.0, 5.0]])


def test_normalize_per_feature(student):
    """normalize: axis=0 standardises every column"""
    out = student.normalize(make_x(), axis=0)
    col = np.array([-1.0, 0.0, 1.0]) * np.sqrt(1.5)
    expected = np.stack([col, col, np.zeros(3)], axis=1)
    check_array(out, expected, "normalize(X, axis=0) on a 3x3 example", rtol=1e-6,
                hint="subtract X.mean(axis=0) and divide by X.std(axis=0) + eps, column by column")


def test_normalize_global(student):
    """normalize: axis=None gives the whole array mean 0 and std 1"""
    X = make_x()
    expected = (X - X.mean()) / (X.std() + 1e-8)
    out = student.normalize(X)
    check_array(out, expected, "normalize(X) on a 3x3 example", rtol=1e-6,
                hint="with axis=None use one mean and one std for the whole array")


def test_normalize_constant_column_is_zero(student):
    """normalize: a constant column becomes 0, not NaN"""
    out = student.normalize(make_x(), axis=0)
    col = np.array([-1.0, 0.0, 1.0]) * np.sqrt(1.5)
    check_array(out, np.stack([col, col, np.zeros(3)], axis=1), "normalize(X, axis=0), column 2 constant (5.0)",
                rtol=1e-6, hint="column 2's std is 0: add eps to the std before dividing, so it becomes 0 (not NaN); "
                                "the other columns are standardised as usual")


def test_normalize_keeps_input(student):
    """normalize: X itself is not changed"""
    for axis in (0, None):
        X = make_x()  # far from normalised: an in-place change shows
        before = X.copy()
        expected = (before - before.mean(axis=axis, keepdims=True)) / (before.std(axis=axis, keepdims=True) + 1e-8)
        out = student.normalize(X, axis=axis)
        check_unchanged(X, before, f"normalize(X, axis={axis})", "X", IN_PLACE_HINT)
        check_array(out, expected, f"normalize(X, axis={axis}) on a 3x3 example", rtol=1e-6,
                    hint="return (X - mean) / (std + eps), a new array of X's shape")
