"""fit refuses a bad validation set or drop_last before any update (audit, questionable
cases A62, A63, T1, T7, T8), and the CNN builder names a bad channel spec (R6)."""
import numpy as np
import pytest

import dlfs
from dlfs.recipes.mnist_cnn import mnist_cnn


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    return X, (X[:, 0] > 0).astype(np.int64)


def model():
    return dlfs.Sequential([dlfs.Dense(3, 2, dtype=np.float64, rng=np.random.default_rng(1))])


def fit(m, X, y, **kwargs):
    return dlfs.fit(m, dlfs.SoftmaxCrossEntropy(), dlfs.SGD(0.1), X, y, epochs=1,
                    batch_size=5, **kwargs)


@pytest.mark.parametrize("validation, error, message", [
    (lambda X, y: (X[:0], y[:0]), ValueError, r"validation set is empty \(0 samples\)"),
    (lambda X, y: (X, y[:5]), ValueError, r"X_val has 20 samples but y_val has 5"),
    (lambda X, y: (X, np.where(np.arange(20) == 3, np.nan, 1.0)[:, None] * np.ones((1, 2))),
     ValueError, r"y_val contains NaN or infinity"),
    (lambda X, y: X, TypeError, r"validation must be a pair"),
])
def test_a_bad_validation_set_is_refused_before_training(validation, error, message):
    X, y = data()
    m = model()
    before = m.layers[0].params["W"].copy()
    with pytest.raises(error, match=message):
        fit(m, X, y, validation=validation(X, y))
    np.testing.assert_array_equal(m.layers[0].params["W"], before)   # no update happened


@pytest.mark.parametrize("which", ["y", "y_val"])
def test_out_of_range_class_labels_are_refused_before_training(which):
    X, y = data()
    bad = y.copy()
    bad[-1] = 7                                   # the last batch: found only late before
    m = model()
    before = m.layers[0].params["W"].copy()
    kwargs = ({"validation": (X, bad)} if which == "y_val" else {})
    with pytest.raises(ValueError, match=rf"{which} \(class labels\) must lie in \[0, 2\)"):
        fit(m, X, bad if which == "y" else y, **kwargs)
    np.testing.assert_array_equal(m.layers[0].params["W"], before)


@pytest.mark.parametrize("value", ["yes", 1, 0.0])
def test_drop_last_must_be_a_bool_or_none(value):
    X, y = data()
    with pytest.raises(TypeError, match=r"drop_last must be True, False or None"):
        fit(model(), X, y, drop_last=value)


def test_drop_last_true_and_false_still_work():
    X, y = data()
    assert fit(model(), X, y, drop_last=True).epochs == 1
    assert fit(model(), X, y, drop_last=np.bool_(False)).epochs == 1


@pytest.mark.parametrize("channels", [(16,), (16, 32, 64), 16])
def test_mnist_cnn_names_a_bad_channel_spec(channels):
    with pytest.raises(ValueError, match=r"channels must be two positive integers"):
        mnist_cnn(channels)
