"""Hidden suite, chapter 4.2: conv2d against the definition written as loops, strides and paddings, several
channels, non-square images and kernels, the flipped-kernel and output-size mistakes, every gradient against
the grader's numerical gradient, float32, errors, and speed against the reference solution."""

import numpy as np
import pytest

from autograder.gradcheck import numerical_gradient
from autograder.reference import reference
from autograder.sandbox.proxy import student_code_paused
from dlcourse.testing import best_time, check_array, expect_raises, require, retimed, timed_each

FORMULA = ("out[n, f, y, x] = b[f] + sum over c, i, j of Xp[n, c, y*stride + i, x*stride + j] * W[f, c, i, j], "
           "with Xp = X padded by `padding` zeros on every side")
FLIP_HINT = ("conv2d is a cross-correlation: W[f, c, i, j] multiplies Xp[n, c, y*s + i, x*s + j] as it is; do not "
             "flip the kernel (no W[..., ::-1, ::-1], no np.rot90): frameworks do not flip either")
SIZE_HINT = ("H_out = (H + 2*padding - KH) // stride + 1 and W_out = (W + 2*padding - KW) // stride + 1 (floor); "
             "output row y reads padded rows y*stride .. y*stride + KH - 1")
DB_HINT = "db[f] sums dout[:, f] over the batch AND every output position: dout.sum(axis=(0, 2, 3)), not a mean"
DW_HINT = "dW[f, c, i, j] = sum over n, y, x of dout[n, f, y, x] * Xp[n, c, y*s + i, x*s + j] (Xp: the PADDED input)"
DX_HINT = ("each window adds W[f] * dout[n, f, y, x] to the padded pixels it covered (at rows y*s + i, columns "
           "x*s + j); then drop the padding border: dX = dXp[:, :, p:p+H, p:p+W]")


# ---------------------------------------------------------------- trusted references

def loop_conv(X, W, b, stride, padding):
    """The definition, literally (small inputs only)."""
    N, C, H, Wd = X.shape
    F, _, KH, KW = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho, Wo = (H + 2 * padding - KH) // stride + 1, (Wd + 2 * padding - KW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for y in range(Ho):
                for x in range(Wo):
                    window = Xp[n, :, y * stride:y * stride + KH, x * stride:x * stride + KW]
                    out[n, f, y, x] = np.sum(window * W[f]) + b[f]
    return out


def taps(shape, KH, KW, stride, padding):
    """For each kernel tap (i, j): the slice of the padded input it reads for every output position."""
    H, Wd = shape[2] + 2 * padding, shape[3] + 2 * padding
    Ho, Wo = (H - KH) // stride + 1, (Wd - KW) // stride + 1
    for i in range(KH):
        for j in range(KW):
            yield i, j, (slice(None), slice(None), slice(i, i + stride * (Ho - 1) + 1, stride),
                         slice(j, j + stride * (Wo - 1) + 1, stride))


def tap_conv(X, W, b, stride, padding):
    """The same, vectorised over everything but the KH * KW kernel taps."""
    p = padding
    Xp = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))
    out = 0.0
    for i, j, sl in taps(X.shape, W.shape[2], W.shape[3], stride, padding):
        out = out + np.tensordot(Xp[sl], W[:, :, i, j], axes=([1], [1]))   # (N, Ho, Wo, F)
    return (out + b).transpose(0, 3, 1, 2)


def tap_conv_backward(G, X, W, stride, padding):
    p, H, Wd = padding, X.shape[2], X.shape[3]
    Xp = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))
    dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
    for i, j, sl in taps(X.shape, W.shape[2], W.shape[3], stride, padding):
        dW[:, :, i, j] = np.tensordot(G, Xp[sl], axes=([0, 2, 3], [0, 2, 3]))
        dXp[sl] += np.tensordot(G, W[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dXp[:, :, p:p + H, p:p + Wd], dW, G.sum(axis=(0, 2, 3))


def random_case(rng, N=None, C=None, F=None, K=None, stride=1, padding=0):
    N = N or int(rng.integers(1, 4))
    C = C or int(rng.integers(1, 4))
    F = F or int(rng.integers(1, 4))
    KH, KW = K or (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    H = int(rng.integers(max(KH - 2 * padding, 1), 10))
    Wd = int(rng.integers(max(KW - 2 * padding, 1), 10))
    return rng.normal(size=(N, C, H, Wd)), rng.normal(size=(F, C, KH, KW)), rng.normal(size=F)


def describe(X, W, stride, padding):
    return f"conv2d(X {X.shape}, W {W.shape}, b, stride={stride}, padding={padding})"


CONFIGS = [(1, 0), (1, 1), (2, 0), (2, 1), (1, 2), (3, 2)]
CONFIG_IDS = [f"stride{s}-pad{p}" for s, p in CONFIGS]


# ---------------------------------------------------------------- forward

@pytest.mark.points(2)
@pytest.mark.parametrize("stride,padding", CONFIGS, ids=CONFIG_IDS)
def test_forward_matches_loops(student, rng, stride, padding):
    """conv2d: random images and filters (any channels, non-square) against the definition"""
    X, W, b = random_case(rng, stride=stride, padding=padding)
    out, _ = student.conv2d(X, W, b, stride=stride, padding=padding)
    check_array(out, loop_conv(X, W, b, stride, padding), describe(X, W, stride, padding), rtol=1e-9, atol=1e-12,
                hint=FORMULA if stride == 1 else SIZE_HINT)


@pytest.mark.points(2)
def test_forward_kernel_not_flipped(student, rng):
    """conv2d: the kernel is not flipped (a cross-correlation, as in frameworks)"""
    X, W = rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(3, 2, 3, 2))
    W[:, :, 0, 0] += 3.0  # clearly asymmetric
    b = rng.normal(size=3)
    out, _ = student.conv2d(X, W, b, padding=1)
    flipped = loop_conv(X, W[:, :, ::-1, ::-1], b, 1, 1)
    if isinstance(out, np.ndarray) and out.shape == flipped.shape and np.allclose(out, flipped):
        pytest.fail(f"{describe(X, W, 1, 1)}: your result is the convolution with the FLIPPED kernel "
                    f"W[:, :, ::-1, ::-1]\nHint: {FLIP_HINT}", pytrace=False)
    check_array(out, loop_conv(X, W, b, 1, 1), describe(X, W, 1, 1), rtol=1e-9, atol=1e-12, hint=FLIP_HINT)


@pytest.mark.points(2)
@pytest.mark.parametrize("H,Wd,KH,KW,stride,padding", [
    (7, 7, 3, 3, 2, 0), (8, 8, 3, 3, 2, 0), (9, 7, 2, 3, 3, 1), (10, 6, 3, 2, 2, 2), (6, 9, 4, 4, 3, 0),
    (5, 5, 5, 5, 2, 0)], ids=["7-k3-s2", "8-k3-s2", "9x7-s3-p1", "10x6-s2-p2", "6x9-k4-s3", "kernel-fills-image"])
def test_output_size(student, rng, H, Wd, KH, KW, stride, padding):
    """conv2d: output size (H + 2p - KH) // stride + 1 (floor) with strides"""
    X, W, b = rng.normal(size=(1, 2, H, Wd)), rng.normal(size=(2, 2, KH, KW)), rng.normal(size=2)
    out, _ = student.conv2d(X, W, b, stride=stride, padding=padding)
    check_array(out, loop_conv(X, W, b, stride, padding), describe(X, W, stride, padding), rtol=1e-9, atol=1e-12,
                hint=SIZE_HINT)


def test_bias_per_filter(student, rng):
    """conv2d: an all-zero image gives b[f] everywhere in map f"""
    X, W, b = np.zeros((2, 3, 5, 4)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    out, _ = student.conv2d(X, W, b, padding=1)
    check_array(out, np.broadcast_to(b[None, :, None, None], (2, 4, 5, 4)), "conv2d(zeros (2, 3, 5, 4), W, b, "
                "padding=1)", rtol=1e-12, hint="b has one entry per filter: out[:, f] += b[f] (b[None, :, None, None])")


def test_padding_is_zeros(student, rng):
    """conv2d: the padding border is zeros (padding=2 with a 3x3 kernel)"""
    X, W, b = rng.normal(size=(1, 1, 3, 3)), rng.normal(size=(1, 1, 3, 3)), np.zeros(1)
    out, _ = student.conv2d(X, W, b, padding=2)
    check_array(out, loop_conv(X, W, b, 1, 2), "conv2d(X (1, 1, 3, 3), W (1, 1, 3, 3), padding=2)", rtol=1e-9,
                atol=1e-12, hint="pad with zeros on all four sides: np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))")


def test_float32_kept(student, rng):
    """conv2d: float32 images and filters give a float32 output"""
    X, W, b = (a.astype(np.float32) for a in random_case(rng, C=3, F=4, K=(3, 3), padding=1))
    out, _ = student.conv2d(X, W, b, padding=1)
    check_array(out, loop_conv(X.astype(np.float64), W.astype(np.float64), b.astype(np.float64), 1, 1),
                describe(X, W, 1, 1) + " in float32", rtol=1e-4, atol=1e-5, dtype=np.float32)


def test_mixed_dtypes_give_float64(student, rng):
    """conv2d: float32 output only when X AND W are float32 (a float16 or float64 one gives float64)"""
    X, W, b = random_case(rng, C=2, F=3, K=(3, 3), padding=1)
    expected = loop_conv(X, W, b, 1, 1)
    for xt, wt in ((np.float32, np.float64), (np.float64, np.float32), (np.float16, np.float32),
                   (np.float32, np.float16)):
        Xc, Wc = X.astype(xt), W.astype(wt)
        out, _ = student.conv2d(Xc, Wc, b, padding=1)
        check_array(out, loop_conv(Xc.astype(np.float64), Wc.astype(np.float64), b, 1, 1),
                    describe(Xc, Wc, 1, 1) + f" with X {np.dtype(xt).name}, W {np.dtype(wt).name}", rtol=1e-9,
                    atol=1e-9 * float(np.abs(expected).max()), dtype=np.float64,
                    hint="float32 only when both X.dtype and W.dtype are float32 (compare with ==); any other "
                         "mix computes in float64")


def test_inputs_not_modified(student, rng):
    """conv2d: X, W and b are left unchanged"""
    X, W, b = random_case(rng, stride=2, padding=1)
    copies = X.copy(), W.copy(), b.copy()
    result = student.conv2d(X, W, b, stride=2, padding=1)
    for name, before, after in zip("XWb", copies, (X, W, b)):
        check_array(after, before, f"{name} after {describe(X, W, 2, 1)}", rtol=0, atol=0,
                    hint="work on a padded copy; never write into the arguments")
    check_array(output_of(result), loop_conv(*copies, 2, 1), describe(X, W, 2, 1), rtol=1e-9, atol=1e-12,
                hint=SIZE_HINT)


@pytest.mark.parametrize("case", ["channels", "channels-fewer", "kernel-too-large", "bias-shape", "bias-longer",
                                  "X-not-4d", "X-5d", "W-3d", "W-5d"])
def test_rejects_bad_input(student, case):
    """conv2d: inconsistent shapes raise ValueError naming them"""
    X, W, b, padding = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.zeros(4), 0
    if case == "channels":
        W = np.ones((4, 2, 3, 3))
    elif case == "channels-fewer":
        W = np.ones((4, 5, 3, 3))
    elif case == "kernel-too-large":
        W, padding = np.ones((4, 3, 8, 3)), 1
    elif case == "bias-shape":
        b = np.zeros(3)
    elif case == "bias-longer":
        b = np.zeros(5)
    elif case == "X-5d":
        X = np.ones((2, 3, 5, 5, 1))
    elif case == "W-3d":
        W = np.ones((4, 3, 3))
    elif case == "W-5d":
        W = np.ones((4, 3, 3, 3, 1))
    else:
        X = np.ones((3, 5, 5))
    call = f"conv2d(X {X.shape}, W {W.shape}, b {b.shape}, padding={padding})"
    msg = expect_raises(ValueError, student.conv2d, X, W, b, padding=padding, call=call,
                        hint="check X.ndim == 4, X.shape[1] == W.shape[1], b.shape == (F,), and that the kernel "
                             "fits the padded image; raise ValueError naming the shapes")
    named = {"channels": [X.shape, W.shape], "channels-fewer": [X.shape, W.shape], "kernel-too-large": [W.shape],
             "bias-shape": [b.shape], "bias-longer": [b.shape], "X-not-4d": [X.shape], "X-5d": [X.shape],
             "W-3d": [W.shape], "W-5d": [W.shape]}[case]
    assert all(str(s) in msg for s in named), f"{call}: the ValueError should name {named}, got {msg!r}"


def test_many_channels(student, rng):
    """conv2d: 300 input channels (channel counts compared by value)"""
    X, W, b = rng.normal(size=(1, 300, 3, 3)), rng.normal(size=(2, 300, 2, 2)), rng.normal(size=2)
    out, _ = student.conv2d(X, W, b)
    check_array(out, loop_conv(X, W, b, 1, 0), describe(X, W, 1, 0), rtol=1e-9, atol=1e-9,
                hint="compare sizes with == / != (values), never with `is` / `is not` (object identity: equal ints "
                     "above 256 are different objects)")


def test_backward_large_batch(student, rng):
    """conv2d_backward: a batch of 20 images of 16 channels, 28x28 (code that works in blocks of images)"""
    X, W = rng.normal(size=(20, 16, 28, 28)), rng.normal(size=(2, 16, 3, 3))
    b = rng.normal(size=2)
    out, cache = student.conv2d(X, W, b, stride=1, padding=1)
    G = rng.normal(size=np.shape(out))
    got = student.conv2d_backward(G, cache)
    require(isinstance(got, (tuple, list)) and len(got) == 3,
            f"conv2d_backward(G, cache): expected the three gradients (dX, dW, db), got {type(got).__name__}")
    for name, g, e, hint in zip(("dX", "dW", "db"), got, tap_conv_backward(G, X, W, 1, 1),
                                (DX_HINT, DW_HINT, DB_HINT)):
        check_array(g, e, f"conv2d_backward(G, cache) after {describe(X, W, 1, 1)}: {name}", rtol=1e-9,
                    atol=1e-9, hint=hint + "; every image of the batch gets its own gradient (check the "
                                           "indices of a loop over blocks of images)")


@pytest.mark.parametrize("stride, padding", [(0, 0), (1.5, 0), (-1, 1), (1, -1), (1, 0.5), (2, 1.5)],
                         ids=["stride0", "stride1.5", "stride-1", "padding-1", "padding0.5", "padding1.5"])
def test_rejects_bad_stride_or_padding(student, stride, padding):
    """conv2d: a stride below 1, a negative padding or a fractional one raise ValueError"""
    X, W, b = np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), np.zeros(1)
    expect_raises(ValueError, student.conv2d, X, W, b, stride=stride, padding=padding,
                  call=f"conv2d(X (1, 1, 6, 6), W (1, 1, 3, 3), b, stride={stride!r}, padding={padding!r})",
                  hint="stride must be an int >= 1 and padding an int >= 0: check int(v) == v and the bound, and "
                       "raise ValueError before any arithmetic")


def test_numpy_integer_stride_and_padding(student, rng):
    """conv2d: a stride and padding given as NumPy integers work like Python ints"""
    X, W, b = random_case(rng, C=2, F=2, K=(3, 3), padding=1)
    out, _ = student.conv2d(X, W, b, stride=np.int64(2), padding=np.int64(1))
    check_array(out, loop_conv(X, W, b, 2, 1), describe(X, W, 2, 1) + " with np.int64 stride and padding",
                rtol=1e-9, atol=1e-12, hint="compare numbers with == / != (values), never with `is` / `is not`")


# ---------------------------------------------------------------- backward

GRAD_CONFIGS = [((2, 2, 5, 4), (3, 2, 3, 3), 1, 0), ((2, 2, 5, 6), (2, 2, 3, 2), 2, 1),
                ((1, 3, 4, 5), (2, 3, 2, 3), 1, 2), ((2, 1, 7, 8), (2, 1, 3, 3), 2, 0)]
GRAD_IDS = ["stride1", "stride2-pad1", "pad2-nonsquare", "stride2-leftover"]


@pytest.mark.points(3)
@pytest.mark.parametrize("xs,ws,stride,padding", GRAD_CONFIGS, ids=GRAD_IDS)
def test_backward_numerical(student, rng, xs, ws, stride, padding):
    """conv2d_backward: dX, dW, db against the grader's numerical gradient of sum(out * G)"""
    X, W, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
    out, cache = student.conv2d(X, W, b, stride=stride, padding=padding)
    check_array(out, tap_conv(X, W, b, stride, padding), describe(X, W, stride, padding), rtol=1e-9, atol=1e-12,
                hint=SIZE_HINT)
    G = rng.normal(size=out.shape)
    dX, dW, db = student.conv2d_backward(G, cache)
    # The loss is linear in each argument, so a large step costs no accuracy and avoids rounding noise.
    numeric = {"db": numerical_gradient(lambda v: np.sum(tap_conv(X, W, v, stride, padding) * G), b.copy(), h=0.5),
               "dW": numerical_gradient(lambda v: np.sum(tap_conv(X, v, b, stride, padding) * G), W.copy(), h=0.5),
               "dX": numerical_gradient(lambda v: np.sum(tap_conv(v, W, b, stride, padding) * G), X.copy(), h=0.5)}
    call = f"conv2d_backward(G, cache) after {describe(X, W, stride, padding)}"
    for name, got, hint in (("db", db, DB_HINT), ("dW", dW, DW_HINT), ("dX", dX, DX_HINT)):
        check_array(got, numeric[name], f"{call}: {name}", rtol=1e-7, atol=1e-9, hint=hint)


@pytest.mark.points(2)
@pytest.mark.parametrize("stride,padding", CONFIGS, ids=CONFIG_IDS)
def test_backward_random(student, rng, stride, padding):
    """conv2d_backward: random layers, every gradient against the analytic formulas"""
    X, W, b = random_case(rng, stride=stride, padding=padding)
    out, cache = student.conv2d(X, W, b, stride=stride, padding=padding)
    G = rng.normal(size=tap_conv(X, W, b, stride, padding).shape)
    got = student.conv2d_backward(G, cache)
    expected = tap_conv_backward(G, X, W, stride, padding)
    call = f"conv2d_backward(G, cache) after {describe(X, W, stride, padding)}"
    for name, g, e, hint in zip(("dX", "dW", "db"), got, expected, (DX_HINT, DW_HINT, DB_HINT)):
        check_array(g, e, f"{call}: {name}", rtol=1e-9, atol=1e-11, hint=hint)


# (N, H, W, KH, KW, padding) for each stride: paddings 0-3, square and non-square kernels, kernels smaller than
# the stride (pixels no window reads), and rows / columns left over by the floor at the bottom / right.
GRID = {s: [(1 + (k + s) % 3, max(KH - 2 * (k % 4), 1) + (3 * k + s) % 5, max(KW - 2 * (k % 4), 1) + (2 * k + s + 1) % 6,
             KH, KW, k % 4) for k, (KH, KW) in enumerate([(1, 1), (2, 3), (3, 2), (1, 4), (4, 1), (3, 3), (2, 2), (4, 3)])]
        for s in (1, 2, 3, 4)}


@pytest.mark.points(2)
@pytest.mark.parametrize("stride", [1, 2, 3, 4], ids=["stride1", "stride2", "stride3", "stride4"])
def test_forward_and_backward_grid(student, rng, stride):
    """conv2d and conv2d_backward: paddings 0-3, kernels 1x1 to 4x3, 1-3 images, leftover rows and columns"""
    for N, H, Wd, KH, KW, padding in GRID[stride]:
        C, F = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        X, W, b = rng.normal(size=(N, C, H, Wd)), rng.normal(size=(F, C, KH, KW)), rng.normal(size=F)
        where = describe(X, W, stride, padding)
        out, cache = student.conv2d(X, W, b, stride=stride, padding=padding)
        check_array(out, tap_conv(X, W, b, stride, padding), where, rtol=1e-9, atol=1e-12,
                    hint=f"{SIZE_HINT}; {FORMULA}")
        G = rng.normal(size=np.shape(out))
        got = student.conv2d_backward(G, cache)
        require(isinstance(got, (tuple, list)) and len(got) == 3,
                f"conv2d_backward(G, cache) after {where}: expected the three gradients (dX, dW, db), got "
                f"{type(got).__name__}")
        for name, g, e, hint in zip(("dX", "dW", "db"), got, tap_conv_backward(G, X, W, stride, padding),
                                    (DX_HINT, DW_HINT, DB_HINT)):
            check_array(g, e, f"conv2d_backward(G, cache) after {where}: {name}", rtol=1e-9, atol=1e-11, hint=hint)


def test_backward_db_sums_batch_and_positions(student, rng):
    """conv2d_backward: db adds dout over the batch and all positions (a sum, not a mean)"""
    X, W, b = rng.normal(size=(4, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), np.zeros(3)
    _, cache = student.conv2d(X, W, b)
    G = rng.uniform(0.5, 1.5, size=(4, 3, 3, 3))
    _, _, db = student.conv2d_backward(G, cache)
    check_array(db, G.sum(axis=(0, 2, 3)), "conv2d_backward(dout (4, 3, 3, 3), cache): db", rtol=1e-10, hint=DB_HINT)


def test_backward_padding_cropped(student, rng):
    """conv2d_backward: with padding, dX has X's shape and skips the padding border"""
    X, W, b = rng.normal(size=(2, 2, 4, 3)), rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    out, cache = student.conv2d(X, W, b, padding=2)
    G = rng.normal(size=(2, 2, 6, 5))
    dX, _, _ = student.conv2d_backward(G, cache)
    check_array(dX, tap_conv_backward(G, X, W, 1, 2)[0], "conv2d_backward(G, cache) after conv2d(X (2, 2, 4, 3), "
                "W (2, 2, 3, 3), padding=2): dX", rtol=1e-9, atol=1e-11, hint=DX_HINT)


def test_backward_leftover_pixels_zero(student, rng):
    """conv2d_backward: pixels no window reaches (floor in the output size) get zero gradient"""
    X, W, b = rng.normal(size=(1, 1, 6, 6)), rng.normal(size=(1, 1, 2, 2)), np.zeros(1)
    out, cache = student.conv2d(X, W, b, stride=3)     # windows cover rows/columns 0-1 and 3-4, never 2 or 5
    dX, _, _ = student.conv2d_backward(np.ones((1, 1, 2, 2)), cache)
    check_array(dX, tap_conv_backward(np.ones((1, 1, 2, 2)), X, W, 3, 0)[0], "conv2d_backward(ones, cache) after "
                "conv2d(X (1, 1, 6, 6), W (1, 1, 2, 2), stride=3): dX", rtol=1e-12, atol=1e-12,
                hint="only the pixels inside some window receive gradient; rows and columns 2 and 5 stay 0")


def test_backward_float32_kept(student, rng):
    """conv2d_backward: float32 forward and dout give float32 gradients"""
    X, W, b = (a.astype(np.float32) for a in random_case(rng, C=2, F=3, K=(3, 3), padding=1))
    out, cache = student.conv2d(X, W, b, padding=1)
    G = rng.normal(size=np.shape(out)).astype(np.float32)
    expected = tap_conv_backward(G.astype(np.float64), X.astype(np.float64), W.astype(np.float64), 1, 1)
    for name, g, e in zip(("dX", "dW", "db"), student.conv2d_backward(G, cache), expected):
        check_array(g, e, f"conv2d_backward in float32: {name}", rtol=1e-4, atol=1e-4, dtype=np.float32)


def test_backward_cache_reusable(student, rng):
    """conv2d_backward: calling it twice with the same cache gives the same gradients"""
    X, W, b = random_case(rng, stride=2, padding=1)
    out, cache = student.conv2d(X, W, b, stride=2, padding=1)
    G = rng.normal(size=tap_conv(X, W, b, 2, 1).shape)
    first = student.conv2d_backward(G, cache)
    second = student.conv2d_backward(G, cache)
    call = f"conv2d_backward(G, cache) after {describe(X, W, 2, 1)}"
    require(isinstance(first, (tuple, list)) and len(first) == 3,
            f"{call}: expected the three gradients (dX, dW, db), got {type(first).__name__}")
    expected = tap_conv_backward(G, X, W, 2, 1)
    for name, g, e, hint in zip(("dX", "dW", "db"), first, expected, (DX_HINT, DW_HINT, DB_HINT)):
        check_array(g, e, f"{call}: {name}", rtol=1e-9, atol=1e-11, hint=hint)
    for name, a, c in zip(("dX", "dW", "db"), first, second):
        check_array(c, a, f"conv2d_backward called a second time with the same cache: {name}", rtol=0, atol=0,
                    hint="do not modify the arrays of the cache (or dout) in place")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_without_dX(student, rng, dtype):
    """conv2d_backward(..., need_dX=False): None for dX, the same dW and db (float32 kept)"""
    X, W, b = (a.astype(dtype) for a in random_case(rng, N=3, C=2, F=4, K=(3, 2), stride=2, padding=1))
    out, cache = student.conv2d(X, W, b, stride=2, padding=1)
    G = rng.normal(size=np.shape(out)).astype(dtype)
    call = f"conv2d_backward(G, cache, need_dX=False) after {describe(X, W, 2, 1)}"
    result = student.conv2d_backward(G, cache, need_dX=False)
    require(isinstance(result, (tuple, list)) and len(result) == 3,
            f"{call}: expected (None, dW, db), got {type(result).__name__}")
    require(result[0] is None, f"{call}: expected None in place of dX, got {type(result[0]).__name__}; "
            "when need_dX is false, skip dX (the first layer's input is the data: nothing needs its gradient)")
    _, dW, db = tap_conv_backward(G.astype(np.float64), X.astype(np.float64), W.astype(np.float64), 2, 1)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    check_array(result[1], dW, f"{call}: dW", rtol=tol, atol=tol, dtype=dtype, hint=DW_HINT)
    check_array(result[2], db, f"{call}: db", rtol=tol, atol=tol, dtype=dtype, hint=DB_HINT)


def test_backward_rejects_wrong_dout(student, rng):
    """conv2d_backward: a dout of the wrong shape raises ValueError naming it"""
    X, W, b = rng.normal(size=(2, 1, 5, 5)), rng.normal(size=(2, 1, 3, 3)), np.zeros(2)
    _, cache = student.conv2d(X, W, b)
    msg = expect_raises(ValueError, student.conv2d_backward, np.ones((2, 2, 5, 5)), cache,
                        call="conv2d_backward(dout (2, 2, 5, 5), cache of an output (2, 2, 3, 3))",
                        hint="compare dout.shape with the forward output's shape (keep it in the cache)")
    assert "(2, 2, 5, 5)" in msg, f"the ValueError should name dout's shape (2, 2, 5, 5), got {msg!r}"
    expect_raises(ValueError, student.conv2d_backward, np.ones((2, 2, 2, 3)), cache,
                  call="conv2d_backward(dout (2, 2, 2, 3), cache of an output (2, 2, 3, 3))",
                  hint="raise ValueError whenever dout.shape != the forward output's shape, a smaller one too")


# ---------------------------------------------------------------- speed


def output_of(result):
    """The output array of what conv2d returned (the pair (out, cache)); anything else as it is, to be reported."""
    return result[0] if isinstance(result, (tuple, list)) and len(result) == 2 else result


def _speed_case(rng):
    return rng.normal(size=(32, 3, 32, 32)), rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8)


LOOP_HINT = ("build the patches with KH * KW strided slices (one per kernel tap, each covering all images and "
             "positions at once) and use one matrix product; no Python loop over images or pixels")


@pytest.mark.points(2)
def test_forward_is_vectorized(student, rng):
    """conv2d: vectorised (no Python loops over pixels)"""
    ref = reference("ch4_2_convolution")

    def measure():
        inputs = [_speed_case(rng) for _ in range(3)]  # new every run and attempt: remembered answers do not help
        with student_code_paused(student):  # the yardstick on a machine the submission does not slow down
            reference_time = best_time(ref.conv2d, *inputs[0], padding=1)
        student_time, results = timed_each(lambda X, W, b: student.conv2d(X, W, b, padding=1), inputs)
        # Passing the arrays to a graded submission and back costs a few ms, up to ~0.2 s on a busy machine; a
        # loop over the 262,144 outputs costs seconds (about 2 s measured).
        return reference_time, student_time, list(zip(inputs, results)), 0.4 + 40 * reference_time

    reference_time, student_time, runs, limit = retimed(measure, lambda m: m[1] < m[3])
    assert student_time < limit, (
        f"conv2d(X (32, 3, 32, 32), W (8, 3, 3, 3), padding=1) took {student_time * 1e3:.0f} ms (best of {len(runs)}, "
        f"new inputs each run); the reference takes {reference_time * 1e3:.1f} ms and the limit is "
        f"{limit * 1e3:.0f} ms.\nHint: {LOOP_HINT}")
    for (X, W, b), result in runs:
        check_array(output_of(result), tap_conv(X, W, b, 1, 1), describe(X, W, 1, 1), rtol=1e-8, atol=1e-11,
                    hint=FORMULA)


@pytest.mark.points(2)
def test_backward_is_vectorized(student, rng):
    """conv2d_backward: vectorised (no Python loops over pixels)"""
    X, W, b = _speed_case(rng)
    ref = reference("ch4_2_convolution")
    _, ref_cache = ref.conv2d(X, W, b, padding=1)
    _, cache = student.conv2d(X, W, b, padding=1)

    def measure():
        grads = [rng.normal(size=(32, 8, 32, 32)) for _ in range(3)]  # new every run and attempt, as for conv2d
        with student_code_paused(student):
            reference_time = best_time(ref.conv2d_backward, grads[0], ref_cache)
        student_time, results = timed_each(lambda G: student.conv2d_backward(G, cache), [(G,) for G in grads])
        return reference_time, student_time, list(zip(grads, results)), 0.4 + 40 * reference_time  # as for conv2d

    reference_time, student_time, runs, limit = retimed(measure, lambda m: m[1] < m[3])
    assert student_time < limit, (
        f"conv2d_backward(dout (32, 8, 32, 32), cache) took {student_time * 1e3:.0f} ms (best of {len(runs)}, new "
        f"dout each run); the reference takes {reference_time * 1e3:.1f} ms and the limit is {limit * 1e3:.0f} ms."
        "\nHint: dW and dcols are matrix products; put the columns back with KH * KW slice additions (col2im), not a "
        "loop over pixels")
    call = f"conv2d_backward(G (32, 8, 32, 32), cache) after {describe(X, W, 1, 1)}"
    for G, got in runs:
        require(isinstance(got, (tuple, list)) and len(got) == 3,
                f"{call}: expected the three gradients (dX, dW, db), got {type(got).__name__}")
        expected = tap_conv_backward(G, X, W, 1, 1)
        for name, g, e, hint in zip(("dX", "dW", "db"), got, expected, (DX_HINT, DW_HINT, DB_HINT)):
            check_array(g, e, f"{call}: {name}", rtol=1e-8, atol=1e-11, hint=hint)
