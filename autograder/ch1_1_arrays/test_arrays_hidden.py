"""Hidden suite, chapter 1.1: random inputs from the grader's seed, edge cases, dtypes."""
import numpy as np
import pytest

from dlcourse.testing import check_array, expect_raises, no_warnings


def reference(X, axis=None, eps=1e-8):
    X = np.asarray(X, dtype=np.float64)
    return (X - X.mean(axis=axis, keepdims=True)) / (X.std(axis=axis, keepdims=True) + eps)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_random_batches(student, rng, axis):
    """normalize: random (m, n) batches on every axis"""
    m, n = rng.integers(2, 9, size=2)
    X = rng.normal(loc=rng.uniform(-50, 50), scale=rng.uniform(0.1, 20), size=(m, n))
    check_array(student.normalize(X, axis=axis), reference(X, axis), f"normalize(X, axis={axis}), X {X.shape}",
                rtol=1e-6, atol=1e-7, hint="mean and std must be taken over the given axis, with keepdims")


def test_per_feature_statistics(student, rng):
    """normalize: axis=0 leaves each column with mean 0 and std 1"""
    X = rng.normal(size=(50, 4)) * np.array([1.0, 10.0, 100.0, 1000.0]) + 7.0
    out = student.normalize(X, axis=0)
    check_array(out.mean(axis=0), np.zeros(4), "column means after normalize(X, axis=0)", atol=1e-9)
    check_array(out.std(axis=0), np.ones(4), "column stds after normalize(X, axis=0)", rtol=1e-6,
                hint="use the population std (np.std, ddof=0), per column")


def test_per_feature_differs_from_global(student, rng):
    """normalize: axis=0 and axis=None give different answers on features of different scales"""
    X = rng.normal(size=(20, 2)) * np.array([1.0, 100.0])
    check_array(student.normalize(X, axis=0), reference(X, 0), "normalize(X, axis=0)", rtol=1e-6,
                hint="axis=0 must not fall back to a global mean and std")


def test_constant_columns_no_nan_no_warning(student, rng):
    """normalize: constant columns give 0 without NaN or a warning"""
    X = np.repeat(rng.normal(size=(1, 4)), 6, axis=0)
    X[:, 1::2] = rng.normal(size=(6, 2))  # columns 0 and 2 constant, 1 and 3 not
    call = "normalize(X, axis=0) with constant columns 0 and 2"
    with no_warnings(call, hint="add eps to the std before dividing"):
        out = student.normalize(X, axis=0)
    check_array(out, reference(X, 0), call, rtol=1e-6, atol=1e-6,
                hint="a constant column has std 0: add eps to the std before dividing, and it becomes 0; the other "
                     "columns are standardised as usual")


def test_input_not_mutated(student, rng):
    """normalize: the input array is left untouched"""
    X = rng.normal(size=(5, 3))
    before = X.copy()
    out = student.normalize(X, axis=0)
    check_array(X, before, "X after normalize(X, axis=0)", rtol=0, atol=0,
                hint="X -= mean changes the caller's array; compute (X - mean) into a new one")
    check_array(out, reference(before, 0), "normalize(X, axis=0), X (5, 3)", rtol=1e-6, atol=1e-7,
                hint="return (X - mean) / (std + eps), a new array of X's shape")


def test_float32_stays_float32(student, rng):
    """normalize: float32 input keeps its dtype"""
    X = rng.normal(size=(4, 3)).astype(np.float32)
    check_array(student.normalize(X, axis=0), reference(X, 0), "normalize(X float32, axis=0)", rtol=1e-4,
                atol=1e-5, dtype=np.float32)


def test_integer_input(student):
    """normalize: integer and float16 input give a float64 result"""
    X = np.array([[0, 2], [2, 4]])
    check_array(student.normalize(X, axis=0), reference(X, 0), "normalize(int array, axis=0)", rtol=1e-6,
                dtype=np.float64, hint="convert to float before subtracting, or integer division will truncate")
    half = np.array([[0.5, 2.0], [2.5, 4.0]], dtype=np.float16)
    check_array(student.normalize(half, axis=0), reference(half, 0), "normalize(float16 array, axis=0)", rtol=1e-6,
                dtype=np.float64, hint="only float32 keeps its dtype; anything else (float16 too) becomes float64: "
                                       "X.astype(np.float32 if X.dtype == np.float32 else np.float64)")


def test_eps_is_added_to_the_std(student, rng):
    """normalize: eps is added to the std (checked with a large eps)"""
    X = rng.normal(size=(4, 3)) * 2.0
    check_array(student.normalize(X, axis=0, eps=0.5), reference(X, 0, eps=0.5),
                "normalize(X (4, 3), axis=0, eps=0.5)", rtol=1e-9, atol=1e-12, hint="divide by (std + eps), with the eps argument (not a constant of your "
                                            "own), added to the std, not subtracted")


def test_empty_input_raises(student):
    """normalize: an empty array raises ValueError"""
    expect_raises(ValueError, student.normalize, np.zeros((0, 3)), axis=0, call="normalize(np.zeros((0, 3)))",
                  hint="check X.size == 0 and raise ValueError with the shape")
