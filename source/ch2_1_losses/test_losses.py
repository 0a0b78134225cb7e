"""Visible tests for chapter 2.1 (run: pytest exercises/ch2_1_losses)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, expect_raises, no_warnings

CLIP_HINT = ("np.clip(A, eps, 1 - eps, out=A) (or A[A == 0] = eps) changes the caller's A: "
             "write A = np.clip(A, eps, 1 - eps), a new array")
MSE_KEEP_HINT = "compute into a new array; y_pred -= y changes the caller's y_pred (write diff = y_pred - y)"


def regression():
    """Fresh (y_pred, y) for every test: 4 samples as (4, 1) columns."""
    return np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([[1.5], [2.0], [2.0], [6.0]])


def classification():
    """Fresh (A, y) for every test: probabilities of the class 1 and the 0/1 labels, (4, 1) columns."""
    return np.array([[0.9], [0.2], [0.6], [0.4]]), np.array([[1.0], [0.0], [1.0], [0.0]])


# What a wrong value tells: the factor between it and the right one names the slip (N = 4 entries here).
LOSS_SLIPS = {0.5: "your loss is half the expected value: this course's MSE is the plain mean of the squared "
                   "errors, with no factor 1/2",
              4.0: "your loss is 4 times the expected value: a sum over the 4 entries, not a mean (np.mean)"}
GRADIENT_SLIPS = {0.5: "your gradient is half the expected one: the derivative of (p - y)^2 is 2 (p - y), so the "
                       "factor 2 is missing",
                  4.0: "your gradient is 4 times the expected one: the loss is a mean over N = y_pred.size = 4 "
                       "entries, so its gradient has the same 1/N factor",
                  2.0: "your gradient lacks both the factor 2 of d(p - y)^2/dp = 2 (p - y) and the 1/N of the mean",
                  -1.0: "the sign is reversed: the gradient with respect to y_pred is +2 (y_pred - y) / N"}


def test_mse_loss_small(student):
    """mse_loss: the mean of the squared errors"""
    y_pred, y = regression()
    out = student.mse_loss(y_pred, y)
    call = "mse_loss(y_pred, y) on 4 samples"
    check_unchanged(y_pred, regression()[0], call, "y_pred", MSE_KEEP_HINT)
    check_unchanged(y, regression()[1], call, "y", MSE_KEEP_HINT)
    check_scalar(out, (0.25 + 0.0 + 1.0 + 4.0) / 4, call, slips=LOSS_SLIPS,
                 hint="square the differences y_pred - y, then take their mean over all the entries")


def test_mse_loss_refuses_broadcasting(student):
    """mse_loss: y_pred (4, 1) against y (4,) raises ValueError naming both shapes"""
    y_pred, y = regression()
    msg = expect_raises(ValueError, student.mse_loss, y_pred, y.ravel(), call="mse_loss(y_pred (4, 1), y (4,))",
                        hint="(4, 1) - (4,) broadcasts to a (4, 4) matrix: compare the shapes and raise ValueError")
    assert "(4, 1)" in msg and "(4,)" in msg, f"the ValueError message should name both shapes, got: {msg!r}"


def test_binary_cross_entropy_small(student):
    """binary_cross_entropy: -mean(y log A + (1 - y) log(1 - A))"""
    expected = -np.mean(np.log([0.9, 0.8, 0.6, 0.6]))
    check_scalar(student.binary_cross_entropy(*classification()), expected, "binary_cross_entropy(A, y) on 4 samples",
                 rtol=1e-9, hint="y * log(A) counts for label 1, (1 - y) * log(1 - A) for label 0; negate the mean")


def test_binary_cross_entropy_saturated(student):
    """binary_cross_entropy: finite when A is exactly 0 or 1"""
    A, y = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    with no_warnings("binary_cross_entropy([0, 1], [1, 0])", hint="log(0) = -inf: clip A to [eps, 1 - eps] first"):
        out = student.binary_cross_entropy(A, y)
    check_unchanged(A, np.array([0.0, 1.0]), "binary_cross_entropy(A=[0, 1], y=[1, 0])", "A", CLIP_HINT)
    check_scalar(out, -np.log(1e-12), "binary_cross_entropy(A=[0, 1], y=[1, 0])", rtol=1e-6,
                 hint="clip A to [eps, 1 - eps] with np.clip before taking logs")


def test_mse_gradient_small(student):
    """mse_gradient: 2 (y_pred - y) / N, shaped like y_pred"""
    y_pred, y = regression()
    expected = 2 * (y_pred - y) / 4
    out = student.mse_gradient(y_pred, y)
    call = "mse_gradient(y_pred (4, 1), y (4, 1))"
    check_unchanged(y_pred, regression()[0], call, "y_pred", MSE_KEEP_HINT)
    check_unchanged(y, regression()[1], call, "y", MSE_KEEP_HINT)
    check_array(out, expected, call, slips=GRADIENT_SLIPS,
                hint="the gradient of mean((y_pred - y) ** 2) is 2 (y_pred - y) / N, with N = y_pred.size")


def test_binary_cross_entropy_gradient_small(student):
    """binary_cross_entropy_gradient: (A - y) / (A (1 - A)) / N"""
    A, labels = classification()
    check_array(student.binary_cross_entropy_gradient(*classification()), (A - labels) / (A * (1 - A)) / 4,
                "binary_cross_entropy_gradient(A (4, 1), y (4, 1))", rtol=1e-9,
                hint="d/dA of -(y log A + (1 - y) log(1 - A)) is -y/A + (1 - y)/(1 - A); divide by N for the mean")


def test_binary_cross_entropy_gradient_keeps_A(student):
    """binary_cross_entropy_gradient: A itself is not changed, also where it is clipped"""
    A, y = np.array([0.0, 1.0, 0.5, 1.0]), np.array([1.0, 0.0, 1.0, 1.0])
    before = A.copy()
    out = student.binary_cross_entropy_gradient(A, y)
    call = "binary_cross_entropy_gradient(A=[0, 1, 0.5, 1], y=[1, 0, 1, 1])"
    check_unchanged(A, before, call, "A", CLIP_HINT)
    Ac = np.clip(before, 1e-12, 1 - 1e-12)
    check_array(out, (Ac - y) / (Ac * (1 - Ac)) / 4, call, rtol=1e-6,
                hint="clip A to [eps, 1 - eps] as in the loss, then (A - y) / (A (1 - A)) / N: large but finite")
