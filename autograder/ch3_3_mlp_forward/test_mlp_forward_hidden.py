"""Hidden suite, chapter 3.3: He initialisation statistics, zero biases, reproducibility, any depth, the
forward pass and its cache against the grader's own (autograder.oracle), shapes and dtypes."""
import numpy as np
import pytest

from autograder.oracle import mlp_forward
from dlcourse.testing import check_array, expect_raises, require


SQRT_HINT = ("He initialisation: W = rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in). 2 / n_in is the "
             "VARIANCE; multiplying by 2 / n_in without the square root makes the weights far too small")
FORWARD_HINT = ("Z_l = A_{l-1} @ W_l + b_l; A_l = relu(Z_l) for the hidden layers and softmax(Z_L) for the last "
                "one only; the number of layers L comes from params (W1 ... WL)")


def random_sizes(rng, depth):
    return [int(n) for n in rng.integers(1, 7, size=depth + 1)]


def reference_params(rng, sizes):
    return {k: v for l in range(1, len(sizes)) for k, v in
            ((f"W{l}", rng.normal(size=(sizes[l - 1], sizes[l]))), (f"b{l}", rng.normal(size=sizes[l])))}


def expected_keys(L):
    return sorted([f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)])


# ---------------------------------------------------------------- init_mlp

@pytest.mark.parametrize("depth", [1, 2, 4])
def test_init_keys_and_shapes(student, rng, depth):
    """init_mlp: the depth follows layer_sizes, every W and b has its shape"""
    sizes = random_sizes(rng, depth)
    params = student.init_mlp(sizes, rng)
    require(sorted(params) == expected_keys(depth),
            f"init_mlp({sizes}, rng): expected the keys {expected_keys(depth)}, got {sorted(params)}\n"
            f"Hint: {len(sizes)} sizes make {depth} layers: loop l = 1 .. len(layer_sizes) - 1")
    for l in range(1, depth + 1):
        for key, shape in ((f"W{l}", (sizes[l - 1], sizes[l])), (f"b{l}", (sizes[l],))):
            got = np.shape(params[key])
            require(got == shape, f"init_mlp({sizes}, rng)[{key!r}]: expected shape {shape}, got {got}\nHint: "
                                  "W_l is (n_{l-1}, n_l) and b_l is (n_l,) (1-D, not a column (n_l, 1))")


@pytest.mark.points(3)
def test_init_scale_statistics(student, rng):
    """init_mlp: He initialisation, each layer's weights have mean 0 and std sqrt(2 / n_in)"""
    sizes = [400, 300, 100]
    params = student.init_mlp(sizes, rng)
    for l in (1, 2):
        W = np.asarray(params[f"W{l}"], dtype=np.float64)
        n_in, N = sizes[l - 1], W.size
        target = np.sqrt(2 / n_in)
        # Sampling error of N normal draws: the sample std is off by target / sqrt(2N) (standard error),
        # the mean by target / sqrt(N). Allow 5 standard errors: a correct init fails about once in 2 million.
        # (N = 120,000: std within 1.0%; N = 30,000: within 2.0%; the missing sqrt is off by a factor 10-14.)
        std_tol, mean_tol = 5 / np.sqrt(2 * N), 5 * target / np.sqrt(N)
        std = W.std()
        require(abs(std / target - 1) < std_tol,
                f"init_mlp({sizes}, rng)['W{l}']: the {N:,} weights have standard deviation {std:.5f}, He "
                f"initialisation gives sqrt(2 / n_in) = sqrt(2 / {n_in}) = {target:.5f} (tolerance {std_tol:.1%}, "
                f"from the sampling error)\nHint: {SQRT_HINT}; n_in is the size of the layer BEFORE, "
                "layer_sizes[l - 1]")
        require(abs(W.mean()) < mean_tol,
                f"init_mlp({sizes}, rng)['W{l}']: the weights have mean {W.mean():.5f}, expected 0 (within "
                f"{mean_tol:.5f})\nHint: draw from a normal distribution centred on 0 (rng.standard_normal)")


def test_init_biases_zero(student, rng):
    """init_mlp: every bias starts at zero"""
    sizes = [5, 4, 3, 2]
    params = student.init_mlp(sizes, rng)
    for l in (1, 2, 3):
        check_array(params[f"b{l}"], np.zeros(sizes[l]), f"init_mlp({sizes}, rng)['b{l}']", rtol=0, atol=0,
                    hint="biases start at zero (np.zeros(n_l)); only the weights are random, to break the symmetry")


def test_init_reproducible(student, seed):
    """init_mlp: the same rng seed gives the same weights, another seed other weights"""
    sizes = [6, 5, 3]
    a = student.init_mlp(sizes, np.random.default_rng([seed, 1]))
    b = student.init_mlp(sizes, np.random.default_rng([seed, 1]))
    c = student.init_mlp(sizes, np.random.default_rng([seed, 2]))
    hint = "draw every weight from the rng argument (rng.standard_normal), never from np.random's global state"
    for key in ("W1", "W2"):
        check_array(b[key], a[key], f"init_mlp({sizes}, rng)[{key!r}] twice from the same seed", rtol=0, atol=0,
                    hint=hint)
        require(not np.allclose(c[key], a[key]),
                f"init_mlp({sizes}, rng)[{key!r}]: two different rng seeds gave the same weights\nHint: {hint}")


def test_init_layers_differ(student, rng):
    """init_mlp: layers of equal shape get different weights"""
    params = student.init_mlp([8, 8, 8, 8], rng)
    require(not np.allclose(params["W1"], params["W2"]) and not np.allclose(params["W2"], params["W3"]),
            "init_mlp([8, 8, 8, 8], rng): W1, W2, W3 are equal\nHint: draw fresh numbers for every layer from the "
            "same rng; do not re-create the generator with a fixed seed inside the loop")


def test_init_float64(student, rng):
    """init_mlp: the parameters are float64 arrays"""
    params = student.init_mlp([3, 4, 2], rng)
    for key, value in params.items():
        require(isinstance(value, np.ndarray) and value.dtype == np.float64,
                f"init_mlp([3, 4, 2], rng)[{key!r}]: expected a float64 numpy array, got {type(value).__name__} "
                f"{getattr(value, 'dtype', '')}\nHint: np.zeros(n) for the biases (not integer zeros), "
                "rng.standard_normal for the weights")


@pytest.mark.parametrize("sizes", [[5], [], [4, 0, 2]], ids=["one-size", "empty", "zero-units"])
def test_init_rejects_bad_sizes(student, rng, sizes):
    """init_mlp: fewer than 2 sizes, or a size of 0, raise ValueError"""
    expect_raises(ValueError, student.init_mlp, sizes, rng, call=f"init_mlp({sizes}, rng)",
                  hint="a network needs an input size and an output size, all at least 1: check layer_sizes "
                       "and raise ValueError")


# ---------------------------------------------------------------- forward_mlp

@pytest.mark.points(2)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_forward_matches_reference(student, rng, depth):
    """forward_mlp: probabilities of random nets of any depth"""
    sizes = random_sizes(rng, depth)
    sizes[-1] = max(sizes[-1], 2)
    params = reference_params(rng, sizes)
    X = rng.normal(size=(int(rng.integers(1, 8)), sizes[0]))
    probs, _ = student.forward_mlp(X, params)
    expected, _ = mlp_forward(params, X)
    check_array(probs, expected, f"forward_mlp(X {X.shape}, params of a {depth}-layer net {sizes}): probs",
                rtol=1e-9, atol=1e-12, hint=FORWARD_HINT)


@pytest.mark.points(2)
def test_forward_cache_contents(student, rng):
    """forward_mlp: the cache holds A0 = X, every Z_l and A_l, and AL = probs"""
    sizes = [4, 6, 5, 3]
    params = reference_params(rng, sizes)
    X = rng.normal(size=(7, 4))
    probs, cache = student.forward_mlp(X, params)
    _, expected = mlp_forward(params, X)
    require(isinstance(cache, dict) and sorted(cache) == sorted(expected),
            f"forward_mlp on a 3-layer net {sizes}: expected cache keys {sorted(expected)}, got "
            f"{sorted(cache) if isinstance(cache, dict) else type(cache).__name__}\nHint: cache = {{'A0': X}}, then "
            "cache[f'Z{l}'] and cache[f'A{l}'] for l = 1 .. L")
    for key in sorted(expected):
        check_array(cache[key], expected[key], f"forward_mlp(X (7, 4), {sizes} net): cache[{key!r}] of shape "
                    f"{expected[key].shape}", rtol=1e-9, atol=1e-12,
                    hint="Z_l is the pre-activation A_{l-1} @ W_l + b_l, A_l = relu(Z_l) (softmax for l = L); "
                         "store them before moving to the next layer")
    check_array(probs, cache["A3"], "forward_mlp(...): probs vs cache['A3']", rtol=0, atol=0,
                hint="the probabilities returned are the last activation")


def test_forward_relu_only_on_hidden_layers(student, rng):
    """forward_mlp: a 1-layer net is plain softmax regression (no ReLU before the softmax)"""
    params = reference_params(rng, [3, 4])
    params["b1"] = -np.abs(params["b1"]) - 5  # negative logits: a ReLU on them would flatten everything to 0
    X = rng.normal(size=(5, 3))
    probs, _ = student.forward_mlp(X, params)
    check_array(probs, mlp_forward(params, X)[0], "forward_mlp(X (5, 3), 1-layer net with negative logits)",
                rtol=1e-9, atol=1e-12, hint="the output layer applies softmax to Z_L directly, never relu first")


def test_forward_uses_params_depth(student, rng):
    """forward_mlp: the same function runs nets of depth 2 and 5"""
    for sizes in ([3, 4, 2], [3, 4, 4, 4, 4, 2]):
        params = reference_params(rng, sizes)
        X = rng.normal(size=(4, 3))
        check_array(student.forward_mlp(X, params)[0], mlp_forward(params, X)[0],
                    f"forward_mlp(X, params of {sizes})", rtol=1e-9, atol=1e-12,
                    hint="count the layers from params (while f'W{l}' in params), do not assume 2")


def test_forward_big_logits_stable(student, rng):
    """forward_mlp: huge weights give valid probabilities, no NaN"""
    params = reference_params(rng, [4, 5, 3])
    params["W2"] *= 1e3
    X = rng.normal(size=(6, 4)) * 10
    probs, _ = student.forward_mlp(X, params)
    check_array(probs, mlp_forward(params, X)[0], "forward_mlp with logits of size 1e4", rtol=1e-9, atol=1e-12,
                hint="use softmax from chapter 3.2 (row-wise, max subtracted) for the output layer")


def test_forward_input_not_mutated(student, rng):
    """forward_mlp: X and params are left untouched"""
    params = reference_params(rng, [3, 4, 2])
    X = rng.normal(size=(5, 3))
    before_X, before = X.copy(), {k: v.copy() for k, v in params.items()}
    result = student.forward_mlp(X, params)
    check_array(X, before_X, "X after forward_mlp(X, params)", rtol=0, atol=0,
                hint="A = X then A += ... or A[A < 0] = 0 changes the caller's X: compute new arrays")
    for key in before:
        check_array(params[key], before[key], f"params[{key!r}] after forward_mlp", rtol=0, atol=0,
                    hint="the forward pass reads the parameters, it must not change them")
    probs = result[0] if isinstance(result, (tuple, list)) and len(result) == 2 else result
    check_array(probs, mlp_forward(before, before_X)[0], "forward_mlp(X (5, 3), params of [3, 4, 2]): probs",
                rtol=1e-9, atol=1e-12, hint=FORWARD_HINT)


def test_forward_float32(student, rng):
    """forward_mlp: float32 input and parameters give float32 probabilities"""
    params = {k: v.astype(np.float32) for k, v in reference_params(rng, [3, 5, 2]).items()}
    X = rng.normal(size=(4, 3)).astype(np.float32)
    probs, _ = student.forward_mlp(X, params)
    check_array(probs, mlp_forward(params, X.astype(np.float64))[0], "forward_mlp(X float32, params float32)",
                rtol=1e-4, atol=1e-5, dtype=np.float32)


@pytest.mark.parametrize("case", ["no-W1", "X-wider", "X-1d", "X-3d"])
def test_forward_rejects_bad_input(student, rng, case):
    """forward_mlp: params without "W1", an X too wide, a 1-D or a 3-D X raise ValueError"""
    params = reference_params(rng, [4, 3, 2])
    X = {"no-W1": rng.normal(size=(5, 4)), "X-wider": rng.normal(size=(5, 6)), "X-1d": rng.normal(size=4),
         "X-3d": rng.normal(size=(2, 4, 4))}[case]
    if case == "no-W1":
        params = {}
    call = f"forward_mlp(X {X.shape}, params {'{}' if not params else 'with W1 (4, 3)'})"
    msg = expect_raises(ValueError, student.forward_mlp, X, params, call=call,
                        hint="raise ValueError when params has no 'W1', and unless X.ndim == 2 and X.shape[1] == "
                             "W1.shape[0] (compare with ==, not < or >)")
    if params:
        require(str(X.shape) in msg and "(4, 3)" in msg,
                f"{call}: the ValueError should name both shapes, got {msg!r}\nHint: check X.ndim == 2 and "
                "X.shape[1] == W1.shape[0] before the first layer (an error from deeper down names neither)")


def test_forward_wide_input(student, rng):
    """forward_mlp: an MNIST-wide input (784 features; sizes compared by value)"""
    params = reference_params(rng, [784, 3, 2])
    X = rng.normal(size=(3, 784))
    probs, _ = student.forward_mlp(X, params)
    check_array(probs, mlp_forward(params, X)[0], "forward_mlp(X (3, 784), params of a [784, 3, 2] net): probs",
                rtol=1e-9, atol=1e-12, hint="compare sizes with == / != (values), never with `is` / `is not`")


def test_forward_shape_mismatch(student, rng):
    """forward_mlp: X too narrow or too wide raises ValueError naming both shapes"""
    params = reference_params(rng, [4, 3, 2])
    for width in (3, 6):
        X = rng.normal(size=(5, width))
        call = f"forward_mlp(X (5, {width}), W1 (4, 3))"
        msg = expect_raises(ValueError, student.forward_mlp, X, params, call=call,
                            hint="check X.shape[1] == W1.shape[0] and raise ValueError naming both shapes")
        require(f"(5, {width})" in msg and "(4, 3)" in msg,
                f"{call}: the ValueError should name both shapes, got {msg!r}\nHint: check the shapes yourself "
                "before X @ W1 (NumPy's own matmul error names neither), with != rather than < or >")
