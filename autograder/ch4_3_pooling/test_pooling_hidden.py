"""Hidden suite, chapter 4.3: max pooling against a reference computed here (sizes, strides, odd shapes,
overlapping windows), gradients routed to the maximum only (numerical gradient, ties, accumulation), float32,
errors, speed; the CNN's initialisation statistics and its forward pass against the reference modules."""

import numpy as np
import pytest

from autograder.gradcheck import numerical_gradient
from autograder.reference import reference
from autograder.sandbox.proxy import student_code_paused
from dlcourse.testing import best_time, check_array, expect_raises, retimed, timed_each

MAX_HINT = ("out[n, c, y, x] = max of X[n, c, y*stride : y*stride + size, x*stride : x*stride + size]; "
            "H_out = (H - size) // stride + 1 (floor)")
ROUTE_HINT = ("only the window's maximum influences the output: the whole dout[n, c, y, x] goes to that one "
              "entry, every other entry of the window gets 0 (not dout, not dout / size**2)")
TIE_HINT = ("on a tie, give the gradient to the FIRST maximum in row-major order (np.argmax of the flattened "
            "window), and to that entry only: several maxima must not each receive it")
OVERLAP_HINT = ("with stride < size the windows overlap: an entry that is the maximum of several windows must "
                "accumulate (+=) the gradient of each of them")
CNN_HINT = ("Z1 = conv2d(X, W1, b1, stride=1, padding=1), A1 = relu(Z1), P1 = max_pool(A1, 2, 2)[0], "
            "flat = P1.reshape(N, -1), Z2 = flat @ W2 + b2, probs = softmax(Z2)")


# ---------------------------------------------------------------- trusted references

def windows(X, size, stride):
    """(size*size, N, C, H_out, W_out): entry t = i*size + j of every window, in row-major order."""
    N, C, H, W = X.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    return np.stack([X[:, :, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
                     for i in range(size) for j in range(size)])


def ref_max_pool(X, size, stride):
    return windows(X, size, stride).max(axis=0)


def ref_max_pool_backward(dout, X, size, stride):
    """The gradient of sum(max_pool(X) * dout): to the first maximum of each window, accumulated."""
    first = windows(X, size, stride).argmax(axis=0)   # argmax returns the first maximum
    dX = np.zeros(X.shape)
    Ho, Wo = dout.shape[2:]
    for t in range(size * size):
        i, j = divmod(t, size)
        dX[:, :, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride] += dout * (first == t)
    return dX


def distinct_values(rng, shape):
    """Random values with no ties (a permutation, scaled), so the max of every window is unique."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 5.0


POOL_CONFIGS = [((2, 3, 6, 8), 2, 2), ((1, 2, 7, 5), 2, 2), ((2, 2, 9, 9), 3, 3), ((1, 3, 8, 7), 3, 2),
                ((2, 1, 6, 6), 2, 1), ((1, 2, 7, 9), 3, 1), ((2, 2, 5, 6), 1, 1), ((1, 1, 4, 4), 4, 4)]
POOL_IDS = ["2x2-s2", "odd-7x5", "3x3-s3", "3x3-s2-overlap", "2x2-s1-overlap", "3x3-s1-overlap", "1x1",
            "global"]


# ---------------------------------------------------------------- max_pool forward

@pytest.mark.points(2)
@pytest.mark.parametrize("shape,size,stride", POOL_CONFIGS, ids=POOL_IDS)
def test_max_pool_random(student, rng, shape, size, stride):
    """max_pool: random images, window sizes and strides against a reference"""
    X = rng.normal(size=shape)
    out, _ = student.max_pool(X, size, stride)
    check_array(out, ref_max_pool(X, size, stride), f"max_pool(X {shape}, size={size}, stride={stride})",
                rtol=0, atol=0, hint=MAX_HINT)


def test_max_pool_not_average(student, rng):
    """max_pool: keeps the maximum, not the mean, of each window"""
    X = rng.uniform(0, 1, size=(2, 2, 4, 4))
    X[:, :, ::2, ::2] += 10  # the top-left entry of every window dominates
    out, _ = student.max_pool(X, 2, 2)
    check_array(out, X[:, :, ::2, ::2], "max_pool(X (2, 2, 4, 4)) with a large top-left entry in every window",
                rtol=0, atol=0, hint="max pooling keeps the LARGEST value of each window (np.max), not the mean")


def test_max_pool_channels_separate(student, rng):
    """max_pool: every image and channel is pooled on its own"""
    X = rng.normal(size=(3, 4, 4, 4))
    X[1] += 100.0  # a shifted image must not leak into the others
    out, _ = student.max_pool(X, 2, 2)
    check_array(out, ref_max_pool(X, 2, 2), "max_pool(X (3, 4, 4, 4)) with one image shifted by 100", rtol=0,
                atol=0, hint="pool over the two spatial axes only; the output keeps N and C: (N, C, H_out, W_out)")


def test_max_pool_float32_kept(student, rng):
    """max_pool: float32 input gives float32 output"""
    X = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    out, _ = student.max_pool(X, 2, 2)
    check_array(out, ref_max_pool(X, 2, 2), "max_pool(X float32 (2, 3, 6, 6))", rtol=0, atol=0, dtype=np.float32)


def test_max_pool_input_not_modified(student, rng):
    """max_pool and max_pool_backward: leave X and dout unchanged"""
    X = rng.normal(size=(2, 2, 6, 6))
    X_before = X.copy()
    out, cache = student.max_pool(X, 3, 2)
    dout = rng.normal(size=(2, 2, 2, 2))
    dout_before = dout.copy()
    dX = student.max_pool_backward(dout, cache)
    check_array(X, X_before, "X after max_pool(X, 3, 2)", rtol=0, atol=0, hint="never write into the arguments")
    check_array(dout, dout_before, "dout after max_pool_backward(dout, cache)", rtol=0, atol=0,
                hint="never write into the arguments")
    check_array(out, ref_max_pool(X_before, 3, 2), "max_pool(X (2, 2, 6, 6), size=3, stride=2)", rtol=0, atol=0,
                hint=MAX_HINT)
    check_array(dX, ref_max_pool_backward(dout_before, X_before, 3, 2),
                "max_pool_backward(dout, cache) after max_pool(X (2, 2, 6, 6), size=3, stride=2)", rtol=1e-12,
                hint=OVERLAP_HINT)


POOL_BAD = {"window-too-large": ((1, 2, 3, 5), 4, 2), "window-too-wide": ((1, 2, 5, 3), 4, 1),
            "X-3d": ((3, 5, 4), 2, 2), "X-5d": ((1, 1, 4, 4, 1), 2, 2), "size-zero": ((1, 2, 3, 5), 0, 2),
            "size-fraction": ((1, 2, 3, 5), 1.5, 2), "stride-zero": ((1, 2, 3, 5), 2, 0),
            "stride-fraction": ((1, 2, 3, 5), 2, 1.5), "stride-negative": ((1, 2, 3, 5), 2, -1)}


@pytest.mark.parametrize("case", sorted(POOL_BAD))
def test_max_pool_rejects_bad_input(student, case):
    """max_pool: X not 4-D, a window larger than the image, or size/stride not whole numbers >= 1 raise ValueError"""
    shape, size, stride = POOL_BAD[case]
    X = np.ones(shape)
    call = f"max_pool(X {X.shape}, size={size}, stride={stride})"
    msg = expect_raises(ValueError, student.max_pool, X, size, stride, call=call,
                        hint="check X.ndim == 4, size and stride whole numbers >= 1 (int(v) == v), and size <= H, W; "
                             "raise ValueError")
    if case.startswith(("window", "X")):
        assert str(X.shape) in msg, f"{call}: the ValueError should name X's shape {X.shape}, got {msg!r}"


def test_max_pool_numpy_integers_and_big_windows(student, rng):
    """max_pool: np.int64 size/stride work; a 12x12 window (144 positions) finds its maximum, forward and backward"""
    X = distinct_values(rng, (2, 2, 6, 6))
    check_array(student.max_pool(X, np.int64(2), np.int64(2))[0], ref_max_pool(X, 2, 2),
                "max_pool(X (2, 2, 6, 6), size=np.int64(2), stride=np.int64(2))", rtol=0, atol=0,
                hint="a NumPy integer is a whole number too: compare by value (int(size) == size), then use int(size)")
    X = distinct_values(rng, (1, 2, 24, 24))
    out, cache = student.max_pool(X, 12, 12)
    check_array(out, ref_max_pool(X, 12, 12), "max_pool(X (1, 2, 24, 24), size=12, stride=12)", rtol=0, atol=0)
    dout = rng.normal(size=out.shape)
    check_array(student.max_pool_backward(dout, cache), ref_max_pool_backward(dout, X, 12, 12),
                "max_pool_backward after max_pool(X (1, 2, 24, 24), size=12, stride=12)", rtol=1e-12,
                hint="a 12x12 window has 144 positions: an argmax index kept in int8 (at most 127) wraps around")


def test_max_pool_other_dtypes_become_float64(student, rng):
    """max_pool / max_pool_backward: float16 and integer input give float64 (only float32 is kept)"""
    X = distinct_values(rng, (1, 2, 4, 4))
    for kind, Xk in (("float16", X.astype(np.float16)), ("int64", np.round(X * 100).astype(np.int64))):
        out, cache = student.max_pool(Xk, 2, 2)
        check_array(out, ref_max_pool(Xk.astype(np.float64), 2, 2), f"max_pool({kind} X (1, 2, 4, 4), 2, 2)",
                    rtol=0, atol=0, dtype=np.float64,
                    hint="only float32 keeps its dtype; anything else (float16, integers) becomes float64")
    _, cache = student.max_pool(X, 2, 2)
    dout = rng.normal(size=(1, 2, 2, 2)).astype(np.float16)
    check_array(student.max_pool_backward(dout, cache), ref_max_pool_backward(dout.astype(np.float64), X, 2, 2),
                "max_pool_backward(float16 dout, cache)", rtol=0, atol=0, dtype=np.float64,
                hint="dX is float32 for a float32 dout, else float64")


@pytest.mark.parametrize("dout_shape", [(1, 2, 2, 3), (1, 2, 3, 2), (1, 2, 2), (2, 2, 2, 2)],
                         ids=["wider", "taller", "3d", "more-images"])
def test_max_pool_backward_rejects_wrong_dout(student, rng, dout_shape):
    """max_pool_backward: a dout not shaped like the forward output raises ValueError naming both shapes"""
    _, cache = student.max_pool(distinct_values(rng, (1, 2, 4, 4)), 2, 2)
    call = f"max_pool_backward(dout {dout_shape}, cache of an output (1, 2, 2, 2))"
    msg = expect_raises(ValueError, student.max_pool_backward, np.ones(dout_shape), cache, call=call,
                        hint="check dout.shape == the forward output's shape (== or !=, not < or >) and raise "
                             "ValueError naming both")
    assert str(dout_shape) in msg and "(1, 2, 2, 2)" in msg, (
        f"{call}: the ValueError should name both shapes, got {msg!r}")


# ---------------------------------------------------------------- max_pool backward

@pytest.mark.points(3)
@pytest.mark.parametrize("shape,size,stride", POOL_CONFIGS, ids=POOL_IDS)
def test_max_pool_backward_numerical(student, rng, shape, size, stride):
    """max_pool_backward: matches the grader's numerical gradient (inputs without ties)"""
    X = distinct_values(rng, shape)
    out, cache = student.max_pool(X, size, stride)
    G = rng.normal(size=ref_max_pool(X, size, stride).shape)
    dX = student.max_pool_backward(G, cache)
    check_array(out, ref_max_pool(X, size, stride), f"max_pool(X {shape}, size={size}, stride={stride}), whose cache "
                "max_pool_backward uses", rtol=0, atol=0, hint=MAX_HINT)
    numeric = numerical_gradient(lambda v: np.sum(ref_max_pool(v, size, stride) * G), X.copy(), h=1e-3)
    check_array(dX, numeric, f"max_pool_backward(G, cache) after max_pool(X {shape}, size={size}, stride={stride})",
                rtol=1e-6, atol=1e-8, hint=OVERLAP_HINT if stride < size else ROUTE_HINT)


@pytest.mark.points(2)
def test_max_pool_backward_to_max_only(student, rng):
    """max_pool_backward: one nonzero entry per window, holding that window's dout"""
    X = distinct_values(rng, (2, 3, 6, 6))
    _, cache = student.max_pool(X, 2, 2)
    G = rng.uniform(1.0, 2.0, size=(2, 3, 3, 3))
    dX = check_array(student.max_pool_backward(G, cache), ref_max_pool_backward(G, X, 2, 2),
                     "max_pool_backward(G, cache) after max_pool(X (2, 3, 6, 6), 2, 2)", rtol=1e-12, hint=ROUTE_HINT)
    assert np.count_nonzero(dX) == G.size, (
        f"max_pool_backward: expected one nonzero gradient per window ({G.size}), got {np.count_nonzero(dX)}\n"
        f"Hint: {ROUTE_HINT}")


@pytest.mark.points(2)
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 3), (3, 2)], ids=["2x2", "3x3", "3x3-s2-overlap"])
def test_max_pool_backward_ties(student, rng, size, stride):
    """max_pool_backward: ties give the whole gradient to the first maximum (row-major)"""
    X = rng.integers(0, 3, size=(2, 2, 7, 7)).astype(float)   # few values: many ties
    _, cache = student.max_pool(X, size, stride)
    G = rng.uniform(1.0, 2.0, size=ref_max_pool(X, size, stride).shape)
    check_array(student.max_pool_backward(G, cache), ref_max_pool_backward(G, X, size, stride),
                f"max_pool_backward(G, cache) after max_pool(X (2, 2, 7, 7) with values in {{0, 1, 2}}, size={size}, "
                f"stride={stride})", rtol=1e-12, hint=TIE_HINT)


def test_max_pool_backward_constant_image(student):
    """max_pool_backward: on a constant image every window's gradient lands on its top-left entry"""
    X = np.full((1, 1, 4, 6), 0.5)
    _, cache = student.max_pool(X, 2, 2)
    G = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    expected = np.zeros((1, 1, 4, 6))
    expected[:, :, ::2, ::2] = G
    check_array(student.max_pool_backward(G, cache), expected,
                "max_pool_backward(dout = [[1, 2, 3], [4, 5, 6]], cache) after max_pool(constant (1, 1, 4, 6))",
                hint=TIE_HINT)


@pytest.mark.points(2)
def test_max_pool_backward_overlap_accumulates(student):
    """max_pool_backward: an entry that is the max of several overlapping windows collects all their gradients"""
    X = np.zeros((1, 1, 3, 3))
    X[0, 0, 1, 1] = 5.0                                   # the max of all four 2x2 windows (stride 1)
    _, cache = student.max_pool(X, 2, 1)
    G = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 10.0
    check_array(student.max_pool_backward(G, cache), expected,
                "max_pool_backward(dout = [[1, 2], [3, 4]], cache) after max_pool(X (1, 1, 3, 3) with one 5 in the "
                "centre, size=2, stride=1)", hint=OVERLAP_HINT)


def test_max_pool_backward_leftover_zero(student, rng):
    """max_pool_backward: rows and columns left over by the floor get zero gradient"""
    X = distinct_values(rng, (2, 2, 7, 9))
    _, cache = student.max_pool(X, 2, 2)
    dX = student.max_pool_backward(np.ones((2, 2, 3, 4)), cache)
    check_array(dX, ref_max_pool_backward(np.ones((2, 2, 3, 4)), X, 2, 2),
                "max_pool_backward(ones, cache) after max_pool(X (2, 2, 7, 9), 2, 2)", rtol=0, atol=0,
                hint="dX has the shape of X; the last row (7 = 2*3 + 1) and column (9 = 2*4 + 1) get 0")


def test_max_pool_backward_float32_kept(student, rng):
    """max_pool_backward: float32 dout gives a float32 dX"""
    X = distinct_values(rng, (2, 2, 6, 6)).astype(np.float32)
    _, cache = student.max_pool(X, 2, 2)
    G = rng.normal(size=(2, 2, 3, 3)).astype(np.float32)
    check_array(student.max_pool_backward(G, cache), ref_max_pool_backward(G, X, 2, 2),
                "max_pool_backward(dout float32, cache)", rtol=1e-6, dtype=np.float32)



def test_max_pool_is_vectorized(student, rng):
    """max_pool + max_pool_backward: vectorised (no Python loop over windows)"""
    # Big enough that a loop over the 200,704 windows costs seconds, while passing the arrays to a graded
    # submission and back (up to ~0.2 s on a busy machine) stays well under the limit.
    ref = reference("ch4_3_pooling")

    def forward_and_backward(X, G):
        out, cache = student.max_pool(X, 2, 2)
        return out, student.max_pool_backward(G, cache)

    def measure():
        # New images every run, and every attempt: remembered answers make no later run fast.
        inputs = [(rng.normal(size=(32, 8, 56, 56)), rng.normal(size=(32, 8, 28, 28))) for _ in range(3)]
        X, G = inputs[0]
        with student_code_paused(student):  # the yardstick on a machine the submission does not slow down
            reference_time = best_time(lambda: ref.max_pool_backward(G, ref.max_pool(X, 2, 2)[1]))
        student_time, results = timed_each(forward_and_backward, inputs)
        # a loop over the windows, even in one direction only, takes ~1 s
        return reference_time, student_time, list(zip(inputs, results)), 0.3 + 5 * reference_time

    reference_time, student_time, runs, limit = retimed(measure, lambda m: m[1] < m[3])
    assert student_time < limit, (
        f"max_pool + max_pool_backward on X (32, 8, 56, 56) took {student_time * 1e3:.0f} ms (best of {len(runs)}, "
        f"new images each run); the reference takes {reference_time * 1e3:.1f} ms and the limit is "
        f"{limit * 1e3:.0f} ms.\nHint: loop over the size*size positions inside the window (strided slices of X "
        "covering every window at once), or reshape to (N, C, H/2, 2, W/2, 2) when size == stride; not over the "
        "200,704 windows")
    for (X, G), (out, dX) in runs:
        check_array(out, ref_max_pool(X, 2, 2), "max_pool(X (32, 8, 56, 56), 2, 2)", rtol=0, atol=0, hint=MAX_HINT)
        check_array(dX, ref_max_pool_backward(G, X, 2, 2), "max_pool_backward(G, cache) after max_pool(X (32, 8, 56, "
                    "56), 2, 2)", rtol=1e-12, hint=ROUTE_HINT)


# ---------------------------------------------------------------- the CNN

def test_init_cnn_shapes_and_zero_biases(student, rng):
    """init_cnn: W1 (F, C, 3, 3), b1 zeros, W2 (F * H//2 * W//2, K), b2 zeros; odd sizes floor"""
    params = student.init_cnn((3, 7, 9), 5, 4, rng)
    expected = {"W1": (5, 3, 3, 3), "b1": (5,), "W2": (5 * 3 * 4, 4), "b2": (4,)}
    shapes = {k: np.shape(v) for k, v in params.items()}
    assert shapes == expected, (
        f"init_cnn((3, 7, 9), 5, 4, rng): expected the shapes {expected}, got {shapes}\nHint: the pooled maps are "
        "(H // 2) x (W // 2) = 3 x 4, and W2 has one row per flattened value: F * 3 * 4")
    for key in ("b1", "b2"):
        check_array(params[key], np.zeros(expected[key]), f"init_cnn(...)[{key!r}]", hint="biases start at zero")


@pytest.mark.points(2)
def test_init_cnn_he_scale(student, rng):
    """init_cnn: He initialisation, std sqrt(2 / fan_in) for W1 (fan_in C*9) and W2 (fan_in D)"""
    params = student.init_cnn((4, 16, 16), 64, 200, rng)
    for key, fan_in in (("W1", 4 * 9), ("W2", 64 * 8 * 8)):
        W = np.asarray(params[key])
        std, target = W.std(), np.sqrt(2 / fan_in)
        # W1 has 2,304 draws (sample std within 6% at 4 standard errors), W2 819,200.
        assert abs(std / target - 1) < (0.06 if key == "W1" else 0.01) and abs(W.mean()) < 4 * target / np.sqrt(
            W.size), (f"init_cnn((4, 16, 16), 64, 200)[{key!r}]: standard deviation {std:.5f} and mean "
                      f"{W.mean():.2e}, He initialisation gives mean 0 and std sqrt(2 / {fan_in}) = {target:.5f}\n"
                      f"Hint: rng.standard_normal(shape) * np.sqrt(2 / fan_in); 2 / fan_in is the variance, its "
                      "square root the standard deviation; a filter's fan_in is C * 3 * 3")


def test_init_cnn_documented_draws(student, rng):
    """init_cnn: W1 then W2 drawn as documented (standard normals times sqrt(2 / fan_in)) from the rng given"""
    seed = int(rng.integers(2**31))
    params = student.init_cnn((2, 6, 8), 3, 4, np.random.default_rng(seed))
    draws = np.random.default_rng(seed)
    W1 = draws.standard_normal((3, 2, 3, 3)) * np.sqrt(2 / 18)
    W2 = draws.standard_normal((3 * 3 * 4, 4)) * np.sqrt(2 / 36)
    for key, want in (("W1", W1), ("W2", W2)):
        check_array(params[key], want, f"init_cnn((2, 6, 8), 3, 4, np.random.default_rng({seed}))[{key!r}]",
                    rtol=1e-12, atol=0, hint="W1 = rng.standard_normal((F, C, 3, 3)) * sqrt(2 / (C * 9)), then "
                                             "W2 = rng.standard_normal((D, K)) * sqrt(2 / D), in that order")


def test_init_cnn_reproducible(student):
    """init_cnn: the same seed gives the same parameters, another seed others"""
    a = student.init_cnn((1, 6, 6), 3, 2, np.random.default_rng(5))
    b = student.init_cnn((1, 6, 6), 3, 2, np.random.default_rng(5))
    c = student.init_cnn((1, 6, 6), 3, 2, np.random.default_rng(6))
    for key in ("W1", "W2"):
        check_array(b[key], a[key], f"init_cnn with the same seed twice: {key}", rtol=0, atol=0,
                    hint="draw only from the rng argument (no np.random.*, no fixed seed inside)")
    assert not np.allclose(a["W1"], c["W1"]), "init_cnn: seeds 5 and 6 gave the same W1; draw from the rng argument"


def reference_cnn(X, params):
    """The forward pass from the reference conv2d, ReLU and softmax, with max pooling written here."""
    Z1, _ = reference("ch4_2_convolution").conv2d(X, params["W1"], params["b1"], stride=1, padding=1)
    A1 = reference("ch3_2_activations").relu(Z1)
    P1 = ref_max_pool(A1, 2, 2)
    flat = P1.reshape(P1.shape[0], -1)
    Z2 = flat @ params["W2"] + params["b2"]
    return {"Z1": Z1, "A1": A1, "P1": P1, "flat": flat, "Z2": Z2,
            "probs": reference("ch3_2_activations").softmax(Z2)}


def random_cnn(rng, N, C, H, W, F, K):
    return rng.normal(size=(N, C, H, W)), {
        "W1": rng.normal(size=(F, C, 3, 3)), "b1": rng.normal(size=F),
        "W2": rng.normal(size=(F * (H // 2) * (W // 2), K)) * 0.3, "b2": rng.normal(size=K)}


@pytest.mark.points(3)
@pytest.mark.parametrize("dims", [(4, 1, 8, 8, 3, 5), (3, 2, 6, 10, 4, 3), (2, 3, 7, 9, 2, 4), (2, 1, 16, 16, 5, 3)],
                         ids=["mnist-like", "non-square", "odd-size", "320-values"])
def test_cnn_forward_matches_reference(student, rng, dims):
    """cnn_forward: probabilities and cache against the reference layers"""
    X, params = random_cnn(rng, *dims)
    probs, cache = student.cnn_forward(X, params)
    expected = reference_cnn(X, params)
    call = f"cnn_forward(X {X.shape}, W1 {params['W1'].shape}, W2 {params['W2'].shape})"
    check_array(probs, expected["probs"], call + ": probs", rtol=1e-9, atol=1e-12, hint=CNN_HINT)
    for key in ("Z1", "A1", "P1", "Z2"):
        check_array(cache[key], expected[key], f"{call}: cache[{key!r}]", rtol=1e-9, atol=1e-12, hint=CNN_HINT)


def test_cnn_forward_relu_before_pooling(student, rng):
    """cnn_forward: ReLU comes after the convolution (negative maps pool to 0)"""
    X, params = random_cnn(rng, 2, 1, 6, 6, 2, 3)
    params["b1"] = np.array([-50.0, -50.0])   # every conv output negative: ReLU makes all pooled values 0
    probs, cache = student.cnn_forward(X, params)
    check_array(probs, reference_cnn(X, params)["probs"], "cnn_forward(...) with a very negative b1", rtol=1e-9,
                atol=1e-12, hint="apply relu to the convolution's output before pooling: the pooled maps are all 0 "
                                 "here, so the logits are just b2")


def test_cnn_forward_flatten_order(student, rng):
    """cnn_forward: flattens P1 (N, F, H/2, W/2) row-major, channel first"""
    X, params = random_cnn(rng, 3, 1, 4, 6, 3, 4)
    probs, _ = student.cnn_forward(X, params)
    check_array(probs, reference_cnn(X, params)["probs"], f"cnn_forward(X {X.shape}, W2 {params['W2'].shape})",
                rtol=1e-9, atol=1e-12, hint="flat = P1.reshape(N, -1): channel, then row, then column (as torch's "
                                             "flatten); no transpose to channels-last first")


def test_cnn_forward_float32_kept(student, rng):
    """cnn_forward: float32 images and parameters give float32 probabilities"""
    X, params = random_cnn(rng, 2, 1, 6, 6, 2, 3)
    X32, p32 = X.astype(np.float32), {k: v.astype(np.float32) for k, v in params.items()}
    probs, _ = student.cnn_forward(X32, p32)
    check_array(probs, reference_cnn(X32.astype(np.float64), {k: v.astype(np.float64) for k, v in p32.items()})[
        "probs"], "cnn_forward in float32", rtol=1e-4, atol=1e-5, dtype=np.float32)


@pytest.mark.parametrize("input_shape, F, K", [((1, 6), 2, 3), ((1, 6, 6, 1), 2, 3), ((0, 6, 6), 2, 3),
                                              ((1, 1, 6), 2, 3), ((1, 6, 1), 2, 3), ((1, 6, 6), 0, 3),
                                              ((1, 6, 6), 2, 0)],
                         ids=["2-numbers", "4-numbers", "C-0", "H-1", "W-1", "F-0", "K-0"])
def test_init_cnn_rejects_bad_sizes(student, rng, input_shape, F, K):
    """init_cnn: input_shape not 3 numbers, C < 1, H or W < 2, F < 1 or K < 1 raise ValueError"""
    expect_raises(ValueError, student.init_cnn, input_shape, F, K, rng,
                  call=f"init_cnn(input_shape={input_shape}, num_filters={F}, num_classes={K}, rng)",
                  hint="input_shape is (C, H, W) of one image: C >= 1 and H, W >= 2 (one 2x2 pooling window), at "
                       "least one filter and one class; raise ValueError otherwise")


def test_init_cnn_smallest_sizes(student, rng):
    """init_cnn: the smallest valid network (1 channel, 2x2 image, 1 filter, 1 class) has the documented shapes"""
    params = student.init_cnn((1, 2, 2), 1, 1, np.random.default_rng(3))
    want = {"W1": (1, 1, 3, 3), "b1": (1,), "W2": (1, 1), "b2": (1,)}
    got = {k: np.shape(params[k]) for k in want} if isinstance(params, dict) and set(want) <= set(params) else params
    assert got == want, (f"init_cnn((1, 2, 2), num_filters=1, num_classes=1, rng): expected the shapes {want}, got "
                         f"{got}\nHint: H, W = 2 are valid (one pooled value each): reject only H or W below 2")


def test_cnn_forward_rejects_wrong_W2(student, rng):
    """cnn_forward: a W2 that does not fit the flattened maps raises ValueError naming its shape"""
    X, params = random_cnn(rng, 2, 1, 6, 6, 2, 3)
    params["W2"] = np.ones((2 * 6 * 6, 3))    # sized for the maps before pooling
    msg = expect_raises(ValueError, student.cnn_forward, X, params,
                        call="cnn_forward(X (2, 1, 6, 6), params with W2 (72, 3)); the pooled maps flatten to 18",
                        hint="check W2.shape[0] == F * (H // 2) * (W // 2) and raise ValueError naming the shapes")
    assert "(72, 3)" in msg, f"cnn_forward: the ValueError should name W2's shape (72, 3), got {msg!r}"
    for W2 in (np.ones(18), np.ones((9, 3)), np.ones((18, 3, 1))):
        params["W2"] = W2
        call = f"cnn_forward(X (2, 1, 6, 6), params with W2 {W2.shape}); the pooled maps flatten to 18"
        msg = expect_raises(ValueError, student.cnn_forward, X, params, call=call,
                            hint="check W2.ndim == 2 and W2.shape[0] == F * (H // 2) * (W // 2) (== / !=, not < "
                                 "or >) and raise ValueError naming the shapes")
        assert str(W2.shape) in msg, f"{call}: the ValueError should name W2's shape {W2.shape}, got {msg!r}"
