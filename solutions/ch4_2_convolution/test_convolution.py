"""Visible tests for chapter 4.2 (run: pytest exercises/ch4_2_convolution)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, expect_raises

FORMULA = ("out[n, f, y, x] = b[f] + sum over c, i, j of Xp[n, c, y*stride + i, x*stride + j] * W[f, c, i, j], "
           "Xp = X padded with zeros; H_out = (H + 2*padding - KH) // stride + 1")


def loop_conv2d(X, W, b, stride=1, padding=0):
    """The definition, written with plain loops (slow: small inputs only)."""
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


def test_conv2d_by_hand(student):
    """conv2d: one channel, one asymmetric 2x2 kernel, computed by hand"""
    X = np.arange(16.0).reshape(1, 1, 4, 4)          # X[y, x] = 4y + x
    W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])       # out[y, x] = X[y,x] + 2 X[y,x+1] + 3 X[y+1,x] + 4 X[y+1,x+1]
    out, _ = student.conv2d(X, W, np.zeros(1))
    expected = np.array([[[[34.0, 44.0, 54.0], [74.0, 84.0, 94.0], [114.0, 124.0, 134.0]]]])
    check_array(out, expected, "conv2d(X = arange(16).reshape(1, 1, 4, 4), W = [[1, 2], [3, 4]], b = 0)",
                hint="slide the kernel over X WITHOUT flipping it (a cross-correlation, as in every framework): "
                     "W[0, 0] multiplies the top-left pixel of each window")


def test_conv2d_stride_and_padding(student):
    """conv2d: stride 2 and padding 1 give the right output size and values"""
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    before = {"X": X.copy(), "W": W.copy(), "b": b.copy()}
    out, _ = student.conv2d(X, W, b, stride=2, padding=1)
    call = "conv2d(X (2, 3, 5, 6), W (4, 3, 3, 3), b, stride=2, padding=1)"
    for name, arg in (("X", X), ("W", W), ("b", b)):
        check_unchanged(arg, before[name], call, name,
                        "pad into a new array (np.pad) and compute the output into a new one; leave X, W and b as "
                        "they were")
    check_array(out, loop_conv2d(X, W, b, 2, 1), call, rtol=1e-9, atol=1e-12, hint=FORMULA)


def test_conv2d_channels_and_bias(student):
    """conv2d: sums over the input channels, one bias per filter"""
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(3, 2, 4, 4)), rng.normal(size=(3, 2, 2, 3)), np.array([1.0, -2.0, 0.5])
    out, _ = student.conv2d(X, W, b)
    check_array(out, loop_conv2d(X, W, b), "conv2d(X (3, 2, 4, 4), W (3, 2, 2, 3), b = [1, -2, 0.5])",
                rtol=1e-9, atol=1e-12,
                hint="filter f sums over ALL input channels c and its whole KH x KW window, then adds b[f]")


def test_conv2d_backward_numerical(student):
    """conv2d_backward: dX, dW, db match centred differences of sum(out * G)"""
    rng = np.random.default_rng(2)
    X, W, b = rng.normal(size=(2, 2, 4, 5)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
    before = {"X": X.copy(), "W": W.copy(), "b": b.copy()}
    out, cache = student.conv2d(X, W, b, stride=1, padding=1)
    check_array(out, loop_conv2d(X, W, b, 1, 1), "conv2d(X (2, 2, 4, 5), W (3, 2, 3, 2), b, padding=1)", rtol=1e-9,
                atol=1e-12, hint=FORMULA)
    G = rng.normal(size=out.shape)
    G_before = G.copy()
    dX, dW, db = student.conv2d_backward(G, cache)
    for name, arg, old in (("G (dout)", G, G_before), ("X", X, before["X"]), ("W", W, before["W"]),
                           ("b", b, before["b"])):
        check_unchanged(arg, old, "conv2d followed by conv2d_backward(G, cache)", name,
                        "compute dX, dW and db into new arrays; leave dout, and the X, W and b given to conv2d, "
                        "as they were")

    def numerical(array):
        # The loss sum(out * G) is linear in each of X, W, b: centred differences are exact here.
        grad = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + 1.0
            plus = np.sum(loop_conv2d(X, W, b, 1, 1) * G)
            array[idx] = old - 1.0
            minus = np.sum(loop_conv2d(X, W, b, 1, 1) * G)
            array[idx] = old
            grad[idx] = (plus - minus) / 2
        return grad

    call = "conv2d_backward(G, cache) for conv2d(X (2, 2, 4, 5), W (3, 2, 3, 2), b, padding=1)"
    check_array(db, numerical(b), call + ": db", rtol=1e-7, atol=1e-9,
                hint="db[f] = dout[:, f].sum(): over the batch AND every output position")
    check_array(dW, numerical(W), call + ": dW", rtol=1e-7, atol=1e-9,
                hint="dW[f, c, i, j] = sum over n, y, x of dout[n, f, y, x] * Xp[n, c, y*s + i, x*s + j]")
    check_array(dX, numerical(X), call + ": dX", rtol=1e-7, atol=1e-9,
                hint="every window adds W[f] * dout[n, f, y, x] to the padded pixels it covered; then crop the "
                     "padding: dX = dXp[:, :, p:p+H, p:p+W]")


def test_conv2d_backward_without_dX(student):
    """conv2d_backward(dout, cache, need_dX=False): dX is None, dW and db as in the full call"""
    rng = np.random.default_rng(3)
    X, W, b = rng.normal(size=(2, 1, 5, 6)), rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3)
    out, cache = student.conv2d(X, W, b, stride=1, padding=1)
    G = rng.normal(size=np.shape(out))
    _, dW_full, db_full = student.conv2d_backward(G, cache)
    dX, dW, db = student.conv2d_backward(G, cache, need_dX=False)
    assert dX is None, (f"conv2d_backward(G, cache, need_dX=False) should return None in place of dX, got "
                        f"{type(dX).__name__}: skip the backward copy into dXp when need_dX is false")
    call = "conv2d_backward(G, cache, need_dX=False) for conv2d(X (2, 1, 5, 6), W (3, 1, 3, 3), b, padding=1)"
    check_array(dW, dW_full, call + ": dW", rtol=1e-12, atol=1e-12, hint="dW does not depend on need_dX")
    check_array(db, db_full, call + ": db", rtol=1e-12, atol=1e-12, hint="db does not depend on need_dX")


def test_conv2d_channel_mismatch(student):
    """conv2d: X and W with different channel counts raise ValueError naming both shapes"""
    X, W = np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))
    msg = expect_raises(ValueError, student.conv2d, X, W, np.zeros(2), call="conv2d(X (1, 3, 5, 5), W (2, 2, 3, 3))",
                        hint="compare X.shape[1] with W.shape[1] and raise ValueError naming both shapes")
    assert str(X.shape) in msg and str(W.shape) in msg, (
        f"conv2d(X (1, 3, 5, 5), W (2, 2, 3, 3)): the ValueError should name both shapes, got {msg!r}")
