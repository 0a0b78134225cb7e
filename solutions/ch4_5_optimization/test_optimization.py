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
