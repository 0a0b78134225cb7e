"""Visible tests for chapter 2.1 (run: pytest exercises/ch2_1_losses)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, expect_raises, no_warnings

y_pred = np.array([[1.0], [2.0], [3.0], [4.0]])
y = np.array([[1.5], [2.0], [2.0], [6.0]])
A = np.array([[0.9], [0.2], [0.6], [0.4]])
labels = np.array([[1.0], [0.0], [1.0], [0.0]])


def test_mse_loss_small(student):
    """mse_loss: the mean of the squared errors"""
    check_scalar(student.mse_loss(y_pred, y), (0.25 + 0.0 + 1.0 + 4.0) / 4, "mse_loss(y_pred, y) on 4 samples",
                 hint="square the differences, then take the mean (divide by the number of entries, not 1)")


def test_mse_loss_refuses_broadcasting(student):
    """mse_loss: y_pred (4, 1) against y (4,) raises ValueError naming both shapes"""
    msg = expect_raises(ValueError, student.mse_loss, y_pred, y.ravel(), call="mse_loss(y_pred (4, 1), y (4,))",
                        hint="(4, 1) - (4,) broadcasts to a (4, 4) matrix: compare the shapes and raise ValueError")
    assert "(4, 1)" in msg and "(4,)" in msg, f"the ValueError message should name both shapes, got: {msg!r}"


def test_binary_cross_entropy_small(student):
    """binary_cross_entropy: -mean(y log A + (1 - y) log(1 - A))"""
    expected = -np.mean(np.log([0.9, 0.8, 0.6, 0.6]))
    check_scalar(student.binary_cross_entropy(A, labels), expected, "binary_cross_entropy(A, y) on 4 samples",
                 rtol=1e-9, hint="y * log(A) counts for label 1, (1 - y) * log(1 - A) for label 0; negate the mean")


def test_binary_cross_entropy_saturated(student):
    """binary_cross_entropy: finite when A is exactly 0 or 1"""
    with no_warnings("binary_cross_entropy([0, 1], [1, 0])", hint="log(0) = -inf: clip A to [eps, 1 - eps] first"):
        out = student.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    check_scalar(out, -np.log(1e-12), "binary_cross_entropy(A=[0, 1], y=[1, 0])", rtol=1e-6,
                 hint="clip A to [eps, 1 - eps] with np.clip before taking logs")


def test_mse_gradient_small(student):
    """mse_gradient: 2 (y_pred - y) / N, shaped like y_pred"""
    check_array(student.mse_gradient(y_pred, y), 2 * (y_pred - y) / 4, "mse_gradient(y_pred (4, 1), y (4, 1))",
                hint="the loss is a mean over N = y_pred.size entries, so its gradient has a 1/N factor")


def test_binary_cross_entropy_gradient_small(student):
    """binary_cross_entropy_gradient: (A - y) / (A (1 - A)) / N"""
    check_array(student.binary_cross_entropy_gradient(A, labels), (A - labels) / (A * (1 - A)) / 4,
                "binary_cross_entropy_gradient(A (4, 1), y (4, 1))", rtol=1e-9,
                hint="d/dA of -(y log A + (1 - y) log(1 - A)) is -y/A + (1 - y)/(1 - A); divide by N for the mean")
