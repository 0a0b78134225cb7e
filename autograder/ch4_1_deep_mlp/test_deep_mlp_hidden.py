"""Hidden suite, chapter 4.1: init statistics per activation, the forward pass of any depth, every gradient of
3- and 5-layer nets (ReLU and sigmoid) against the grader's numerical gradient, gradient_norms' order, the
vanishing-gradient demonstration, errors and dtypes."""
import numpy as np
import pytest

from autograder.oracle import mlp_forward
from autograder.problems import check_grads, numerical_grads, one_hot
from dlcourse.testing import check_array, expect_raises, require


ACTIVATIONS = ("relu", "sigmoid")
GRAD_TOL = 1e-6
KINK = 1e-3  # ReLU pre-activations closer than this to 0 are redrawn: the numerical gradient breaks at the kink
# Step of the numerical gradient. Sigmoid nets of 5 layers have tiny first-layer gradients (that is the chapter's
# point), where h = 1e-6 leaves rounding noise of up to 7.6e-7 relative error (reference, 300 random 5-layer nets);
# the sigmoid is smooth, so a larger step is safe: h = 5e-5 gives at worst 3.2e-8 (3 layers) and 4.0e-8 (5 layers)
# over 1000 random nets each. ReLU nets keep h small to stay clear of the kinks, and random_problem redraws nearly
# dead ones: h = 1e-5 gives at worst 1.7e-8 (3 layers) and 1.1e-8 (5 layers) over 1000 nets each. A wrong gradient
# is off by 1e-2 or more.
STEP = {"sigmoid": 5e-5, "relu": 1e-5}

INIT_HINT = ("relu: He, W = rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in); sigmoid: Xavier/Glorot, "
             "np.sqrt(1 / n_in). 2 / n_in and 1 / n_in are VARIANCES: take the square root for the standard deviation")
GRAD_HINT = ("dZ_L = (A_L - Y) / m; dW_l = A_{l-1}.T @ dZ_l, db_l = dZ_l.sum(axis=0); one layer down "
             "dZ_{l-1} = (dZ_l @ W_l.T) * g'(Z_{l-1}) in EVERY hidden layer, with g' = relu_derivative or "
             "sigmoid_derivative taken at the pre-activation Z_{l-1} (sigmoid_derivative(A) applies it to the "
             "wrong argument: it already is sigmoid(Z))")
ORDER_HINT = ("[||dW1||, ||dW2||, ..., ||dWL||] in LAYER order: backward fills grads from the last layer down, so "
              "iterate l = 1 .. L and read grads[f'W{l}'] (sorting the keys as strings puts 'W10' before 'W2')")

# Vanishing gradients, measured on the reference: a 10-layer net [20, 32 x 9, 10] at its matching initialisation,
# 64 random samples of N(0, 1) features and random labels of 10 classes, ratio = ||dW1|| / ||dW10||,
# 500 seeds:
#   sigmoid (Xavier, fan-in): min 7.6e-07, median 1.9e-06, max 6.1e-06
#   relu (He):                min 0.19,    median 0.49,    max 2.9
#   per seed relu / sigmoid:  min 6.6e+04
# Criteria: sigmoid ratio < 1e-3 (160 x above the largest seen), relu ratio > 0.02 (9 x below the smallest seen),
# and relu ratio > 1000 * sigmoid ratio (66 x below the smallest seen).
VANISH_SIZES = [20] + [32] * 9 + [10]
VANISH_M = 64
SIGMOID_MAX, RELU_MIN, CONTRAST = 1e-3, 0.02, 1e3


# ---------------------------------------------------------------- trusted helpers (numpy only)

def random_problem(rng, depth, activation):
    """A small net of ``depth`` layers of weights, a batch and labels, float64; ReLU nets away from the kinks."""
    sizes = [int(rng.integers(2, 6))] + [int(n) for n in rng.integers(3, 6, size=depth - 1)] + [int(rng.integers(2, 5))]
    m = int(rng.integers(3, 7))
    for _ in range(100):
        params = {}
        for l in range(1, depth + 1):
            params[f"W{l}"] = rng.normal(size=(sizes[l - 1], sizes[l])) * np.sqrt(2 / sizes[l - 1])
            params[f"b{l}"] = rng.normal(size=sizes[l]) * 0.1
        X = rng.normal(size=(m, sizes[0]))
        _, cache = mlp_forward(params, X, activation)
        if activation != "relu" or all(np.abs(cache[f"Z{l}"]).min() > KINK and (cache[f"Z{l}"] > 0).mean() >= 0.4
                                       and (cache[f"Z{l}"] > 0).any(axis=1).all() for l in range(1, depth)):
            break  # ReLU: away from the kinks, and not a nearly dead net (whose tiny gradients drown in rounding)
    labels = rng.integers(0, sizes[-1], size=m)
    return sizes, params, X, labels


def check_deep_grads(grads, params, X, labels, activation, where):
    """Every gradient against the grader's numerical gradient, with the step that suits the activation."""
    check_grads(grads, params, numerical_grads(params, X, labels, activation, h=STEP[activation]), where, GRAD_HINT,
                tol=GRAD_TOL)


# ---------------------------------------------------------------- init_deep

@pytest.mark.points(2)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_init_statistics(student, rng, activation):
    """init_deep: weights of mean 0 and the activation's std (He for relu, Xavier for sigmoid)"""
    sizes = [300, 200, 150, 10]
    params = student.init_deep(sizes, rng, activation=activation)
    gain = 2.0 if activation == "relu" else 1.0
    for l in (1, 2):
        W = np.asarray(params[f"W{l}"], dtype=np.float64)
        require(W.shape == (sizes[l - 1], sizes[l]),
                f"init_deep({sizes}, rng, {activation!r})['W{l}']: expected shape {(sizes[l - 1], sizes[l])}, "
                f"got {W.shape}")
        n_in, N = sizes[l - 1], W.size
        target = np.sqrt(gain / n_in)
        # N normal draws: standard error target / sqrt(2N) for the std, target / sqrt(N) for the mean; 5 of them
        # (N = 60,000: the std within 1.4%; He vs Xavier differ by 41%, a missing sqrt by a factor 10 or more).
        std = W.std()
        require(abs(std / target - 1) < 5 / np.sqrt(2 * N),
                f"init_deep({sizes}, rng, {activation!r})['W{l}']: the weights have standard deviation {std:.5f}, "
                f"expected sqrt({gain:g} / {n_in}) = {target:.5f}\nHint: {INIT_HINT}")
        require(abs(W.mean()) < 5 * target / np.sqrt(N),
                f"init_deep({sizes}, rng, {activation!r})['W{l}']: mean {W.mean():.5f}, expected about 0\n"
                "Hint: rng.standard_normal draws mean-0 values; do not use rng.random (uniform on [0, 1))")
    for l in range(1, 4):
        check_array(params[f"b{l}"], np.zeros(sizes[l]), f"init_deep({sizes}, rng, {activation!r})['b{l}']",
                    hint="biases start at zero: np.zeros(n_l), 1-D")


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_init_any_depth_reproducible(student, seed, depth):
    """init_deep: one W and b per layer for any depth; same seed, same weights"""
    gen = np.random.default_rng([seed, depth])
    sizes = [int(n) for n in gen.integers(1, 8, size=depth + 1)]
    first = student.init_deep(sizes, np.random.default_rng([seed, 5]), activation="sigmoid")
    again = student.init_deep(sizes, np.random.default_rng([seed, 5]), activation="sigmoid")
    keys = sorted([f"W{l}" for l in range(1, depth + 1)] + [f"b{l}" for l in range(1, depth + 1)])
    require(sorted(first) == keys, f"init_deep({sizes}, rng, 'sigmoid'): expected the keys {keys}, got {sorted(first)}"
                                   f"\nHint: {len(sizes)} sizes make {depth} layers: l = 1 .. len(layer_sizes) - 1")
    for l in range(1, depth + 1):
        require(np.shape(first[f"W{l}"]) == (sizes[l - 1], sizes[l]) and np.shape(first[f"b{l}"]) == (sizes[l],),
                f"init_deep({sizes}, rng, 'sigmoid'): W{l} {np.shape(first[f'W{l}'])} and b{l} "
                f"{np.shape(first[f'b{l}'])}, expected {(sizes[l - 1], sizes[l])} and {(sizes[l],)}")
        check_array(again[f"W{l}"], first[f"W{l}"], f"init_deep twice with the same seed: W{l}", rtol=0, atol=0,
                    hint="draw only from the rng argument (rng.standard_normal), never from np.random")


def test_init_errors(student, rng):
    """init_deep: an unknown activation or too few sizes raise ValueError"""
    msg = expect_raises(ValueError, student.init_deep, [4, 3, 2], rng, activation="swish",
                        call="init_deep([4, 3, 2], rng, activation='swish')",
                        hint="check activation against ('relu', 'sigmoid') first and raise ValueError")
    require("relu" in msg and "sigmoid" in msg,
            f"init_deep(..., activation='swish'): the ValueError should name 'relu' and 'sigmoid', got {msg!r}")
    expect_raises(ValueError, student.init_deep, [5], rng, call="init_deep([5], rng)",
                  hint="a network needs at least an input size and an output size")
    expect_raises(ValueError, student.init_deep, [4, 0, 2], rng, call="init_deep([4, 0, 2], rng)",
                  hint="every size must be at least 1: raise ValueError when min(layer_sizes) < 1")


def test_init_size_one_allowed(student, rng):
    """init_deep: layers of a single unit (size 1) are allowed"""
    sizes = [1, 3, 1, 2]
    params = student.init_deep(sizes, rng, activation="relu")
    require(isinstance(params, dict) and sorted(params) == ["W1", "W2", "W3", "b1", "b2", "b3"],
            f"init_deep({sizes}, rng): expected the keys W1, W2, W3, b1, b2, b3, got "
            f"{sorted(params) if isinstance(params, dict) else params!r}")
    for l in range(1, 4):
        require(np.shape(params[f"W{l}"]) == (sizes[l - 1], sizes[l]),
                f"init_deep({sizes}, rng)['W{l}']: expected shape {(sizes[l - 1], sizes[l])}, got "
                f"{np.shape(params[f'W{l}'])}\nHint: a size of 1 is a valid layer (one unit); only sizes below 1 "
                "are an error")


# ---------------------------------------------------------------- forward_deep

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_forward_matches(student, rng, activation, depth):
    """forward_deep: probs and cache of random nets of any depth"""
    sizes, params, X, _ = random_problem(rng, depth, activation)
    expected, cache = mlp_forward(params, X, activation)
    probs, got = student.forward_deep(X, params, activation=activation)
    where = f"forward_deep(X {X.shape}, {depth}-layer params {sizes}, {activation!r})"
    check_array(probs, expected, f"{where}: probs", rtol=1e-9, atol=1e-12,
                hint=f"Z_l = A_(l-1) @ W_l + b_l; A_l = {activation}(Z_l) for l < L, softmax(Z_L) for the last layer "
                     "only; L comes from params (W1 ... WL)")
    require(isinstance(got, dict) and sorted(got) == sorted(cache),
            f"{where}: expected cache keys {sorted(cache)}, got {sorted(got) if isinstance(got, dict) else got!r}")
    for key in cache:
        check_array(got[key], cache[key], f"{where}: cache[{key!r}]", rtol=1e-9, atol=1e-12,
                    hint="cache['A0'] is X; cache['Z{l}'] the pre-activation, cache['A{l}'] the activation")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_float32(student, rng, activation):
    """forward_deep: float32 inputs and parameters give float32 probabilities"""
    sizes, params, X, _ = random_problem(rng, 3, activation)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    probs, _ = student.forward_deep(X.astype(np.float32), p32, activation=activation)
    check_array(probs, mlp_forward(params, X, activation)[0], f"forward_deep(float32 X and params, {activation!r})",
                rtol=1e-4, atol=1e-6, dtype=np.float32)


def test_forward_wide_input(student, rng):
    """forward_deep: an MNIST-wide input (784 features) through a 2-layer net"""
    params = {"W1": rng.normal(size=(784, 5)) * 0.05, "b1": rng.normal(size=5) * 0.1,
              "W2": rng.normal(size=(5, 3)), "b2": rng.normal(size=3) * 0.1}
    X = rng.normal(size=(4, 784))
    probs, _ = student.forward_deep(X, params, activation="relu")
    check_array(probs, mlp_forward(params, X, "relu")[0], "forward_deep(X (4, 784), params [784, 5, 3], 'relu')",
                rtol=1e-9, atol=1e-12, hint="compare sizes with == / != (values), never with is / is not (identity)")


def test_forward_shape_mismatch(student, rng):
    """forward_deep: X with the wrong number of features raises ValueError naming both shapes"""
    sizes, params, X, _ = random_problem(rng, 3, "sigmoid")
    bad = rng.normal(size=(X.shape[0], sizes[0] + 1))
    msg = expect_raises(ValueError, student.forward_deep, bad, params, activation="sigmoid",
                        call=f"forward_deep(X of shape {bad.shape}, params with W1 {params['W1'].shape})",
                        hint="check X.shape[1] == W1.shape[0] before the first product and raise ValueError")
    require(str(bad.shape) in msg and str(params["W1"].shape) in msg,
            f"forward_deep with X {bad.shape} and W1 {params['W1'].shape}: the ValueError should name both shapes, "
            f"got {msg!r}")
    n0 = sizes[0]
    for bad in (rng.normal(size=(X.shape[0], n0 - 1)), rng.normal(size=n0), rng.normal(size=(2, n0, n0))):
        msg = expect_raises(ValueError, student.forward_deep, bad, params, activation="sigmoid",
                            call=f"forward_deep(X of shape {bad.shape}, params with W1 {params['W1'].shape})",
                            hint="X must be 2-D, (m, n_0): check X.ndim == 2 and X.shape[1] == W1.shape[0] and raise "
                                 "ValueError naming both shapes")
        require(str(bad.shape) in msg and str(params["W1"].shape) in msg,
                f"forward_deep with X {bad.shape} and W1 {params['W1'].shape}: the ValueError should name both "
                f"shapes, got {msg!r}")


def test_forward_no_W1(student, rng):
    """forward_deep and gradient_norms: a dict without "W1" raises ValueError"""
    _, params, X, _ = random_problem(rng, 2, "relu")
    shifted = {"W2": params["W1"], "b2": params["b1"], "W3": params["W2"], "b3": params["b2"]}
    expect_raises(ValueError, student.forward_deep, X, shifted, activation="relu",
                  call="forward_deep(X, params with keys W2, b2, W3, b3 but no W1)",
                  hint="count the layers from W1 up (W1, W2, ... while present); no 'W1' means no layer: raise "
                       "ValueError")
    expect_raises(ValueError, student.gradient_norms, {"W2": np.ones((2, 2)), "b2": np.ones(2)},
                  call="gradient_norms({'W2': ..., 'b2': ...}) (no 'W1')",
                  hint="count the layers from W1 up; no 'W1' in grads: raise ValueError")


def test_forward_unknown_activation(student, rng):
    """forward_deep: an unknown activation on a random net raises ValueError naming the allowed ones"""
    _, params, X, _ = random_problem(rng, 2, "relu")
    msg = expect_raises(ValueError, student.forward_deep, X, params, activation="swish",
                        call="forward_deep(X, params, activation='swish')",
                        hint="raise ValueError for anything but 'relu' and 'sigmoid' (no silent fallback)")
    require("relu" in msg and "sigmoid" in msg,
            f"forward_deep(..., activation='swish'): the ValueError should name 'relu' and 'sigmoid', got {msg!r}")


# ---------------------------------------------------------------- backward_deep

@pytest.mark.points(3)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [3, 5])
def test_gradients_match_numerical(student, rng, activation, depth):
    """backward_deep: every gradient matches the numerical gradient (relative error < 1e-6)"""
    for _ in range(2):
        sizes, params, X, labels = random_problem(rng, depth, activation)
        _, cache = mlp_forward(params, X, activation)
        grads = student.backward_deep(params, cache, labels, activation=activation)
        check_deep_grads(grads, params, X, labels, activation,
                    f"backward_deep on a random {depth}-layer {activation} net {sizes}, m = {X.shape[0]}")


def test_gradients_one_hot(student, rng):
    """backward_deep: one-hot labels give the same gradients as integer labels"""
    sizes, params, X, labels = random_problem(rng, 3, "sigmoid")
    _, cache = mlp_forward(params, X, "sigmoid")
    from_int = student.backward_deep(params, cache, labels, activation="sigmoid")
    from_one_hot = student.backward_deep(params, cache, one_hot(labels, sizes[-1]), activation="sigmoid")
    check_deep_grads(from_int, params, X, labels, "sigmoid",
                     f"backward_deep with labels y on a 3-layer sigmoid net {sizes}")
    for key in params:
        check_array(from_one_hot[key], from_int[key], f"backward_deep: grads[{key!r}] with one-hot y vs labels y",
                    rtol=1e-9, atol=1e-12, hint="labels (m,) become one-hot rows (np.eye(K)[y]); a (m, K) y is used "
                                                "as it is")


def test_cache_and_params_unchanged(student, rng):
    """backward_deep: the cache and the parameters are left untouched"""
    sizes, params, X, labels = random_problem(rng, 3, "sigmoid")
    _, cache = mlp_forward(params, X, "sigmoid")
    before = {**{f"cache[{k!r}]": v.copy() for k, v in cache.items()},
              **{f"params[{k!r}]": v.copy() for k, v in params.items()}}
    grads = student.backward_deep(params, cache, labels, activation="sigmoid")
    now = {**{f"cache[{k!r}]": v for k, v in cache.items()}, **{f"params[{k!r}]": v for k, v in params.items()}}
    for name, value in before.items():
        check_array(now[name], value, f"{name} after backward_deep", rtol=0, atol=0,
                    hint="work on new arrays (dZ = AL - Y, not AL -= Y); backward only computes gradients")
    params = {k: before[f"params[{k!r}]"] for k in params}
    check_deep_grads(grads, params, X, labels, "sigmoid", f"backward_deep on a 3-layer sigmoid net {sizes}")


def test_backward_errors(student, rng):
    """backward_deep: unknown activation and mismatched labels raise ValueError"""
    sizes, params, X, labels = random_problem(rng, 3, "relu")
    _, cache = mlp_forward(params, X, "relu")
    msg = expect_raises(ValueError, student.backward_deep, params, cache, labels, activation="swish",
                        call="backward_deep(params, cache, y, activation='swish')",
                        hint="check the activation and raise ValueError for anything but 'relu' and 'sigmoid'")
    require("relu" in msg and "sigmoid" in msg,
            f"backward_deep(..., activation='swish'): the ValueError should name 'relu' and 'sigmoid', got {msg!r}")
    bad = np.zeros(X.shape[0] + 2, dtype=np.int64)
    msg = expect_raises(ValueError, student.backward_deep, params, cache, bad, activation="relu",
                        call=f"backward_deep(params, cache of {X.shape[0]} samples, y of shape {bad.shape})",
                        hint=f"y must be ({X.shape[0]},) labels or ({X.shape[0]}, {sizes[-1]}) one-hot rows")
    require(str(bad.shape) in msg, f"backward_deep with y of shape {bad.shape}: the ValueError should name y's "
                                   f"shape, got {msg!r}")
    m, K = X.shape[0], sizes[-1]
    for shape in ((m - 1,), (m, K + 1), (m + 1, K), (m, K - 1)):
        bad = np.zeros(shape, dtype=np.int64)
        msg = expect_raises(ValueError, student.backward_deep, params, cache, bad, activation="relu",
                            call=f"backward_deep(params, cache of {m} samples and {K} classes, y of shape {shape})",
                            hint=f"y must be exactly ({m},) labels or exactly ({m}, {K}) one-hot rows (compare "
                                 "y.shape with == ); anything else: raise ValueError naming y's shape")
        require(str(bad.shape) in msg, f"backward_deep with y of shape {bad.shape}: the ValueError should name y's "
                                       f"shape, got {msg!r}")


# ---------------------------------------------------------------- gradient_norms

@pytest.mark.points(2)
def test_gradient_norms_values_and_order(student, rng):
    """gradient_norms: Frobenius norms in layer order, for 11 layers filled from the last one down"""
    L = 11
    grads = {}
    for l in range(L, 0, -1):  # the order backward fills the dict in
        grads[f"W{l}"] = rng.normal(size=tuple(rng.integers(2, 6, size=2))) * rng.uniform(0.1, 10)
        grads[f"b{l}"] = rng.normal(size=3) * 100  # must not count
    expected = [float(np.linalg.norm(grads[f"W{l}"])) for l in range(1, L + 1)]
    norms = student.gradient_norms(grads)
    require(isinstance(norms, list) and len(norms) == L,
            f"gradient_norms(grads of an {L}-layer net): expected a list of {L} floats, got "
            f"{type(norms).__name__} {norms!r}\nHint: one norm per weight matrix W1 ... WL, biases left out")
    require(all(isinstance(v, (float, np.floating)) for v in norms),
            f"gradient_norms: expected floats, got {[type(v).__name__ for v in norms]}\nHint: float(np.linalg.norm(dW))")
    got = np.asarray(norms, dtype=np.float64)
    if not np.allclose(got, expected, rtol=1e-9) and np.allclose(np.sort(got), np.sort(expected), rtol=1e-9):
        pytest.fail(f"gradient_norms(grads of an {L}-layer net, keys inserted W11, b11, ..., W1, b1): the right norms "
                    f"in the wrong order\n  expected: {np.round(expected, 4).tolist()}\n  actual:   "
                    f"{np.round(got, 4).tolist()}\nHint: {ORDER_HINT}", pytrace=False)
    check_array(got, np.array(expected), f"gradient_norms(grads of an {L}-layer net)", rtol=1e-9,
                hint=f"||dW|| = sqrt(sum(dW ** 2)) (np.linalg.norm(dW)), one per W, biases left out; {ORDER_HINT}")


def test_gradient_norms_any_shape(student, rng):
    """gradient_norms: works for a 1-layer net and for 4-D weight gradients (conv filters)"""
    grads = {"W1": rng.normal(size=(3, 2, 3, 3)), "b1": rng.normal(size=3), "W2": rng.normal(size=(5, 4))}
    check_array(np.asarray(student.gradient_norms(grads), dtype=np.float64),
                np.array([np.sqrt(np.sum(grads["W1"] ** 2)), np.linalg.norm(grads["W2"])]),
                "gradient_norms({'W1': (3, 2, 3, 3), 'b1': (3,), 'W2': (5, 4)})", rtol=1e-9,
                hint="the Frobenius norm of any array: np.sqrt(np.sum(dW ** 2)) (np.linalg.norm with ord=2 on a "
                     "matrix is the spectral norm, not the Frobenius norm)")
    one = student.gradient_norms({"W1": np.array([[3.0, 0.0], [0.0, 4.0]]), "b1": np.zeros(2)})
    check_array(np.asarray(one, dtype=np.float64), np.array([5.0]), "gradient_norms({'W1': [[3, 0], [0, 4]]})",
                hint="a 1-layer net gives a list with one norm")


# ---------------------------------------------------------------- the vanishing gradient

@pytest.mark.points(3)
def test_vanishing_gradients(student, seed):
    """vanishing gradients: a 10-layer sigmoid net's first layer gets a far smaller gradient than with ReLU"""
    ratios = {}
    for activation in ACTIVATIONS:
        gen = np.random.default_rng([seed, 41])
        X = gen.normal(size=(VANISH_M, VANISH_SIZES[0]))
        labels = gen.integers(0, VANISH_SIZES[-1], size=VANISH_M)
        params = student.init_deep(VANISH_SIZES, gen, activation=activation)
        _, cache = student.forward_deep(X, params, activation=activation)
        grads = student.backward_deep(params, cache, labels, activation=activation)
        norms = student.gradient_norms(grads)
        require(isinstance(norms, list) and len(norms) == len(VANISH_SIZES) - 1,
                f"gradient_norms on a 10-layer net: expected 10 norms, got {norms!r}")
        ratios[activation] = norms[0] / norms[-1]
    where = (f"10-layer net {VANISH_SIZES[0]}-32x9-{VANISH_SIZES[-1]}, m = {VANISH_M} random samples, each at its "
             "init_deep initialisation: ||dW1|| / ||dW10||")
    summary = f"sigmoid {ratios['sigmoid']:.3g}, relu {ratios['relu']:.3g}"
    require(ratios["sigmoid"] < SIGMOID_MAX,
            f"{where}: {summary}; with sigmoid the first layer's gradient should be tiny (ratio < {SIGMOID_MAX:g}; "
            f"the reference gives about 1e-6)\nHint: sigmoid_derivative(Z) <= 0.25 multiplies the gradient in every "
            f"hidden layer on the way down; {ORDER_HINT}")
    require(ratios["relu"] > RELU_MIN,
            f"{where}: {summary}; with ReLU and He initialisation the gradient should keep its size (ratio > "
            f"{RELU_MIN:g}; the reference gives 0.2-3)\nHint: He init sqrt(2 / n_in) and relu_derivative(Z) (1 for "
            "active units); check the initialisation and the order of gradient_norms")
    require(ratios["relu"] > CONTRAST * ratios["sigmoid"],
            f"{where}: {summary}; expected the relu ratio at least {CONTRAST:g} times the sigmoid one")
