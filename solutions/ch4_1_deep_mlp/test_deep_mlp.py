"""Visible tests for chapter 4.1 (run: pytest exercises/ch4_1_deep_mlp)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, expect_raises, require

CACHE_HINT = ("dZ = cache['A3']; dZ[np.arange(m), y] -= 1 (or dZ -= Y, dZ /= m) writes into the cache: start from "
              "a new array, dZ = (probs - Y) / m")


def batch():
    """Fresh (X, y) for every test: 4 samples, 2 features, 3 classes."""
    return np.array([[1.0, -2.0], [0.3, 0.8], [-0.5, 0.1], [1.5, 1.0]]), np.array([0, 2, 1, 2])


def params_3layer():
    rng = np.random.default_rng(42)
    sizes = [2, 4, 3, 3]
    return {k: v for l in range(1, 4) for k, v in
            ((f"W{l}", rng.normal(size=(sizes[l - 1], sizes[l]))), (f"b{l}", rng.normal(size=sizes[l]) * 0.1))}


def sigmoid_net(params, X):
    """probs and cache of a sigmoid-hidden, softmax-output net, written out for the tests."""
    L = len(params) // 2
    cache, A = {"A0": X}, X
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            A = 1 / (1 + np.exp(-Z))
        else:
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def mean_loss(params, X, y):
    P, _ = sigmoid_net(params, X)
    return -np.mean(np.log(P[np.arange(len(y)), y]))


def numerical(params, key, X, y, h=1e-6):
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


def test_init_deep_scales(student):
    """init_deep: He std sqrt(2 / n_in) for relu, Xavier std sqrt(1 / n_in) for sigmoid, zero biases"""
    for activation, gain in (("relu", 2.0), ("sigmoid", 1.0)):
        params = student.init_deep([400, 250, 10], np.random.default_rng(0), activation=activation)
        require(sorted(params) == ["W1", "W2", "b1", "b2"],
                f"init_deep([400, 250, 10], rng, {activation!r}): expected keys W1, b1, W2, b2, got {sorted(params)}")
        std, target = params["W1"].std(), np.sqrt(gain / 400)
        # 100,000 draws: the sample std is within about 1.1% of the true one (5 standard errors)
        require(abs(std / target - 1) < 0.012,
                f"init_deep([400, 250, 10], rng, {activation!r})['W1']: standard deviation {std:.5f}, expected "
                f"sqrt({gain:g} / 400) = {target:.5f}\nHint: relu uses He, rng.standard_normal((n_in, n_out)) * "
                "np.sqrt(2 / n_in); sigmoid uses Xavier/Glorot, np.sqrt(1 / n_in)")
        check_array(params["b2"], np.zeros(10), f"init_deep(..., {activation!r})['b2']", hint="biases start at zero")


def test_forward_sigmoid(student):
    """forward_deep: sigmoid hidden layers, softmax output, cache of every layer"""
    params = params_3layer()
    X, _ = batch()
    expected, cache = sigmoid_net(params, X)
    probs, got = student.forward_deep(X, params, activation="sigmoid")
    call = "forward_deep(X (4, 2), 3-layer params, 'sigmoid')"
    check_unchanged(X, batch()[0], call, "X", "compute every Z and A into new arrays; leave X as it was")
    for key, value in params_3layer().items():
        check_unchanged(params[key], value, call, f"params[{key!r}]",
                        "read the parameters, never write them (Z = A @ W + b makes a new array)")
    check_array(probs, expected, "forward_deep(X (4, 2), 3-layer params, 'sigmoid'): probs", rtol=1e-9,
                hint="A_l = sigmoid(Z_l) for the hidden layers l < L, softmax(Z_L) for the output layer only")
    require(sorted(got) == sorted(cache),
            f"forward_deep on a 3-layer net: expected cache keys {sorted(cache)}, got {sorted(got)}")
    check_array(got["A2"], cache["A2"], "forward_deep(..., 'sigmoid'): cache['A2']", rtol=1e-9)


def test_backward_sigmoid_matches_numerical(student):
    """backward_deep: every gradient of a 3-layer sigmoid net matches a numerical gradient"""
    params = params_3layer()
    X, y = batch()
    _, cache = sigmoid_net(params, X)
    grads = student.backward_deep(params, cache, y, activation="sigmoid")
    require(sorted(grads) == sorted(params),
            f"backward_deep: expected gradients for the keys {sorted(params)}, got {sorted(grads)}")
    for key in ("W3", "b3", "W2", "b2", "W1", "b1"):
        check_array(grads[key], numerical(params, key, X, y),
                    f"backward_deep on a 3-layer sigmoid net: grads[{key!r}]", rtol=1e-5, atol=1e-8,
                    hint="dZ_{l-1} = (dZ_l @ W_l.T) * sigmoid_derivative(Z_{l-1}): the derivative of the "
                         "PRE-activation Z, in every hidden layer")


def test_backward_keeps_cache(student):
    """backward_deep: the cache and params are only read, never changed"""
    params = params_3layer()
    X, y = batch()
    _, cache = sigmoid_net(params, X)
    expected = {key: numerical(params, key, X, y) for key in params}
    grads = student.backward_deep(params, cache, y, activation="sigmoid")
    call = "backward_deep(params, cache, y, activation='sigmoid') on a 3-layer net"
    _, clean = sigmoid_net(params_3layer(), batch()[0])
    for key in sorted(clean):
        check_unchanged(cache[key], clean[key], call, f"cache[{key!r}]", CACHE_HINT)
    for key, value in params_3layer().items():
        check_unchanged(params[key], value, call, f"params[{key!r}]", "read the parameters, never write them")
    check_unchanged(y, batch()[1], call, "y", "leave the labels as they were")
    for key in ("W3", "b3", "W2", "b2", "W1", "b1"):
        check_array(grads[key], expected[key], f"{call}: grads[{key!r}]", rtol=1e-5, atol=1e-8,
                    hint="dZ_{l-1} = (dZ_l @ W_l.T) * sigmoid_derivative(Z_{l-1}): the derivative of the "
                         "PRE-activation Z, in every hidden layer")


def test_gradient_norms_order(student):
    """gradient_norms: Frobenius norm of dW_1 ... dW_L, first layer first"""
    def make_grads():
        return {"W3": np.array([[3.0, 4.0]]), "b3": np.ones(2), "W2": np.full((2, 2), 0.5), "b2": np.ones(2),
                "W1": np.array([[1.0], [2.0], [2.0]]), "b1": np.ones(1)}

    grads = make_grads()
    norms = student.gradient_norms(grads)
    for key, value in make_grads().items():
        check_unchanged(grads[key], value, "gradient_norms(grads)", f"grads[{key!r}]",
                        "dW ** 2 and np.square(dW) make new arrays; dW **= 2 (or np.square(dW, out=dW)) changes the "
                        "caller's gradients")
    require(isinstance(norms, list) and len(norms) == 3,
            f"gradient_norms(grads of a 3-layer net): expected a list of 3 floats, got {norms!r}")
    check_array(np.asarray(norms, dtype=np.float64), np.array([3.0, 1.0, 5.0]),
                "gradient_norms({'W3': [[3, 4]], 'W2': 0.5 * ones((2, 2)), 'W1': [[1], [2], [2]], biases...})",
                hint="[||dW1||, ||dW2||, ..., ||dWL||] in LAYER order (grads is filled from the last layer down), "
                     "the Frobenius norm sqrt(sum(dW ** 2)) of the weights only, no biases")


def test_unknown_activation(student):
    """forward_deep: an unknown activation raises ValueError naming the allowed ones"""
    params = params_3layer()
    msg = expect_raises(ValueError, student.forward_deep, batch()[0], params, activation="swish",
                        call="forward_deep(X, params, activation='swish')",
                        hint="check activation against ('relu', 'sigmoid') and raise ValueError otherwise")
    require("relu" in msg and "sigmoid" in msg,
            f"forward_deep(..., activation='swish'): the ValueError should name the allowed activations 'relu' and "
            f"'sigmoid', got {msg!r}")
