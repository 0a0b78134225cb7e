"""Hidden suite, chapter 4.4: the L2 penalty and its gradient (against the grader's numerical gradient), biases
left alone; inverted dropout's statistics (drop fraction, mean kept) with tolerances from the sampling error,
identity at test time, reproducible masks, dtypes, errors, and the backward pass through the same mask."""
import numpy as np
import pytest

from autograder.gradcheck import numerical_gradient, relative_error
from dlcourse.testing import check_array, check_scalar, expect_raises, require


PENALTY_HINT = ("penalty = lam / 2 * sum over the WEIGHTS (keys starting with 'W') of sum(W ** 2); biases are not "
                "penalised, and the penalty is not divided by m")
GRAD_HINTS = {
    2.0: "the gradient is twice too big: the derivative of lam / 2 * W ** 2 is lam * W, the 1/2 cancels the 2",
    0.5: "the gradient is half what it should be: the derivative of lam / 2 * W ** 2 is lam * W, not lam / 2 * W",
}
GRAD_HINT = "grads[Wk] = lam * Wk for every weight, zeros for every bias"
KEEP_HINT = ("p is the probability of DROPPING a unit, not of keeping it: keep = rng.random(A.shape) >= p is True "
             "with probability 1 - p")
SCALE_HINT = ("inverted dropout: scale the kept units by 1 / (1 - p) (mask = keep / (1 - p), out = A * mask), so "
              "that E[out] = A and nothing needs rescaling at test time")


def random_params(rng, depth=3, dtype=np.float64):
    sizes = [int(n) for n in rng.integers(2, 6, size=depth + 1)]
    params = {}
    for l in range(1, depth + 1):
        params[f"W{l}"] = rng.normal(size=(sizes[l - 1], sizes[l])).astype(dtype)
        params[f"b{l}"] = (rng.normal(size=sizes[l]) * 3).astype(dtype)  # big biases: penalising them shows
    return sizes, params


def true_penalty(params, lam):
    return lam / 2 * sum(float(np.sum(np.asarray(v, dtype=np.float64) ** 2)) for k, v in params.items()
                         if k.startswith("W"))


# ---------------------------------------------------------------- l2_regularization

@pytest.mark.points(2)
def test_l2_penalty_value(student, rng):
    """l2_regularization: the penalty is lam/2 times the sum of the squared weights (biases excluded)"""
    sizes, params = random_params(rng, depth=4)
    lam = float(rng.uniform(0.01, 1.0))
    penalty, _ = student.l2_regularization(params, lam)
    with_biases = lam / 2 * sum(float(np.sum(v ** 2)) for v in params.values())
    hint = PENALTY_HINT
    if np.isclose(float(penalty), with_biases, rtol=1e-9):
        hint = "the biases were penalised too: only the keys starting with 'W' (the weights) count"
    elif np.isclose(float(penalty), 2 * true_penalty(params, lam), rtol=1e-9):
        hint = "the penalty is twice too big: it is lam / 2 * sum(W ** 2), with the 1/2"
    check_scalar(penalty, true_penalty(params, lam), f"l2_regularization(params of a 4-layer net {sizes}, "
                 f"lam={lam:.4f}): penalty", rtol=1e-9, hint=hint)


@pytest.mark.points(3)
def test_l2_gradient_matches_numerical(student, rng):
    """l2_regularization: the gradient matches the numerical gradient of the penalty"""
    sizes, params = random_params(rng, depth=3)
    lam = float(rng.uniform(0.05, 2.0))
    _, grads = student.l2_regularization(params, lam)
    require(isinstance(grads, dict) and sorted(grads) == sorted(params),
            f"l2_regularization: grads should be a dict with the keys of params {sorted(params)}, got "
            f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}\nHint: one entry per parameter, "
            "zeros for the biases, so that grads[k] can be added to the loss's gradients key by key")
    for key in sorted(params):
        numeric = numerical_gradient(lambda _: true_penalty(params, lam), params[key])
        got = np.asarray(grads[key])
        require(got.shape == params[key].shape,
                f"l2_regularization: grads[{key!r}] has shape {got.shape}, {key} is {params[key].shape}")
        if key.startswith("b"):
            check_array(got, np.zeros_like(params[key]), f"l2_regularization(params, lam={lam:.4f}): grads[{key!r}]",
                        atol=0, hint="biases are not penalised: their gradient is np.zeros_like(b)")
            continue
        err = relative_error(got, numeric)
        hint = GRAD_HINT
        for factor, text in GRAD_HINTS.items():
            if relative_error(got, factor * numeric) < 1e-6:
                hint = text
        require(err < 1e-6, f"l2_regularization(params {sizes}, lam={lam:.4f}): grads[{key!r}]: relative error "
                            f"{err:.1e} against the numerical gradient of the penalty (must be < 1e-6)\nHint: {hint}")


def test_l2_biases_do_not_count(student, rng):
    """l2_regularization: changing the biases changes neither the penalty nor the weights' gradients"""
    sizes, params = random_params(rng, depth=2)
    other = {k: (v * 10 + 1 if k.startswith("b") else v) for k, v in params.items()}
    p1, g1 = student.l2_regularization(params, 0.3)
    p2, g2 = student.l2_regularization(other, 0.3)
    check_scalar(p2, float(p1), "l2_regularization with the biases changed: penalty", rtol=1e-12,
                 hint="only the weights (keys starting with 'W') enter the penalty; the biases are not penalised")
    for key in params:
        if key.startswith("b"):
            check_array(g2[key], np.zeros_like(params[key]), f"l2_regularization: grads[{key!r}]", atol=0,
                        hint="biases are not penalised: their gradient is np.zeros_like(b)")


def test_l2_lam_zero_and_errors(student, rng):
    """l2_regularization: lam = 0 gives no penalty; a negative lam raises ValueError"""
    _, params = random_params(rng, depth=2)
    penalty, grads = student.l2_regularization(params, 0.0)
    check_scalar(penalty, 0.0, "l2_regularization(params, lam=0.0): penalty", atol=0)
    for key in params:
        check_array(grads[key], np.zeros_like(params[key]), f"l2_regularization(params, lam=0.0): grads[{key!r}]",
                    atol=0)
    expect_raises(ValueError, student.l2_regularization, params, -0.1, call="l2_regularization(params, lam=-0.1)",
                  hint="a negative lam would reward large weights: raise ValueError for lam < 0")


def test_l2_float32_and_inputs_unchanged(student, rng):
    """l2_regularization: float32 weights give float32 gradients, a float penalty, and params stay untouched"""
    _, params = random_params(rng, depth=2, dtype=np.float32)
    before = {k: v.copy() for k, v in params.items()}
    penalty, grads = student.l2_regularization(params, 0.5)
    require(isinstance(penalty, (float, np.floating)) and not isinstance(penalty, np.ndarray),
            f"l2_regularization: the penalty should be a float, got {type(penalty).__name__} {penalty!r}\n"
            "Hint: return float(lam / 2 * total)")
    check_scalar(penalty, true_penalty(params, 0.5), "l2_regularization(float32 params, lam=0.5): penalty",
                 rtol=1e-5)
    for key in params:
        check_array(grads[key], (0.5 * params[key] if key.startswith("W") else np.zeros_like(params[key])),
                    f"l2_regularization(float32 params, 0.5): grads[{key!r}]", rtol=1e-6, dtype=np.float32)
        check_array(params[key], before[key], f"params[{key!r}] after l2_regularization", rtol=0, atol=0,
                    hint="compute the gradients as new arrays (lam * W), do not scale W in place")


# ---------------------------------------------------------------- dropout

@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.1, 0.3, 0.75])
def test_dropout_drop_fraction(student, rng, p):
    """dropout: the fraction of dropped units is p (the DROP probability)"""
    A = rng.uniform(0.5, 1.5, size=(400, 500))  # no zeros: a zero in the output is a dropped unit
    out, mask = student.dropout(A, p, rng)
    out, mask = np.asarray(out), np.asarray(mask)
    require(out.shape == A.shape and mask.shape == A.shape,
            f"dropout(A {A.shape}, p={p}, rng): out {out.shape} and mask {mask.shape} should both have A's shape")
    dropped = float(np.mean(out == 0))
    # N = 200,000 independent units: the dropped fraction has standard error sqrt(p (1 - p) / N) <= 0.0011;
    # allow 5 of them. Keeping with probability p instead drops 1 - p: off by 0.4 or more here.
    tol = 5 * np.sqrt(p * (1 - p) / A.size)
    require(abs(dropped - p) < tol,
            f"dropout(A {A.shape}, p={p}, rng): {dropped:.4f} of the units were dropped, expected {p} (+- {tol:.4f})"
            f"\nHint: {KEEP_HINT}")
    check_array(mask, out / A, f"dropout(A {A.shape}, p={p}, rng): mask against out / A", rtol=1e-9, atol=1e-12,
                hint="out = A * mask, where mask is 0 for a dropped unit and 1 / (1 - p) for a kept one")


@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_the_mean(student, rng, p):
    """dropout: inverted dropout keeps the mean activation (kept units scaled by 1/(1-p))"""
    A = rng.normal(loc=1.0, scale=0.5, size=(400, 500))
    out = np.asarray(student.dropout(A, p, rng)[0])
    # out - A has mean 0 and variance A ** 2 * p / (1 - p) per unit: 5 standard errors of the mean
    tol = 5 * np.sqrt(np.sum(A ** 2) * p / (1 - p)) / A.size
    gap = float(out.mean() - A.mean())
    require(abs(gap) < tol,
            f"dropout(A {A.shape} of mean {A.mean():.4f}, p={p}, rng): the output's mean is {out.mean():.4f}, expected "
            f"the same as A's (+- {tol:.4f})\nHint: {SCALE_HINT}")
    kept = out != 0
    check_array(out[kept], A[kept] / (1 - p), f"dropout(A, p={p}, rng): the kept units", rtol=1e-9,
                hint=f"a kept unit is A / (1 - p) = A * {1 / (1 - p):.4g}; {SCALE_HINT}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_dropout_identity_at_test_time(student, rng, dtype):
    """dropout: training=False returns A itself (values and dtype) and a mask of ones"""
    A = rng.normal(size=(6, 7)).astype(dtype)
    out, mask = student.dropout(A, 0.6, rng, training=False)
    check_array(out, A, "dropout(A, p=0.6, rng, training=False): out", rtol=0, atol=0, dtype=dtype,
                hint="at test time inverted dropout is the identity: no unit dropped, no rescaling")
    check_array(mask, np.ones_like(A), "dropout(A, p=0.6, rng, training=False): mask", rtol=0, atol=0,
                hint="at test time the mask is all ones (np.ones_like(A))")


def test_dropout_reproducible(student, seed):
    """dropout: the same rng seed gives the same mask, another seed another mask"""
    A = np.random.default_rng([seed, 1]).uniform(0.5, 1.5, size=(20, 30))
    masks = [np.asarray(student.dropout(A, 0.5, np.random.default_rng([seed, s]))[1]) for s in (2, 2, 3)]
    hint = "draw the mask from the rng argument only (e.g. rng.random(A.shape) >= p), never from np.random"
    check_array(masks[1], masks[0], "dropout twice with the same rng seed: masks", rtol=0, atol=0, hint=hint)
    require(not np.array_equal(masks[2], masks[0]),
            f"dropout with two different rng seeds gave the same mask\nHint: {hint}")


def test_dropout_float32_and_input_unchanged(student, rng):
    """dropout: float32 activations stay float32, and A is not modified"""
    A = rng.uniform(0.5, 1.5, size=(50, 40)).astype(np.float32)
    before = A.copy()
    out, mask = student.dropout(A, 0.3, rng)
    require(isinstance(out, np.ndarray) and out.dtype == np.float32,
            f"dropout(A float32, p=0.3, rng): out has dtype {getattr(out, 'dtype', type(out).__name__)}, expected "
            "float32\nHint: build the mask in A's dtype (keep.astype(A.dtype) / A.dtype.type(1 - p)): a float64 "
            "mask turns A * mask into float64")
    check_array(out, A * np.asarray(mask, dtype=np.float32), "dropout(A float32, p=0.3): out against A * mask",
                rtol=1e-6, atol=1e-7)
    check_array(A, before, "A after dropout(A, p=0.3, rng)", rtol=0, atol=0,
                hint="return a new array (A * mask); A *= mask changes the caller's activations")


@pytest.mark.parametrize("dtype", [np.float16, np.int8], ids=["float16", "int8"])
def test_dropout_other_dtypes_become_float64(student, rng, dtype):
    """dropout: activations of any dtype but float32 (float16, integers) give float64 out and mask"""
    A = rng.integers(1, 9, size=(6, 8)).astype(dtype)
    for training in (True, False):
        out, mask = student.dropout(A, 0.5, rng, training=training)
        call = f"dropout(A {np.dtype(dtype).name} (6, 8), p=0.5, rng, training={training})"
        for name, value in (("out", out), ("mask", mask)):
            require(isinstance(value, np.ndarray) and value.dtype == np.float64,
                    f"{call}: {name} has dtype {getattr(value, 'dtype', type(value).__name__)}, expected float64\n"
                    "Hint: only float32 is kept; anything else (float16, integers) becomes float64: "
                    "dtype = np.float32 if A.dtype == np.float32 else np.float64")
        check_array(out, A.astype(np.float64) * np.asarray(mask), f"{call}: out against A * mask", rtol=1e-12,
                    hint="out = A * mask")


def test_dropout_p_zero(student, rng):
    """dropout: p = 0 keeps every unit unchanged"""
    A = rng.normal(size=(5, 6))
    out, mask = student.dropout(A, 0.0, rng)
    check_array(out, A, "dropout(A, p=0.0, rng): out", rtol=0, atol=1e-15,
                hint="p = 0 drops nothing and scales by 1 / (1 - 0) = 1")


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5], ids=["1.0", "-0.1", "1.5"])
def test_dropout_invalid_p(student, rng, p):
    """dropout: p outside [0, 1) raises ValueError"""
    expect_raises(ValueError, student.dropout, np.ones((3, 3)), p, rng, call=f"dropout(A, p={p}, rng)",
                  hint="p is a probability of dropping, 0 <= p < 1 (p = 1 would drop everything and divide by 0): "
                       "check it and raise ValueError")


# ---------------------------------------------------------------- dropout_backward

@pytest.mark.points(2)
def test_backward_uses_the_mask(student, rng):
    """dropout_backward: dA = dout * mask, with the mask of the forward pass"""
    p = 0.4
    A = rng.uniform(0.5, 1.5, size=(30, 20))
    out, mask = student.dropout(A, p, rng)
    out = np.asarray(out)
    dout = rng.normal(size=A.shape)
    dA = student.dropout_backward(dout, mask)
    # out is linear in A for a fixed mask: d out / d A = out / A unit by unit
    check_array(dA, dout * out / A, "dropout_backward(dout, mask of dropout(A, p=0.4))", rtol=1e-9, atol=1e-12,
                hint="dA = dout * mask: zero where the unit was dropped, dout / (1 - p) where it was kept (the "
                     "mask already holds the 1 / (1 - p))")


def test_backward_shape_mismatch(student, rng):
    """dropout_backward: dout and mask of different shapes raise ValueError naming both"""
    dout, mask = rng.normal(size=(4, 5)), np.ones((5, 4))
    msg = expect_raises(ValueError, student.dropout_backward, dout, mask,
                        call="dropout_backward(dout (4, 5), mask (5, 4))",
                        hint="dout and mask must have the same shape: check and raise ValueError (broadcasting "
                             "could silently give a wrong result)")
    require("(4, 5)" in msg and "(5, 4)" in msg,
            f"dropout_backward(dout (4, 5), mask (5, 4)): the ValueError should name both shapes, got {msg!r}")


def test_backward_shape_mismatch_that_broadcasts(student, rng):
    """dropout_backward: dout and mask of different shapes that would broadcast still raise ValueError"""
    for dshape, mshape in (((4, 5), (1, 5)), ((4, 5), (4, 1)), ((5,), (4, 5))):
        dout, mask = rng.normal(size=dshape), np.ones(mshape)
        expect_raises(ValueError, student.dropout_backward, dout, mask,
                      call=f"dropout_backward(dout {dshape}, mask {mshape})",
                      hint="compare the two shapes for equality (dout.shape != mask.shape) and raise ValueError")
