"""Visible tests for chapter 3.4 (run: pytest exercises/ch3_4_backprop)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, require

CACHE_HINT = ("dZ = cache['A2']; dZ[np.arange(m), y] -= 1 (or dZ -= Y, dZ /= m) writes into the cache: start from "
              "a new array, dZ = (probs - Y) / m")


def batch():
    """Fresh (X, y) for every test: 4 samples, 3 features, 3 classes."""
    X = np.array([[1.0, -2.0, 0.5], [0.3, 0.8, -1.0], [-0.5, 0.1, 2.0], [1.5, 1.0, -0.3]])
    return X, np.array([0, 2, 1, 2])


def params_2layer():
    rng = np.random.default_rng(42)
    return {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4) * 0.1,
            "W2": rng.normal(size=(4, 3)), "b2": rng.normal(size=3) * 0.1}


def mean_loss(params, X, y):
    """The loss whose gradients backward_mlp returns: mean cross-entropy of the softmax output."""
    A, L = X, len(params) // 2
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = np.maximum(Z, 0) if l < L else np.exp(Z - Z.max(axis=1, keepdims=True))
    P = A / A.sum(axis=1, keepdims=True)
    return -np.mean(np.log(P[np.arange(len(y)), y]))


def numerical(params, key, X, y, h=1e-6):
    """Centred differences of mean_loss with respect to params[key]."""
    grad = np.zeros_like(params[key])
    for i in np.ndindex(grad.shape):
        old = params[key][i]
        params[key][i] = old + h
        plus = mean_loss(params, X, y)
        params[key][i] = old - h
        minus = mean_loss(params, X, y)
        params[key][i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def forward_cache(params, X):
    cache, A, L = {"A0": X}, X, len(params) // 2
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            A = np.maximum(Z, 0)
        else:
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return cache


def test_backward_keys_and_shapes(student):
    """backward_mlp: one gradient per parameter, with the parameter's shape"""
    params = params_2layer()
    X, y = batch()
    grads = student.backward_mlp(params, forward_cache(params, X), y)
    require(sorted(grads) == sorted(params),
            f"backward_mlp: expected gradients for the keys {sorted(params)}, got {sorted(grads)}\n"
            "Hint: grads uses the same keys as params ('W1', 'b1', ...), so that params[k] -= lr * grads[k] works")
    for key in params:
        require(np.shape(grads[key]) == params[key].shape,
                f"backward_mlp: grads[{key!r}] has shape {np.shape(grads[key])}, but {key} is {params[key].shape}\n"
                "Hint: dW_l = A_{l-1}.T @ dZ_l is (n_{l-1}, n_l); db_l = dZ_l.sum(axis=0) is (n_l,)")
    for key in ("W2", "b2", "W1", "b1"):
        check_array(grads[key], numerical(params, key, X, y), f"backward_mlp on a 2-layer net: grads[{key!r}]",
                    rtol=1e-5, atol=1e-8, hint="dZ = (probs - Y) / m at the output, then dW = A_prev.T @ dZ, "
                                               "db = dZ.sum(axis=0), and dZ = (dZ_next @ W_next.T) * "
                                               "relu_derivative(Z) one layer down")


def test_backward_softmax_regression(student):
    """backward_mlp: a 1-layer net gives dW = X.T @ (P - Y) / m and db = mean of P - Y"""
    params = {"W1": np.array([[0.2, -0.1, 0.4], [0.5, 0.3, -0.2], [-0.3, 0.1, 0.1]]),
              "b1": np.array([0.1, 0.0, -0.1])}
    X, y = batch()
    cache = forward_cache(params, X)
    dZ = (cache["A1"] - np.eye(3)[y]) / len(y)  # before the call: the expected values come from a clean cache
    grads = student.backward_mlp(params, cache, y)
    check_array(grads["W1"], X.T @ dZ, "backward_mlp on a 1-layer net: grads['W1']", rtol=1e-7,
                hint="dZ = (probs - Y) / m with Y one-hot; dW = A_prev.T @ dZ (the 1/m: the loss is a mean)")
    check_array(grads["b1"], dZ.sum(axis=0), "backward_mlp on a 1-layer net: grads['b1']", rtol=1e-7,
                hint="db = dZ.sum(axis=0): sum over the samples (rows)")


def test_backward_matches_numerical(student):
    """backward_mlp: every gradient of a 2-layer net matches a numerical gradient"""
    params = params_2layer()
    X, y = batch()
    grads = student.backward_mlp(params, forward_cache(params, X), y)
    for key in ("W2", "b2", "W1", "b1"):
        check_array(grads[key], numerical(params, key, X, y), f"backward_mlp on a 2-layer net: grads[{key!r}]",
                    rtol=1e-5, atol=1e-8,
                    hint="hidden layer: dA = dZ_next @ W_next.T, then dZ = dA * relu_derivative(Z) "
                         "(the mask comes from Z of this layer)")


def test_backward_keeps_cache(student):
    """backward_mlp: the cache and params are only read, never changed"""
    params = params_2layer()
    X, y = batch()
    cache = forward_cache(params, X)
    expected = {key: numerical(params, key, X, y) for key in params}
    grads = student.backward_mlp(params, cache, y)
    call = "backward_mlp(params, cache, y) on a 2-layer net"
    clean = forward_cache(params_2layer(), batch()[0])
    for key in sorted(clean):
        check_unchanged(cache[key], clean[key], call, f"cache[{key!r}]", CACHE_HINT)
    for key, value in params_2layer().items():
        check_unchanged(params[key], value, call, f"params[{key!r}]", "read the parameters, never write them")
    check_unchanged(y, batch()[1], call, "y", "leave the labels as they were")
    for key in ("W2", "b2", "W1", "b1"):
        check_array(grads[key], expected[key], f"{call}: grads[{key!r}]", rtol=1e-5, atol=1e-8,
                    hint="dZ = (probs - Y) / m at the output, then dA = dZ_next @ W_next.T and "
                         "dZ = dA * relu_derivative(Z) for the hidden layer")


def test_train_mlp_learns(student):
    """train_mlp: the training loss goes down on a small 3-class problem"""
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = np.repeat(np.arange(3), 40)
    data = centres[labels] + rng.normal(scale=0.6, size=(120, 2))
    data_before, labels_before = data.copy(), labels.copy()
    params, history = student.train_mlp(data, labels, [2, 8, 3], lr=0.5, epochs=15, batch_size=20, rng=rng)
    call = "train_mlp(X (120, 2), y (120,), [2, 8, 3], lr=0.5, epochs=15, batch_size=20, rng)"
    check_unchanged(data, data_before, call, "X", "shuffle with indices (X[idx]), never the caller's X itself")
    check_unchanged(labels, labels_before, call, "y", "shuffle with indices (y[idx]), never the caller's y itself")
    require(len(history) == 15, f"train_mlp(..., epochs=15): history should hold 15 losses, got {len(history)}")
    require(history[-1] < 0.5 * history[0],
            f"train_mlp on 3 separable clusters: the loss went from {history[0]:.3f} to {history[-1]:.3f}, expected "
            "it to at least halve\nHint: for each mini-batch: forward_mlp, backward_mlp, then "
            "params[k] -= lr * grads[k]")
