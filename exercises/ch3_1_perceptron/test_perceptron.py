"""Visible tests for chapter 3.1 (run: pytest exercises/ch3_1_perceptron)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, expect_raises

KEEP_HINT = "compute into new arrays; leave the caller's arrays as they were"


def small_batch():
    """Fresh (X, W, b) for every test: 3 samples, 2 features."""
    return np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]]), np.array([[0.5], [-1.0]]), np.array([0.25])


def toy_problem():
    """Fresh (X, y): a small problem a single line separates, class 1 when x0 + x1 > 1."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [1.0, 2.0], [0.2, 0.3], [1.5, 1.5], [0.1, 0.6]])
    return X, np.array([0, 0, 0, 1, 1, 0, 1, 0])


def test_forward_values(student):
    """forward_perceptron: sigmoid(X @ W + b) as an (m, 1) column"""
    X, W, b = small_batch()
    out = student.forward_perceptron(X, W, b)
    call = "forward_perceptron(X (3, 2), W (2, 1), b (1,))"
    for name, arg, before in zip("XWb", (X, W, b), small_batch()):
        check_unchanged(arg, before, call, name, KEEP_HINT)
    X, W, b = small_batch()
    check_array(out, 1 / (1 + np.exp(-(X @ W + b))), call,
                hint="compute Z = X @ W + b (shape (3, 1)) and apply sigmoid to it")


def test_forward_shape_mismatch(student):
    """forward_perceptron: W that does not fit X raises ValueError naming both shapes"""
    X, _, b = small_batch()
    W_bad = np.ones((3, 1))
    msg = expect_raises(ValueError, student.forward_perceptron, X, W_bad, b,
                        call="forward_perceptron(X (3, 2), W (3, 1), b (1,))",
                        hint="W must be (n, 1) where n = X.shape[1]; check it and raise ValueError")
    assert "(3, 2)" in msg and "(3, 1)" in msg, f"the ValueError should name both shapes, got: {msg!r}"


def test_train_returns_shapes(student, rng):
    """train_perceptron: returns W (n, 1), b (1,) and one loss per epoch"""
    X, y = toy_problem()
    W_, b_, losses = student.train_perceptron(X, y, 0.5, 7, rng)
    call = "train_perceptron(X (8, 2), y (8,), lr=0.5, epochs=7, rng)"
    check_unchanged(X, toy_problem()[0], call, "X", KEEP_HINT)
    check_unchanged(y, toy_problem()[1], call, "y", "y.shape = (m, 1) or y.resize(...) reshapes the caller's y: "
                    "write Y = y.reshape(m, 1), a new array object")
    assert np.shape(W_) == (2, 1), f"train_perceptron on X (8, 2): W should have shape (2, 1), got {np.shape(W_)}"
    assert np.shape(b_) == (1,), f"train_perceptron on X (8, 2): b should have shape (1,), got {np.shape(b_)}"
    assert len(losses) == 7, f"train_perceptron(..., epochs=7): expected 7 losses (one per epoch), got {len(losses)}"


def test_train_learns_toy_problem(student, rng):
    """train_perceptron: the loss falls and a separable toy problem is learned"""
    W_, b_, losses = student.train_perceptron(*toy_problem(), 1.0, 300, rng)
    assert losses[-1] < 0.5 * losses[0], (
        f"train_perceptron(X_TOY, y, lr=1.0, epochs=300): the loss went from {losses[0]:.4f} to {losses[-1]:.4f}; "
        "it should at least halve.\nHint: step AGAINST the gradient (W -= lr * dW) with dW = X.T @ (A - Y) / m")
    X, y = toy_problem()
    predicted = (1 / (1 + np.exp(-(X @ W_ + b_)))).ravel() >= 0.5
    check_array(predicted.astype(int), y, "class predicted by the trained weights on the toy problem",
                hint="after training, sigmoid(X @ W + b) >= 0.5 should match y on this separable problem")
