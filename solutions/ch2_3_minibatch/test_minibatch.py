"""Visible tests for chapter 2.3 (run: pytest exercises/ch2_3_minibatch)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar

# Sample i has X[i] = [i, 10 i] and y[i] = i, so a batch shows which samples it holds.
X = np.arange(7.0)[:, None] * np.array([1.0, 10.0])
y = np.arange(7.0)


def test_batches_in_order(student):
    """iterate_minibatches: shuffle=False gives rows in order, the short last batch kept"""
    batches = list(student.iterate_minibatches(X, y, 3, np.random.default_rng(0), shuffle=False))
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [3, 3, 1], (f"iterate_minibatches(X (7, 2), y, batch_size=3, shuffle=False): expected batches "
                                f"of sizes [3, 3, 1], got {sizes}\nHint: range(0, m, batch_size) keeps the last, "
                                "shorter batch; slicing past the end is fine in NumPy")
    check_array(np.concatenate([yb for _, yb in batches]), y, "the y batches put back together (shuffle=False)",
                hint="with shuffle=False the batches are consecutive slices of the data")
    check_array(batches[1][0], X[3:6], "the second X batch (shuffle=False)", hint="X and y are cut at the same rows")


def test_shuffled_pass(student):
    """iterate_minibatches: shuffled, every sample once, rows paired, same seed same order"""
    first = list(student.iterate_minibatches(X, y, 2, np.random.default_rng(42)))
    again = list(student.iterate_minibatches(X, y, 2, np.random.default_rng(42)))
    order = np.concatenate([yb for _, yb in first])
    check_array(np.sort(order), y, "the y values of one shuffled pass, sorted",
                hint="shuffle the row indices with a permutation, so every sample appears exactly once")
    for Xb, yb in first:
        check_array(Xb[:, 0], yb, "X_batch[:, 0] against y_batch (sample i has X[i, 0] = y[i] = i)",
                    hint="index X and y with the same permuted indices")
    check_array(np.concatenate([yb for _, yb in again]), order, "a second pass with np.random.default_rng(42)",
                hint="draw the permutation from the rng argument (rng.permutation(m)), not from np.random")


def test_fits_a_line(student):
    """minibatch_gradient_descent: recovers y = 3x - 1"""
    Xl = np.linspace(-1.0, 1.0, 20).reshape(-1, 1)
    yl = 3 * Xl - 1
    W, b, losses = student.minibatch_gradient_descent(Xl, yl, np.zeros((1, 1)), np.zeros(1), lr=0.1, epochs=200,
                                                      batch_size=8, rng=np.random.default_rng(0))
    check_array(W, np.array([[3.0]]), "W after 200 epochs, batch_size=8", atol=1e-4,
                hint="one step per batch: W -= lr * (2/nb) X_batch.T @ (X_batch @ W + b - y_batch)")
    check_array(b, np.array([-1.0]), "b after 200 epochs, batch_size=8", atol=1e-4)
    assert len(losses) == 200, f"expected one loss per epoch (200), got {len(losses)}"
    check_scalar(losses[-1], float(np.mean((Xl @ W + b - yl) ** 2)), "losses[-1]", atol=1e-12,
                 hint="after each epoch record the MSE of the whole data set, not of the last batch")
