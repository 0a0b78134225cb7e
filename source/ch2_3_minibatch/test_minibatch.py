"""Visible tests for chapter 2.3 (run: pytest exercises/ch2_3_minibatch)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, require

SHUFFLE_HINT = ("rng.shuffle(X) or X[:] = X[order] reorders the caller's data: index with the permutation "
                "instead (X[idx], y[idx] make new arrays)")
IN_PLACE_HINT = ("W -= ... changes the caller's array: start from a copy (W = W.copy(), b = b.copy()) "
                 "or write W = W - ...")


def numbered():
    """Fresh (X, y) for every test: sample i has X[i] = [i, 10 i] and y[i] = i, so a batch shows which samples
    it holds."""
    return np.arange(7.0)[:, None] * np.array([1.0, 10.0]), np.arange(7.0)


def test_batches_in_order(student):
    """iterate_minibatches: shuffle=False gives rows in order, the short last batch kept"""
    batches = list(student.iterate_minibatches(*numbered(), 3, np.random.default_rng(0), shuffle=False))
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [3, 3, 1], (f"iterate_minibatches(X (7, 2), y, batch_size=3, shuffle=False): expected batches "
                                f"of sizes [3, 3, 1], got {sizes}\nHint: range(0, m, batch_size) keeps the last, "
                                "shorter batch; slicing past the end is fine in NumPy")
    X, y = numbered()
    check_array(np.concatenate([yb for _, yb in batches]), y, "the y batches put back together (shuffle=False)",
                hint="with shuffle=False the batches are consecutive slices of the data")
    check_array(batches[1][0], X[3:6], "the second X batch (shuffle=False)", hint="X and y are cut at the same rows")


def test_shuffled_pass(student):
    """iterate_minibatches: shuffled, every sample once, rows paired, same seed same order"""
    X, y = numbered()
    first = list(student.iterate_minibatches(X, y, 2, np.random.default_rng(42)))
    call = "iterate_minibatches(X, y, 2, np.random.default_rng(42))"
    check_unchanged(X, numbered()[0], call, "X", SHUFFLE_HINT)
    check_unchanged(y, numbered()[1], call, "y", SHUFFLE_HINT)
    again = list(student.iterate_minibatches(*numbered(), 2, np.random.default_rng(42)))
    order = np.concatenate([yb for _, yb in first])
    check_array(np.sort(order), numbered()[1], "the y values of one shuffled pass, sorted",
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
    W, b, losses = student.minibatch_gradient_descent(Xl.copy(), yl.copy(), np.zeros((1, 1)), np.zeros(1), lr=0.1,
                                                      epochs=200, batch_size=8, rng=np.random.default_rng(0))
    check_array(W, np.array([[3.0]]), "W after 200 epochs, batch_size=8", atol=1e-4,
                hint="one step per batch: W -= lr * (2/nb) X_batch.T @ (X_batch @ W + b - y_batch)")
    check_array(b, np.array([-1.0]), "b after 200 epochs, batch_size=8", atol=1e-4)
    assert len(losses) == 200, f"expected one loss per epoch (200), got {len(losses)}"
    check_scalar(losses[-1], float(np.mean((Xl @ W + b - yl) ** 2)), "losses[-1]", atol=1e-12,
                 hint="after each epoch record the MSE of the whole data set, not of the last batch")


def test_caller_arrays_untouched(student):
    """minibatch_gradient_descent: the X, y, W and b passed in are not changed"""
    Xl = np.linspace(-1.0, 1.0, 20).reshape(-1, 1)
    yl = 3 * Xl - 1
    W0, b0 = np.array([[0.5]]), np.array([0.25])
    X, y, W, b = Xl.copy(), yl.copy(), W0.copy(), b0.copy()
    # batch_size 20 >= m: one batch of all the rows per epoch, whatever the order, so the steps are known
    W_new, b_new, losses = student.minibatch_gradient_descent(X, y, W, b, lr=0.1, epochs=3, batch_size=20,
                                                              rng=np.random.default_rng(0))
    call = "minibatch_gradient_descent(X, y, W, b, lr=0.1, epochs=3, batch_size=20, rng)"
    for name, arg, before in (("W", W, W0), ("b", b, b0), ("X", X, Xl), ("y", y, yl)):
        check_unchanged(arg, before, call, name, IN_PLACE_HINT if name in "Wb" else SHUFFLE_HINT)
    W_exp, b_exp = W0, b0
    for _ in range(3):
        err = Xl @ W_exp + b_exp - yl
        W_exp, b_exp = W_exp - 0.1 * (2 / 20) * Xl.T @ err, b_exp - 0.1 * (2 / 20) * err.sum(axis=0)
    check_array(W_new, W_exp, f"the W returned by {call}", rtol=1e-9,
                hint="with one batch per epoch every step is a full-batch step: W - lr * (2/m) X.T @ (X @ W + b - y)")
    check_array(b_new, b_exp, f"the b returned by {call}", rtol=1e-9)
    require(len(losses) == 3, f"{call}: expected one loss per epoch (3), got {len(losses)}")
