"""Assertions that teach: used by the visible and the hidden chapter suites.

Every failure names the call that broke, shows the input (small ones in full), the expected and the
actual value, the largest error, and a hint for the mistake that usually causes it.
"""
from __future__ import annotations

import importlib.util
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest


def skip_unless_installed(module: str, reason: str) -> None:
    """At the top of a test module: skip the whole module, giving ``reason``, when ``module`` is not installed.

    Unlike ``pytest.importorskip`` it does not import the module: the tests call the student's code, which
    imports it where it is used, and importing PyTorch costs a grading process over a second of CPU.
    """
    __tracebackhide__ = True  # pytest reports the test module's line, not this one
    if importlib.util.find_spec(module) is None:
        pytest.skip(reason, allow_module_level=True)


def show(x, limit: int = 60) -> str:
    """A compact one-line picture of a value (arrays are summarised past ``limit`` elements)."""
    if isinstance(x, np.ndarray):
        if x.size <= limit:
            return np.array2string(x, precision=6, threshold=limit, max_line_width=10_000).replace("\n", "")
        return f"array of shape {x.shape}, dtype {x.dtype}, min {x.min():.6g}, max {x.max():.6g}"
    return repr(x)


def _fail(call: str, problem: str, hint: str | None) -> None:
    pytest.fail(f"{call}: {problem}" + (f"\nHint: {hint}" if hint else ""), pytrace=False)


def require(ok: bool, message: str) -> None:
    """Fail with ``message`` alone (no source lines of the test) unless ``ok``."""
    if not ok:
        pytest.fail(message, pytrace=False)


SCALE_FLOOR = 1e-12  # differences below this fraction of the expected values' size never fail a comparison


def _floor(expected: np.ndarray, atol: float) -> float:
    """``atol``, raised to SCALE_FLOOR of the largest expected magnitude: an entry far below the scale of its
    neighbours (a sigmoid of -1000, a dead unit's gradient) cannot fail on relative error alone."""
    finite = np.abs(expected[np.isfinite(expected)]) if expected.size else np.zeros(0)
    return max(atol, SCALE_FLOOR * float(finite.max())) if finite.size else atol


def _slip(actual, expected, slips: dict | None) -> str | None:
    """The hint of ``slips`` (``{factor: hint}``) whose factor turns the expected values into the actual ones
    (a loss with an extra 1/2 is off by 0.5, a sum instead of a mean by the number of entries, a sign by -1)."""
    if not slips:
        return None
    a, e = np.asarray(actual, dtype=np.float64).ravel(), np.asarray(expected, dtype=np.float64).ravel()
    if a.shape != e.shape or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return None
    scale = np.max(np.abs(e)) if e.size else 0.0
    if scale == 0:
        return None
    for factor, hint in slips.items():
        if np.allclose(a, factor * e, rtol=1e-6, atol=1e-9 * scale):
            return hint
    return None


def _dtype_hint(got, want, hint):
    """The usual cause of a result of dtype ``got`` where ``want`` was expected; the caller's hint otherwise."""
    got, want = np.dtype(got), np.dtype(want)
    if want == np.float32 and got == np.float64:
        return ("keep float32 input float32: a float64 array or constant mixed in (np.zeros(shape) without "
                "dtype=, np.array([...]) of floats) promotes the result to float64")
    if got.kind in "biu" and want.kind == "f":
        return "compute in floating point: convert the input with .astype(np.float64) before dividing or scaling"
    return hint or f"convert the result with .astype(np.{want})"


def check_array(actual, expected, call: str, *, rtol: float = 1e-7, atol: float = 1e-9,
                hint: str | None = None, dtype=None, slips: dict | None = None) -> np.ndarray:
    """Assert ``actual`` is an ndarray shaped like ``expected`` with close values; return it.

    ``call`` describes the input, e.g. ``"sigmoid(Z) with Z = [0, 1]"``. ``dtype`` (if given) is the dtype
    the result must have (checked by kind for floats: a float32 input keeps float32). The tolerance is
    ``rtol`` relative plus ``atol`` absolute, the latter never below 1e-12 of the expected values' largest
    magnitude. ``slips`` (``{factor: hint}``) names the mistake when the actual values are the expected ones
    times a known factor; otherwise ``hint`` is shown.
    """
    expected = np.asarray(expected)
    if not isinstance(actual, np.ndarray):
        _fail(call, f"expected a numpy array of shape {expected.shape}, got {type(actual).__name__} "
                    f"{show(actual)}", hint or "return a numpy array, not a list or a Python number")
    if actual.shape != expected.shape:
        _fail(call, f"expected shape {expected.shape}, got shape {actual.shape}", hint)
    if dtype is not None and actual.dtype != np.dtype(dtype):
        _fail(call, f"expected dtype {np.dtype(dtype)}, got {actual.dtype}", _dtype_hint(actual.dtype, dtype, hint))
    if actual.dtype.kind not in "biuf":
        _fail(call, f"expected numbers, got dtype {actual.dtype}", hint)
    atol = _floor(expected, atol)
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False):
        bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
        worst = np.nanmax(np.abs(actual.astype(np.float64) - expected)) if np.isfinite(actual).all() else np.inf
        _fail(call, f"wrong values at {int(bad.sum())} of {bad.size} positions (largest error {worst:.3g})\n"
                    f"  expected: {show(expected)}\n  actual:   {show(actual)}", _slip(actual, expected, slips) or hint)
    return actual


def check_unchanged(arg, before: np.ndarray, call: str, name: str, hint: str) -> None:
    """Fail, saying so, when ``call`` changed its input ``name`` in place (``before``: a copy from before the
    call): how many entries, and the array before and after."""
    if not np.array_equal(arg, before):
        what = (f"{np.count_nonzero(arg != before)} of its {before.size} entries" if np.shape(arg) == before.shape
                else f"its shape, from {before.shape} to {np.shape(arg)}")
        require(False, f"{call} changed its input {name} in place ({what})\n  {name} before the call: "
                       f"{show(before)}\n  {name} after the call:  {show(arg)}\nHint: {hint}")


def check_scalar(actual, expected: float, call: str, *, rtol: float = 1e-7, atol: float = 1e-12,
                 hint: str | None = None, slips: dict | None = None) -> float:
    """Assert ``actual`` is a real number (Python float or numpy scalar) close to ``expected`` (tolerances and
    ``slips`` as in :func:`check_array`)."""
    if isinstance(actual, np.ndarray) and actual.shape == ():
        actual = actual[()]
    if not isinstance(actual, (float, int, np.floating, np.integer)) or isinstance(actual, bool):
        _fail(call, f"expected a single number, got {type(actual).__name__} {show(actual)}",
              hint or "return a float (e.g. the mean over the batch), not an array")
    if not np.isclose(float(actual), expected, rtol=rtol, atol=_floor(np.asarray([expected], dtype=float), atol)):
        _fail(call, f"expected {expected:.10g}, got {float(actual):.10g}", _slip(actual, expected, slips) or hint)
    return float(actual)


def expect_raises(exc_type, fn, *args, call: str, hint: str | None = None, **kwargs) -> str:
    """Assert ``fn(*args, **kwargs)`` raises ``exc_type``; return the message for further checks."""
    try:
        result = fn(*args, **kwargs)
    except exc_type as exc:
        return str(exc)
    _fail(call, f"expected {exc_type.__name__}, but it returned {show(result)}", hint)


def best_time(fn, *args, repeat: int = 3, give_up: float = 2.0, **kwargs) -> float:
    """Best of ``repeat`` wall times of ``fn(*args, **kwargs)`` in seconds; stops early once a run is over
    ``give_up`` seconds (a loop that slow has already failed any speed check, no need to wait for it thrice)."""
    return timed(fn, *args, repeat=repeat, give_up=give_up, **kwargs)[0]


def timed(fn, *args, repeat: int = 3, give_up: float = 2.0, **kwargs) -> tuple[float, object]:
    """:func:`best_time` and the result of the last call: a speed test checks the values too (code that does
    nothing is fast)."""
    best, results = timed_each(lambda: fn(*args, **kwargs), [()] * repeat, give_up)
    return best, (results[-1] if results else None)


def timed_each(fn, inputs, give_up: float = 2.0) -> tuple[float, list]:
    """Best wall time of ``fn(*args)`` over ``inputs``, a list of argument tuples with different values, one per
    run; and the results of the runs made (stops early once a run is over ``give_up`` seconds).

    A speed check times fresh inputs every run: on one input repeated, code that is slow but remembers its answers
    is fast from the second run on (a max pooling of 1 s a call that cached its results passed a best-of-3 check).
    Check every result returned, not only the last: each is the answer to a new question.
    """
    best, results = float("inf"), []
    for args in inputs:
        start = time.perf_counter()
        results.append(fn(*args))
        best = min(best, time.perf_counter() - start)
        if best > give_up:
            break
    return best, results


def retimed(measure, passes, attempts: int = 2, pause: float = 0.5):
    """``measure()`` (a timing of the code under test, with any yardstick it is held against timed again inside
    it), taken again after ``pause`` seconds while ``passes(measurement)`` is false, up to ``attempts`` times in
    all; returns the last measurement.

    A speed check must not fail fast code because the machine stalled once. A best-of-3 timing does not protect
    against that when it gives up after one slow run: graded beside a busy test suite (a run queue of 14 on 2
    cores), a max pooling the reference does in 5.7 ms once took 3.3 s. Slow code fails every attempt; only code
    that fails pays for the second one. An exception (a stub) propagates at once. ``measure`` draws new inputs each
    time (see :func:`timed_each`): inputs seen in the first attempt would be remembered in the second.
    """
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        measurement = measure()
        if passes(measurement):
            break
    return measurement


@contextmanager
def no_warnings(call: str, hint: str | None = None):
    """Fail if the block emits a warning (overflow in exp, division by zero, ...)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught:
        _fail(call, f"emitted a warning: {caught[0].category.__name__}: {caught[0].message}", hint)
