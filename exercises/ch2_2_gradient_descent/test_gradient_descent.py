"""Visible tests for chapter 2.2 (run: pytest exercises/ch2_2_gradient_descent)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, expect_raises

IN_PLACE_HINT = ("W -= ... changes the caller's array: start from a copy (W = W.copy(), b = b.copy()) "
                 "or write W = W - ...")


def line_data():
    """Fresh (X, y) for every test: y = 2 x1 - x2 + 0.5 exactly, so gradient descent can reach a loss of 0."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.0, 0.0]])
    return X, X @ np.array([[2.0], [-1.0]]) + 0.5


def zero_start():
    """Fresh initial (W, b): zeros of shapes (2, 1) and (1,)."""
    return np.zeros((2, 1)), np.zeros(1)


def test_one_step(student):
    """gradient_descent: one iteration is one step against the MSE gradient"""
    X, y = line_data()
    W0, b0 = zero_start()
    W, b, losses = student.gradient_descent(X, y, *zero_start(), lr=0.1, num_iterations=1)
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
    W, b, losses = student.gradient_descent(*line_data(), *zero_start(), lr=0.1, num_iterations=2000)
    check_array(W, np.array([[2.0], [-1.0]]), "W after 2000 iterations with lr=0.1", atol=1e-4,
                hint="check the sign of the update (move against the gradient) and the 2/m factor")
    check_array(b, np.array([0.5]), "b after 2000 iterations with lr=0.1", atol=1e-4)
    assert len(losses) == 2000 and losses[-1] < 1e-8, f"the loss should fall to about 0, last losses {losses[-3:]}"


def test_caller_arrays_untouched(student):
    """gradient_descent: the W and b passed in are not changed"""
    X, y = line_data()
    W0, b0 = np.array([[1.0], [1.0]]), np.array([0.25])
    W, b = W0.copy(), b0.copy()
    W_new, b_new, _ = student.gradient_descent(X, y, W, b, lr=0.1, num_iterations=3)
    call = "gradient_descent(X, y, W, b, lr=0.1, num_iterations=3)"
    for name, arg, before in (("W", W, W0), ("b", b, b0), ("X", X, line_data()[0]), ("y", y, line_data()[1])):
        check_unchanged(arg, before, call, name, IN_PLACE_HINT)
    W_exp, b_exp = W0, b0  # three steps, written out
    for _ in range(3):
        err = X @ W_exp + b_exp - y
        W_exp, b_exp = W_exp - 0.1 * (2 / 5) * X.T @ err, b_exp - 0.1 * (2 / 5) * err.sum(axis=0)
    check_array(W_new, W_exp, f"the W returned by {call}", hint="return the updated copy of W")
    check_array(b_new, b_exp, f"the b returned by {call}", hint="return the updated copy of b")


def test_diverges_loudly(student):
    """gradient_descent: a far too large learning rate raises FloatingPointError"""
    msg = expect_raises(FloatingPointError, student.gradient_descent, *line_data(), *zero_start(), lr=50.0,
                        num_iterations=500, call="gradient_descent(X, y, W, b, lr=50, num_iterations=500)",
                        hint="check np.isfinite(loss) at every iteration and raise FloatingPointError")
    assert "iteration" in msg.lower(), f"the message should name the iteration where the loss blew up, got {msg!r}"
