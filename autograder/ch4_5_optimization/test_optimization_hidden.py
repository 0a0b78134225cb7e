"""Hidden suite, chapter 4.5: momentum over several steps against a trusted loop (with hints naming the sign
error, the moving-average form and the update order), in place and float32; clipping by the GLOBAL norm (the
per-array and per-entry mistakes named), direction kept, zeros, input untouched; early stopping at every prefix
of random histories (off-by-one named), ties, min_delta; random_shift as a true per-image shift with uniform
offsets; the capstone's backward pass against numerical directional derivatives of its own forward pass; and
the capstone itself: MNIST test accuracy after a short time budget (measured here from its predictions), the
budget respected, reproducibility with max_epochs, an honest history, input formats, errors."""
import time

import numpy as np
import pytest

from autograder.oracle import cross_entropy
from autograder.problems import toy_digits
from autograder.reference import reference
from dlcourse.testing import check_array, check_scalar, expect_raises, no_warnings, require


# ---------------------------------------------------------------- momentum_update

MOMENTUM_HINT = ("the convention of this course is classical momentum: v = mu * v - lr * grad, then "
                 "param = param + v (the velocity IS the step: velocity *= mu; velocity -= lr * grad; "
                 "param += velocity)")
ASCENT_HINT = "the parameters moved UP the gradient (a sign error): v = mu * v - lr * grad, then param = param + v"
MOMENTUM_VARIANTS = {
    "v_plus": "your velocity has the opposite sign: you store v = mu * v + lr * grad and subtract it. The steps are "
              "the same, but this course's convention is v = mu * v - lr * grad and param = param + v",
    "ascent": ASCENT_HINT,   # v = mu * v + lr * grad; param += v
    "ascent2": ASCENT_HINT,  # v = mu * v - lr * grad; param -= v
    "ema": "that is the moving average v = beta * v + (1 - beta) * grad, param -= lr * v (the Adam-style form, with "
           "steps 1 - mu times smaller); classical momentum is v = mu * v - lr * grad, param = param + v",
    "old_v": "the parameter moved by the OLD velocity: first v = mu * v - lr * grad, then param = param + v with the "
             "new v",
}


def momentum_steps(p, v, grads, lr, mu, variant=None):
    """The trusted loop (variant None) or one of the usual mistakes, on copies, float64."""
    p, v = np.array(p, dtype=np.float64), np.array(v, dtype=np.float64)
    for g in grads:
        if variant is None:
            v = mu * v - lr * g
            p = p + v
        elif variant == "v_plus":
            v = mu * v + lr * g
            p = p - v
        elif variant == "ascent":
            v = mu * v + lr * g
            p = p + v
        elif variant == "ascent2":
            v = mu * v - lr * g
            p = p - v
        elif variant == "ema":
            v = mu * v + (1 - mu) * g
            p = p - lr * v
        elif variant == "old_v":
            p = p + v
            v = mu * v - lr * g
    return p, v


def momentum_hint(p0, v0, grads, lr, mu, got_p, got_v):
    """Name the mistake when the student's result is one of the usual wrong conventions."""
    for variant, hint in MOMENTUM_VARIANTS.items():
        p, v = momentum_steps(p0, v0, grads, lr, mu, variant)
        same_v = variant.startswith("ascent") or np.allclose(got_v, v, rtol=1e-9)  # ascent: v of either sign
        if np.allclose(got_p, p, rtol=1e-9, atol=1e-12) and same_v:
            return hint
    return MOMENTUM_HINT


@pytest.mark.points(3)
def test_momentum_several_steps(student, rng):
    """momentum_update: five steps match the trusted loop (v = mu*v - lr*g; param = param + v)"""
    shape = tuple(int(n) for n in rng.integers(2, 5, size=2))
    p0, v0 = rng.normal(size=shape), rng.normal(scale=0.1, size=shape)
    grads = [rng.normal(size=shape) for _ in range(5)]
    lr, mu = float(rng.uniform(0.05, 0.3)), float(rng.uniform(0.5, 0.95))
    p, v = p0.copy(), v0.copy()
    for g in grads:
        result = student.momentum_update(p, g, v, lr, mu)
        require(isinstance(result, tuple) and len(result) == 2,
                f"momentum_update(param, grad, velocity, lr, mu): expected the pair (param, velocity), got "
                f"{type(result).__name__}\nHint: return param, velocity (the arrays you updated in place)")
        p, v = np.array(result[0], dtype=np.float64), np.array(result[1], dtype=np.float64)
    want_p, want_v = momentum_steps(p0, v0, grads, lr, mu)
    where = f"5 steps of momentum_update on {shape} arrays, lr={lr:.3f}, mu={mu:.3f}, starting from a nonzero velocity"
    hint = momentum_hint(p0, v0, grads, lr, mu, p, v)
    check_array(p, want_p, f"{where}: param", rtol=1e-9, atol=1e-12, hint=hint)
    check_array(v, want_v, f"{where}: velocity", rtol=1e-9, atol=1e-12, hint=hint)


@pytest.mark.points(2)
def test_momentum_in_place(student, rng):
    """momentum_update: param and velocity are updated in place, grad is left alone"""
    p, v, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    p0, v0, g0 = p.copy(), v.copy(), g.copy()
    returned = student.momentum_update(p, g, v, 0.1, 0.9)
    want_p, want_v = momentum_steps(p0, v0, [g0], 0.1, 0.9)
    hint = ("update the caller's arrays in place: velocity *= mu; velocity -= lr * grad; param += velocity "
            "(param = param + velocity makes a new array and leaves the caller's as it was)")
    check_array(v, want_v, "momentum_update(p, g, v, 0.1, 0.9): the velocity array passed in, afterwards", rtol=1e-9,
                hint=hint)
    check_array(p, want_p, "momentum_update(p, g, v, 0.1, 0.9): the param array passed in, afterwards", rtol=1e-9,
                hint=hint)
    check_array(np.asarray(returned[0]), want_p, "momentum_update(...): the returned param", rtol=1e-9,
                hint="return (param, velocity), the two updated arrays")
    check_array(np.asarray(returned[1]), want_v, "momentum_update(...): the returned velocity", rtol=1e-9,
                hint="return (param, velocity), the two updated arrays")
    check_array(g, g0, "momentum_update(p, g, v, ...): grad afterwards", rtol=0, atol=0,
                hint="grad is only read: do not scale it in place")


def test_momentum_mu_zero_is_sgd(student, rng):
    """momentum_update: mu = 0 is plain gradient descent, param - lr * grad"""
    p, g, v = rng.normal(size=7), rng.normal(size=7), rng.normal(size=7)
    p0 = p.copy()
    lr = float(rng.uniform(0.01, 0.5))
    new_p, new_v = student.momentum_update(p, g, v, lr, 0.0)
    check_array(np.asarray(new_p), p0 - lr * g, f"momentum_update(p, g, v (nonzero), lr={lr:.3f}, mu=0): param",
                rtol=1e-9, hint="with mu = 0 the old velocity is forgotten: v = -lr * grad and param + v = "
                                "param - lr * grad")
    check_array(np.asarray(new_v), -lr * g, "momentum_update(..., mu=0): velocity", rtol=1e-9, hint=MOMENTUM_HINT)


def test_momentum_float32(student, rng):
    """momentum_update: float32 arrays stay float32 and keep their shape"""
    shape = (2, 3, 4)
    p, g, v = (rng.normal(size=shape).astype(np.float32) for _ in range(3))
    want_p, want_v = momentum_steps(p, v, [g], 0.05, 0.9)
    new_p, new_v = student.momentum_update(p, g, v, 0.05, 0.9)
    check_array(np.asarray(new_p), want_p, "momentum_update on float32 arrays of shape (2, 3, 4): param", rtol=1e-5,
                atol=1e-6, dtype=np.float32, hint=MOMENTUM_HINT)
    check_array(np.asarray(new_v), want_v, "momentum_update on float32 arrays of shape (2, 3, 4): velocity",
                rtol=1e-5, atol=1e-6, dtype=np.float32, hint=MOMENTUM_HINT)


def test_momentum_shape_mismatch(student, rng):
    """momentum_update: arrays of different shapes raise ValueError naming the shapes"""
    p, v, g = np.zeros((3, 2)), np.zeros((3, 2)), np.ones((2, 3))
    msg = expect_raises(ValueError, student.momentum_update, p, g, v, 0.1, 0.9,
                        call="momentum_update(param (3, 2), grad (2, 3), velocity (3, 2), 0.1, 0.9)",
                        hint="check that param, grad and velocity have the same shape and raise ValueError")
    require("(3, 2)" in msg and "(2, 3)" in msg,
            f"momentum_update with grad (2, 3) for param (3, 2): the ValueError should name both shapes, got {msg!r}")


def test_momentum_lr_and_mu_range(student, rng):
    """momentum_update: lr = 0 is allowed (only the velocity decays); lr < 0, mu = 1 or mu < 0 raise ValueError"""
    p0, g, v0 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    p, v = p0.copy(), v0.copy()
    student.momentum_update(p, g, v, 0.0, 0.5)
    want_p, want_v = momentum_steps(p0, v0, [g], 0.0, 0.5)
    check_array(v, want_v, "momentum_update(p, g, v, lr=0, mu=0.5): the velocity", rtol=1e-9, atol=1e-12,
                hint="lr = 0 is a valid learning rate (v = 0.5 * v, then param + v): reject only lr < 0")
    check_array(p, want_p, "momentum_update(p, g, v, lr=0, mu=0.5): the param", rtol=1e-9, atol=1e-12)
    for lr, mu, why in ((-0.5, 0.9, "lr < 0"), (0.1, 1.0, "mu = 1 (mu must be < 1)"), (0.1, -0.1, "mu < 0")):
        expect_raises(ValueError, student.momentum_update, p.copy(), g, v.copy(), lr, mu,
                      call=f"momentum_update(p, g, v, lr={lr}, mu={mu})",
                      hint=f"{why}: raise ValueError (lr >= 0 and 0 <= mu < 1; with mu = 1 the velocity never decays)")


@pytest.mark.parametrize("shapes", [((3, 2), (3, 2), (3, 1)), ((3, 1), (3, 2), (3, 2)), ((3, 3), (3, 2), (3, 2)),
                                    ((3, 2), (3, 2), (3, 3)), ((3, 2), (3, 3), (3, 2))],
                         ids=["velocity-narrow", "param-narrow", "param-wide", "velocity-wide", "grad-wide"])
def test_momentum_any_shape_mismatch(student, shapes):
    """momentum_update: param, grad and velocity must all have one shape (ValueError naming the odd one)"""
    p, g, v = (np.zeros(shape) for shape in shapes)
    call = f"momentum_update(param {p.shape}, grad {g.shape}, velocity {v.shape}, 0.1, 0.9)"
    msg = expect_raises(ValueError, student.momentum_update, p, g, v, 0.1, 0.9, call=call,
                        hint="check param.shape == grad.shape == velocity.shape (== on all three, not >= or <=) "
                             "before updating, and raise ValueError naming the shapes")
    odd = next(shape for shape in shapes if shapes.count(shape) == 1)
    require(str(odd) in msg, f"{call}: the ValueError should name the shapes, {odd} among them, got {msg!r}")


def test_momentum_needs_float_arrays(student, rng):
    """momentum_update: param and velocity must be float arrays (updated in place): TypeError otherwise"""
    g = rng.normal(size=3)
    for what, p, v in (("an int param", np.zeros(3, dtype=np.int64), np.zeros(3)),
                       ("an int velocity", np.zeros(3), np.zeros(3, dtype=np.int64)),
                       ("a list param", [0.0, 0.0, 0.0], np.zeros(3)), ("a bool velocity", np.zeros(3),
                                                                         np.zeros(3, dtype=bool))):
        expect_raises(TypeError, student.momentum_update, p, g, v, 0.1, 0.5, call=f"momentum_update with {what}",
                      hint="param and velocity are changed in place: both must be numpy arrays of floats "
                           "(dtype.kind == 'f'); raise TypeError otherwise")
    expect_raises(ValueError, student.momentum_update, np.zeros(3), g, np.zeros(3), 0.1, 1.5,
                  call="momentum_update(p, g, v, lr=0.1, mu=1.5)", hint="mu must lie in [0, 1): raise ValueError")


# ---------------------------------------------------------------- clip_gradients

CLIP_HINT = ("clip by the GLOBAL norm: total = sqrt(sum over ALL arrays of sum(g ** 2)); if total > max_norm, "
             "multiply every array by the same factor max_norm / total")


def random_grads(rng, dtype=np.float64):
    shapes = [(int(rng.integers(2, 5)), int(rng.integers(2, 5))), (int(rng.integers(2, 6)),), (2, 3, 2)]
    return {f"g{i}": (rng.normal(size=s) * rng.uniform(0.5, 3.0)).astype(dtype) for i, s in enumerate(shapes)}


def global_norm(grads):
    return float(np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads.values())))


def clip_hint(grads, max_norm, clipped):
    """Name the per-array and per-entry mistakes."""
    per_array = {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
    per_entry = {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}
    for wrong, hint in ((per_array, "each array was clipped by its OWN norm: that changes the direction of the "
                                    "whole step. Use ONE factor, max_norm / total, with total the norm of all the "
                                    "gradients together"),
                        (per_entry, "each entry was clipped to [-max_norm, max_norm] (np.clip): clip by the global "
                                    "norm instead, one factor max_norm / total for every array")):
        if all(np.allclose(np.asarray(clipped[k], dtype=np.float64), wrong[k], rtol=1e-7) for k in grads):
            return hint
    return CLIP_HINT


@pytest.mark.points(3)
def test_clip_global_norm(student, rng):
    """clip_gradients: clips by the norm of ALL gradients together, one factor for every array"""
    grads = random_grads(rng)
    total = global_norm(grads)
    max_norm = float(total * rng.uniform(0.2, 0.6))
    clipped, norm = student.clip_gradients(grads, max_norm)
    where = f"clip_gradients(3 arrays of global norm {total:.4f}, max_norm={max_norm:.4f})"
    require(isinstance(clipped, dict) and sorted(clipped) == sorted(grads),
            f"{where}: expected a dict with the keys {sorted(grads)}, got "
            f"{sorted(clipped) if isinstance(clipped, dict) else type(clipped).__name__}")
    check_scalar(norm, total, f"{where}: total_norm", rtol=1e-9,
                 hint="return the global norm BEFORE clipping: sqrt of the sum of the squares of all the entries")
    hint = clip_hint(grads, max_norm, clipped)
    for key in grads:
        check_array(clipped[key], grads[key] * (max_norm / total), f"{where}: clipped[{key!r}]", rtol=1e-5,
                    hint=hint)


def test_clip_keeps_direction(student, rng):
    """clip_gradients: the clipped gradients point the same way, with global norm max_norm"""
    grads = random_grads(rng)
    grads["big"] = rng.normal(size=(4, 4)) * 50.0  # one array dominates: per-array clipping shows
    max_norm = float(rng.uniform(0.5, 2.0))
    clipped, _ = student.clip_gradients(grads, max_norm)
    where = f"clip_gradients(4 arrays, one of them large, max_norm={max_norm:.3f})"
    flat = np.concatenate([np.ravel(grads[k]) for k in sorted(grads)])
    out = np.concatenate([np.ravel(np.asarray(clipped[k], dtype=np.float64)) for k in sorted(grads)])
    check_scalar(float(np.linalg.norm(out)), max_norm, f"{where}: global norm of the clipped gradients", rtol=1e-5,
                 hint=clip_hint(grads, max_norm, clipped))
    cosine = float(out @ flat / (np.linalg.norm(out) * np.linalg.norm(flat)))
    check_scalar(cosine, 1.0, f"{where}: cosine between the clipped and the original gradients (all arrays as one "
                              "vector)", rtol=1e-7, hint=clip_hint(grads, max_norm, clipped))


def test_clip_unchanged_below(student, rng):
    """clip_gradients: gradients within max_norm come back unchanged"""
    grads = random_grads(rng)
    total = global_norm(grads)
    for max_norm, what in ((total * 1.5, "above"), (total, "equal to")):
        clipped, norm = student.clip_gradients(grads, max_norm)
        for key in grads:
            check_array(clipped[key], grads[key], f"clip_gradients(global norm {total:.4f}, max_norm {what} it): "
                        f"clipped[{key!r}]", rtol=1e-12, hint="only clip when total_norm > max_norm; below (or at) "
                                                              "max_norm the gradients are returned as they are")
        check_scalar(norm, total, f"clip_gradients(..., max_norm {what} the norm): total_norm", rtol=1e-9)


def test_clip_zeros(student):
    """clip_gradients: all-zero gradients give zeros and a norm of 0, no division by zero"""
    grads = {"W": np.zeros((3, 2)), "b": np.zeros(2)}
    with no_warnings("clip_gradients(all zeros, max_norm=1.0)",
                     hint="only divide when total_norm > max_norm: a zero norm must not be divided by"):
        clipped, norm = student.clip_gradients(grads, 1.0)
    check_scalar(norm, 0.0, "clip_gradients(all zeros, 1.0): total_norm")
    check_array(clipped["W"], np.zeros((3, 2)), "clip_gradients(all zeros, 1.0): clipped['W']", atol=0,
                hint="zero gradients stay zero (no NaN from 0 / 0)")


def test_clip_input_untouched_and_float32(student, rng):
    """clip_gradients: the input dict is not modified; float32 gradients stay float32"""
    grads = random_grads(rng, dtype=np.float32)
    before = {k: g.copy() for k, g in grads.items()}
    total = global_norm(grads)
    clipped, _ = student.clip_gradients(grads, total / 4)
    for key in grads:
        check_array(grads[key], before[key], f"grads[{key!r}] after clip_gradients(grads, max_norm)", rtol=0, atol=0,
                    hint="build new arrays (g * factor), do not scale the caller's arrays in place (g *= factor)")
        check_array(clipped[key], before[key] / 4, f"clip_gradients(float32 grads, total_norm / 4): clipped[{key!r}]",
                    rtol=1e-5, atol=1e-7, dtype=np.float32)


def test_clip_integer_gradients(student):
    """clip_gradients: integer gradient arrays are clipped too (into floats)"""
    clipped, norm = student.clip_gradients({"W": np.array([3, 0]), "b": np.array([4])}, 1.0)
    check_scalar(norm, 5.0, "clip_gradients({W: int [3, 0], b: int [4]}, max_norm=1): total_norm")
    for key, want in (("W", [0.6, 0.0]), ("b", [0.8])):
        check_array(np.asarray(clipped[key], dtype=np.float64), want,
                    f"clip_gradients({{W: int [3, 0], b: int [4]}}, max_norm=1): clipped[{key!r}]", rtol=1e-7,
                    hint="an integer array times the factor 0.2 must give floats: g * factor (casting the factor to "
                         "the integer dtype first, g.dtype.type(0.2), gives 0)")


def test_clip_bad_max_norm(student):
    """clip_gradients: a max_norm that is not positive raises ValueError"""
    for bad in (0.0, -1.0):
        expect_raises(ValueError, student.clip_gradients, {"W": np.ones(2)}, bad,
                      call=f"clip_gradients(grads, max_norm={bad})", hint="max_norm must be > 0: raise ValueError")


# ---------------------------------------------------------------- early_stopping

def true_early_stopping(losses, patience, min_delta):
    n = len(losses)
    if n <= patience:
        return False
    best = min(losses[:n - patience])
    return not any(v < best - min_delta for v in losses[n - patience:])


def counter_early_stopping(losses, patience, min_delta):
    """The counter form (as in Keras): best moves only on an improvement of more than min_delta."""
    best, wait = np.inf, 0
    for v in losses:
        if v < best - min_delta:
            best, wait = v, 0
        else:
            wait += 1
    return wait >= patience


def early_hint(losses, patience, min_delta, got):
    counter = [counter_early_stopping(losses[:k], patience, min_delta) for k in range(len(losses) + 1)]
    if min_delta > 0 and counter == got:
        return ("you compare with the best loss that counted as an improvement (a counter reset on each improvement "
                "of more than min_delta); this course compares the last `patience` losses with the minimum of ALL the "
                "losses before them, best = min(val_losses[:-patience])")
    for shift, words in ((1, "one epoch too early"), (-1, "one epoch too late")):
        p = patience - shift
        if p >= 1 and [true_early_stopping(losses[:k], p, min_delta) for k in range(len(losses) + 1)] == got:
            return (f"your answers are those of patience={p}: off by one, you stop {words}. Compare the last "
                    "`patience` losses with the best loss BEFORE them, best = min(val_losses[:-patience]), and say "
                    "False while len(val_losses) <= patience")
    return ("stop when none of the last `patience` losses is below best - min_delta, where best is the minimum of the "
            "losses BEFORE those `patience` epochs; a tie is no improvement")


@pytest.mark.points(3)
def test_early_stopping_every_prefix(student, rng):
    """early_stopping: the right answer after every epoch of random validation histories"""
    for i in range(6):
        n = int(rng.integers(8, 15))
        # multiples of 1/16 (exact in binary): ties happen, and no rounding blurs min_delta
        losses = (np.round(2.0 + np.cumsum(rng.normal(-0.05, 0.15, size=n)) * 16) / 16).tolist()
        patience = int(rng.integers(1, 5))
        min_delta = (0.0, 0.0625, 0.125)[i % 3]
        want = [true_early_stopping(losses[:k], patience, min_delta) for k in range(n + 1)]
        got = [bool(student.early_stopping(losses[:k], patience, min_delta)) for k in range(n + 1)]
        if got != want:
            k = next(i for i in range(n + 1) if got[i] != want[i])
            require(False, f"early_stopping({losses[:k]}, patience={patience}, min_delta={min_delta}): expected "
                           f"{want[k]}, got {got[k]}\nHint: {early_hint(losses, patience, min_delta, got)}")


def test_early_stopping_short_history(student, rng):
    """early_stopping: never stops before more than `patience` epochs have run"""
    patience = int(rng.integers(1, 6))
    for n in range(patience + 1):
        losses = [1.0] * n  # as flat as it gets, but nothing before the window to compare with
        got = student.early_stopping(losses, patience)
        require(isinstance(got, (bool, np.bool_)) and not got,
                f"early_stopping({losses}, patience={patience}): expected False, got {got!r}\nHint: with "
                "len(val_losses) <= patience there is no epoch before the window: keep training (and return a bool)")
    losses = [1.0] * (patience + 1)  # one epoch more: the window has brought nothing better than the epoch before it
    got = student.early_stopping(losses, patience)
    require(isinstance(got, (bool, np.bool_)) and got,
            f"early_stopping({losses}, patience={patience}): expected True, got {got!r}\nHint: once len(val_losses) > "
            "patience, stop when none of the last `patience` losses is below the best loss before them (a tie is no "
            "improvement)")


def test_early_stopping_ties_and_min_delta(student):
    """early_stopping: a tie is no improvement; an improvement must be MORE than min_delta"""
    cases = [([1.0, 0.5, 0.5, 0.5], 2, 0.0, True, "a loss equal to the best is no improvement"),
             ([1.0, 0.5, 0.5], 2, 0.0, False, "0.5 < 1.0 is an improvement"),
             ([1.0, 0.75, 0.5], 2, 0.25, False, "0.5 is 0.5 below 1.0: more than min_delta"),
             ([1.0, 0.875, 0.75], 2, 0.25, True, "0.75 is exactly min_delta = 0.25 below 1.0: not MORE than it"),
             ([1.0, 2.0, 0.25, 3.0, 3.0], 3, 0.0, False, "0.25 inside the window beats 1.0"),
             ([0.25, 2.0, 0.5, 3.0, 3.0], 3, 0.0, True, "nothing in the window beats 0.25")]
    for losses, patience, min_delta, expected, why in cases:
        got = student.early_stopping(losses, patience, min_delta)
        require(isinstance(got, (bool, np.bool_)) and bool(got) == expected,
                f"early_stopping({losses}, patience={patience}, min_delta={min_delta}): expected {expected} ({why}), "
                f"got {got!r}\nHint: improvement means val_losses[i] < best - min_delta, best being the minimum "
                "BEFORE the last `patience` epochs; return a bool")


def test_early_stopping_array_input(student):
    """early_stopping: a numpy array of losses works like a list"""
    got = student.early_stopping(np.array([3.0, 2.0, 2.5, 2.25, 2.125]), 3)
    require(isinstance(got, (bool, np.bool_)) and bool(got),
            f"early_stopping(np.array([3, 2, 2.5, 2.25, 2.125]), patience=3): expected True, got {got!r}")


def test_early_stopping_patience_forms(student):
    """early_stopping: patience 1 and np.int64 work; 1.5 raises; all-NaN losses never stop"""
    losses = [1.0, 0.8, 0.9, 0.95]
    for patience, want in ((1, True), (np.int64(2), True), (2.0, True), (3, False)):
        got = student.early_stopping(losses, patience)
        require(got is want or (isinstance(got, (bool, np.bool_)) and bool(got) == want),
                f"early_stopping({losses}, patience={patience!r}): expected {want}, got {got!r}\nHint: any whole "
                "number >= 1 is a patience (compare int(p) == p by value, never with `is`)")
    for losses_k, patience in (([1.0, 0.8, 0.9, 0.7], 1), ([1.0, 0.5, 2.0, 2.0, 2.0], 4)):
        got = student.early_stopping(losses_k, patience)
        require(not got, f"early_stopping({losses_k}, patience={patience}): expected False (the last {patience} "
                         f"losses include one below the best before them), got {got!r}\nHint: compare the best of "
                         "losses[:n - patience] with every one of losses[n - patience:]")
    expect_raises(ValueError, student.early_stopping, losses, 1.5, call=f"early_stopping({losses}, patience=1.5)",
                  hint="patience counts epochs: a whole number >= 1, else ValueError")
    nan = float("nan")
    got = student.early_stopping([nan, nan, nan], 3)
    require(not got, f"early_stopping([nan, nan, nan], patience=3): expected False, got {got!r}\nHint: with no more "
                     "than `patience` losses there is nothing to compare with yet: return False")


def test_early_stopping_bad_arguments(student):
    """early_stopping: patience < 1 or a negative min_delta raise ValueError"""
    expect_raises(ValueError, student.early_stopping, [1.0, 2.0], 0, call="early_stopping([1, 2], patience=0)",
                  hint="patience must be at least 1: raise ValueError")
    expect_raises(ValueError, student.early_stopping, [1.0, 2.0], 1, -0.1,
                  call="early_stopping([1, 2], patience=1, min_delta=-0.1)", hint="min_delta must be >= 0")


# ---------------------------------------------------------------- random_shift

def shifted(img, dy, dx):
    """The trusted shift of one (C, H, W) image: out[c, y, x] = img[c, y - dy, x - dx], zeros outside."""
    out = np.zeros_like(img)
    _, H, W = img.shape
    out[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        img[:, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def offsets_of(X, out, s):
    """The (dy, dx) of every image of ``out``, or None where it is not a shift of its input."""
    found = []
    for n in range(len(X)):
        match = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)
                 if np.array_equal(out[n], shifted(X[n], dy, dx))]
        found.append(match[0] if match else None)
    return found


SHIFT_HINT = ("out[n, c, y, x] = X[n, c, y - dy, x - dx] with dy, dx drawn for each image from -max_shift..max_shift "
              "(rng.integers(-s, s + 1)), zeros where y - dy or x - dx falls outside; all channels of an image move "
              "together")


@pytest.mark.points(2)
def test_random_shift_is_a_shift(student, rng):
    """random_shift: every image is its input moved by its own offset of at most max_shift"""
    X = rng.uniform(0.1, 1.0, size=(60, 2, 8, 10))  # no zeros inside: the offset can be told from the output
    out = student.random_shift(X, rng, 2)
    require(isinstance(out, np.ndarray) and out.shape == X.shape,
            f"random_shift(X (60, 2, 8, 10), rng, 2): expected an array of shape {X.shape}, got "
            f"{type(out).__name__} {getattr(out, 'shape', '')}")
    found = offsets_of(X, np.asarray(out, dtype=np.float64), 2)
    bad = [n for n, f in enumerate(found) if f is None]
    require(not bad, f"random_shift(X (60, 2, 8, 10), rng, max_shift=2): image {bad[:1]} is not its input shifted by "
                     f"at most 2 pixels with zeros filled in ({len(bad)} of 60 such images)\nHint: {SHIFT_HINT}")
    require(len(set(found)) >= 8, f"random_shift on 60 images used only {len(set(found))} different offsets "
                                  f"{sorted(set(found))}\nHint: draw an offset for EACH image (size=N), not one for "
                                  "the whole batch")


def test_random_shift_offsets_uniform(student, rng):
    """random_shift: all offsets from -max_shift to +max_shift are drawn, about equally often"""
    X = rng.uniform(0.1, 1.0, size=(900, 1, 4, 4))
    found = offsets_of(X, np.asarray(student.random_shift(X, rng, 1), dtype=np.float64), 1)
    require(None not in found, f"random_shift(X (900, 1, 4, 4), rng, 1): some images are not shifted copies of their "
                               f"input\nHint: {SHIFT_HINT}")
    counts = {(dy, dx): found.count((dy, dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    # 900 draws of 9 equally likely offsets: each count is 100 +- 9.4; 55..145 is more than 4.7 standard deviations
    require(all(55 <= c <= 145 for c in counts.values()),
            f"random_shift(X (900, 1, 4, 4), rng, max_shift=1): how often each (dy, dx) was drawn: {counts}; expected "
            "about 100 each\nHint: rng.integers(-s, s + 1) draws from -s to s INCLUDED (the upper bound is "
            "exclusive); draw dy and dx independently")


def test_random_shift_reproducible_dtype_and_input(student, rng):
    """random_shift: same seed same output; float32 kept; input unchanged; max_shift=0 is a copy"""
    X = rng.uniform(0.1, 1.0, size=(10, 1, 6, 6)).astype(np.float32)  # no zeros inside: offsets show
    before = X.copy()
    a = student.random_shift(X, np.random.default_rng(5), 2)
    b = student.random_shift(X, np.random.default_rng(5), 2)
    check_array(b, a, "random_shift twice with np.random.default_rng(5)", rtol=0, atol=0, dtype=np.float32,
                hint="draw the offsets from the rng argument only; keep X's dtype")
    found = offsets_of(before, np.asarray(a), 2)
    require(None not in found and set(found) != {(0, 0)},
            f"random_shift(X (10, 1, 6, 6), np.random.default_rng(5), max_shift=2): the offsets (dy, dx) of the 10 "
            f"images are {found} (None: not a shifted copy of its input)\nHint: {SHIFT_HINT}")
    check_array(X, before, "X after random_shift(X, rng, 2)", rtol=0, atol=0,
                hint="shift a new array (np.zeros + copy, or a gather), never the caller's X")
    draws = np.random.default_rng(9)
    check_array(student.random_shift(X, draws, 0), X, "random_shift(X, rng, max_shift=0)", rtol=0, atol=0,
                hint="with max_shift = 0 every offset is 0: the images come back unchanged")
    require(draws.integers(2 ** 62) == np.random.default_rng(9).integers(2 ** 62),
            "random_shift(X, rng, max_shift=0) drew from rng\nHint: with max_shift = 0 there is nothing to draw: "
            "return a copy without touching rng (the docstring: no draws when max_shift is 0), so a run without "
            "shifts sees the same random numbers afterwards")


def test_random_shift_arguments(student, rng):
    """random_shift: X must be 4-D (the message names its shape), max_shift an int >= 0 (np.int64 and 2.0 work)"""
    X = rng.uniform(0.1, 1.0, size=(3, 1, 5, 5))
    for bad in (X[0], X[None]):
        call = f"random_shift(X {bad.shape}, rng, 1)"
        msg = expect_raises(ValueError, student.random_shift, bad, rng, 1, call=call,
                            hint="images come as (N, C, H, W): check X.ndim == 4 first and raise ValueError")
        require(str(bad.shape) in msg, f"{call}: the ValueError should name X's shape {bad.shape}, got {msg!r}")
    for bad in (-1, 1.5):
        expect_raises(ValueError, student.random_shift, X, rng, bad, call=f"random_shift(X, rng, max_shift={bad})",
                      hint="max_shift must be a whole number >= 0: raise ValueError")
    want = student.random_shift(X, np.random.default_rng(3), 2)
    for same in (np.int64(2), 2.0):
        check_array(student.random_shift(X, np.random.default_rng(3), same), want,
                    f"random_shift(X, np.random.default_rng(3), max_shift={same!r}) against max_shift=2", rtol=0,
                    atol=0, hint="a whole number of another type (np.int64(2), 2.0) means the same shift: test it "
                                 "by value (int(s) != s), never with `is`, and use int(max_shift) from then on")


def test_random_shift_draws(student, rng):
    """random_shift: the offsets are drawn as documented (all dy, then all dx), so a seed gives the reference's shifts"""
    X = rng.uniform(0.1, 1.0, size=(12, 2, 7, 6))
    s = int(rng.integers(1, 4))
    seed = int(rng.integers(2 ** 31))
    got = student.random_shift(X, np.random.default_rng(seed), s)
    want = reference("ch4_5_optimization").random_shift(X, np.random.default_rng(seed), s)
    draws = np.random.default_rng(seed)
    dy, dx = draws.integers(-s, s + 1, size=12), draws.integers(-s, s + 1, size=12)
    found = offsets_of(X, np.asarray(got, dtype=np.float64), s) if np.shape(got) == X.shape else None
    check_array(got, want, f"random_shift(X (12, 2, 7, 6), np.random.default_rng({seed}), max_shift={s})", rtol=0,
                atol=0, hint=f"the offsets (dy, dx) should be {list(zip(dy.tolist(), dx.tolist()))}, yours are "
                             f"{found} (None: not a shifted image). Draw dy = rng.integers(-s, s + 1, size=N) for all "
                             "images first, then dx the same way, and move the content DOWN by dy and RIGHT by dx")


# ---------------------------------------------------------------- capstone_forward / capstone_backward

CAPSTONE_SHAPES = {"W1": (8, 1, 3, 3), "b1": (8,), "W2": (16, 8, 3, 3), "b2": (16,), "W3": (784, 10), "b3": (10,)}


def test_init_capstone(student, rng):
    """init_capstone: the documented shapes, float32, He scales drawn in the documented order, zero biases"""
    seed = int(rng.integers(2 ** 31))
    params = student.init_capstone(np.random.default_rng(seed))
    require(isinstance(params, dict) and sorted(params) == sorted(CAPSTONE_SHAPES),
            f"init_capstone(rng): expected a dict with the keys {sorted(CAPSTONE_SHAPES)}, got "
            f"{sorted(params) if isinstance(params, dict) else type(params).__name__}")
    for key, shape in CAPSTONE_SHAPES.items():
        require(np.shape(params[key]) == shape,
                f"init_capstone(rng): params[{key!r}] has shape {np.shape(params[key])}, expected {shape}\nHint: "
                "conv kernels are (filters, channels, 3, 3): 8 filters on 1 channel, then 16 on 8; the dense layer "
                "takes the 16 * 7 * 7 = 784 pooled values to 10 classes")
    draws = np.random.default_rng(seed)
    for key, n_in, gain in (("W1", 9, 2.0), ("W2", 72, 2.0), ("W3", 784, 1.0)):
        want = (draws.standard_normal(CAPSTONE_SHAPES[key]) * np.sqrt(gain / n_in)).astype(np.float32)
        check_array(params[key], want, f"init_capstone(np.random.default_rng({seed})): params[{key!r}]", rtol=1e-6,
                    atol=1e-8, dtype=np.float32,
                    hint=f"{key} = rng.standard_normal(shape) * sqrt({gain:g} / {n_in}) as float32, drawn in the order "
                         "W1, W2, W3 (n_in is the number of inputs of one unit; gain 1 for the output layer)")
    for key in ("b1", "b2", "b3"):
        check_array(params[key], np.zeros(CAPSTONE_SHAPES[key]), f"init_capstone(rng): params[{key!r}]", atol=0,
                    dtype=np.float32, hint="the biases start at zero (float32)")



GRAD_TOL = 1e-5


@pytest.mark.points(3)
def test_capstone_gradients(student, rng):
    """capstone_backward: every gradient matches a numerical directional derivative of capstone_forward's loss"""
    params = {k: np.array(v, dtype=np.float64) for k, v in student.init_capstone(rng).items()}
    for key in params:
        if not key.startswith("W"):
            params[key] = params[key] + rng.normal(scale=0.05, size=params[key].shape)
    X, y = rng.random((4, 784)), rng.integers(0, 10, size=4)
    probs, cache = student.capstone_forward(params, X)
    require(np.asarray(probs).dtype == np.float64,
            f"capstone_forward with float64 params: probs are {np.asarray(probs).dtype}, expected float64\nHint: "
            "compute in the dtype of params['W1'] (convert X to it), so a gradient check can run in float64")
    grads = student.capstone_backward(params, cache, y)
    require(isinstance(grads, dict) and sorted(grads) == sorted(params),
            f"capstone_backward: expected a dict with the keys {sorted(params)}, got "
            f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    # A tiny step (float64 rounding costs ~1e-9 relative here) makes it unlikely that a ReLU or the winner of a
    # max-pool window changes within it; as it still happens for ~5% of random directions, a parameter passes when
    # one of 3 directions agrees (a wrong gradient agrees with none of them).
    h = 1e-7
    for key in params:
        g = np.asarray(grads[key], dtype=np.float64)
        require(g.shape == params[key].shape, f"capstone_backward: grads[{key!r}] has shape {g.shape}, params[{key!r}] "
                                              f"{params[key].shape}")
        for _ in range(3):
            D = rng.normal(size=params[key].shape)
            D /= np.linalg.norm(D)
            plus = cross_entropy(student.capstone_forward({**params, key: params[key] + h * D}, X)[0], y)
            minus = cross_entropy(student.capstone_forward({**params, key: params[key] - h * D}, X)[0], y)
            numeric = (plus - minus) / (2 * h)
            analytic = float(np.vdot(g, D))
            err = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-12)
            if err < GRAD_TOL:
                break
        require(err < GRAD_TOL,
                f"capstone_backward(params, cache, y) for 4 images: along a random direction of {key!r} the gradient "
                f"gives {analytic:.6g}, a numerical derivative of capstone_forward's mean cross-entropy gives "
                f"{numeric:.6g} (relative error {err:.1e}, must be < {GRAD_TOL:g})\nHint: dZ = (probs - Y) / m once; "
                "back through the dense layer, reshape to the pooled maps, max_pool_backward, times the ReLU mask of "
                "the PRE-activation, conv2d_backward; the second convolution block first")


# ---------------------------------------------------------------- the capstone

# MNIST: train_capstone(X_train as float32, y_train, rng, time_budget=8), accuracy of predict_capstone on the official
# 10k test images, computed here. The budget is wall-clock time, so how much the network learns in it depends on how
# busy the 2-core machine is: the reference was measured at two levels of load.
# subset5k (5,000 training images), reference solution:
#   other graders running (load average 2.5-4.3), 20 seeds (0..19): min 0.9737, median 0.9781, mean 0.9782,
#     max 0.9831, std 0.0022; 6-15 epochs in the 8 s; the call returned within 8.25 s.
#   heavy load (3 extra busy-loop processes on top, load average up to 7.8), 10 seeds (100..109): min 0.9324,
#     median 0.9505, mean 0.9504, max 0.9592, std 0.0079; 2-3 epochs; returned within 8.66 s.
#   Threshold 0.92: 1.2 points under the worst seed under heavy load, 5.4 under the worst with other graders running.
#   (With a 60 s budget the reference reaches 0.9815-0.9834 over 6 seeds at load 4-7: the capstone's target of 0.97.)
# full (60k training images): NOT MEASURED (not available offline here). In 8 s the reference makes about as many
#   steps as on the subset, on 12x more distinct images, so it is expected to do at least as well; the threshold is
#   the subset's.
MNIST_BUDGET = 8.0
# overrun: seconds the call may take beyond its time_budget, measured here (the last mini-batch, the last validation,
# sending the images to the worker: the full set is 188 MB of float32 and its validation split 6,000 images)
MNIST_RUNS = {"subset5k": {"threshold": 0.92, "overrun": 2.5}, "full": {"threshold": 0.92, "overrun": 6.0}}
OVERRUN = 2.5  # the same for the short runs of test_capstone_time_budget (5,000 images at most)


DRAWS_HINT = ("the random draws come in a fixed order: the split (order = rng.permutation(m), its first max(1, m // 10) "
              "images for validation) unless X_val is given, then init_capstone(rng), then every epoch "
              "rng.permutation(m_train), cut into consecutive mini-batches of 64, each shifted by "
              "random_shift(Xb, rng, 2)")
UPDATE_HINT = ("the update of every mini-batch: capstone_backward + the gradient of l2_regularization(params, 5e-4), "
               "clip_gradients(..., 5), then momentum_update(param, grad, velocity, lr, 0.9) with lr = 0.025 * "
               "(1 + cos(pi * f)), f = steps done BEFORE the mini-batch / (max_epochs * ceil(m_train / 64)), counted "
               "over the whole run (0.05 for the first mini-batch)")
EPOCH_HINTS = {
    "train_loss": "train_loss is the cross-entropy of each mini-batch's probabilities BEFORE its update, averaged over "
                  "the epoch's images. If that is right: " + DRAWS_HINT + "; and " + UPDATE_HINT,
    "train_accuracy": "train_accuracy is the fraction of the epoch's (shifted) training images whose argmax of the "
                      "probabilities BEFORE the mini-batch's update is the label",
    "val_loss": "val_loss is cross_entropy(capstone_forward(params, X_val)[0], y_val) with the parameters at the END of "
                "the epoch (on X_val, y_val when given, else on the split-off 10%). If that is right: " + UPDATE_HINT,
    "val_accuracy": "val_accuracy is the fraction of the validation images whose argmax is the label (a float)",
}


def run_both(student, args, kwargs, train_seed):
    """The student's and the reference's train_capstone on the same inputs, each with np.random.default_rng(seed)."""
    got = student.train_capstone(*args, np.random.default_rng(train_seed), **kwargs, _time_limit=60)
    want = reference("ch4_5_optimization").train_capstone(*args, np.random.default_rng(train_seed), **kwargs)
    return got, want


def check_same_training(got, want, where, m_train, m_val):
    """The student's train_capstone run against the reference's with the same seed: every history entry epoch by
    epoch (the first difference is reported, with the part of the recipe it points to), the number of epochs, the
    stop reason, the best epoch and the returned parameters."""
    params, history = got
    ref_params, ref_history = want
    require(isinstance(history, dict) and isinstance(params, dict),
            f"{where}: expected (params, history), two dicts, got {type(params).__name__}, {type(history).__name__}")
    n = len(ref_history["val_loss"])
    lists = {key: list(history.get(key, [])) for key in EPOCH_HINTS}
    tolerances = {"train_loss": (1e-3, 1e-5), "train_accuracy": (0.0, 1.01 / m_train),
                  "val_loss": (1e-3, 1e-5), "val_accuracy": (0.0, 1.01 / m_val)}
    for e in range(min(n, *(len(v) for v in lists.values()))):
        for key, hint in EPOCH_HINTS.items():
            if e > 0 and key.startswith("train"):
                hint = ("epoch 0 agreed: check what goes on from epoch to epoch: a new rng.permutation(m_train) every "
                        "epoch, the velocity kept, f counted over all max_epochs * ceil(m_train / 64) steps (not "
                        "restarted every epoch). " + hint)
            rtol, atol = tolerances[key]
            check_scalar(lists[key][e], ref_history[key][e], f"{where}: history[{key!r}][{e}] (epoch {e})",
                         rtol=rtol, atol=atol, hint=hint)
    stop_hint = ("stop after max_epochs epochs, or when early_stopping(watched, patience=5) says so, where watched are "
                 "the validation losses of the epochs whose last mini-batch had lr <= 0.05 / 5")
    for key in EPOCH_HINTS:
        require(len(lists[key]) == n, f"{where}: history[{key!r}] has {len(lists[key])} values, expected one per "
                                      f"epoch: {n} (the reference stopped with {ref_history['stop_reason']!r})"
                                      f"\nHint: {stop_hint}")
    require(history.get("stop_reason") == ref_history["stop_reason"],
            f"{where}: history['stop_reason'] = {history.get('stop_reason')!r}, expected "
            f"{ref_history['stop_reason']!r}\nHint: {stop_hint}")
    require(history.get("best_epoch") == ref_history["best_epoch"],
            f"{where}: history['best_epoch'] = {history.get('best_epoch')!r}, expected {ref_history['best_epoch']} "
            f"(validation losses {np.round(ref_history['val_loss'], 4).tolist()})\nHint: until an epoch ends with lr "
            "<= 0.05 / 5 the latest epoch is the best; from then on only those (watched) epochs count, and the one "
            "with the lowest validation loss wins (a tie keeps the earlier one)")
    for key in ref_params:
        check_array(params.get(key), ref_params[key], f"{where}: the returned params[{key!r}]", rtol=2e-3, atol=2e-5,
                    hint="return a copy of the parameters taken at the end of the best epoch (history['best_epoch'])")


def check_predictions(pred, m, where):
    require(isinstance(pred, np.ndarray) and pred.shape == (m,) and pred.dtype.kind in "iu",
            f"{where}: expected integer labels of shape ({m},), got {type(pred).__name__} "
            f"{getattr(pred, 'shape', '')} {getattr(pred, 'dtype', '')}\nHint: probs.argmax(axis=1) gives int64")


@pytest.mark.points(5)
def test_capstone_mnist_accuracy(student, mnist, rng, record_property):
    """train_capstone: MNIST test accuracy after a short time budget"""
    run = MNIST_RUNS[mnist.training_set]
    where = (f"train_capstone(MNIST {mnist.training_set} X {mnist.X_train.shape}, y, rng, "
             f"time_budget={MNIST_BUDGET:g})")
    X = mnist.X_train.astype(np.float32)  # half the bytes to send; the contract takes any floats in [0, 1]
    start = time.perf_counter()
    params, history = student.train_capstone(X, mnist.y_train, rng, time_budget=MNIST_BUDGET,
                                             _time_limit=MNIST_BUDGET + 10)
    took = time.perf_counter() - start
    require(took <= MNIST_BUDGET + run["overrun"],
            f"{where} took {took:.1f} s, more than its budget + {run['overrun']:g} s\nHint: check the clock before "
            "every mini-batch and stop as soon as time_budget seconds are used")
    pred = student.predict_capstone(params, mnist.X_test.astype(np.float32), _time_limit=30)
    check_predictions(pred, len(mnist.y_test), f"predict_capstone(params, X_test {mnist.X_test.shape})")
    accuracy = float(np.mean(pred == mnist.y_test))
    # Measured here, on the grader's side, from the predictions: the figure a course's leaderboard shows.
    record_property("leaderboard", ("Capstone test accuracy", round(accuracy, 4)))
    val = history.get("val_accuracy") if isinstance(history, dict) else None
    require(accuracy >= run["threshold"],
            f"{where}: accuracy {accuracy:.4f} on the 10,000 test images, expected at least {run['threshold']:.2f} "
            f"(the reference reaches 0.97-0.98 in 8 s, 0.95 on a very busy machine); validation accuracy per epoch: "
            f"{val}\nHint: shuffle every epoch (the 5k subset is sorted by label), momentum 0.9 with a learning rate "
            "around 0.05 for mini-batches of 64, He initialisation, a learning rate that decays to 0 by the end of "
            "the budget, and a network small enough to make many steps in the time")


@pytest.mark.points(2)
def test_capstone_time_budget(student, mnist, rng):
    """train_capstone: stops when its time budget is used"""
    budget = 2.0
    X, y = mnist.X_train[:5000].astype(np.float32), mnist.y_train[:5000]
    start = time.perf_counter()
    params, history = student.train_capstone(X, y, rng, time_budget=budget, _time_limit=budget + 10)
    took = time.perf_counter() - start
    require(took <= budget + OVERRUN,
            f"train_capstone(MNIST X {X.shape}, y, rng, time_budget={budget:g}) took {took:.1f} s, more "
            f"than its budget + {OVERRUN:g} s\nHint: check time.perf_counter() - start before every mini-batch, not "
            "only between epochs, and stop once time_budget seconds are used")
    require(isinstance(history, dict) and history.get("stop_reason") == "time_budget",
            f"train_capstone(..., time_budget={budget:g}) on {len(y)} images: history['stop_reason'] "
            f"should be 'time_budget', got {history.get('stop_reason') if isinstance(history, dict) else history!r}")


@pytest.mark.points(2)
def test_capstone_reproducible(student, seed):
    """train_capstone: with max_epochs the same seed gives the same network, another seed another; inputs untouched"""
    X, y = toy_digits(np.random.default_rng([seed, 3]), 640)
    X_before, y_before = X.copy(), y.copy()
    runs = [student.train_capstone(X, y, np.random.default_rng([seed, s]), time_budget=120.0, max_epochs=1,
                                   _time_limit=60) for s in (1, 1, 2)]
    hint = ("take every random draw (the split, init_capstone, the shuffling, the shifts) from the rng argument; "
            "with max_epochs set, let the learning rate follow the epochs, not the clock")
    for key in runs[0][0]:
        check_array(np.asarray(runs[1][0][key]), np.asarray(runs[0][0][key]),
                    f"train_capstone(X (640, 784), y, rng, max_epochs=1) twice with the same seed: params[{key!r}]",
                    rtol=1e-5, atol=1e-7, hint=hint)
    require(any(not np.allclose(runs[2][0][k], runs[0][0][k]) for k in runs[0][0]),
            f"train_capstone with two different rng seeds returned the same parameters\nHint: {hint}")
    want = reference("ch4_5_optimization").train_capstone(X, y, np.random.default_rng([seed, 1]), time_budget=120.0,
                                                          max_epochs=1)
    check_same_training(runs[0], want, f"train_capstone(X (640, 784), y, np.random.default_rng([{seed}, 1]), "
                                       "max_epochs=1) (64 images split off), against the reference", 576, 64)
    check_array(X, X_before, "X after train_capstone(X, y, ...)", rtol=0, atol=0,
                hint="shift copies of the images (random_shift returns a new array); never modify the caller's X")
    check_array(y, y_before, "y after train_capstone(X, y, ...)", rtol=0, atol=0)


@pytest.mark.points(2)
def test_capstone_history_and_validation(student, rng):
    """train_capstone: max_epochs respected, history per epoch, validation accuracy of the returned parameters"""
    X, y = toy_digits(rng, 512)
    X_val, y_val = toy_digits(rng, 200)
    train_seed = int(rng.integers(2 ** 31))
    (params, history), want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=2, X_val=X_val,
                                                             y_val=y_val), train_seed)
    where = (f"train_capstone(X (512, 784), y, np.random.default_rng({train_seed}), max_epochs=2, X_val (200, 784), "
             "y_val)")
    require(isinstance(history, dict), f"{where}: history should be a dict of per-epoch lists, got "
                                       f"{type(history).__name__}")
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"):
        require(len(history.get(key, [])) == 2, f"{where}: history[{key!r}] should hold one value per epoch (2), got "
                                                f"{history.get(key)!r}")
    require(history.get("stop_reason") == "max_epochs",
            f"{where}: history['stop_reason'] should be 'max_epochs', got {history.get('stop_reason')!r}")
    best = history.get("best_epoch")
    require(best in (0, 1), f"{where}: history['best_epoch'] = {best!r} should be the index (0 or 1) of the epoch "
                            "whose parameters were returned")
    pred = student.predict_capstone(params, X_val)
    check_predictions(pred, 200, "predict_capstone(params, X_val (200, 784))")
    check_scalar(history["val_accuracy"][best], float(np.mean(pred == y_val)),
                 f"{where}: history['val_accuracy'][best_epoch] vs the accuracy of the returned params on X_val",
                 rtol=1e-9, hint="evaluate on the X_val, y_val given (not on a split of X), and return the "
                                 "parameters of the best epoch (a copy taken then, not the arrays training goes on "
                                 "updating)")
    check_same_training((params, history), want, f"{where}, against the reference with the same seed", 512, 200)


def test_capstone_first_step(student, rng):
    """train_capstone: one mini-batch (64 images, max_epochs=1) gives the reference's loss, update and history"""
    X, y = toy_digits(rng, 64)
    X_val, y_val = toy_digits(rng, 32)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=1, X_val=X_val, y_val=y_val), train_seed)
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), max_epochs=1, "
                                   "X_val (32, 784), y_val): a single mini-batch", 64, 32)


def test_capstone_early_stopping(student, rng):
    """train_capstone: early stopping and the best epoch on the watched epochs, as the reference"""
    # 30 one-step epochs; a third of the validation labels are wrong, so the validation loss rises once the network
    # has learned the training patterns: the watched epochs (from about epoch 22) never improve on the first of them.
    X, y = toy_digits(rng, 64)
    X_val, y_val = toy_digits(rng, 30)
    y_val[:10] = (y_val[:10] + rng.integers(1, 10, size=10)) % 10
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=120.0, max_epochs=30, X_val=X_val, y_val=y_val),
                         train_seed)
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), "
                                   "max_epochs=30, X_val (30, 784), y_val with 10 wrong labels)", 64, 30)


def test_capstone_input_formats(student, rng):
    """predict_capstone: (m, 784) rows and (m, 1, 28, 28) images give the same labels"""
    params = student.init_capstone(rng)
    X = rng.random((30, 784))
    flat = student.predict_capstone(params, X)
    check_predictions(flat, 30, "predict_capstone(params, X (30, 784))")
    images = student.predict_capstone(params, X.reshape(30, 1, 28, 28))
    check_array(images, flat, "predict_capstone(params, X as (30, 1, 28, 28)) vs X as (30, 784)", atol=0,
                hint="reshape (m, 784) rows to (m, 1, 28, 28) images (row-major), and accept both")


def test_capstone_backward_bad_labels(student, rng):
    """capstone_backward: labels that do not match the forward pass's images raise ValueError naming both"""
    params = reference("ch4_5_optimization").init_capstone(rng)
    _, cache = student.capstone_forward(params, rng.uniform(size=(4, 784)))
    for y in (np.zeros((4, 1), dtype=np.int64), np.zeros(5, dtype=np.int64)):
        call = f"capstone_backward(params, cache of 4 images, y {y.shape})"
        msg = expect_raises(ValueError, student.capstone_backward, params, cache, y, call=call,
                            hint="check y.shape == (m,) for the m images of the forward pass (a (m, 1) column "
                                 "would index an (m, m) block of probs) and raise ValueError")
        require(str(y.shape) in msg, f"{call}: the ValueError should name y's shape {y.shape}, got {msg!r}")


def test_capstone_tiny_budget(student, rng):
    """train_capstone: a budget too short for one mini-batch trains nothing (the clock is checked before each)"""
    X, y = toy_digits(rng, 64)
    X_val, y_val = toy_digits(rng, 16)
    train_seed = int(rng.integers(2 ** 31))
    got, want = run_both(student, (X, y), dict(time_budget=1e-6, X_val=X_val, y_val=y_val), train_seed)
    check_same_training(got, want, f"train_capstone(X (64, 784), y, np.random.default_rng({train_seed}), "
                                   "time_budget=1e-6, X_val, y_val): no time for a single step", 64, 16)


def test_capstone_errors(student, rng):
    """train_capstone: mismatched labels, labels outside 0..9 and unscaled pixels raise ValueError at once"""
    X, y = toy_digits(rng, 40)
    msg = expect_raises(ValueError, student.train_capstone, X, y[:39], rng, time_budget=30.0, max_epochs=1,
                        call="train_capstone(X (40, 784), y (39,), rng)",
                        hint="check that y has one label per image before training: raise ValueError")
    require("(40, 784)" in msg and "(39,)" in msg,
            f"train_capstone(X (40, 784), y (39,)): the ValueError should name both shapes, got {msg!r}")
    bad = y.copy()
    bad[0] = 10
    expect_raises(ValueError, student.train_capstone, X, bad, rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X, y with a label 10, rng)", hint="labels are digits 0..9: raise ValueError")
    expect_raises(ValueError, student.train_capstone, X[:1], y[:1], rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X (1, 784), y (1,), rng) without X_val",
                  hint="one image cannot be split into training and validation: raise ValueError when m < 2 "
                       "and no validation set is given")
    _, history = student.train_capstone(X[:2], y[:2], rng, time_budget=30.0, max_epochs=1)
    require(len(history["val_loss"]) == 1, "train_capstone(X (2, 784), y (2,), rng, max_epochs=1): expected one "
                                           f"epoch, got history['val_loss'] = {history['val_loss']}\nHint: two "
                                           "images are enough: one for validation, one to train on")
    for kwargs in (dict(time_budget=0.0), dict(time_budget=-0.5), dict(time_budget=-1.0),
                   dict(time_budget=30.0, max_epochs=1.5), dict(time_budget=30.0, y_val=y[:5])):
        shown = ", ".join(f"{k}={'y_val (5,)' if k == 'y_val' else v}" for k, v in kwargs.items())
        expect_raises(ValueError, student.train_capstone, X, y, rng, **kwargs,
                      call=f"train_capstone(X, y, rng, {shown})",
                      hint="time_budget must be > 0, max_epochs a whole number >= 1 (or None), and X_val and y_val "
                           "come together or not at all: raise ValueError before training")
    _, history = student.train_capstone(X[:8], y[:8], rng, time_budget=30.0, max_epochs=np.int64(1))
    require(len(history["val_loss"]) == 1, "train_capstone(X (8, 784), y, rng, max_epochs=np.int64(1)): expected one "
                                           "epoch\nHint: a NumPy integer is a whole number: compare by value")
    expect_raises(ValueError, student.train_capstone, X, y, rng, time_budget=30.0, max_epochs=0,
                  call="train_capstone(X, y, rng, max_epochs=0)", hint="max_epochs must be None or >= 1: raise "
                                                                     "ValueError (0 epochs would train nothing)")
    expect_raises(ValueError, student.train_capstone, X * 255, y, rng, time_budget=30.0, max_epochs=1,
                  call="train_capstone(X * 255 (pixels 0..255), y, rng)",
                  hint="the pixels must be scaled to [0, 1] (pixel / 255): raise ValueError for values outside")
