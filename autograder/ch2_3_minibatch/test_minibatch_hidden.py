"""Hidden suite, chapter 2.3: batches cover every sample once (short last batch kept), shuffling from the
rng (reproducible, fresh every epoch), the update rule on the exact batches, convergence, divergence."""
import numpy as np
import pytest

from autograder.problems import LINEAR_SHAPE_CASES, linear_shape_case
from dlcourse.testing import check_array, check_scalar, expect_raises, require

LAST_HINT = "range(0, m, batch_size) keeps the last, shorter batch; m // batch_size batches drop it"
SHUFFLE_HINT = "with shuffle=True index X and y by rng.permutation(m), a new permutation on every call"
STEP_HINT = ("per batch of nb rows: W -= lr * (2/nb) X_batch.T @ (X_batch @ W + b - y_batch), "
             "b -= lr * (2/nb) * sum(X_batch @ W + b - y_batch)")
OWN_SIZE_HINT = ("divide by the batch's own size (len(X_batch)), not by batch_size: the last batch is shorter "
                 "and would take a step too small")


def tagged_data(rng, m, n=2):
    """Sample i has y[i] = i and X[i, 0] = i, so every batch shows which samples it holds."""
    X = np.hstack([np.arange(m, dtype=np.float64)[:, None], rng.normal(size=(m, n - 1))])
    return X, np.arange(m, dtype=np.float64)


def batches_of(student, X, y, batch_size, seed, shuffle=True):
    return [(np.asarray(Xb), np.asarray(yb))
            for Xb, yb in student.iterate_minibatches(X, y, batch_size, np.random.default_rng(seed), shuffle=shuffle)]


def call_text(m, batch_size, shuffle=True):
    return f"iterate_minibatches(X ({m}, 2), y ({m},), batch_size={batch_size}, rng, shuffle={shuffle})"


def linear_problem(rng, m=60, n=3, noise=0.0):
    X = rng.normal(size=(m, n))
    W_true, b_true = rng.normal(scale=2.0, size=(n, 1)), rng.normal(scale=2.0, size=1)
    return X, X @ W_true + b_true + noise * rng.normal(size=(m, 1)), W_true, b_true


def trusted_epoch(W, b, batches, lr, divide_by=None):
    """One epoch of steps over the given (X_batch, y_batch) pairs (divide_by: a wrong fixed batch size)."""
    W, b = W.astype(np.float64), b.astype(np.float64)
    for Xb, yb in batches:
        err = Xb @ W + b - yb
        dZ = 2 * err / (divide_by * err.shape[1] if divide_by else err.size)
        W, b = W - lr * Xb.T @ dZ, b - lr * dZ.sum(axis=0)
    return W, b


def seed_of(rng):
    return int(rng.integers(2**31))

# ---------------------------------------------------------------- iterate_minibatches

@pytest.mark.points(2)
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "ordered"])
def test_every_sample_once(student, rng, shuffle):
    """iterate_minibatches: one pass holds every sample exactly once, the short last batch kept"""
    m, batch_size = int(rng.integers(20, 40)), int(rng.integers(3, 8))
    if m % batch_size == 0:
        m += 1
    X, y = tagged_data(rng, m)
    batches = batches_of(student, X, y, batch_size, seed_of(rng), shuffle)
    sizes = [len(yb) for _, yb in batches]
    expected = [batch_size] * (m // batch_size) + [m % batch_size]
    assert sizes == expected, (f"{call_text(m, batch_size, shuffle)}: expected batches of sizes {expected}, got "
                               f"{sizes}\nHint: {LAST_HINT}")
    seen = np.concatenate([yb for _, yb in batches])
    check_array(np.sort(seen), y, f"{call_text(m, batch_size, shuffle)}: the samples of one pass, sorted",
                hint="every sample exactly once per pass: take consecutive slices of one permutation of 0..m-1 "
                     "(rng.choice with replacement repeats some and misses others)")


def test_ordered_keeps_order(student, rng):
    """iterate_minibatches: shuffle=False keeps the data's order"""
    m, batch_size = 17, 4
    X, y = tagged_data(rng, m)
    batches = batches_of(student, X, y, batch_size, seed_of(rng), shuffle=False)
    check_array(np.concatenate([yb for _, yb in batches]), y, f"{call_text(m, batch_size, False)}: the order of the "
                "samples", hint="with shuffle=False do not permute: slice rows 0..m-1 in order")
    check_array(np.concatenate([Xb for Xb, _ in batches]), X, f"{call_text(m, batch_size, False)}: X put back "
                "together")


@pytest.mark.points(2)
def test_shuffles_samples(student, rng):
    """iterate_minibatches: shuffle=True mixes the samples, not only the order of the batches"""
    m, batch_size = 60, 10
    X, y = tagged_data(rng, m)
    batches = batches_of(student, X, y, batch_size, seed_of(rng), shuffle=True)
    order = np.concatenate([yb for _, yb in batches])
    assert not np.array_equal(order, y), (f"{call_text(m, batch_size)}: the samples came in their original order "
                                          f"0, 1, ..., {m - 1}\nHint: {SHUFFLE_HINT}")
    first = np.sort(batches[0][1])
    assert not np.array_equal(first, np.arange(first[0], first[0] + len(first))), (
        f"{call_text(m, batch_size)}: the first batch holds the consecutive samples {first.astype(int).tolist()}\n"
        "Hint: shuffle the samples (a permutation of the row indices), not only the order of the batches")


def test_rows_stay_paired(student, rng):
    """iterate_minibatches: each X row stays with its y row"""
    m = 25
    X, y = tagged_data(rng, m, n=3)
    for Xb, yb in batches_of(student, X, y, 6, seed_of(rng)):
        check_array(Xb, X[yb.astype(int)], "X_batch against the rows of X named by y_batch",
                    hint="index X and y with the same permuted indices (one permutation, used for both)")


def test_reproducible(student, rng):
    """iterate_minibatches: the same seed gives the same batches, another seed other batches"""
    m, batch_size = 40, 7
    X, y = tagged_data(rng, m)
    seed = seed_of(rng)
    a = np.concatenate([yb for _, yb in batches_of(student, X, y, batch_size, seed)])
    b = np.concatenate([yb for _, yb in batches_of(student, X, y, batch_size, seed)])
    c = np.concatenate([yb for _, yb in batches_of(student, X, y, batch_size, seed + 1)])
    check_array(b, a, f"two passes with np.random.default_rng({seed})", atol=0,
                hint="draw the permutation from the rng argument, never from np.random's global state")
    assert not np.array_equal(a, c), (f"np.random.default_rng({seed}) and default_rng({seed + 1}) gave the same order"
                                      f"\nHint: {SHUFFLE_HINT}")


def test_batch_larger_than_data(student, rng):
    """iterate_minibatches: batch_size >= m gives one batch of everything"""
    X, y = tagged_data(rng, 9)
    batches = batches_of(student, X, y, 20, seed_of(rng), shuffle=False)
    assert len(batches) == 1, f"iterate_minibatches(X (9, 2), y, batch_size=20): expected 1 batch, got {len(batches)}"
    check_array(batches[0][1], y, "the single batch (shuffle=False)")


def test_column_targets(student, rng):
    """iterate_minibatches: y of shape (m, k) is cut row by row"""
    X = rng.normal(size=(11, 3))
    y = np.hstack([np.arange(11.0)[:, None], X[:, :1]])
    batches = batches_of(student, X, y, 4, seed_of(rng))
    assert [yb.shape for _, yb in batches] == [(4, 2), (4, 2), (3, 2)], (
        f"iterate_minibatches(X (11, 3), y (11, 2), batch_size=4): y batch shapes {[yb.shape for _, yb in batches]}, "
        "expected [(4, 2), (4, 2), (3, 2)]\nHint: index the rows: y[idx], which keeps the other axes")
    for Xb, yb in batches:
        check_array(Xb[:, 0], yb[:, 1], "X_batch[:, 0] against y_batch[:, 1] (the same samples)")


@pytest.mark.parametrize("shapes", [((6, 2), (5,)), ((5, 2), (6, 1)), ((), (1,)), ((1, 2), ())],
                         ids=["y-short", "y-long", "X-0d", "y-0d"])
def test_mismatched_rows(student, shapes):
    """iterate_minibatches: X and y with different numbers of rows (or without rows) raise ValueError"""
    X, y = np.zeros(shapes[0]), np.zeros(shapes[1])
    call = f"iterate_minibatches(X {X.shape}, y {y.shape}, 2, rng)"
    msg = expect_raises(ValueError, lambda: list(student.iterate_minibatches(X, y, 2, np.random.default_rng(0))),
                        call=call, hint="check that X and y have a first axis (ndim >= 1) of the same length, "
                                        "X.shape[0] == y.shape[0], and raise ValueError")
    require(str(X.shape) in msg and str(y.shape) in msg, f"{call}: the ValueError should name both shapes, got "
                                                         f"{msg!r}")


def test_any_rows_and_batch_sizes(student, rng):
    """iterate_minibatches: 1-D X, 300 rows (sizes compared by value) and batch_size 1 work"""
    for X, y, size in ((np.arange(5.0), np.arange(5.0), 2), (np.arange(300.0)[:, None], np.arange(300.0), 128),
                       (np.arange(4.0)[:, None], np.arange(4.0), 1)):
        call = f"iterate_minibatches(X {X.shape}, y {y.shape}, batch_size={size}, rng, shuffle=False)"
        batches = list(student.iterate_minibatches(X, y, size, np.random.default_rng(0), shuffle=False))
        want = [len(y[i:i + size]) for i in range(0, len(y), size)]
        require([len(np.asarray(yb)) for _, yb in batches] == want,
                f"{call}: expected batches of {want} rows, got {[len(np.asarray(yb)) for _, yb in batches]}\n"
                "Hint: any X whose first axis indexes the samples works (a 1-D X too); compare sizes by value "
                "(!=, not `is not`); batch_size = 1 is valid (reject only batch_size < 1)")
        check_array(np.concatenate([np.asarray(yb) for _, yb in batches]), y, f"{call}: the labels of the batches "
                    "joined", rtol=0, atol=0, hint=LAST_HINT)


def test_bad_batch_size(student):
    """iterate_minibatches: batch_size 0 or -1 raises ValueError"""
    for size in (0, -1):
        expect_raises(ValueError, lambda: list(student.iterate_minibatches(np.zeros((4, 2)), np.zeros(4), size,
                                                                           np.random.default_rng(0))),
                      call=f"iterate_minibatches(X (4, 2), y (4,), batch_size={size}, rng)",
                      hint="batch_size must be a positive integer: raise ValueError (a step of 0 in range() fails "
                           "otherwise, and a negative one gives no batch at all)")


# ---------------------------------------------------------------- minibatch_gradient_descent

@pytest.mark.points(3)
def test_one_epoch_on_its_batches(student, rng):
    """minibatch_gradient_descent: one epoch is one step per shuffled batch, the short one included"""
    X, y, _, _ = linear_problem(rng, m=23, noise=0.3)
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    lr, batch_size, seed = 0.05, 5, seed_of(rng)
    W, b, losses = student.minibatch_gradient_descent(X, y, W0, b0, lr, 1, batch_size, np.random.default_rng(seed))
    W, b = np.asarray(W), np.asarray(b)
    batches = batches_of(student, X, y, batch_size, seed)  # the batches the epoch must have used
    W_ref, b_ref = trusted_epoch(W0, b0, batches, lr)
    call = f"minibatch_gradient_descent(X (23, 3), y, W, b, lr={lr}, epochs=1, batch_size=5, rng)"
    if W.shape == W_ref.shape and not np.allclose(W, W_ref, rtol=1e-8, atol=1e-12):
        diagnoses = [(trusted_epoch(W0, b0, batches, lr, divide_by=batch_size), OWN_SIZE_HINT),
                     (trusted_epoch(W0, b0, batches_of(student, X, y, batch_size, seed, shuffle=False), lr),
                      "the batches were not shuffled: take them from iterate_minibatches(X, y, batch_size, rng) "
                      "with shuffle=True every epoch"),
                     (trusted_epoch(W0, b0, batches, -lr), "step against the gradient: W -= lr * dW")]
        for (W_bad, b_bad), hint in diagnoses:
            if np.allclose(W, W_bad, rtol=1e-8, atol=1e-12) and np.allclose(b, b_bad, rtol=1e-8, atol=1e-12):
                pytest.fail(f"{call}: wrong W after the epoch\nHint: {hint}", pytrace=False)
    check_array(W, W_ref, f"{call}: W, against the steps on the batches iterate_minibatches(X, y, 5, rng) yields",
                rtol=1e-8, atol=1e-12, hint=STEP_HINT)
    check_array(b, b_ref, f"{call}: b", rtol=1e-8, atol=1e-12, hint=STEP_HINT)
    check_scalar(losses[0], float(np.mean((X @ W_ref + b_ref - y) ** 2)), f"{call}: losses[0]", rtol=1e-8,
                 hint="record the MSE on the whole data set after the epoch")


def test_full_batch_epochs_are_gd_steps(student, rng):
    """minibatch_gradient_descent: batch_size >= m makes every epoch one full gradient step"""
    X, y, _, _ = linear_problem(rng, m=30, noise=0.5)
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    W, b, _ = student.minibatch_gradient_descent(X, y, W0, b0, 0.1, 3, 64, np.random.default_rng(seed_of(rng)))
    W_ref, b_ref = trusted_epoch(W0, b0, [(X, y)] * 3, 0.1)
    check_array(W, W_ref, "W after 3 epochs with batch_size=64 > m=30 (3 full gradient steps)", rtol=1e-9,
                atol=1e-12, hint=STEP_HINT + "; nb = len(X_batch), here 30, not batch_size")
    check_array(b, b_ref, "b after 3 full-batch epochs", rtol=1e-9, atol=1e-12, hint=STEP_HINT)


def test_reshuffles_every_epoch(student, rng):
    """minibatch_gradient_descent: a fresh order every epoch, from the rng"""
    X, y, _, _ = linear_problem(rng, m=24, noise=0.3)
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    seed = seed_of(rng)
    W, b, _ = student.minibatch_gradient_descent(X, y, W0, b0, 0.05, 2, 6, np.random.default_rng(seed))
    W_same, b_same = trusted_epoch(W0, b0, batches_of(student, X, y, 6, seed) * 2, 0.05)
    assert not np.allclose(W, W_same, rtol=1e-10, atol=1e-13), (
        "minibatch_gradient_descent(..., epochs=2, batch_size=6, rng): the second epoch used the same batches in "
        "the same order as the first\nHint: call iterate_minibatches(X, y, batch_size, rng) inside the epoch loop, "
        "so every epoch draws a new permutation")
    W2, _, _ = student.minibatch_gradient_descent(X, y, W0, b0, 0.05, 2, 6, np.random.default_rng(seed))
    W3, _, _ = student.minibatch_gradient_descent(X, y, W0, b0, 0.05, 2, 6, np.random.default_rng(seed + 1))
    check_array(W2, W, f"W from a second run with np.random.default_rng({seed})", rtol=1e-12, atol=0,
                hint="all randomness must come from the rng argument")
    assert not np.allclose(W3, W, rtol=1e-10, atol=1e-13), (
        "minibatch_gradient_descent: different rng seeds gave exactly the same W, so the batches were never "
        "shuffled\nHint: use iterate_minibatches(X, y, batch_size, rng, shuffle=True)")


@pytest.mark.points(2)
def test_recovers_linear_model(student, rng):
    """minibatch_gradient_descent: recovers a random linear model"""
    X, y, W_true, b_true = linear_problem(rng, m=100)
    W, b, losses = student.minibatch_gradient_descent(X, y, np.zeros((3, 1)), np.zeros(1), 0.05, 60, 10,
                                                      np.random.default_rng(seed_of(rng)))
    check_array(W, W_true, "W fitted to exact data y = X @ W_true + b_true (100 samples, 60 epochs, batch_size=10)",
                atol=1e-4, hint=STEP_HINT)
    check_array(b, b_true, "b fitted to exact data", atol=1e-4, hint=STEP_HINT)


def test_losses_per_epoch(student, rng):
    """minibatch_gradient_descent: one float per epoch, the full-data MSE after it"""
    X, y, _, _ = linear_problem(rng, m=40, noise=0.2)
    W, b, losses = student.minibatch_gradient_descent(X, y, np.zeros((3, 1)), np.zeros(1), 0.05, 7, 8,
                                                      np.random.default_rng(seed_of(rng)))
    assert isinstance(losses, list) and len(losses) == 7, (
        f"minibatch_gradient_descent(..., epochs=7): expected a list of 7 losses (one per epoch), got "
        f"{type(losses).__name__} of length {len(losses)}\nHint: append one loss after each epoch, not per batch")
    assert all(isinstance(v, float) for v in losses), (
        f"losses should hold Python floats, got {[type(v).__name__ for v in losses]}\nHint: append float(loss)")
    check_scalar(losses[-1], float(np.mean((X @ np.asarray(W) + b - y) ** 2)), "losses[-1] against the MSE of the "
                 "returned W and b on all 40 samples", rtol=1e-9,
                 hint="after each epoch compute the MSE on the whole X, y (not the last batch's loss)")
    assert losses[-1] < losses[0], f"the loss should fall over 7 epochs, got {losses}"


def test_does_not_mutate(student, rng):
    """minibatch_gradient_descent: the caller's W and b are left untouched"""
    X, y, _, _ = linear_problem(rng, m=20)
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    W_in, b_in = W0.copy(), b0.copy()
    seed = seed_of(rng)
    # One epoch, whose batches are known (graded, the rng is a copy in the worker: it does not advance here)
    W, b, _ = student.minibatch_gradient_descent(X, y, W_in, b_in, 0.05, 1, 5, np.random.default_rng(seed))
    check_array(W_in, W0, "the caller's W after minibatch_gradient_descent", rtol=0, atol=0,
                hint="W -= ... changes the caller's array: work on W = W.copy()")
    check_array(b_in, b0, "the caller's b after minibatch_gradient_descent", rtol=0, atol=0,
                hint="b -= ... changes the caller's array: work on b = b.copy()")
    W_ref, b_ref = trusted_epoch(W0, b0, batches_of(student, X, y, 5, seed), 0.05)
    call = "minibatch_gradient_descent(X (20, 3), y, W, b, lr=0.05, epochs=1, batch_size=5, rng)"
    check_array(W, W_ref, f"{call}: the W returned, against the steps on the batches iterate_minibatches yields",
                rtol=1e-8, atol=1e-12, hint=STEP_HINT)
    check_array(b, b_ref, f"{call}: the b returned", rtol=1e-8, atol=1e-12, hint=STEP_HINT)


def test_vector_targets(student, rng):
    """minibatch_gradient_descent: y of shape (m,) works like (m, 1)"""
    X, y, _, _ = linear_problem(rng, m=30, noise=0.3)
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    seed = seed_of(rng)
    W1, b1, _ = student.minibatch_gradient_descent(X, y, W0, b0, 0.05, 3, 7, np.random.default_rng(seed))
    W2, b2, _ = student.minibatch_gradient_descent(X, y.ravel(), W0, b0, 0.05, 3, 7, np.random.default_rng(seed))
    hint = "reshape y (m,) to (m, 1): X_batch @ W - y_batch with y_batch (nb,) broadcasts to (nb, nb)"
    check_array(W2, W1, "W trained with y (30,) against y (30, 1), same seed", rtol=1e-9, atol=1e-12, hint=hint)
    check_array(b2, b1, "b trained with y (30,) against y (30, 1), same seed", rtol=1e-9, atol=1e-12, hint=hint)


@pytest.mark.parametrize("case", LINEAR_SHAPE_CASES)
def test_shape_mismatch(student, rng, case):
    """minibatch_gradient_descent: inconsistent shapes raise ValueError naming the wrong shape"""
    X, y, W, b, named = linear_shape_case(rng, case)
    call = f"minibatch_gradient_descent(X {X.shape}, y {np.shape(y)}, W {W.shape}, b {b.shape}, 0.1, 1, 4, rng)"
    msg = expect_raises(ValueError, student.minibatch_gradient_descent, X, y, W, b, 0.1, 1, 4,
                        np.random.default_rng(0), call=call,
                        hint="check X (m, n), W (n, k), b (k,) and y (m, k) (or (m,) when k = 1) before training "
                             "(compare shapes with ==, not < or >), and raise ValueError")
    require(str(named.shape) in msg, f"{call}: the ValueError should name the wrong shape {named.shape}, got {msg!r}")


def test_wide_input(student, rng):
    """minibatch_gradient_descent: 300 features (sizes compared by value, not identity) train as the steps say"""
    X, y = rng.normal(size=(12, 300)), rng.normal(size=(12, 1))
    seed = seed_of(rng)
    W, b, _ = student.minibatch_gradient_descent(X, y, np.zeros((300, 1)), np.zeros(1), 1e-3, 1, 5,
                                                 np.random.default_rng(seed))
    W_ref, _ = trusted_epoch(np.zeros((300, 1)), np.zeros(1), batches_of(student, X, y, 5, seed), 1e-3)
    check_array(W, W_ref, "W after minibatch_gradient_descent(X (12, 300), y (12, 1), W0 = 0, b0 = 0, lr=1e-3, "
                "epochs=1, batch_size=5, rng)", rtol=1e-9, atol=1e-12,
                hint="compare sizes with == / != (values), never with `is` / `is not`")


def test_diverges_loudly(student, rng):
    """minibatch_gradient_descent: a huge lr raises FloatingPointError naming the epoch"""
    X, y, _, _ = linear_problem(rng, m=40)
    msg = expect_raises(FloatingPointError, student.minibatch_gradient_descent, X, y, np.zeros((3, 1)), np.zeros(1),
                        50.0, 300, 10, np.random.default_rng(seed_of(rng)),
                        call="minibatch_gradient_descent(X (40, 3), y, W, b, lr=50, epochs=300, batch_size=10, rng)",
                        hint="after each epoch check np.isfinite(loss) and raise FloatingPointError instead of "
                             "returning NaN weights")
    low = msg.lower()
    assert "epoch" in low and ("lr" in low or "learning rate" in low), (
        f"the FloatingPointError message should name the epoch and suggest a smaller learning rate, got {msg!r}")
