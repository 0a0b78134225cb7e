"""Visible tests for chapter 4.6 (run: pytest exercises/ch4_6_capstone)."""
import numpy as np

from dlcourse.testing import check_array, check_unchanged, require


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
                        "dZ4 = probs; dZ4[np.arange(m), y] -= 1 writes into the cache: start from a copy, "
                        "dZ4 = probs.copy()")
    for key, value in params_before.items():
        check_unchanged(params[key], value, "capstone_forward and capstone_backward", f"params[{key!r}]",
                        "read the parameters, never write them")
    require(sorted(grads) == sorted(params), f"capstone_backward: grads has keys {sorted(grads)}, params "
                                             f"{sorted(params)}; expected the same")
    for key in params:
        require(np.shape(grads[key]) == np.shape(params[key]),
                f"capstone_backward: grads[{key!r}] has shape {np.shape(grads[key])}, params[{key!r}] "
                f"{np.shape(params[key])}")
    check_array(grads["b4"], (probs_before - np.eye(10)[y]).sum(axis=0) / 3, f"{call}: grads['b4']",
                rtol=1e-4, atol=1e-6, hint="dZ4 = (probs - Y) / m with Y one-hot; db4 = dZ4.sum(axis=0)")


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


def test_train_capstone_stops_on_its_clock(student):
    """train_capstone: stops within time_budget by the clock it is given, and says so in history"""
    now = [0.0]

    def clock():  # a test clock: one second per reading, the same on every machine
        now[0] += 1.0
        return now[0]

    X, y = toy_digits(np.random.default_rng(0), 128)
    params, history = student.train_capstone(X, y, np.random.default_rng(1), time_budget=20.0, clock=clock,
                                             _time_limit=60)
    call = "train_capstone(X (128, 784), y, rng, time_budget=20, clock=a clock that moves on 1 s per reading)"
    require(isinstance(history, dict) and history.get("stop_reason") == "time_budget",
            f"{call}: history['stop_reason'] should be 'time_budget', got "
            f"{history.get('stop_reason') if isinstance(history, dict) else history!r}\nHint: read the time with "
            "clock(), not time.perf_counter(), and check it before every mini-batch")
    seconds = list(history.get("seconds", []))
    require(seconds and seconds[-1] <= 20.0, f"{call}: history['seconds'] = {seconds}: the last epoch should end "
                                              "within the budget of 20 s\nHint: before a mini-batch, stop if the time "
                                              "used + the last mini-batch's duration + the last validation's duration "
                                              "would reach time_budget")


def test_random_affine_keeps_the_images_apart(student):
    """random_affine: ranges of 0 change nothing; otherwise every image gets its own draw; X is left alone"""
    X = np.random.default_rng(0).random((4, 1, 28, 28))
    X[1] = X[0]  # two equal images: their own draws make them differ
    out = student.random_affine(X, np.random.default_rng(1), degrees=0.0, scale=0.0, shift=0.0)
    require(isinstance(out, np.ndarray) and out.shape == X.shape and out.dtype == np.float32,
            f"random_affine(X (4, 1, 28, 28), rng): expected float32 images of X's shape, got "
            f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}")
    check_array(out, X, "random_affine(X, rng, degrees=0, scale=0, shift=0)", atol=1e-6,
                hint="no turn, a zoom of 1 and no move read every pixel at its own place (fractional parts 0)")
    moved = student.random_affine(X, np.random.default_rng(1))
    check_unchanged(X[0], X[1], "random_affine(X, rng)", "X", "read X; write the result into a new array")
    require(not np.allclose(moved[0], moved[1]), "random_affine(X, rng): two equal images came out equal\nHint: "
            "draw an angle, a zoom and a move for EVERY image (size N), not one for the whole batch")


def test_train_ensemble_and_predict_small(student):
    """train_ensemble: two networks, one history each; predict_ensemble combines them"""
    X, y = toy_digits(np.random.default_rng(0), 400)
    runs = student.train_ensemble(X, y, np.random.default_rng(1), networks=2, time_budget=60.0, max_epochs=4,
                                  _time_limit=90)
    require(isinstance(runs, list) and len(runs) == 2,
            f"train_ensemble(..., networks=2): expected a list of 2 (params, history) pairs, got {runs!r:.200}")
    for params, history in runs:
        require(len(history["train_loss"]) == 4 and history["val_loss"] == [],
                "train_ensemble(..., max_epochs=4): every network's history should hold 4 epochs of training and no "
                f"validation (validate=False), got train_loss {history['train_loss']}, val_loss "
                f"{history['val_loss']}")
    pred = student.predict_ensemble([params for params, _ in runs], X)
    require(isinstance(pred, np.ndarray) and pred.shape == (400,),
            f"predict_ensemble(networks, X (400, 784)): expected an array of shape (400,), got {pred!r:.200}")
    accuracy = float(np.mean(pred == y))
    require(accuracy > 0.9, f"train_ensemble then predict_ensemble on 10 easy synthetic patterns, 4 epochs: training "
                            f"accuracy {accuracy:.2f}, expected > 0.9")
