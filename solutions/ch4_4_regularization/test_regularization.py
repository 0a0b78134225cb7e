"""Visible tests for chapter 4.4 (run: pytest exercises/ch4_4_regularization)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, require


def test_l2_small(student):
    """l2_regularization: lam/2 * sum of squared weights, gradient lam * W, biases left alone"""
    params = {"W1": np.array([[1.0, -2.0], [0.5, 0.0]]), "b1": np.array([3.0, -3.0]),
              "W2": np.array([[2.0], [1.0]]), "b2": np.array([10.0])}
    penalty, grads = student.l2_regularization(params, 0.2)
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
    out, mask = student.dropout(A, 0.5, np.random.default_rng(0), training=False)
    check_array(out, A, "dropout(A, p=0.5, rng, training=False): out", rtol=0, atol=0,
                hint="inverted dropout already rescaled during training: at test time the layer is the identity")
    check_array(mask, np.ones_like(A), "dropout(A, p=0.5, rng, training=False): mask", rtol=0, atol=0)


def test_dropout_drops_p_and_keeps_mean(student):
    """dropout: p is the DROP probability, the kept units are scaled so the mean stays"""
    A = np.random.default_rng(1).uniform(0.5, 1.5, size=(300, 300))
    p = 0.2
    out, mask = student.dropout(A, p, np.random.default_rng(2))
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
    out1, mask1 = student.dropout(A, 0.5, np.random.default_rng(7))
    out2, mask2 = student.dropout(A, 0.5, np.random.default_rng(7))
    check_array(mask2, mask1, "two calls of dropout(A, 0.5, np.random.default_rng(7)): masks", rtol=0, atol=0,
                hint="draw the mask from the rng argument only (rng.random(A.shape)), never from np.random")
    kept = out1 != 0
    check_array(out1[kept], A[kept] / 0.5, "dropout(A, p=0.5, rng): the kept units", rtol=1e-12,
                hint="the kept units are multiplied by 1 / (1 - p) = 2")


def test_dropout_backward(student):
    """dropout_backward: the gradient goes through the same mask"""
    A = np.arange(1.0, 13.0).reshape(3, 4)
    out, mask = student.dropout(A, 0.25, np.random.default_rng(3))
    dout = np.random.default_rng(4).normal(size=A.shape)
    check_array(student.dropout_backward(dout, mask), dout * out / A, "dropout_backward(dout, mask)", rtol=1e-12,
                hint="dA = dout * mask with the mask of the forward pass (0 where dropped, 1 / (1 - p) where kept)")
