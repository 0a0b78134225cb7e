"""Hidden suite, chapter 1.2: random shapes from the grader's seed, mismatches, broadcasting, speed."""
import time

import numpy as np
import pytest

from autograder.sandbox.proxy import student_code_paused
from dlcourse.testing import best_time, check_array, expect_raises, retimed


def random_layer(rng):
    m, n, k = (int(v) for v in rng.integers(1, 12, size=3))
    return rng.normal(size=(m, n)), rng.normal(size=(n, k)), rng.normal(size=k)


def test_matrix_multiply_random(student, rng):
    """matrix_multiply: random shapes"""
    for _ in range(3):
        X, W, _b = random_layer(rng)
        check_array(student.matrix_multiply(X, W), X @ W, f"matrix_multiply(X {X.shape}, W {W.shape})",
                    rtol=1e-10, atol=1e-12, hint="the result is (m, k): rows of X times columns of W")


def test_matrix_multiply_not_square(student, rng):
    """matrix_multiply: a tall X by a wide W (catches swapped indices)"""
    X, W = rng.normal(size=(7, 2)), rng.normal(size=(2, 5))
    check_array(student.matrix_multiply(X, W), X @ W, "matrix_multiply(X (7, 2), W (2, 5))", rtol=1e-10,
                hint="loop bounds or indices swapped? the result must be (7, 5)")


@pytest.mark.parametrize("shapes", [((3, 4), (5, 2)), ((3, 5), (4, 2)), ((4,), (4, 2)), ((2, 4, 4), (4, 2)),
                                    ((2, 3), (3, 2, 1)), ((2, 3), (3,))],
                         ids=["inner-mismatch", "inner-larger", "1d-X", "3d-X", "3d-W", "1d-W"])
def test_matrix_multiply_rejects_bad_shapes(student, shapes):
    """matrix_multiply: ValueError naming both shapes"""
    X, W = np.ones(shapes[0]), np.ones(shapes[1])
    msg = expect_raises(ValueError, student.matrix_multiply, X, W, call=f"matrix_multiply(X {X.shape}, W {W.shape})",
                        hint="check X.ndim == W.ndim == 2 and X.shape[1] == W.shape[0]")
    assert str(X.shape) in msg and str(W.shape) in msg, (
        f"matrix_multiply(X {X.shape}, W {W.shape}): the ValueError should name both shapes, got {msg!r}")


def test_matrix_multiply_large_inner_size(student, rng):
    """matrix_multiply: an inner size of 300 (sizes compared by value)"""
    X, W = rng.normal(size=(2, 300)), rng.normal(size=(300, 3))
    check_array(student.matrix_multiply(X, W), X @ W, "matrix_multiply(X (2, 300), W (300, 3))", rtol=1e-10,
                atol=1e-12, hint="compare sizes with == / != (values), never with `is` / `is not` (object identity: "
                                 "equal ints above 256 are different objects)")


def test_dense_forward_random(student, rng):
    """dense_forward: random layers"""
    for _ in range(3):
        X, W, b = random_layer(rng)
        check_array(student.dense_forward(X, W, b), X @ W + b, f"dense_forward(X {X.shape}, W {W.shape}, b {b.shape})",
                    rtol=1e-10, atol=1e-12, hint="Z = X @ W + b")


def test_dense_forward_bias_per_column(student, rng):
    """dense_forward: b is added per output column, not per row"""
    X, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 4))
    b = np.array([1.0, 2.0, 3.0, 4.0])
    check_array(student.dense_forward(X, W, b), X @ W + b, "dense_forward(X (4, 3), W (3, 4), b (4,))",
                hint="b[j] belongs to output unit j: add b to each row (b[None, :]), not to each column")


@pytest.mark.parametrize("b_shape", [(3, 1), (5,), (1,)], ids=["column", "wrong-length", "length-1"])
def test_dense_forward_rejects_bad_bias(student, rng, b_shape):
    """dense_forward: a bias of the wrong shape raises ValueError"""
    X, W = rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
    msg = expect_raises(ValueError, student.dense_forward, X, W, np.ones(b_shape),
                        call=f"dense_forward(X (3, 2), W (2, 3), b {b_shape})",
                        hint="check b.shape == (W.shape[1],): a (3, 1) bias broadcasts silently into a wrong result")
    assert str(b_shape) in msg, f"the ValueError should name b's shape {b_shape}, got {msg!r}"


def _best_times(fn, rounds, give_up=2.0):
    """Best time of ``fn`` on each kind of input over ``rounds`` (each round a list of argument tuples, one per kind,
    with new values: remembered answers make no later round fast), the kinds interleaved so load hits them alike;
    and the results, round by round."""
    best, results = [np.inf] * len(rounds[0]), []
    for inputs in rounds:
        results.append([])
        for i, args in enumerate(inputs):
            t = time.perf_counter()
            results[-1].append(fn(*args))
            best[i] = min(best[i], time.perf_counter() - t)
        if max(best) > give_up:
            break
    return best, results


@pytest.mark.points(2)
def test_matrix_multiply_is_vectorized(student, rng):
    """matrix_multiply: vectorised (no Python loops over entries)"""
    def measure():
        rounds = [[tuple(rng.normal(size=(n, n)) for _ in range(2)) for n in (20, 200)] for _ in range(3)]
        best, results = _best_times(student.matrix_multiply, rounds)
        with student_code_paused(student):  # the yardstick on a machine the submission does not slow down
            reference = best_time(np.matmul, *rounds[0][1])
        # As for 4.2's convolution: passing the arrays to a graded submission and back costs a few ms, up to
        # ~0.2 s on a busy machine; Python loops over the 8 million products take seconds.
        return best, list(zip(rounds, results)), reference, 0.4 + 40 * reference

    def fast(m):
        (small, big), _, _, limit = m
        return (big < 0.03 or big / small < 60) and big < limit

    # 100x more outputs: loops over them take ~100-1000x longer; a vectorised call is dominated by the cost of
    # the call itself (a few ms when graded, passing the arrays to another process), so the ratio stays small.
    # Compared on the same machine at the same moment, the ratio does not depend on how busy the machine is. The
    # ratio alone let a triple loop through that slept 0.15 s on the small input (5.2 s against 0.2 s): the
    # large product must also stay under a limit set by the reference's time.
    (t_small, t_big), runs, reference, limit = retimed(measure, fast)
    ratio = t_big / t_small
    assert t_big < 0.03 or ratio < 60, (
        f"matrix_multiply took {t_big * 1e3:.1f} ms on (200, 200) @ (200, 200) but {t_small * 1e3:.2f} ms on "
        f"(20, 20) @ (20, 20): {ratio:.0f}x longer for 100x more outputs, as Python loops over the entries do.\n"
        "Hint: use X @ W (or np.dot) instead of Python loops")
    assert t_big < limit, (
        f"matrix_multiply took {t_big * 1e3:.0f} ms on (200, 200) @ (200, 200); X @ W takes {reference * 1e3:.2f} "
        f"ms here and the limit is {limit * 1e3:.0f} ms.\nHint: use X @ W (or np.dot) instead of Python loops")
    for inputs, outs in runs:
        for (X, W), out in zip(inputs, outs):
            check_array(out, X @ W, f"matrix_multiply(X {X.shape}, W {W.shape})", rtol=1e-10, atol=1e-12,
                        hint="the result is (m, k): rows of X times columns of W")
