"""Hidden suite, chapter 3.5: random multi-class labels against a reference computed here, macro averages,
empty classes, shape and label-range errors, vectorisation."""

import time

import numpy as np
import pytest

from autograder.sandbox.proxy import student_code_paused
from dlcourse.testing import (best_time, check_array, check_scalar, expect_raises, no_warnings, require, retimed,
                              timed_each)

ORIENTATION_HINT = "rows are the TRUE class, columns the PREDICTED class: C[y_true[i], y_pred[i]] += 1 (not transposed)"
ZERO_HINT = ("0 / 0 gives NaN and a warning: divide only where the denominator is > 0, e.g. "
             "np.divide(tp, total, out=np.zeros_like(tp), where=total > 0)")


def reference_confusion(y_true, y_pred, K):
    C = np.zeros((K, K), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        C[t, p] += 1
    return C


def reference_scores(y_true, y_pred, K):
    """Per-class precision, recall, F1 written out class by class (0 where undefined)."""
    C = reference_confusion(y_true, y_pred, K)
    p, r, f = np.zeros(K), np.zeros(K), np.zeros(K)
    for k in range(K):
        if C[:, k].sum():
            p[k] = C[k, k] / C[:, k].sum()
        if C[k, :].sum():
            r[k] = C[k, k] / C[k, :].sum()
        if p[k] + r[k]:
            f[k] = 2 * p[k] * r[k] / (p[k] + r[k])
    return p, r, f


def random_labels(rng, K=None, m=None):
    """Imbalanced multi-class labels and predictions that are right about 60% of the time."""
    K = int(rng.integers(3, 7)) if K is None else K
    m = int(rng.integers(30, 120)) if m is None else m
    y_true = rng.choice(K, size=m, p=rng.dirichlet(np.ones(K)) * 0.5 + 0.5 / K)
    y_pred = np.where(rng.random(m) < 0.6, y_true, rng.integers(0, K, size=m))
    y_true[0], y_pred[0] = K - 1, K - 1  # the largest label occurs, so K is what num_classes=None infers
    return y_true, y_pred, K


# ---------------------------------------------------------------- accuracy

def test_accuracy_random(student, rng):
    """accuracy: random multi-class labels"""
    y_true, y_pred, K = random_labels(rng)
    check_scalar(student.accuracy(y_true, y_pred), float(np.mean(y_true == y_pred)),
                 f"accuracy on {y_true.size} random labels of {K} classes", hint="np.mean(y_true == y_pred)")


@pytest.mark.parametrize("shapes", [((6,), (7,)), ((7,), (6,)), ((6,), (1,)), ((1,), (6,)), ((6,), (6, 1)),
                                    ((3, 2), (3, 2)), ((), ())],
                         ids=["lengths", "true-longer", "one-prediction", "one-label", "column-vs-vector", "both-2d",
                              "both-0d"])
def test_accuracy_shape_mismatch(student, rng, shapes):
    """accuracy: shape mismatch raises ValueError naming both shapes"""
    y_true, y_pred = rng.integers(0, 3, size=shapes[0]), rng.integers(0, 3, size=shapes[1])
    call = f"accuracy(y_true {y_true.shape}, y_pred {y_pred.shape})"
    msg = expect_raises(ValueError, student.accuracy, y_true, y_pred, call=call,
                        hint="check y_true.shape == y_pred.shape (both (m,)): y_true == y_pred with a (6,) and a "
                             "(6, 1) array broadcasts to a (6, 6) table and gives a meaningless number")
    assert str(shapes[0]) in msg and str(shapes[1]) in msg, (
        f"{call}: the ValueError should name both shapes, got {msg!r}\nHint: the labels must be 1-D, (m,), and of "
        "the same shape: check y_true.ndim == 1 and y_true.shape == y_pred.shape (== or !=, not < or >)")


def test_accuracy_one_and_no_sample(student, rng):
    """accuracy: one sample works (0 or 1); no samples raise ValueError"""
    label = int(rng.integers(0, 5))
    for pred, want in ((label, 1.0), (label + 1, 0.0)):
        check_scalar(student.accuracy(np.array([label]), np.array([pred])), want,
                     f"accuracy(y_true = [{label}], y_pred = [{pred}])", hint="one sample is a valid batch")
    expect_raises(ValueError, student.accuracy, np.array([], dtype=int), np.array([], dtype=int),
                  call="accuracy(empty y_true, empty y_pred)",
                  hint="the mean of no samples is undefined (np.mean([]) warns and gives nan): raise ValueError")


# ---------------------------------------------------------------- confusion_matrix

@pytest.mark.points(2)
def test_confusion_random(student, rng):
    """confusion_matrix: random multi-class labels"""
    for _ in range(3):
        y_true, y_pred, K = random_labels(rng)
        C = check_array(student.confusion_matrix(y_true, y_pred), reference_confusion(y_true, y_pred, K),
                        f"confusion_matrix on {y_true.size} random labels of {K} classes", rtol=0, atol=0,
                        hint=ORIENTATION_HINT)
        assert C.dtype.kind in "iu", f"confusion_matrix: expected an integer array of counts, got dtype {C.dtype}"


def test_confusion_orientation(student, rng):
    """confusion_matrix: rows are true classes, columns predictions"""
    m = int(rng.integers(3, 9))
    y_true, y_pred = np.zeros(m, dtype=int), np.full(m, 2)
    expected = np.zeros((3, 3), dtype=int)
    expected[0, 2] = m
    check_array(student.confusion_matrix(y_true, y_pred), expected,
                f"confusion_matrix(y_true = {m} zeros, y_pred = {m} twos)", rtol=0, atol=0, hint=ORIENTATION_HINT)


def test_confusion_num_classes_given(student, rng):
    """confusion_matrix: num_classes larger than the labels gives empty rows and columns"""
    y_true, y_pred, K = random_labels(rng, K=3)
    C = student.confusion_matrix(y_true, y_pred, num_classes=5)
    expected = np.zeros((5, 5), dtype=int)
    expected[:3, :3] = reference_confusion(y_true, y_pred, 3)
    check_array(C, expected, "confusion_matrix(labels in 0..2, num_classes=5)", rtol=0, atol=0,
                hint="with num_classes=K the matrix is (K, K) even when some classes never occur "
                     "(np.bincount(..., minlength=K * K))")


def test_confusion_infers_classes_from_both(student, rng):
    """confusion_matrix: num_classes=None also counts a class that is only predicted"""
    y_true = rng.integers(0, 3, size=10)
    y_pred = y_true.copy()
    y_pred[int(rng.integers(10))] = 4
    check_array(student.confusion_matrix(y_true, y_pred), reference_confusion(y_true, y_pred, 5),
                "confusion_matrix with true labels in 0..2 and one prediction of 4", rtol=0, atol=0,
                hint="K = max(y_true.max(), y_pred.max()) + 1: a class may occur in the predictions only")


@pytest.mark.parametrize("case", ["minus-one-true", "negative-true", "too-large-pred", "far-too-large-pred",
                                  "too-large-no-zero"])
def test_confusion_label_range(student, rng, case):
    """confusion_matrix: a label outside 0..K-1 raises ValueError naming it"""
    y_true, y_pred = rng.integers(0, 3, size=8), rng.integers(0, 3, size=8)
    y_pred[0] = 0  # a 0 among the predictions: the message must name the bad label, not the smallest one
    if case == "minus-one-true":
        y_true[3], bad, kwargs = -1, "-1", {}
    elif case == "negative-true":
        y_true[3], bad, kwargs = -4, "-4", {}
    elif case == "too-large-pred":
        y_pred[5], bad, kwargs = 3, "3", {"num_classes": 3}
    elif case == "far-too-large-pred":
        y_pred[5], bad, kwargs = 7, "7", {"num_classes": 3}
    else:
        y_pred = rng.integers(1, 3, size=8)
        y_pred[5], bad, kwargs = 7, "7", {"num_classes": 3}
    call = f"confusion_matrix(y_true, y_pred{', num_classes=3' if kwargs else ''}) with the label {bad}"
    msg = expect_raises(ValueError, student.confusion_matrix, y_true, y_pred, **kwargs, call=call,
                        hint="check 0 <= label < num_classes for both arrays: a -1 would silently count as the "
                             "last class, a too-large label would land in the wrong cell or crash")
    assert bad in msg, f"{call}: the ValueError should name the label {bad}, got {msg!r}"


@pytest.mark.parametrize("shapes", [((5,), (4,)), ((4,), (5,)), ((5,), (1,)), ((1,), (5,)), ((3, 2), (3, 2)),
                                    ((), ())],
                         ids=["pred-shorter", "true-shorter", "one-prediction", "one-label", "both-2d", "both-0d"])
def test_confusion_shape_mismatch(student, rng, shapes):
    """confusion_matrix: shapes that differ or are not 1-D raise ValueError naming both shapes"""
    y_true, y_pred = rng.integers(0, 3, size=shapes[0]), rng.integers(0, 3, size=shapes[1])
    call = f"confusion_matrix(y_true {y_true.shape}, y_pred {y_pred.shape})"
    msg = expect_raises(ValueError, student.confusion_matrix, y_true, y_pred, call=call,
                        hint="check y_true.ndim == 1 and y_true.shape == y_pred.shape (== or !=, not < or >) and "
                             "raise ValueError")
    assert str(shapes[0]) in msg and str(shapes[1]) in msg, (
        f"{call}: the ValueError should name both shapes, got {msg!r}")


def test_confusion_float_labels(student, rng):
    """confusion_matrix: whole-number float labels count like integers; 1.5 raises ValueError"""
    y_true, y_pred, K = random_labels(rng, K=3, m=12)
    check_array(student.confusion_matrix(y_true.astype(float), y_pred.astype(float)),
                reference_confusion(y_true, y_pred, K), "confusion_matrix(y_true as floats 0.0, 1.0, 2.0, y_pred "
                "as floats)", rtol=0, atol=0, hint="whole-number floats are labels too: convert them with "
                                                   ".astype(np.int64) after checking they are whole")
    for name in ("y_true", "y_pred"):
        args = {"y_true": y_true.astype(float), "y_pred": y_pred.astype(float)}
        args[name][4] = 1.5
        expect_raises(ValueError, student.confusion_matrix, args["y_true"], args["y_pred"],
                      call=f"confusion_matrix(...) with {name}[4] = 1.5",
                      hint="a label must be a whole number: check np.array_equal(y, np.round(y)) for float labels "
                           "of both arrays (.astype(int) would silently truncate 1.5 to 1)")


def test_confusion_one_and_no_sample(student, rng):
    """confusion_matrix: one sample gives a 1 in its cell; no samples: zeros with num_classes, else ValueError"""
    a, b = (int(v) for v in rng.integers(0, 4, size=2))
    K = max(a, b) + 1
    want = np.zeros((K, K), dtype=int)
    want[a, b] = 1
    check_array(student.confusion_matrix(np.array([a]), np.array([b])), want,
                f"confusion_matrix(y_true = [{a}], y_pred = [{b}])", rtol=0, atol=0, hint="one sample is a valid batch")
    empty = np.array([], dtype=int)
    check_array(student.confusion_matrix(empty, empty, num_classes=3), np.zeros((3, 3), dtype=int),
                "confusion_matrix(empty, empty, num_classes=3)", rtol=0, atol=0,
                hint="with num_classes given, no samples give a (K, K) matrix of zeros")
    expect_raises(ValueError, student.confusion_matrix, empty, empty, call="confusion_matrix(empty, empty)",
                  hint="without num_classes and without labels there is no K to infer: raise ValueError")



LOOP_SAMPLE = 200_000  # labels the Python-loop yardstick counts (about 0.06 s)


def _loop_cpu_seconds(y_true, y_pred, K):
    """The loop the test must stop, on a sample: CPU seconds of this thread, the yardstick of a loop on this machine.

    CPU time, not the wall clock: the submission runs in a sandbox worker with a session of its own, and Linux's
    autogroup scheduler gives each session an equal share of the CPUs. On a loaded machine the grader's session
    (with the whole test run or class in it) gets a crowded share while the worker gets a full one: timed by the
    wall clock here, the yardstick slowed two-fold where the submission's loop did not, and a loop got through
    (measured: 4 busy processes in one session slow a loop there 0.087 -> 0.189 s, one in its own session not
    at all). CPU time is the loop's cost with a CPU to itself, as the worker has it."""
    start = time.thread_time()
    C = np.zeros((K, K), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        C[t, p] += 1
    return time.thread_time() - start


@pytest.mark.points(2)
def test_confusion_is_vectorized(student, rng):
    """confusion_matrix: vectorised (no Python loop over samples)"""
    m, K = 5_000_000, 4  # few classes: a loop over the K * K class pairs (not over samples) passes too
    def measure():
        # int8 labels: cheap to send to the submission, and slow to loop over element by element; new labels every
        # run and attempt, so that remembered answers make no later run fast
        inputs = [(rng.integers(0, K, size=m, dtype=np.int8), rng.integers(0, K, size=m, dtype=np.int8))
                  for _ in range(3)]
        took, results, loop = float("inf"), [], float("inf")
        for y_true, y_pred in inputs:
            # Each run (first: a stub fails here, before the yardsticks), then the loop's yardstick at once: the
            # same spells of load slow both. Timed in one burst after all the runs, the yardstick once caught a busy
            # spell the runs had missed, and a loop got through.
            run, done = timed_each(student.confusion_matrix, [(y_true, y_pred)])
            took, results = min(took, run), results + done
            with student_code_paused(student):  # the yardsticks on a machine the submission does not slow down
                loop = min(loop, _loop_cpu_seconds(y_true[:LOOP_SAMPLE], y_pred[:LOOP_SAMPLE], K))
            if took > 2.0:  # as timed_each gives up: a slow submission is not timed three times
                break
        loop *= m / LOOP_SAMPLE
        y_true, y_pred = inputs[0]
        with student_code_paused(student):
            reference = best_time(lambda a, b: np.bincount(K * a.astype(np.int64) + b, minlength=K * K), y_true,
                                  y_pred)
        # Per sample, graded: np.bincount about 15 ns (most of it sending the labels), np.add.at 15-150 ns, one-hot
        # matrices multiplied about 60 ns, a Python loop 300-900 ns. The limit (0.5 s plus 25 times the bincount
        # here, about 1 s) lets every vectorised way through and stops the loops. The bincount is memory-bound and
        # slows more than a loop on a crowded machine, which once let a loop through: so the limit is also at most
        # half of what a Python loop over all the labels costs on this machine (timed on a sample, in CPU time:
        # see _loop_cpu_seconds).
        return took, list(zip(inputs, results)), min(0.5 + 25 * reference, 0.5 * loop)

    took, runs, limit = retimed(measure, lambda m: m[0] < m[2])
    assert took < limit, (
        f"confusion_matrix on {m:,} labels of {K} classes took {took:.2f} s (best of {len(runs)}, new labels each "
        f"run); the limit is {limit:.2f} s.\nHint: no Python loop over the samples: np.bincount(K * y_true + "
        "y_pred, minlength=K * K).reshape(K, K), or np.add.at(C, (y_true, y_pred), 1)")
    for (y_true, y_pred), C in runs:
        expected = np.bincount(K * y_true.astype(np.int64) + y_pred, minlength=K * K).reshape(K, K)
        check_array(C, expected, f"confusion_matrix on {m:,} int8 labels of {K} classes", rtol=0, atol=0,
                    hint=ORIENTATION_HINT + "; count in an integer type wide enough for millions (not int8: it wraps "
                                            "around at 127)")


# ---------------------------------------------------------------- precision_recall_f1

@pytest.mark.points(2)
def test_per_class_random(student, rng):
    """precision_recall_f1: per-class values on random multi-class labels"""
    y_true, y_pred, K = random_labels(rng)
    got = student.precision_recall_f1(y_true, y_pred, average=None)
    hints = ("precision[k] = C[k, k] / C[:, k].sum(): divided by the column (everything PREDICTED as k)",
             "recall[k] = C[k, k] / C[k, :].sum(): divided by the row (everything that truly IS k)",
             "f1[k] = 2 * p[k] * r[k] / (p[k] + r[k]), class by class")
    for name, value, expected, hint in zip(("precision", "recall", "F1"), got, reference_scores(y_true, y_pred, K),
                                           hints):
        check_array(value, expected, f"{name} per class (average=None) on {y_true.size} labels of {K} classes",
                    rtol=1e-9, hint=hint)


@pytest.mark.points(2)
def test_macro_random(student, rng):
    """precision_recall_f1: macro averages on imbalanced random labels"""
    y_true, y_pred, K = random_labels(rng)
    p, r, f = reference_scores(y_true, y_pred, K)
    support = np.bincount(y_true, minlength=K) / y_true.size
    f1_of_means = 2 * p.mean() * r.mean() / (p.mean() + r.mean())
    got = student.precision_recall_f1(y_true, y_pred)
    if not isinstance(got, tuple) or len(got) != 3:
        pytest.fail(f"precision_recall_f1(..., average='macro'): expected a tuple of 3 floats, got {got!r}",
                    pytrace=False)
    for name, value, per_class in zip(("precision", "recall", "F1"), got, (p, r, f)):
        if np.ndim(value) == 0 and np.isclose(float(value), per_class @ support, rtol=1e-9) \
                and not np.isclose(per_class @ support, per_class.mean(), rtol=1e-9):
            pytest.fail(f"macro {name}: got {float(value):.6f}, the average WEIGHTED by support; the macro average "
                        f"is the plain mean over classes, {per_class.mean():.6f}.\nHint: every class weighs the same "
                        "in a macro average: per_class.mean(), not weighted by support", pytrace=False)
        if name == "F1" and np.ndim(value) == 0 and np.isclose(float(value), f1_of_means, rtol=1e-9) \
                and not np.isclose(f.mean(), f1_of_means, rtol=1e-9):
            pytest.fail("macro F1: got the F1 of the macro precision and recall.\nHint: the macro F1 is the mean of "
                        "the per-class F1 values: f1_per_class.mean()", pytrace=False)
        check_scalar(value, per_class.mean(), f"macro {name} on {y_true.size} labels of {K} classes", rtol=1e-9,
                     hint="average='macro': the plain mean of the per-class values, every class weighing the same")


@pytest.mark.points(2)
def test_empty_classes(student, rng):
    """precision_recall_f1: absent or never-predicted classes give 0 without NaN or warning"""
    y_true, y_pred, _ = random_labels(rng, K=3)
    y_pred[y_pred == 1] = 0  # class 1 is never predicted
    K = 5  # classes 3 and 4 occur nowhere
    with no_warnings("precision_recall_f1 with class 1 never predicted and classes 3, 4 absent", hint=ZERO_HINT):
        per_class = student.precision_recall_f1(y_true, y_pred, num_classes=K, average=None)
        macro = student.precision_recall_f1(y_true, y_pred, num_classes=K)
    for name, value, expected in zip(("precision", "recall", "F1"), per_class, reference_scores(y_true, y_pred, K)):
        check_array(value, expected, f"{name} per class, num_classes=5 with empty classes", rtol=1e-9,
                    hint=ZERO_HINT)
    for name, value, expected in zip(("precision", "recall", "F1"), macro, reference_scores(y_true, y_pred, K)):
        check_scalar(value, expected.mean(), f"macro {name}, num_classes=5 with empty classes", rtol=1e-9,
                     hint="the macro mean runs over all K classes, the empty ones counting 0")


def test_f1_of_a_weak_class(student, rng):
    """precision_recall_f1: a class with precision 1/4 and recall 1/2 (their sum below 1) has F1 = 1/3"""
    y_true, y_pred = np.array([0, 0, 0, 0, 1, 1]), np.array([1, 1, 1, 0, 1, 0])
    order = rng.permutation(6)
    _, _, f1 = student.precision_recall_f1(y_true[order], y_pred[order], average=None)
    check_array(f1, reference_scores(y_true, y_pred, 2)[2], f"F1 per class of precision_recall_f1(y_true = "
                f"{y_true[order].tolist()}, y_pred = {y_pred[order].tolist()}, average=None)", rtol=1e-9,
                hint="F1 = 2 p r / (p + r) wherever p + r > 0 (not only where it exceeds 1)")


def test_perfect_predictions(student, rng):
    """precision_recall_f1: perfect predictions give 1, 1, 1"""
    y_true, _, K = random_labels(rng)
    got = student.precision_recall_f1(y_true, y_true.copy())
    require(isinstance(got, (tuple, list)) and len(got) == 3,
            f"precision_recall_f1(y_true, y_true) ({K} classes): expected the triple (precision, recall, f1), got "
            f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '-'}")
    for name, value in zip(("precision", "recall", "F1"), got):
        check_scalar(value, 1.0, f"macro {name} when y_pred == y_true ({K} classes, all present)")


def test_label_errors_propagate(student, rng):
    """precision_recall_f1: a label outside 0..K-1 raises ValueError"""
    y_true, y_pred = rng.integers(0, 3, size=6), rng.integers(0, 3, size=6)
    y_true[2] = 7
    expect_raises(ValueError, student.precision_recall_f1, y_true, y_pred, num_classes=3,
                  call="precision_recall_f1(y_true with a 7, y_pred, num_classes=3)",
                  hint="build on confusion_matrix, which checks the label range")


def test_unknown_average(student, rng):
    """precision_recall_f1: an unknown average raises ValueError"""
    y_true, y_pred, _ = random_labels(rng, K=3, m=10)
    expect_raises(ValueError, student.precision_recall_f1, y_true, y_pred, average="median",
                  call="precision_recall_f1(..., average='median')",
                  hint="accept only average='macro' and average=None; raise ValueError otherwise")
