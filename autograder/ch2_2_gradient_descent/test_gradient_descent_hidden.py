"""Hidden suite, chapter 2.2: exact steps against a trusted loop, recovery of a random linear model,
monotone losses, the 1/m factor and the sign of the step, loud divergence, no mutation, shapes."""
import numpy as np
import pytest

from autograder.problems import LINEAR_SHAPE_CASES, linear_shape_case
from dlcourse.testing import check_array, check_scalar, expect_raises

STEP_HINT = ("one step is W - lr * (2/m) X.T @ (X @ W + b - y) and b - lr * (2/m) * sum(X @ W + b - y): "
             "check the 2/m factor, the sign and the transpose")
SIGN_HINT = "step against the gradient: W = W - lr * dW (with + the loss grows at every step)"
MEAN_HINT = "average the gradient over the m samples (the 2/m factor): a sum makes the step grow with m"
DIVERGE_HINT = "check np.isfinite(loss) at every iteration and raise FloatingPointError instead of returning NaN"


def trusted_gd(X, y, W, b, lr, num_iterations):
    W, b, losses = W.astype(np.float64), b.astype(np.float64), []
    for _ in range(num_iterations):
        err = X @ W + b - y
        losses.append(float(np.mean(err ** 2)))
        W = W - lr * (2 / err.size) * X.T @ err
        b = b - lr * (2 / err.size) * err.sum(axis=0)
    return W, b, losses


def linear_problem(rng, m=None, n=None, noise=0.0):
    """Standardised inputs, a random true model, targets y = X W_true + b_true (+ noise)."""
    m = int(m or rng.integers(30, 80))
    n = int(n or rng.integers(2, 6))
    X = rng.normal(size=(m, n))
    W_true, b_true = rng.normal(scale=2.0, size=(n, 1)), rng.normal(scale=2.0, size=1)
    y = X @ W_true + b_true + noise * rng.normal(size=(m, 1))
    return X, y, W_true, b_true


def least_squares(X, y):
    sol = np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), y, rcond=None)[0]
    return sol[:-1], sol[-1]


def start(rng, n, k=1):
    return rng.normal(scale=0.1, size=(n, k)), rng.normal(scale=0.1, size=k)


@pytest.mark.points(2)
def test_few_steps_exact(student, rng):
    """gradient_descent: five steps match the update rule exactly"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    W, b, losses = student.gradient_descent(X, y, W0, b0, lr=0.05, num_iterations=5)
    W_ref, b_ref, losses_ref = trusted_gd(X, y, W0, b0, 0.05, 5)
    check_array(W, W_ref, f"W after 5 iterations, X {X.shape}, lr=0.05", rtol=1e-9, atol=1e-12, hint=STEP_HINT)
    check_array(b, b_ref, "b after 5 iterations", rtol=1e-9, atol=1e-12, hint=STEP_HINT)
    check_array(np.asarray(losses, dtype=np.float64), losses_ref, "losses of 5 iterations", rtol=1e-9,
                hint="losses[i] is the MSE before update i, so losses[0] is the loss of the initial W and b")


def test_step_lowers_the_loss(student, rng):
    """gradient_descent: with a small lr the second loss is below the first"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    _, _, losses = student.gradient_descent(X, y, W0, b0, lr=0.01, num_iterations=2)
    assert len(losses) == 2, f"gradient_descent(..., num_iterations=2) recorded {len(losses)} losses, expected 2"
    assert losses[1] < losses[0], (
        f"gradient_descent(X {X.shape}, ..., lr=0.01): the loss went from {losses[0]:.6g} to {losses[1]:.6g} "
        f"after one step\nHint: {SIGN_HINT}")


def test_step_independent_of_batch_size(student, rng):
    """gradient_descent: the same data repeated twice gives the same step"""
    X, y, _, _ = linear_problem(rng, m=20)
    W0, b0 = start(rng, X.shape[1])
    W1, b1, _ = student.gradient_descent(X, y, W0, b0, lr=0.05, num_iterations=3)
    W2, b2, _ = student.gradient_descent(np.vstack([X, X]), np.vstack([y, y]), W0, b0, lr=0.05, num_iterations=3)
    check_array(W2, W1, "W trained on the data repeated twice vs on the data once", rtol=1e-9, atol=1e-12,
                hint=MEAN_HINT)
    check_array(b2, b1, "b trained on the data repeated twice vs on the data once", rtol=1e-9, atol=1e-12,
                hint=MEAN_HINT)


@pytest.mark.points(2)
def test_recovers_linear_model(student, rng):
    """gradient_descent: recovers a random linear model"""
    X, y, W_true, b_true = linear_problem(rng, m=200, noise=0.1)
    W_ls, b_ls = least_squares(X, y)
    W, b, losses = student.gradient_descent(X, y, np.zeros_like(W_true), np.zeros(1), lr=0.1, num_iterations=400)
    check_array(W, W_ls, f"W fitted to y = X @ W_true + b_true + noise (X {X.shape}), vs least squares", atol=1e-4,
                hint=STEP_HINT)
    check_array(b, b_ls, "b fitted vs least squares", atol=1e-4, hint=STEP_HINT)
    check_array(W, W_true, "W fitted vs the true W (noise 0.1)", atol=0.1)


def test_losses_non_increasing(student, rng):
    """gradient_descent: losses never increase for a small lr"""
    X, y, _, _ = linear_problem(rng, noise=0.5)
    W0, b0 = start(rng, X.shape[1])
    _, _, losses = student.gradient_descent(X, y, W0, b0, lr=0.02, num_iterations=100)
    losses = np.asarray(losses, dtype=np.float64)
    assert losses.shape == (100,), f"expected 100 losses for num_iterations=100, got {losses.shape[0]}"
    rises = np.flatnonzero(np.diff(losses) > 1e-12 * losses[:-1])
    assert rises.size == 0, (
        f"gradient_descent(..., lr=0.02): the loss rose from iteration {rises[0]} to {rises[0] + 1} "
        f"({losses[rises[0]]:.8g} -> {losses[rises[0] + 1]:.8g})\nHint: {SIGN_HINT}")
    assert losses[-1] < losses[0], "the loss should fall over 100 iterations"


def test_losses_are_floats(student, rng):
    """gradient_descent: losses is a list of Python floats, the first one the initial loss"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    _, _, losses = student.gradient_descent(X, y, W0, b0, lr=0.05, num_iterations=4)
    assert isinstance(losses, list) and len(losses) == 4, (
        f"expected a list of 4 losses, got {type(losses).__name__} {losses!r}")
    assert all(isinstance(v, float) for v in losses), (
        f"losses should hold Python floats, got {[type(v).__name__ for v in losses]}\n"
        "Hint: append float(loss), not an array")
    check_scalar(losses[0], float(np.mean((X @ W0 + b0 - y) ** 2)), "losses[0]",
                 hint="record the loss before each update, so losses[0] is the loss of the initial W and b")


def test_zero_iterations(student, rng):
    """gradient_descent: num_iterations=0 returns the initial W and b and no losses"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    W, b, losses = student.gradient_descent(X, y, W0, b0, lr=0.1, num_iterations=0)
    check_array(W, W0, "W after 0 iterations", atol=0)
    check_array(b, b0, "b after 0 iterations", atol=0)
    assert list(losses) == [], f"expected no losses for num_iterations=0, got {losses!r}"


@pytest.mark.points(2)
@pytest.mark.parametrize("lr", [10.0, 1e3], ids=["lr10", "lr1000"])
def test_diverges_loudly(student, rng, lr):
    """gradient_descent: a huge lr raises FloatingPointError, never returns NaN"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    msg = expect_raises(FloatingPointError, student.gradient_descent, X, y, W0, b0, lr=lr, num_iterations=2000,
                        call=f"gradient_descent(X {X.shape}, y, W, b, lr={lr:g}, num_iterations=2000)", hint=DIVERGE_HINT)
    low = msg.lower()
    assert "iteration" in low and ("lr" in low or "learning rate" in low), (
        f"the FloatingPointError message should name the iteration and suggest a smaller learning rate, got {msg!r}")


def test_does_not_mutate(student, rng):
    """gradient_descent: the caller's W and b are left untouched"""
    X, y, _, _ = linear_problem(rng)
    W0, b0 = start(rng, X.shape[1])
    W_in, b_in = W0.copy(), b0.copy()
    W, _, _ = student.gradient_descent(X, y, W_in, b_in, lr=0.05, num_iterations=5)
    check_array(W_in, W0, "the caller's W after gradient_descent", rtol=0, atol=0,
                hint="W -= lr * dW updates the caller's array in place: work on W = W.copy() (or W = W - ...)")
    check_array(b_in, b0, "the caller's b after gradient_descent", rtol=0, atol=0,
                hint="b -= lr * db updates the caller's array in place: work on a copy")
    assert not np.allclose(W, W0), "gradient_descent returned the initial W unchanged after 5 iterations"


def test_vector_targets(student, rng):
    """gradient_descent: y of shape (m,) gives the same result as (m, 1)"""
    X, y, _, _ = linear_problem(rng, m=25)
    W0, b0 = start(rng, X.shape[1])
    W_ref, b_ref, _ = trusted_gd(X, y, W0, b0, 0.05, 10)
    W, b, _ = student.gradient_descent(X, y.ravel(), W0, b0, lr=0.05, num_iterations=10)
    hint = "reshape y (m,) to (m, 1): X @ W - y with y of shape (m,) broadcasts to an (m, m) matrix"
    check_array(W, W_ref, f"W after 10 iterations with y of shape {y.ravel().shape}", rtol=1e-9, atol=1e-12, hint=hint)
    check_array(b, b_ref, "b after 10 iterations with y of shape (m,)", rtol=1e-9, atol=1e-12, hint=hint)


def test_several_outputs(student, rng):
    """gradient_descent: W (n, k) with y (m, k) averages over all m*k entries"""
    X = rng.normal(size=(30, 3))
    y = rng.normal(size=(30, 2))
    W0, b0 = start(rng, 3, k=2)
    W_ref, b_ref, losses_ref = trusted_gd(X, y, W0, b0, 0.05, 5)
    W, b, losses = student.gradient_descent(X, y, W0, b0, lr=0.05, num_iterations=5)
    check_array(W, W_ref, "W (3, 2) after 5 iterations on y (30, 2)", rtol=1e-9, atol=1e-12,
                hint="the MSE is the mean over all m*k entries: the factor is 2 / (m * k) = 2 / err.size")
    check_array(b, b_ref, "b (2,) after 5 iterations on y (30, 2)", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", LINEAR_SHAPE_CASES)
def test_shape_mismatch(student, rng, case):
    """gradient_descent: inconsistent shapes raise ValueError naming the wrong shape"""
    X, y, W, b, named = linear_shape_case(rng, case)
    msg = expect_raises(ValueError, student.gradient_descent, X, y, W, b, lr=0.1, num_iterations=1,
                        call=f"gradient_descent(X {X.shape}, y {y.shape}, W {W.shape}, b {b.shape})",
                        hint="check X (m, n), W (n, k), b (k,) and y (m, k) before training (compare shapes with "
                             "==, not < or >), and raise ValueError")
    assert str(named.shape) in msg, f"the ValueError should name the wrong shape {named.shape}, got {msg!r}"


def test_labels_as_a_vector_and_wide_input(student, rng):
    """gradient_descent: y given as (m,) for one output works like (m, 1); 300 features (sizes compared by value)"""
    X, y = rng.normal(size=(12, 300)), rng.normal(size=12)
    W0, b0 = np.zeros((300, 1)), np.zeros(1)
    W_col, b_col, losses_col = student.gradient_descent(X, y[:, None], W0, b0, lr=1e-3, num_iterations=3)
    W_vec, b_vec, losses_vec = student.gradient_descent(X, y, W0, b0, lr=1e-3, num_iterations=3)
    check_array(np.asarray(losses_vec), np.asarray(losses_col), "losses of gradient_descent(X (12, 300), y (12,), "
                "W (300, 1), ...) vs y as a (12, 1) column", rtol=1e-9, atol=1e-12,
                hint="reshape a (m,) y to (m, 1) when W has one column: (m,) - (m, 1) would broadcast to (m, m)")
    check_array(W_vec, W_col, "W after gradient_descent with y (12,) vs y (12, 1)", rtol=1e-9, atol=1e-12)
