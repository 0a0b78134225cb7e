"""Visible tests for chapter 4.5 (run: pytest exercises/ch4_5_optimization)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, require

MOMENTUM_HINT = ("classical momentum: v = mu * v - lr * grad, then param = param + v (velocity *= mu; "
                 "velocity -= lr * grad; param += velocity, in place)")


def test_momentum_two_steps(student):
    """momentum_update: two steps, in place: v = mu*v - lr*g, param = param + v"""
    p, v, g = np.array([1.0, 2.0]), np.zeros(2), np.array([1.0, -1.0])
    student.momentum_update(p, g, v, 0.1, 0.9)
    check_array(v, [-0.1, 0.1], "momentum_update(p=[1, 2], g=[1, -1], v=0, lr=0.1, mu=0.9): velocity afterwards",
                hint=MOMENTUM_HINT)
    check_array(p, [0.9, 2.1], "momentum_update(p=[1, 2], g=[1, -1], v=0, lr=0.1, mu=0.9): param afterwards",
                hint=MOMENTUM_HINT)
    student.momentum_update(p, g, v, 0.1, 0.9)
    check_array(v, [-0.19, 0.19], "second momentum_update with the same g: velocity (0.9 * -0.1 - 0.1 = -0.19)",
                hint=MOMENTUM_HINT)
    check_array(p, [0.71, 2.29], "second momentum_update with the same g: param", hint=MOMENTUM_HINT)
    check_unchanged(g, np.array([1.0, -1.0]), "momentum_update(p, g, v, lr=0.1, mu=0.9)", "g (grad)",
                    "only param and velocity are updated in place; read grad, never write it")


def test_clip_by_global_norm(student):
    """clip_gradients: one factor for all arrays when the global norm is too big, unchanged below"""
    def make_grads():
        return {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}

    grads = make_grads()
    clipped, norm = student.clip_gradients(grads, 1.0)
    check_scalar(norm, 5.0, "clip_gradients({W: [[3, 0]], b: [4]}, max_norm=1): total_norm",
                 hint="the global norm: sqrt of the sum of the squares of ALL arrays, sqrt(9 + 16) = 5")
    check_array(clipped["W"], [[0.6, 0.0]], "clip_gradients(..., max_norm=1): clipped['W']",
                hint="multiply EVERY array by max_norm / total_norm = 1/5 (not each array by its own norm)")
    check_array(clipped["b"], [0.8], "clip_gradients(..., max_norm=1): clipped['b']",
                hint="multiply EVERY array by max_norm / total_norm = 1/5 (not each array by its own norm)")
    for key, value in make_grads().items():
        check_unchanged(grads[key], value, "clip_gradients(grads, max_norm=1)", f"grads[{key!r}]",
                        "g *= scale changes the caller's gradients: return new arrays, {k: g * scale ...}")
    same, norm = student.clip_gradients(make_grads(), 10.0)
    check_array(same["W"], make_grads()["W"], "clip_gradients(grads of norm 5, max_norm=10): clipped['W']",
                hint="below max_norm the gradients are returned unchanged")


def test_early_stopping(student):
    """early_stopping: True once `patience` epochs brought nothing better than the best before them"""
    cases = [([1.0, 0.8, 0.85, 0.9], 2, 0.0, True), ([1.0, 0.8, 0.85, 0.9], 3, 0.0, False),
             ([1.0, 0.8, 0.85], 2, 0.0, False), ([1.0, 0.9], 2, 0.0, False), ([0.5, 0.5, 0.5], 2, 0.0, True),
             ([1.0, 0.95, 0.93], 2, 0.1, True), ([1.0, 0.95, 0.85], 2, 0.1, False)]
    for losses, patience, min_delta, expected in cases:
        got = student.early_stopping(losses, patience, min_delta)
        require(got is expected or (isinstance(got, (bool, np.bool_)) and bool(got) == expected),
                f"early_stopping({losses}, patience={patience}, min_delta={min_delta}): expected {expected}, got "
                f"{got!r}\nHint: best = min(val_losses[:-patience]) is the best BEFORE the last `patience` epochs; "
                "stop when none of the last `patience` losses is below best - min_delta (a tie is no improvement)")


def test_random_shift(student):
    """random_shift: every image moves by at most max_shift pixels, shape and dtype kept"""
    X = np.zeros((20, 1, 9, 9), dtype=np.float32)
    X[:, 0, 4, 4] = 1.0
    before = X.copy()
    out = student.random_shift(X, np.random.default_rng(0), 2)
    check_unchanged(X, before, "random_shift(X (20, 1, 9, 9), rng, 2)", "X",
                    "shift a copy: fill a new array (np.zeros_like(X)) with the shifted images; X[n] = np.roll(...) "
                    "changes the caller's X")
    require(isinstance(out, np.ndarray) and out.shape == X.shape and out.dtype == X.dtype,
            f"random_shift(X (20, 1, 9, 9) float32, rng, 2): expected a float32 array of shape (20, 1, 9, 9), got "
            f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}")
    places = []
    for n in range(20):
        ys, xs = np.nonzero(out[n, 0])
        require(len(ys) == 1 and abs(ys[0] - 4) <= 2 and abs(xs[0] - 4) <= 2,
                f"random_shift: image {n} had one bright pixel at (4, 4); after the shift it is at "
                f"{list(zip(ys.tolist(), xs.tolist()))}, expected one pixel within 2 rows and columns of (4, 4)\n"
                "Hint: out[n, c, y, x] = X[n, c, y - dy, x - dx] with dy, dx in -max_shift..max_shift, zeros "
                "where that falls outside the image")
        places.append((int(ys[0]), int(xs[0])))
    require(len(set(places)) >= 3,
            f"random_shift(X (20, 1, 9, 9), rng, 2): the bright pixel of the 20 images ended up at only {len(places)} "
            f"place(s) {sorted(set(places))}; with 25 possible offsets drawn for each image, expected many different "
            "ones\nHint: draw dy and dx for EACH image (rng.integers(-max_shift, max_shift + 1, size=N)), and move it")
    draws = np.random.default_rng(0)  # the documented draws: all the dy, then all the dx
    dy, dx = draws.integers(-2, 3, size=20), draws.integers(-2, 3, size=20)
    expected = [(4 + int(a), 4 + int(b)) for a, b in zip(dy, dx)]
    n = next((n for n in range(20) if places[n] != expected[n]), None)
    require(n is None,
            f"random_shift(X (20, 1, 9, 9), np.random.default_rng(0), 2): image {n}'s bright pixel moved from (4, 4) to "
            f"{places[n] if n is not None else ''}, expected {expected[n] if n is not None else ''} (the offsets drawn "
            "as documented)\nHint: dy = rng.integers(-max_shift, max_shift + 1, size=N) for all the images first, "
            "then dx the same way; move the content DOWN by dy and RIGHT by dx")


def test_capstone_forward_backward_shapes(student):
    """capstone_forward / capstone_backward: probabilities per image, one gradient per parameter"""
    params = student.init_capstone(np.random.default_rng(0))
    require(isinstance(params, dict) and params, f"init_capstone(rng): expected a dict of arrays, got {params!r}")
    X = np.random.default_rng(1).random((3, 784))
    params_before = {key: np.array(value, copy=True) for key, value in params.items()}
    probs, cache = student.capstone_forward(params, X)
    check_unchanged(X, np.random.default_rng(1).random((3, 784)), "capstone_forward(params, X (3, 784))", "X",
                    "every layer computes into a new array; leave X as it was")
    check_array(probs.sum(axis=1), np.ones(3), "capstone_forward(params, X (3, 784)): probs.sum(axis=1)", rtol=1e-5,
                hint="end with a softmax over the 10 classes: probs has shape (m, 10), rows sum to 1")
    require(probs.shape == (3, 10), f"capstone_forward(params, X (3, 784)): probs of shape {probs.shape}, "
                                    "expected (3, 10)")
    probs_before = probs.copy()  # the cache may hold the very same array
    cache_before = {}  # the cache's layout is the student's choice: check the arrays it holds
    if isinstance(cache, dict):
        cache_before = {key: value.copy() for key, value in cache.items() if isinstance(value, np.ndarray)}
    y = np.array([0, 5, 9])
    grads = student.capstone_backward(params, cache, y)
    call = "capstone_backward(params, cache, y)"
    for key, value in cache_before.items():
        check_unchanged(cache[key], value, call, f"cache[{key!r}]",
                        "dZ3 = probs; dZ3[np.arange(m), y] -= 1 writes into the cache: start from a copy, "
                        "dZ3 = probs.copy()")
    for key, value in params_before.items():
        check_unchanged(params[key], value, "capstone_forward and capstone_backward", f"params[{key!r}]",
                        "read the parameters, never write them")
    require(sorted(grads) == sorted(params), f"capstone_backward: grads has keys {sorted(grads)}, params "
                                             f"{sorted(params)}; expected the same")
    for key in params:
        require(np.shape(grads[key]) == np.shape(params[key]),
                f"capstone_backward: grads[{key!r}] has shape {np.shape(grads[key])}, params[{key!r}] "
                f"{np.shape(params[key])}")
    check_array(grads["b3"], (probs_before - np.eye(10)[y]).sum(axis=0) / 3, f"{call}: grads['b3']",
                rtol=1e-4, atol=1e-6, hint="dZ3 = (probs - Y) / m with Y one-hot; db3 = dZ3.sum(axis=0)")


def toy_digits(rng, m=400):
    """10 classes of synthetic 28x28 images: a bright 5x5 block at a place of its own, on a noisy background."""
    corners = [(2 + 8 * (k // 4), 2 + 8 * (k % 4)) for k in range(10)]
    y = rng.integers(0, 10, size=m)
    X = rng.uniform(0.0, 0.2, size=(m, 28, 28))
    for k, (r, c) in enumerate(corners):
        X[y == k, r:r + 5, c:c + 5] = 1.0
    return X.reshape(m, 784), y


def test_train_capstone_small(student):
    """train_capstone: learns 10 synthetic patterns in 4 epochs; one history entry per epoch"""
    X, y = toy_digits(np.random.default_rng(0))
    params, history = student.train_capstone(X, y, np.random.default_rng(1), time_budget=60.0, max_epochs=4,
                                             _time_limit=60)
    X_before, y_before = toy_digits(np.random.default_rng(0))
    call = "train_capstone(X (400, 784), y (400,), rng, max_epochs=4)"
    check_unchanged(X, X_before, call, "X", "convert into a new array (X.astype(np.float32) makes one); never "
                                            "shift, scale or shuffle the caller's X itself")
    check_unchanged(y, y_before, call, "y", "shuffle with indices (y[idx]), never the caller's y itself")
    require(isinstance(history, dict) and len(history.get("val_loss", [])) == 4,
            "train_capstone(..., max_epochs=4): history['val_loss'] should hold 4 values, got "
            f"{history.get('val_loss') if isinstance(history, dict) else history!r}")
    pred = student.predict_capstone(params, X)
    require(isinstance(pred, np.ndarray) and pred.shape == (400,),
            f"predict_capstone(params, X (400, 784)): expected an array of shape (400,), got {pred!r}")
    accuracy = float(np.mean(pred == y))
    require(accuracy > 0.9, f"train_capstone on 10 easy synthetic patterns, 4 epochs: training accuracy "
                            f"{accuracy:.2f}, expected > 0.9; val losses {history['val_loss']}")
