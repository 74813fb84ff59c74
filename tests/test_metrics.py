"""dlfs.metrics against hand-computed examples."""
import numpy as np
import pytest

from dlfs.metrics import accuracy, confusion_matrix, precision_recall_f1

#                 class 0     class 1        class 2 (never predicted)
Y_TRUE = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 1, 0, 1, 0])


def test_accuracy_hand_value():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(5 / 9)
    assert accuracy(Y_TRUE, Y_TRUE) == 1.0


def test_confusion_matrix_hand_example():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(cm, [[2, 1, 0],
                                       [1, 3, 0],
                                       [1, 1, 0]])
    assert cm.dtype == np.int64


def test_confusion_matrix_rows_sum_to_class_counts_and_diagonal_to_correct():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    cm = confusion_matrix(y_true, y_pred, n_classes=5)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=5))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=5))
    assert np.trace(cm) == np.sum(y_true == y_pred)


def test_confusion_matrix_n_classes_adds_empty_classes():
    cm = confusion_matrix(np.array([0, 1]), np.array([0, 1]), n_classes=4)
    assert cm.shape == (4, 4)
    assert cm.sum() == 2 and cm[3].sum() == 0


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16])
def test_confusion_matrix_with_small_integer_labels_does_not_wrap_around(dtype):
    """With 20 classes, label 19 * 20 = 380 does not fit in 8 bits."""
    y = np.array([19, 0, 7, 19], dtype=dtype)
    cm = confusion_matrix(y, y, n_classes=20)
    assert cm[19, 19] == 2 and cm[7, 7] == 1 and cm[0, 0] == 1 and cm.sum() == 4


def test_precision_recall_f1_hand_computed_with_a_never_predicted_class():
    scores = precision_recall_f1(Y_TRUE, Y_PRED)
    # class 0: tp 2, predicted 4, actual 3;  class 1: tp 3, predicted 5, actual 4
    # class 2: tp 0, predicted 0 -> precision 0 by convention, not 0/0 = NaN
    np.testing.assert_allclose(scores["precision"], [2 / 4, 3 / 5, 0.0])
    np.testing.assert_allclose(scores["recall"], [2 / 3, 3 / 4, 0.0])
    f1 = [2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3), 2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4), 0.0]
    np.testing.assert_allclose(scores["f1"], f1)
    np.testing.assert_array_equal(scores["support"], [3, 4, 2])
    assert not any(np.isnan(v).any() for v in scores.values())


def test_a_class_that_never_occurs_has_recall_0():
    scores = precision_recall_f1(np.array([0, 0]), np.array([0, 1]), n_classes=3)
    np.testing.assert_allclose(scores["recall"], [0.5, 0.0, 0.0])
    np.testing.assert_allclose(scores["precision"], [1.0, 0.0, 0.0])


def test_accuracy_of_an_empty_set_is_an_error():
    with pytest.raises(ValueError, match="accuracy of an empty set is undefined"):
        accuracy(np.array([], dtype=int), np.array([], dtype=int))


@pytest.mark.parametrize("fn", [accuracy, confusion_matrix, precision_recall_f1])
def test_bad_labels_are_refused(fn):
    with pytest.raises(ValueError, match=r"y_true and y_pred shapes differ: \(3,\) vs \(2,\)"):
        fn(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(TypeError, match="y_pred must hold integer class labels, got dtype "
                                        "float64"):
        fn(np.array([0, 1]), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="y_true must be a numpy.ndarray, got list"):
        fn([0, 1], np.array([0, 1]))
    with pytest.raises(ValueError, match=r"y_true must lie in \[0, 2\), got values from -1 to 1"):
        fn(np.array([-1, 1]), np.array([0, 1]))


def test_labels_beyond_n_classes_are_refused():
    with pytest.raises(ValueError, match=r"y_pred must lie in \[0, 2\), got values from 0 to 2"):
        confusion_matrix(np.array([0, 1]), np.array([0, 2]), n_classes=2)


@pytest.mark.parametrize("n_classes, error, message", [
    (0, ValueError, "n_classes must be > 0, got 0"),
    (2.5, TypeError, "n_classes must be an integer, got 2.5"),
])
def test_confusion_matrix_refuses_a_bad_class_count(n_classes, error, message):
    y = np.array([0, 1, 1])
    with pytest.raises(error, match=message):
        confusion_matrix(y, y, n_classes)
