"""Visible tests for chapter 3.5 (run: pytest exercises/ch3_5_evaluation)."""
import numpy as np

from dlcourse.testing import check_array, check_scalar, check_unchanged, no_warnings

KEEP_HINT = "compare and count into new arrays; leave the caller's labels as they were"


def labels():
    """Fresh (y_true, y_pred) for every test. 3 classes, 8 samples: class 0 is found twice out of 3, class 2 is
    predicted once wrongly."""
    return np.array([0, 0, 0, 1, 1, 2, 2, 2]), np.array([0, 0, 1, 1, 1, 2, 2, 0])


def check_labels_unchanged(y_true, y_pred, call):
    """Fail, saying so, when ``call`` changed the labels it was given."""
    for name, arg, before in zip(("y_true", "y_pred"), (y_true, y_pred), labels()):
        check_unchanged(arg, before, call, name, KEEP_HINT)


def test_accuracy(student):
    """accuracy: the share of correct predictions"""
    y_true, y_pred = labels()
    out = student.accuracy(y_true, y_pred)
    check_labels_unchanged(y_true, y_pred, "accuracy(y_true, y_pred)")
    check_scalar(out, 6 / 8, "accuracy(y_true, y_pred) with 6 of 8 right",
                 hint="np.mean(y_true == y_pred), returned as a float")


def test_confusion_matrix_rows_are_true_classes(student):
    """confusion_matrix: C[i, j] counts true class i predicted as j"""
    expected = np.array([[2, 1, 0],
                         [0, 2, 0],
                         [1, 0, 2]])
    y_true, y_pred = labels()
    out = student.confusion_matrix(y_true, y_pred)
    check_labels_unchanged(y_true, y_pred, "confusion_matrix(y_true, y_pred)")
    check_array(out, expected, "confusion_matrix(y_true, y_pred), 3 classes",
                hint="rows are the TRUE class, columns the PREDICTED class: C[y_true[i], y_pred[i]] += 1")


def test_precision_recall_f1_per_class(student):
    """precision_recall_f1: per-class values with average=None"""
    y_true, y_pred = labels()
    precision, recall, f1 = student.precision_recall_f1(y_true, y_pred, average=None)
    check_labels_unchanged(y_true, y_pred, "precision_recall_f1(y_true, y_pred, average=None)")
    p, r = np.array([2 / 3, 2 / 3, 1.0]), np.array([2 / 3, 1.0, 2 / 3])
    check_array(precision, p, "precision per class", hint="precision[k] = C[k, k] / C[:, k].sum() (a column)")
    check_array(recall, r, "recall per class", hint="recall[k] = C[k, k] / C[k, :].sum() (a row)")
    check_array(f1, 2 * p * r / (p + r), "F1 per class", hint="F1 = 2 * p * r / (p + r), class by class")


def test_macro_average(student):
    """precision_recall_f1: the macro average is the plain mean over classes"""
    p, r = np.array([2 / 3, 2 / 3, 1.0]), np.array([2 / 3, 1.0, 2 / 3])
    got = student.precision_recall_f1(*labels())
    for name, value, per_class in zip(("precision", "recall", "F1"), got, (p, r, 2 * p * r / (p + r))):
        check_scalar(value, per_class.mean(), f"macro {name} of precision_recall_f1(y_true, y_pred)",
                     hint="average='macro' is the mean of the per-class values, every class weighing the same")


def test_class_never_predicted(student):
    """precision_recall_f1: a class never predicted scores 0, not NaN"""
    y_true, y_pred = np.array([0, 1, 2, 2]), np.array([0, 1, 1, 1])
    with no_warnings("precision_recall_f1 with class 2 never predicted",
                     hint="0 / 0 warns and gives NaN: divide only where the denominator is > 0 "
                          "(np.divide(..., where=))"):
        precision, recall, f1 = student.precision_recall_f1(y_true, y_pred, average=None)
    check_array(precision, np.array([1.0, 1 / 3, 0.0]), "precision per class, class 2 never predicted",
                hint="a class never predicted has precision 0 (not NaN)")
    check_array(f1, np.array([1.0, 0.5, 0.0]), "F1 per class, class 2 never predicted",
                hint="where precision + recall is 0, F1 is 0")
