"""Visible tests for chapter 3.3 (run: pytest exercises/ch3_3_mlp_forward)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, require


def small_net():
    """Fresh (X, params) of a 2-layer net: 3 samples, 2 inputs, 3 hidden units, 2 classes."""
    X = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 0.0]])
    params = {"W1": np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]]), "b1": np.array([0.0, 0.1, -0.2]),
              "W2": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]), "b2": np.array([0.0, 0.5])}
    return X, params


def test_init_shapes_and_zero_biases(student):
    """init_mlp: one W and one b per layer, W (n_in, n_out), b zeros (n_out,)"""
    params = student.init_mlp([4, 3, 2], np.random.default_rng(0))
    require(sorted(params) == ["W1", "W2", "b1", "b2"],
            f"init_mlp([4, 3, 2], rng): expected the keys W1, b1, W2, b2, got {sorted(params)}")
    for key, shape in [("W1", (4, 3)), ("W2", (3, 2))]:
        require(np.shape(params[key]) == shape,
                f"init_mlp([4, 3, 2], rng)[{key!r}]: expected shape {shape}, got {np.shape(params[key])}\n"
                "Hint: W_l is (n_{l-1}, n_l): one row per input, one column per unit, so that Z = A @ W + b")
    for key, n in [("b1", 3), ("b2", 2)]:
        check_array(params[key], np.zeros(n), f"init_mlp([4, 3, 2], rng)[{key!r}]",
                    hint="biases start at zero: np.zeros(n_l), a 1-D array")


def test_init_scale(student):
    """init_mlp: He initialisation, weights of standard deviation sqrt(2 / n_in)"""
    params = student.init_mlp([500, 200], np.random.default_rng(1))
    std, target = params["W1"].std(), np.sqrt(2 / 500)
    # 100,000 draws: the sample std is within 1% of the true one (with 5 standard errors of margin).
    require(abs(std / target - 1) < 0.012,
            f"init_mlp([500, 200]): the weights have standard deviation {std:.5f}, He initialisation gives "
            f"sqrt(2 / 500) = {target:.5f}\nHint: rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in); "
            "2 / n_in is the variance, its square root is the standard deviation")


def test_forward_small_net(student):
    """forward_mlp: ReLU hidden layer, softmax output, on a 2-layer net"""
    X, params = small_net()
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z2 = A1 @ params["W2"] + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    probs, cache = student.forward_mlp(X, params)
    X0, params0 = small_net()
    call = "forward_mlp(X (3, 2), 2-layer params)"
    check_unchanged(X, X0, call, "X", "compute every Z and A into new arrays; leave X as it was")
    for key in params0:
        check_unchanged(params[key], params0[key], call, f"params[{key!r}]",
                        "read the parameters, never write them (Z = A @ W + b makes a new array)")
    check_array(probs, E / E.sum(axis=1, keepdims=True), "forward_mlp(X (3, 2), 2-layer params): probs",
                rtol=1e-9, hint="Z1 = X @ W1 + b1, A1 = relu(Z1), Z2 = A1 @ W2 + b2, probs = softmax(Z2): "
                                "no ReLU on the output layer")
    check_array(cache["A1"], A1, "forward_mlp(...): cache['A1']", rtol=1e-9)


def test_forward_cache_keys(student):
    """forward_mlp: the cache holds A0 = X and Z_l, A_l for every layer"""
    params = student.init_mlp([3, 5, 4, 2], np.random.default_rng(2))
    X = np.random.default_rng(3).normal(size=(6, 3))
    probs, cache = student.forward_mlp(X, params)
    require(sorted(cache) == ["A0", "A1", "A2", "A3", "Z1", "Z2", "Z3"],
            f"forward_mlp on a 3-layer net: expected cache keys A0..A3 and Z1..Z3, got {sorted(cache)}")
    check_array(cache["A0"], X, "forward_mlp(...): cache['A0']", hint="cache['A0'] is the input X")
    check_array(cache["A3"], probs, "forward_mlp(...): cache['A3']", hint="the last activation is the probs")
