"""Chapter 3.5: evaluating classifiers beyond the loss: accuracy, the confusion matrix, precision, recall, F1.

Accuracy alone hides which classes a model confuses. The confusion matrix ``C`` counts every pair:
``C[i, j]`` is the number of samples whose TRUE class is ``i`` and whose PREDICTED class is ``j`` (rows
true, columns predicted; the diagonal holds the correct predictions). From it, per class ``k``:

* precision ``C[k, k] / C[:, k].sum()``: of the samples predicted as ``k``, the share that really are ``k``;
* recall ``C[k, k] / C[k, :].sum()``: of the samples that are ``k``, the share the model found;
* F1, their harmonic mean ``2 * p * r / (p + r)``.

A class that is never predicted has no precision (0 / 0), a class absent from the labels no recall: both
count as 0 here, and an F1 with ``p + r = 0`` is 0 too, so no NaN and no warning ever comes out.
"""
import numpy as np


def accuracy(y_true, y_pred):
    """The share of correct predictions.

    Args:
        y_true: true labels, integer array of shape ``(m,)``.
        y_pred: predicted labels, integer array of shape ``(m,)``.

    Returns:
        A Python float in [0, 1].

    Raises:
        ValueError: if the two are not 1-D arrays of the same shape (the message names both shapes), or empty.

    Example:
        >>> accuracy(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]))
        0.75
    """
    ### BEGIN SOLUTION
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"accuracy: y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape} must both "
                         "be (m,)")
    if y_true.size == 0:
        raise ValueError("accuracy: no samples (y_true and y_pred are empty)")
    return float(np.mean(y_true == y_pred))
    ### END SOLUTION


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Count every (true class, predicted class) pair.

    Rows are the TRUE class, columns the PREDICTED class: ``C[i, j]`` is the number of samples of class
    ``i`` predicted as ``j``. Vectorised: one ``np.bincount`` (or ``np.add.at``), no Python loop over samples.

    Args:
        y_true: true labels, integers of shape ``(m,)`` in ``0 .. K-1`` (floats are accepted when they are
            whole numbers, like ``2.0``).
        y_pred: predicted labels, integers of shape ``(m,)`` in ``0 .. K-1``.
        num_classes: ``K``; ``None`` takes the largest label in either array plus one.

    Returns:
        Integer array of shape ``(K, K)``; its entries add up to ``m``.

    Raises:
        ValueError: if the shapes differ or are not 1-D (the message names both), a label is not a whole number,
            a label is negative or not below ``num_classes`` (the message names it), or the labels are empty and
            ``num_classes`` is None.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]))
        array([[1, 0, 0],
               [0, 1, 1],
               [0, 0, 1]])
    """
    ### BEGIN SOLUTION
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true of shape {y_true.shape} and y_pred of shape {y_pred.shape} "
                         "must both be (m,)")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and y.dtype.kind not in "iub" and not np.array_equal(y, np.round(y)):
            raise ValueError(f"confusion_matrix: {name} must hold integer class labels")
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    if num_classes is None:
        if y_true.size == 0:
            raise ValueError("confusion_matrix: cannot infer num_classes from empty labels")
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            bad = y.min() if y.min() < 0 else y.max()
            # mutants: skip (the message's wording; that it names the label is tested)
            raise ValueError(f"confusion_matrix: {name} holds the label {bad}, outside 0..{num_classes - 1} "
                             f"(num_classes={num_classes})")
    K = num_classes
    return np.bincount(K * y_true + y_pred, minlength=K * K).reshape(K, K)
    ### END SOLUTION


def precision_recall_f1(y_true, y_pred, num_classes=None, average="macro"):
    """Precision, recall and F1 per class, or their macro averages.

    Per class ``k`` (from the confusion matrix ``C``, rows true, columns predicted):
    ``precision[k] = C[k, k] / C[:, k].sum()``, ``recall[k] = C[k, k] / C[k, :].sum()``,
    ``f1[k] = 2 * precision[k] * recall[k] / (precision[k] + recall[k])``. Each is 0 where its denominator is
    0 (a class never predicted, a class absent from ``y_true``): never NaN, and no warning.

    The macro average is the plain mean over ALL ``K`` classes ``0 .. K-1``, each class weighing the same
    whatever its number of samples (not weighted by support). The macro F1 is the mean of the per-class F1
    values (not the F1 of the macro precision and recall).

    Args:
        y_true: true labels, integers of shape ``(m,)``.
        y_pred: predicted labels, integers of shape ``(m,)``.
        num_classes: ``K``, as in ``confusion_matrix``.
        average: ``"macro"`` or ``None``.

    Returns:
        ``average="macro"``: a tuple of three Python floats ``(precision, recall, f1)``.
        ``average=None``: a tuple of three float arrays of shape ``(K,)``, one value per class.

    Raises:
        ValueError: as ``confusion_matrix`` does, or for an ``average`` other than ``"macro"`` and ``None``.

    Example:
        >>> precision_recall_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), average=None)
        (array([1.        , 0.66666667]), array([0.5, 1. ]), array([0.66666667, 0.8       ]))
    """
    ### BEGIN SOLUTION
    if average not in ("macro", None):
        raise ValueError(f"precision_recall_f1: average must be 'macro' or None, got {average!r}")
    C = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(C).astype(np.float64)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    if average is None:
        return precision, recall, f1
    return float(precision.mean()), float(recall.mean()), float(f1.mean())
    ### END SOLUTION
