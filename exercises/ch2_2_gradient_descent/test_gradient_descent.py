"""Visible tests for chapter 2.2 (run: pytest exercises/ch2_2_gradient_descent)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, expect_raises

# y = 2 x1 - x2 + 0.5 exactly, so gradient descent can reach a loss of 0.
X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.0, 0.0]])
y = X @ np.array([[2.0], [-1.0]]) + 0.5
W0, b0 = np.zeros((2, 1)), np.zeros(1)


def test_one_step(student):
    """gradient_descent: one iteration is one step against the MSE gradient"""
    W, b, losses = student.gradient_descent(X, y, W0, b0, lr=0.1, num_iterations=1)
    err = X @ W0 + b0 - y  # the predictions minus the targets, (5, 1)
    check_array(W, W0 - 0.1 * (2 / 5) * X.T @ err, "W after gradient_descent(..., lr=0.1, num_iterations=1)",
                hint="dL/dW = (2/m) X.T @ (X @ W + b - y), and the step is W - lr * dL/dW")
    check_array(b, b0 - 0.1 * (2 / 5) * err.sum(axis=0), "b after one iteration",
                hint="dL/db = (2/m) * the sum of (X @ W + b - y) over the samples, shape (1,)")
    assert len(losses) == 1, f"one iteration should record one loss, got {len(losses)}: {losses!r}"
    check_scalar(losses[0], float(np.mean(err ** 2)), "losses[0] (the loss of the initial W and b)",
                 hint="record the loss before the update")


def test_fits_a_line(student):
    """gradient_descent: recovers W = [2, -1], b = 0.5 from exact data"""
    W, b, losses = student.gradient_descent(X, y, W0, b0, lr=0.1, num_iterations=2000)
    check_array(W, np.array([[2.0], [-1.0]]), "W after 2000 iterations with lr=0.1", atol=1e-4,
                hint="check the sign of the update (move against the gradient) and the 2/m factor")
    check_array(b, np.array([0.5]), "b after 2000 iterations with lr=0.1", atol=1e-4)
    assert len(losses) == 2000 and losses[-1] < 1e-8, f"the loss should fall to about 0, last losses {losses[-3:]}"


def test_caller_arrays_untouched(student):
    """gradient_descent: the W and b passed in are not changed"""
    W, b = W0.copy(), b0.copy()
    student.gradient_descent(X, y, W, b, lr=0.1, num_iterations=3)
    check_array(W, W0, "the caller's W after gradient_descent", atol=0,
                hint="W -= ... changes the caller's array: start from a copy (W = W.copy()) or write W = W - ...")
    check_array(b, b0, "the caller's b after gradient_descent", atol=0)


def test_diverges_loudly(student):
    """gradient_descent: a far too large learning rate raises FloatingPointError"""
    msg = expect_raises(FloatingPointError, student.gradient_descent, X, y, W0, b0, lr=50.0, num_iterations=500,
                        call="gradient_descent(X, y, W, b, lr=50, num_iterations=500)",
                        hint="check np.isfinite(loss) at every iteration and raise FloatingPointError")
    assert "iteration" in msg.lower(), f"the message should name the iteration where the loss blew up, got {msg!r}"
