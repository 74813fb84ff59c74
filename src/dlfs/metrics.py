"""Classification metrics on integer labels of shape (n_samples,)."""
from __future__ import annotations

import numpy as np

from ._checks import check_labels, check_positive


def _check_pair(y_true, y_pred, n_classes):
    if n_classes is None:
        # .max() below needs integer arrays (on a list it fails with an obscure
        # AttributeError): let check_labels raise the TypeError that names the culprit.
        for name, y in (("y_true", y_true), ("y_pred", y_pred)):
            if not (isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.integer)):
                check_labels(y, name, 1)
        n_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    check_positive(n_classes, "n_classes", integer=True)
    check_labels(y_true, "y_true", n_classes)
    check_labels(y_pred, "y_pred", n_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}")
    return n_classes


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of labels predicted correctly, in [0, 1]."""
    _check_pair(y_true, y_pred, None)
    if y_true.size == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray,
                     n_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j``.

    Returns an int64 ndarray of shape (n_classes, n_classes); rows sum to the
    class sizes.  Built with one ``bincount`` rather than a loop over samples.
    """
    k = _check_pair(y_true, y_pred, n_classes)
    # int64 first: with uint8/int8 labels, y_true * k would wrap around silently.
    return np.bincount(y_true.astype(np.int64) * k + y_pred, minlength=k * k).reshape(k, k)


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray,
                        n_classes: int | None = None) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1, each an ndarray of shape (n_classes,).

    Implements :eq:`eq-mnist-precision-recall` (precision and recall).

    A class that is never predicted has precision 0 (and never occurring,
    recall 0) rather than NaN, following the usual convention.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}
