"""Visible tests for chapter 4.4 (run: pytest exercises/ch4_4_regularization)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, require, show

DROPOUT_HINT = "A *= mask changes the caller's A: return A * mask, a new array"


def small_params():
    """Fresh parameters of a 2-layer net for every test."""
    return {"W1": np.array([[1.0, -2.0], [0.5, 0.0]]), "b1": np.array([3.0, -3.0]),
            "W2": np.array([[2.0], [1.0]]), "b2": np.array([10.0])}


def test_l2_small(student):
    """l2_regularization: lam/2 * sum of squared weights, gradient lam * W, biases left alone"""
    params = small_params()
    penalty, grads = student.l2_regularization(params, 0.2)
    for key, value in small_params().items():
        check_unchanged(params[key], value, "l2_regularization(params, lam=0.2)", f"params[{key!r}]",
                        "grads[key] = lam * W makes a new array; W *= lam changes the caller's weights")
    params = small_params()
    check_scalar(penalty, 0.1 * (1 + 4 + 0.25 + 0 + 4 + 1), "l2_regularization(params, lam=0.2): penalty",
                 rtol=1e-12, hint="lam / 2 * (sum of W1 ** 2 + sum of W2 ** 2): weights only, no biases, and "
                                  "not divided by m")
    require(sorted(grads) == sorted(params),
            f"l2_regularization: grads should have the keys of params {sorted(params)}, got {sorted(grads)}")
    check_array(grads["W1"], 0.2 * params["W1"], "l2_regularization(params, lam=0.2): grads['W1']",
                hint="the derivative of lam / 2 * W ** 2 is lam * W (the 1/2 cancels the 2)")
    check_array(grads["b2"], np.zeros(1), "l2_regularization(params, lam=0.2): grads['b2']",
                hint="biases are not penalised: their gradient is zeros of their shape")


def test_dropout_test_time(student):
    """dropout: training=False returns A unchanged and a mask of ones"""
    A = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.5]])
    out, mask = student.dropout(A.copy(), 0.5, np.random.default_rng(0), training=False)
    check_array(out, A, "dropout(A, p=0.5, rng, training=False): out", rtol=0, atol=0,
                hint="inverted dropout already rescaled during training: at test time the layer is the identity")
    check_array(mask, np.ones_like(A), "dropout(A, p=0.5, rng, training=False): mask", rtol=0, atol=0)


def test_dropout_drops_p_and_keeps_mean(student):
    """dropout: p is the DROP probability, the kept units are scaled so the mean stays"""
    A = np.random.default_rng(1).uniform(0.5, 1.5, size=(300, 300))
    p = 0.2
    out, mask = student.dropout(A.copy(), p, np.random.default_rng(2))
    dropped = float(np.mean(out == 0))
    # 90,000 independent units: the dropped fraction is within 5 * sqrt(p (1 - p) / N) = 0.0067 of p
    require(abs(dropped - p) < 0.0067,
            f"dropout(A (300, 300), p=0.2, rng): {dropped:.3f} of the units were dropped, expected about 0.2\n"
            "Hint: p is the probability of DROPPING a unit: keep = rng.random(A.shape) >= p (kept with "
            "probability 1 - p)")
    # the mean of the output against the mean of A: within 5 standard errors of the sampling noise
    tol = 5 * np.sqrt(np.sum(A ** 2) * p / (1 - p)) / A.size
    require(abs(out.mean() - A.mean()) < tol,
            f"dropout(A (300, 300), p=0.2, rng): mean of the output {out.mean():.4f}, mean of A {A.mean():.4f}; "
            "inverted dropout keeps the mean\nHint: scale the kept units by 1 / (1 - p): "
            "mask = keep / (1 - p), out = A * mask")


def test_dropout_reproducible_and_scaled(student):
    """dropout: the same seed gives the same mask; kept units are A / (1 - p)"""
    A = np.arange(1.0, 41.0).reshape(5, 8)
    out1, mask1 = student.dropout(A.copy(), 0.5, np.random.default_rng(7))
    out2, mask2 = student.dropout(A.copy(), 0.5, np.random.default_rng(7))
    check_array(mask2, mask1, "two calls of dropout(A, 0.5, np.random.default_rng(7)): masks", rtol=0, atol=0,
                hint="draw the mask from the rng argument only (rng.random(A.shape)), never from np.random")
    kept = out1 != 0
    check_array(out1[kept], A[kept] / 0.5, "dropout(A, p=0.5, rng): the kept units", rtol=1e-12,
                hint="the kept units are multiplied by 1 / (1 - p) = 2")


def test_dropout_keeps_input(student):
    """dropout: A itself is not changed"""
    A = np.arange(1.0, 13.0).reshape(3, 4)
    out, mask = student.dropout(A, 0.5, np.random.default_rng(5))
    call = "dropout(A = arange(1, 13).reshape(3, 4), p=0.5, rng)"
    A0 = np.arange(1.0, 13.0).reshape(3, 4)
    check_unchanged(A, A0, call, "A", DROPOUT_HINT)
    mask = np.asarray(mask)
    require(mask.shape == A0.shape and np.isin(mask, (0.0, 2.0)).all() and 0 < np.count_nonzero(mask) < mask.size,
            f"{call}: the mask should hold 0 (dropped) and 1 / (1 - p) = 2 (kept), some of each, got {show(mask)}\n"
            "Hint: keep = rng.random(A.shape) >= p; mask = keep / (1 - p)")
    check_array(out, A0 * mask, f"{call}: out", rtol=1e-12, hint="out = A * mask")


def test_dropout_backward(student):
    """dropout_backward: the gradient goes through the same mask"""
    A = np.arange(1.0, 13.0).reshape(3, 4)
    out, mask = student.dropout(A.copy(), 0.25, np.random.default_rng(3))
    dout = np.random.default_rng(4).normal(size=A.shape)
    dout_before, mask_before = dout.copy(), np.array(mask, copy=True)
    dA = student.dropout_backward(dout, mask)
    call = "dropout_backward(dout, mask)"
    check_unchanged(dout, dout_before, call, "dout", "dout *= mask changes the caller's dout: return dout * mask")
    check_unchanged(mask, mask_before, call, "mask", "read the mask, never write it")
    check_array(dA, dout_before * out / A, call, rtol=1e-12,
                hint="dA = dout * mask with the mask of the forward pass (0 where dropped, 1 / (1 - p) where kept)")
