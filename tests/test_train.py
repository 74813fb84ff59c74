"""dlfs.train: mini-batches, the fit loop (learning, determinism, early stopping, history)
and evaluate."""
import numpy as np
import pytest

from dlfs import (SGD, Adam, BinaryCrossEntropy, Dense, History, Sequential,
                  SoftmaxCrossEntropy, batches, evaluate, fit, mlp)
from dlfs.losses import MSE


# -- batches ----------------------------------------------------------------------------

def indexed_data(n):
    """X whose rows carry their own index, so a batch reveals which samples it holds."""
    return np.arange(n, dtype=np.float32).reshape(n, 1) * np.ones((1, 3), np.float32), \
        np.arange(n)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_sample_exactly_once_last_batch_smaller(shuffle):
    X, y = indexed_data(10)
    rng = np.random.default_rng(0) if shuffle else None
    parts = list(batches(X, y, 4, rng=rng))
    assert [len(yb) for _, yb in parts] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in parts])
    np.testing.assert_array_equal(np.sort(seen), np.arange(10))
    for Xb, yb in parts:                             # rows stay paired with their labels
        np.testing.assert_array_equal(Xb[:, 0], yb)


def test_batches_without_rng_keep_the_original_order():
    X, y = indexed_data(7)
    seen = np.concatenate([yb for _, yb in batches(X, y, 3)])
    np.testing.assert_array_equal(seen, np.arange(7))


def test_batches_reshuffle_on_every_call():
    X, y = indexed_data(50)
    rng = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in batches(X, y, 8, rng=rng)])
    second = np.concatenate([yb for _, yb in batches(X, y, 8, rng=rng)])
    assert not np.array_equal(first, np.arange(50))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(second), np.arange(50))


def test_batch_size_larger_than_the_data_gives_one_batch():
    X, y = indexed_data(5)
    assert [len(yb) for _, yb in batches(X, y, 64)] == [5]


@pytest.mark.parametrize("batch_size, error, message", [
    (0, ValueError, "batch_size must be > 0, got 0"),
    (-8, ValueError, "batch_size must be > 0, got -8"),
    (2.0, TypeError, "batch_size must be an integer, got 2.0"),
])
def test_batches_refuse_bad_batch_size(batch_size, error, message):
    X, y = indexed_data(5)
    with pytest.raises(error, match=message):
        next(batches(X, y, batch_size))


def test_batches_refuse_mismatched_lengths():
    X, y = indexed_data(5)
    with pytest.raises(ValueError, match="X has 5 samples but y has 4"):
        next(batches(X, y[:4], 2))


# -- learning ---------------------------------------------------------------------------

def test_mlp_learns_xor(xor):
    X, y = xor
    model = mlp([2, 8, 2], activation="tanh", rng=np.random.default_rng(0))
    history = fit(model, SoftmaxCrossEntropy(), Adam(0.05), X, y, epochs=300, batch_size=4)
    assert history.accuracy[-1] == 1.0
    np.testing.assert_array_equal(model.predict(X).argmax(axis=1), y)


def test_a_linear_model_cannot_learn_xor(xor):
    """Why the hidden layer matters: no line separates XOR, so at most 3 of 4 are right."""
    X, y = xor
    model = Sequential([Dense(2, 2, rng=np.random.default_rng(0))])
    fit(model, SoftmaxCrossEntropy(), Adam(0.05), X, y, epochs=300, batch_size=4)
    assert np.mean(model.predict(X).argmax(axis=1) == y) <= 0.75


def test_mlp_learns_two_spirals(two_spirals):
    X, y = two_spirals
    model = mlp([2, 64, 64, 2])
    history = fit(model, SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=100, batch_size=64)
    assert np.mean(model.predict(X).argmax(axis=1) == y) >= 0.99
    assert history.accuracy[-1] >= 0.99
    assert history.loss[-1] < history.loss[0] / 10


def test_binary_cross_entropy_from_logits_trains_a_classifier(blobs):
    X, labels = blobs
    y = (labels == 0).astype(np.float32).reshape(-1, 1)        # class 0 against the rest
    model = mlp([2, 8, 1], rng=np.random.default_rng(0))
    history = fit(model, BinaryCrossEntropy(from_logits=True), Adam(0.02), X, y, epochs=30)
    assert history.accuracy[-1] >= 0.98


# -- determinism ---------------------------------------------------------------------------

def train_once(blobs, seed, model_seed=0):
    X, y = blobs
    model = mlp([2, 16, 3], dropout=0.2, batchnorm=True, rng=np.random.default_rng(model_seed))
    history = fit(model, SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=4, batch_size=32,
                  validation=(X[:40], y[:40]), seed=seed)
    return model, history


def test_same_seed_gives_bit_identical_parameters_and_history(blobs):
    (m1, h1), (m2, h2) = train_once(blobs, seed=3), train_once(blobs, seed=3)
    for name, array in m1.state().items():                     # parameters and buffers
        assert np.array_equal(array, m2.state()[name]), name
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert getattr(h1, field) == getattr(h2, field), field


def test_different_seed_gives_different_training(blobs):
    (m1, h1), (m2, h2) = train_once(blobs, seed=3), train_once(blobs, seed=4)
    assert not np.array_equal(m1.layers[0].params["W"], m2.layers[0].params["W"])
    assert h1.loss != h2.loss


# -- early stopping --------------------------------------------------------------------

def linear_regression_with_misleading_validation():
    """Train targets y = X w; validation targets X (w / 2).  Starting from w = 0, the model
    passes w / 2 on its way to w, so the validation loss falls, then rises for good."""
    rng = np.random.default_rng(0)
    w = np.array([[1.0], [-2.0], [0.5]], np.float32)
    X, X_val = (rng.standard_normal((n, 3)).astype(np.float32) for n in (200, 50))
    return X, X @ w, (X_val, X_val @ (w / 2))


def linear_model():
    return Sequential([Dense(3, 1, init="zeros")])


def test_early_stopping_stops_and_restores_the_best_epoch():
    X, y, validation = linear_regression_with_misleading_validation()
    model = linear_model()
    history = fit(model, MSE(), SGD(0.01), X, y, epochs=100, batch_size=20,
                  validation=validation, patience=3)
    best = history.best_epoch
    assert history.stopped_early
    assert 0 < best < history.epochs - 1                   # fell first, then rose
    assert history.epochs == best + 1 + 3                  # stopped after `patience` epochs
    assert history.val_loss[best] == min(history.val_loss)
    # Replaying the same training for best + 1 epochs gives the best epoch's parameters:
    snapshot = linear_model()
    fit(snapshot, MSE(), SGD(0.01), X, y, epochs=best + 1, batch_size=20)
    for name, array in model.state().items():
        assert np.array_equal(array, snapshot.state()[name]), name
    # ...which are not the last epoch's parameters.
    last = linear_model()
    fit(last, MSE(), SGD(0.01), X, y, epochs=history.epochs, batch_size=20)
    assert not np.array_equal(model.layers[0].params["W"], last.layers[0].params["W"])


def test_without_patience_training_runs_all_epochs_and_keeps_the_last_parameters():
    X, y, validation = linear_regression_with_misleading_validation()
    model = linear_model()
    history = fit(model, MSE(), SGD(0.01), X, y, epochs=30, batch_size=20,
                  validation=validation)
    assert history.epochs == 30 and not history.stopped_early
    assert history.best_epoch < 29                      # recorded, but not restored
    assert history.val_loss[-1] == pytest.approx(evaluate(model, MSE(), *validation)[0])


# -- history and validation metrics ----------------------------------------------------

def test_history_has_one_entry_per_epoch(blobs):
    X, y = blobs
    history = fit(mlp([2, 8, 3]), SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=5,
                  validation=(X[:30], y[:30]))
    assert history.epochs == 5
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(getattr(history, field)) == 5, field
    assert all(s >= 0 for s in history.seconds)
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)


def test_history_without_validation_has_empty_validation_lists(blobs):
    X, y = blobs
    history = fit(mlp([2, 8, 3]), SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=2)
    assert history.val_loss == [] and history.val_accuracy == []
    assert history.best_epoch is None and not history.stopped_early


def test_regression_history_has_nan_accuracy():
    X, y, validation = linear_regression_with_misleading_validation()
    history = fit(linear_model(), MSE(), SGD(0.01), X, y, epochs=2, validation=validation)
    assert np.all(np.isnan(history.accuracy)) and np.all(np.isnan(history.val_accuracy))


def test_validation_metrics_equal_evaluate_after_the_last_epoch(blobs):
    X, y = blobs
    model = mlp([2, 8, 3], dropout=0.3, batchnorm=True)
    Xv, yv = X[::3], y[::3]
    history = fit(model, SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=3, validation=(Xv, yv))
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), Xv, yv)
    assert history.val_loss[-1] == pytest.approx(loss, rel=1e-6)
    assert history.val_accuracy[-1] == acc


def test_evaluate_equals_a_direct_computation_in_inference_mode(blobs):
    X, y = blobs
    model = mlp([2, 8, 3], dropout=0.5)
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), X, y, batch_size=7)
    out = model.forward(X, training=False)
    assert loss == pytest.approx(SoftmaxCrossEntropy().forward(out, y), rel=1e-5)
    assert acc == np.mean(out.argmax(axis=1) == y)


def test_evaluate_accuracy_with_one_hot_targets_and_none_for_regression(blobs):
    X, y = blobs
    model = mlp([2, 8, 3])
    _, acc_labels = evaluate(model, SoftmaxCrossEntropy(), X, y)
    _, acc_one_hot = evaluate(model, SoftmaxCrossEntropy(), X, np.eye(3, dtype=np.float32)[y])
    assert acc_labels == acc_one_hot
    assert evaluate(Sequential([Dense(2, 1)]), MSE(), X, X[:, :1])[1] is None


def test_history_epochs_counts_entries():
    assert History(loss=[1.0, 0.5]).epochs == 2


# -- bad input ---------------------------------------------------------------------------

def test_fit_refuses_bad_arguments(blobs):
    X, y = blobs
    model, loss, opt = mlp([2, 4, 3]), SoftmaxCrossEntropy(), SGD(0.1)
    with pytest.raises(ValueError, match="batch_size must be > 0, got 0"):
        fit(model, loss, opt, X, y, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="epochs must be > 0, got 0"):
        fit(model, loss, opt, X, y, epochs=0)
    with pytest.raises(ValueError, match=r"early stopping \(patience\) needs a validation set"):
        fit(model, loss, opt, X, y, epochs=1, patience=2)
    with pytest.raises(ValueError, match="patience must be > 0, got 0"):
        fit(model, loss, opt, X, y, epochs=1, patience=0, validation=(X, y))
    with pytest.raises(TypeError, match="X must be a numpy.ndarray, got list"):
        fit(model, loss, opt, X.tolist(), y, epochs=1)
    with pytest.raises(ValueError, match=r"X must have .* dimensions, got shape \(150,\)"):
        fit(model, loss, opt, X[:, 0], y, epochs=1)
    with pytest.raises(ValueError, match="X has 150 samples but y has 149"):
        fit(model, loss, opt, X, y[:-1], epochs=1)
    with pytest.raises(ValueError, match=r"X_val must have 2 dimensions, got shape \(150,\)"):
        fit(model, loss, opt, X, y, epochs=1, validation=(X[:, 0], y))


def test_fit_refuses_float64_data_for_a_float32_model(blobs):
    X, y = blobs
    with pytest.raises(TypeError, match="Dense has dtype float32 but its input has dtype "
                                        "float64"):
        fit(mlp([2, 4, 3]), SoftmaxCrossEntropy(), SGD(0.1), X.astype(np.float64), y, epochs=1)


def test_fit_stops_with_a_clear_error_when_the_loss_diverges():
    X, y, _ = linear_regression_with_misleading_validation()
    # Silence the overflow warnings themselves: the point is fit's own check afterwards.
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError, match=r"training diverged in epoch \d+: .* with "
                                                    r"learning rate 10; try a smaller learning "
                                                    r"rate, e.g. 1$"):
        fit(linear_model(), MSE(), SGD(10.0), X, y, epochs=50, batch_size=10)


def test_evaluate_refuses_an_empty_set(blobs):
    X, y = blobs[0][:0], blobs[1][:0]
    with pytest.raises(ValueError, match="cannot evaluate on an empty set"):
        evaluate(Sequential([Dense(2, 3)]), SoftmaxCrossEntropy(), X, y)
