"""Hidden suite, chapter 4.5: momentum over several steps against a trusted loop (with hints naming the sign
error, the moving-average form and the update order), in place and float32; clipping by the GLOBAL norm (the
per-array and per-entry mistakes named), direction kept, zeros, input untouched; early stopping at every prefix
of random histories (off-by-one named), ties, min_delta; random_shift as a true per-image shift with uniform
offsets and the documented draws; bad arguments of all four."""

import numpy as np
import pytest

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
                                                                         np.zeros(3, dtype=bool)),
                       ("a complex param", np.zeros(3, dtype=complex), np.zeros(3)),
                       ("a complex velocity", np.zeros(3), np.zeros(3, dtype=complex))):
        hint = ("param and velocity are changed in place: both must be numpy arrays of floats (dtype.kind == 'f'); "
                "check both first and raise TypeError naming the one that is not")
        msg = expect_raises(TypeError, student.momentum_update, p, g, v, 0.1, 0.5, call=f"momentum_update with {what}",
                            hint=hint)
        name = what.split()[-1]
        require(name in msg, f"momentum_update with {what}: the TypeError should name {name}, got {msg!r}\nHint: {hint}")
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


@pytest.mark.parametrize("n", [12, 1], ids=["batch", "one-image"])
def test_random_shift_draws(student, rng, n):
    """random_shift: the offsets are drawn as documented (all dy, then all dx), so a seed gives the reference's shifts"""
    X = rng.uniform(0.1, 1.0, size=(n, 2, 7, 6))
    s = int(rng.integers(1, 4))
    seed = int(rng.integers(2 ** 31))
    while n == 1 and not np.any(np.random.default_rng(seed).integers(-s, s + 1, size=2)):  # a real shift of one image
        seed += 1
    got = student.random_shift(X, np.random.default_rng(seed), s)
    want = reference("ch4_5_optimization").random_shift(X, np.random.default_rng(seed), s)
    draws = np.random.default_rng(seed)
    dy, dx = draws.integers(-s, s + 1, size=n), draws.integers(-s, s + 1, size=n)
    found = offsets_of(X, np.asarray(got, dtype=np.float64), s) if np.shape(got) == X.shape else None
    check_array(got, want, f"random_shift(X ({n}, 2, 7, 6), np.random.default_rng({seed}), max_shift={s})", rtol=0,
                atol=0, hint=f"the offsets (dy, dx) should be {list(zip(dy.tolist(), dx.tolist()))}, yours are "
                             f"{found} (None: not a shifted image). Draw dy = rng.integers(-s, s + 1, size=N) for all "
                             "images first, then dx the same way, and move the content DOWN by dy and RIGHT by dx")
