"""Visible tests for chapter 4.3 (run: pytest exercises/ch4_3_pooling)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged

POOL_HINT = ("out = X[:, :, ::stride, ::stride] is a VIEW of X: writing the maxima into it (np.maximum(..., out=out)) "
             "changes the caller's X; start from a copy (.copy()) or a new array")


def make_x4():
    """A fresh (1, 1, 4, 4) image for every test; its bottom-right window is a tie (all ones)."""
    return np.array([[[[1.0, 2.0, 0.0, 0.0],
                       [3.0, 4.0, 0.0, 5.0],
                       [0.0, 0.0, 1.0, 1.0],
                       [6.0, 0.0, 1.0, 1.0]]]])


def test_max_pool_by_hand(student):
    """max_pool: 2x2 windows with stride 2 keep each window's maximum"""
    X = make_x4()
    out, _ = student.max_pool(X, 2, 2)
    check_unchanged(X, make_x4(), "max_pool(X (1, 1, 4, 4), size=2, stride=2)", "X", POOL_HINT)
    check_array(out, np.array([[[[4.0, 5.0], [6.0, 1.0]]]]), "max_pool(X (1, 1, 4, 4), size=2, stride=2)",
                hint="window (y, x) is X[:, :, 2y:2y+2, 2x:2x+2]; keep its largest value (a max, not a mean)")


def test_max_pool_backward_by_hand(student):
    """max_pool_backward: each gradient goes to its window's maximum only, ties to the first maximum"""
    _, cache = student.max_pool(make_x4(), 2, 2)
    dout = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    dX = student.max_pool_backward(dout, cache)
    check_unchanged(dout, np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), "max_pool_backward(dout, cache)", "dout",
                    "build dX as a new array of zeros (np.zeros(X_shape)) and add dout into it")
    # The bottom-right window is all ones: a tie, whose first maximum (row-major) is its top-left entry.
    expected = np.array([[[[0.0, 0.0, 0.0, 0.0],
                           [0.0, 10.0, 0.0, 20.0],
                           [0.0, 0.0, 40.0, 0.0],
                           [30.0, 0.0, 0.0, 0.0]]]])
    check_array(dX, expected, "max_pool_backward(dout = [[10, 20], [30, 40]], cache) for X (1, 1, 4, 4)",
                hint="only the maximum of a window changes the output: the whole dout goes there, zeros elsewhere; "
                     "on a tie, the first maximum in row-major order takes it all (never several entries)")


def test_max_pool_odd_size(student):
    """max_pool: a 5x5 image gives 2x2 (floor); the last row and column get zero gradient"""
    X = np.arange(25.0).reshape(1, 1, 5, 5)
    out, cache = student.max_pool(X, 2, 2)
    check_array(out, np.array([[[[6.0, 8.0], [16.0, 18.0]]]]), "max_pool(arange(25).reshape(1, 1, 5, 5))",
                hint="H_out = (H - size) // stride + 1 = 2: the leftover row and column are dropped")
    dX = student.max_pool_backward(np.ones((1, 1, 2, 2)), cache)
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, [1, 1, 3, 3], [1, 3, 1, 3]] = 1.0
    check_array(dX, expected, "max_pool_backward(ones (1, 1, 2, 2), cache) for X (1, 1, 5, 5)",
                hint="dX has the shape of X; rows and columns no window covers get 0")


def test_cnn_shapes(student):
    """init_cnn + cnn_forward: parameter shapes, probabilities (N, K) whose rows sum to 1"""
    params = student.init_cnn((1, 8, 8), 4, 10, np.random.default_rng(0))
    shapes = {k: np.shape(v) for k, v in params.items()}
    expected = {"W1": (4, 1, 3, 3), "b1": (4,), "W2": (4 * 4 * 4, 10), "b2": (10,)}
    assert shapes == expected, (f"init_cnn((1, 8, 8), 4, 10, rng): expected the shapes {expected}, got {shapes}\n"
                                "Hint: after a 3x3 'same' convolution and a 2x2 pooling, each of the 4 maps is 4x4")
    X = np.random.default_rng(1).normal(size=(5, 1, 8, 8))
    probs, _ = student.cnn_forward(X, params)
    check_array(probs.sum(axis=1), np.ones(5), "cnn_forward(X (5, 1, 8, 8), params).sum(axis=1)", rtol=1e-9,
                hint="the last step is softmax over the K classes of each image (axis=1)")


def test_cnn_forward_small(student):
    """cnn_forward: conv 3x3 pad 1 -> ReLU -> max pool 2x2 -> flatten -> dense -> softmax"""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2, 1, 4, 4))
    params = {"W1": rng.normal(size=(2, 1, 3, 3)), "b1": np.array([0.1, -0.1]),
              "W2": rng.normal(size=(2 * 2 * 2, 3)), "b2": np.array([0.0, 0.5, -0.5])}
    Xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    Z1 = np.zeros((2, 2, 4, 4))
    for f in range(2):
        for y in range(4):
            for x in range(4):
                Z1[:, f, y, x] = np.sum(Xp[:, :, y:y + 3, x:x + 3] * params["W1"][f], axis=(1, 2, 3)) + params["b1"][f]
    P1 = np.maximum(Z1, 0).reshape(2, 2, 2, 2, 2, 2).max(axis=(3, 5))
    Z2 = P1.reshape(2, -1) @ params["W2"] + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    X_before, params_before = X.copy(), {key: value.copy() for key, value in params.items()}
    probs, _ = student.cnn_forward(X, params)
    call = "cnn_forward(X (2, 1, 4, 4), params)"
    check_unchanged(X, X_before, call, "X", "every layer computes into a new array; leave X as it was")
    for key, value in params_before.items():
        check_unchanged(params[key], value, call, f"params[{key!r}]", "read the parameters, never write them")
    check_array(probs, E / E.sum(axis=1, keepdims=True), call, rtol=1e-9,
                hint="conv2d(X, W1, b1, padding=1) -> relu -> max_pool(2, 2) -> P1.reshape(N, -1) @ W2 + b2 -> softmax")
