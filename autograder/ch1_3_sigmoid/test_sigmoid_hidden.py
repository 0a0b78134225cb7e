"""Hidden suite, chapter 1.3: stability, symmetry, dtypes, derivative against a numerical derivative."""
import numpy as np
import pytest

from autograder.gradcheck import elementwise_derivative, relative_error
from autograder.plots import record_curve
from dlcourse.testing import check_array, no_warnings

STABLE_HINT = ("np.exp(-z) overflows for z < -709, and np.where(z >= 0, ..., ...) does not prevent it: np.where "
               "computes both of its branches for every element before it chooses. Compute e = np.exp(-np.abs(z)) "
               "(never above 1) once, then np.where(z >= 0, 1 / (1 + e), e / (1 + e))")


def true_sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def test_random_values(student, rng):
    """sigmoid: random inputs of random shape"""
    Z = rng.normal(scale=4.0, size=tuple(rng.integers(1, 6, size=rng.integers(1, 4))))
    check_array(student.sigmoid(Z), true_sigmoid(Z), f"sigmoid(Z) on random Z of shape {Z.shape}", rtol=1e-9,
                hint="sigmoid(z) = 1 / (1 + exp(-z)), element-wise, same shape as Z")


@pytest.mark.points(2)
@pytest.mark.parametrize("scale", [1e3, 1e4], ids=["1e3", "1e4"])
def test_stable_for_large_inputs(student, rng, scale):
    """sigmoid: stable for large inputs"""
    Z = rng.uniform(-scale, scale, size=20)
    Z[:2] = [-scale, scale]
    with no_warnings(f"sigmoid(Z) with |Z| up to {scale:g}", hint=STABLE_HINT):
        out = student.sigmoid(Z)
    check_array(out, true_sigmoid(Z), f"sigmoid(Z) with |Z| up to {scale:g}", atol=1e-12, hint=STABLE_HINT)


def test_tiny_values_not_rounded_to_zero(student):
    """sigmoid: keeps precision for moderately negative inputs"""
    Z = np.array([-30.0, -40.0])
    check_array(student.sigmoid(Z), true_sigmoid(Z), "sigmoid([-30, -40])", rtol=1e-6, atol=0,
                hint="for negative z use exp(z) / (1 + exp(z)); 1 - sigmoid(-z) loses all digits there")


def test_symmetry(student, rng, record_property):
    """sigmoid: sigmoid(-z) = 1 - sigmoid(z)"""
    Z = rng.normal(scale=3.0, size=15)
    out = student.sigmoid(Z)
    record_curve(record_property, "sigmoid(z)", Z, true_sigmoid(Z), out, xlabel="z")
    check_array(out, true_sigmoid(Z), "sigmoid(Z), Z random (15,)", rtol=1e-9,
                hint="sigmoid(z) = 1 / (1 + exp(-z)), element-wise, same shape as Z")
    check_array(student.sigmoid(-Z), 1 - student.sigmoid(Z), "sigmoid(-Z) vs 1 - sigmoid(Z)", rtol=1e-9, atol=1e-12)


def test_float32_stays_float32(student, rng):
    """sigmoid: float32 input keeps its dtype, float16 becomes float64"""
    Z = rng.normal(size=(3, 4)).astype(np.float32)
    check_array(student.sigmoid(Z), true_sigmoid(Z), "sigmoid(Z float32)", rtol=1e-5, atol=1e-6, dtype=np.float32)
    half = np.array([-2.0, 0.0, 1.5], dtype=np.float16)
    check_array(student.sigmoid(half), true_sigmoid(half.astype(np.float64)), "sigmoid(Z float16)", rtol=1e-9,
                dtype=np.float64, hint="only float32 keeps its dtype; anything else (float16 too) becomes float64")


def test_scalar_input(student):
    """sigmoid: a Python number works"""
    for z in (0.0, 2.0, -3.5):
        out = student.sigmoid(z)
        expected = float(true_sigmoid(z))
        assert np.ndim(out) == 0 and np.isclose(float(out), expected, rtol=1e-9, atol=0), (
            f"sigmoid({z}): expected {expected:.10g}, a single number, got {out!r}\nHint: np.asarray(z) turns a "
            "number into a 0-d array that works with the same code; return the result for that one number")


@pytest.mark.points(2)
def test_derivative_matches_numerical(student, rng):
    """sigmoid_derivative: matches a numerical derivative of the sigmoid"""
    Z = rng.normal(scale=3.0, size=(4, 5))
    numeric = elementwise_derivative(true_sigmoid, Z)
    got = check_array(student.sigmoid_derivative(Z), numeric, "sigmoid_derivative(Z), Z random (4, 5)", rtol=1e-6,
                      atol=1e-9, hint="s * (1 - s) with s = sigmoid(Z); Z * (1 - Z) is the derivative written "
                                      "in terms of the output, applied to the wrong argument")
    err = relative_error(got, numeric)
    assert err < 1e-7, f"sigmoid_derivative: relative error {err:.2e} against the numerical derivative"


def test_derivative_bounds_and_peak(student, rng, record_property):
    """sigmoid_derivative: 0.25 at 0, in (0, 0.25] elsewhere, even function"""
    Z = rng.normal(scale=5.0, size=30)
    inputs = np.concatenate([[0.0], Z, -Z])
    d = student.sigmoid_derivative(inputs.copy())  # a copy: the plot's x are the inputs, whatever it does to its own
    s = true_sigmoid(inputs)
    record_curve(record_property, "sigmoid_derivative(z)", inputs, s * (1 - s), d, xlabel="z")
    check_array(d[:1], np.array([0.25]), "sigmoid_derivative(0)")
    check_array(d[1:31], d[31:], "sigmoid_derivative(z) vs sigmoid_derivative(-z)", rtol=1e-9, atol=1e-15,
                hint="the derivative is symmetric: s(1-s) is the same for z and -z")


def test_derivative_stable(student):
    """sigmoid_derivative: stable for large inputs"""
    Z = np.array([-1e4, -800.0, -2.0, 0.0, 1.5, 800.0, 1e4])
    call = "sigmoid_derivative([-1e4, -800, -2, 0, 1.5, 800, 1e4])"
    with no_warnings(call, hint=STABLE_HINT):
        d = student.sigmoid_derivative(Z)
    s = true_sigmoid(Z)
    check_array(d, s * (1 - s), call, atol=1e-12, hint="s * (1 - s) with s = sigmoid(Z), the stable sigmoid: 0 for "
                                                     "large |z|, 0.25 at 0")
