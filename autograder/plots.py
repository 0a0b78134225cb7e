"""Plot data for the feedback page, recorded by the hidden suites with pytest's ``record_property``.

A suite passes what the sandboxed worker already returned to the test (a student's output) beside what the grader
computed itself; it is stored as plain JSON data under :data:`dlcourse.testrun.PLOT`, one dict per plot, and drawn
later by :mod:`autograder.feedback_page`. A student's output may be anything (a list, a scalar, the wrong shape,
NaN, a handle to an object in the worker): these helpers never call it and never raise; what cannot be drawn is
left out and said in the plot's ``note``, so a plot can never cost a point.

The recorded dicts (a value that is not finite is stored as None: JSON has no NaN):

* ``{"kind": "curve", "title": str, "xlabel": str, "x": [n], "expected": [n], "actual": [n] or None, "note": str}``,
  sorted by x;
* ``{"kind": "training", "title": str, "history": {name: [epochs]}, "confusion": [[K x K counts]] or None,
  "note": str}``; ``confusion[i][j]`` counts the test samples of class ``i`` predicted as ``j``.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from dlcourse.testrun import PLOT

MAX_POINTS = 2000  # a curve's points kept (evenly spaced along x): plenty to draw, small in results.json
MAX_EPOCHS = 1000
MAX_CLASSES = 100
PLAIN = (np.ndarray, list, tuple, int, float, np.number)  # read as numbers; anything else only gets a note


def _never_raises(record):
    """A plot must never fail a test: any surprise in the data means no plot, not a lost point."""
    @functools.wraps(record)
    def guarded(*args, **kwargs):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                record(*args, **kwargs)
        except Exception:  # noqa: BLE001 - deliberately broad, see above
            pass
    return guarded


def _numbers(value, what: str) -> tuple[np.ndarray | None, str]:
    """``value`` as a float64 array, or None and a note saying why it is not drawn."""
    if isinstance(value, bool) or not isinstance(value, PLAIN):
        return None, f"{what} is a {type(value).__name__}, not numbers: not drawn"
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged nested lists and the like
        return None, f"{what} could not be read as an array of numbers: not drawn"
    if array.dtype.kind not in "biuf":
        return None, f"{what} holds {array.dtype} values, not real numbers: not drawn"
    return array.astype(np.float64), ""


def _floats(array: np.ndarray) -> list:
    """A 1-D float array as a list of floats, None where a value is not finite."""
    return [float(v) if np.isfinite(v) else None for v in array]


def _not_finite(array: np.ndarray, what: str) -> str:
    bad = int(np.size(array) - np.isfinite(array).sum())
    return f"{bad} of the {np.size(array)} values of {what} are NaN or infinite: left out" if bad else ""


@_never_raises
def record_curve(record_property, title: str, x, expected, actual, *, where=None, xlabel: str = "input") -> None:
    """Record an element-wise function's output against the expected one, over the inputs ``x`` of the test.

    ``x`` and ``expected``: the grader's arrays, any shape, the same shape (flattened together). ``actual``: what
    the student's function returned for ``x``; drawn only when it is numbers of ``expected``'s shape. ``where``: a
    boolean array of that shape picking the entries to draw (one branch of a function of two inputs), default all.
    """
    xs, _ = _numbers(x, "x")
    want, _ = _numbers(expected, "the expected output")
    if xs is None or want is None or xs.shape != want.shape or xs.size == 0:
        return  # the suite's own data does not make a curve: nothing to draw
    got, note = _numbers(actual, "your output")
    if got is not None and got.shape != want.shape:
        got, note = None, f"your output has shape {got.shape}, the expected one {want.shape}: not drawn"
    keep = np.ones(xs.size, dtype=bool) if where is None else np.asarray(where, dtype=bool).ravel()
    order = np.flatnonzero(keep)[np.argsort(xs.ravel()[keep], kind="stable")]
    if order.size == 0:
        return
    if order.size > MAX_POINTS:
        order = order[np.linspace(0, order.size - 1, MAX_POINTS).round().astype(int)]
    if got is not None:
        got = got.ravel()[order]
        note = _not_finite(got, "your output")
    record_property(PLOT, {"kind": "curve", "title": str(title), "xlabel": str(xlabel),
                           "x": _floats(xs.ravel()[order]), "expected": _floats(want.ravel()[order]),
                           "actual": None if got is None else _floats(got), "note": note})


@_never_raises
def record_training(record_property, title: str, history, labels=None, predictions=None,
                    keys: tuple[str, ...] | None = None) -> None:
    """Record a training run: its per-epoch history and the confusion matrix of its test predictions.

    ``history``: ``{name: per-epoch numbers}`` as the student's fit returned it (``keys`` picks the series to draw,
    default every 1-D series of numbers; names with "acc" in them are accuracies, the rest losses).
    ``labels``: the test set's true classes, integers ``(m,)`` (the grader's); ``predictions``: the student's
    predicted classes for them, ``(m,)``. The classes are ``0 .. max(labels)``.
    """
    notes, series = [], {}
    if not isinstance(history, dict):
        notes.append(f"the history is a {type(history).__name__}, not a dict of per-epoch values: not drawn")
        history = {}
    for name in keys if keys is not None else list(history):
        if name not in history:
            notes.append(f"the history has no {name!r}")
            continue
        values, note = _numbers(history[name], f"history[{name!r}]")
        if values is None or values.ndim != 1 or not 0 < values.size <= MAX_EPOCHS:
            if keys is not None:  # unasked entries that are no series (a stop reason) are simply not drawn
                notes.append(note or f"history[{name!r}] is not a list of up to {MAX_EPOCHS} per-epoch numbers: "
                                     "not drawn")
            continue
        series[str(name)] = _floats(values)
        notes.append(_not_finite(values, f"history[{name!r}]"))
    confusion = None
    if labels is not None:
        truth = np.asarray(labels).astype(np.int64)
        classes = int(truth.max()) + 1 if truth.size else 0
        guess, note = _numbers(predictions, "the predictions")
        if guess is not None and guess.shape != truth.shape:
            guess, note = None, f"the predictions have shape {guess.shape}, the labels {truth.shape}: not drawn"
        if guess is not None and 0 < classes <= MAX_CLASSES:
            known = np.isfinite(guess) & (guess == np.round(guess)) & (guess >= 0) & (guess < classes)
            counts = np.zeros((classes, classes), dtype=np.int64)
            np.add.at(counts, (truth[known], guess[known].astype(np.int64)), 1)
            confusion = counts.tolist()
            if not known.all():
                note = f"{int((~known).sum())} predictions are not a class 0..{classes - 1}: left out of the matrix"
        notes.append(note)
    note = "; ".join(n for n in notes if n)
    if series or confusion is not None or note:  # a run with nothing to draw still says why on the page
        record_property(PLOT, {"kind": "training", "title": str(title), "history": series, "confusion": confusion,
                               "note": note})
