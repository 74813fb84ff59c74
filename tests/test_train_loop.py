"""dlfs.train, the loop's structure: fit -> fit_epoch -> step, callbacks, augmentation,
seeding of every random choice, and divergence checks without false alarms."""
from types import SimpleNamespace

import numpy as np
import pytest

from dlfs import (SGD, Adam, BinaryCrossEntropy, Dropout, History, SoftmaxCrossEntropy,
                  TrainingDiverged, fit, mlp)
from dlfs.train import Callback, EarlyStopping, LearningRateSchedule


def two_blobs(n=200, flipped=2, seed=0):
    """Two separable blobs, with ``flipped`` labels contradicting their blob."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = (np.where(y[:, None] == 1, 2.0, -2.0) + 0.5 * rng.standard_normal((n, 2)))
    y = y.copy()
    y[:flipped] = 1 - y[:flipped]
    return X.astype(np.float32), y


# -- divergence: no false alarms (code review B1, audit N10) ------------------------------

def test_continuing_a_trained_model_with_small_batches_is_not_called_divergence():
    X, y = two_blobs()
    model, loss = mlp([2, 16, 2], rng=np.random.default_rng(0)), SoftmaxCrossEntropy()
    fit(model, loss, Adam(0.01), X, y, epochs=30, batch_size=16)
    for seed in range(5):           # the first batch loss is tiny, a later one is not
        history = fit(model, loss, Adam(0.01), X, y, epochs=1, batch_size=4, seed=seed)
        assert history.epochs == 1 and np.isfinite(history.loss[0])


def test_fine_tuning_from_a_tiny_loss_on_a_contradicting_sample_is_not_divergence():
    X, y = two_blobs(flipped=0)
    model, loss = mlp([2, 16, 2], rng=np.random.default_rng(0)), SoftmaxCrossEntropy()
    fit(model, loss, Adam(0.01), X, y, epochs=60, batch_size=16)
    X2 = np.concatenate([X, [[3.0, 3.0]]]).astype(np.float32)      # deep in blob 1, label 0
    y2 = np.concatenate([y, [0]])
    first_losses = []
    for seed in range(5):
        history = fit(model, loss, Adam(1e-4), X2, y2, epochs=1, batch_size=8, seed=seed)
        assert history.epochs == 1
        first_losses.append(history.initial_loss)
    assert min(first_losses) < 0.01             # runs that met the hard sample later


def test_the_reference_is_the_larger_of_the_first_loss_and_an_all_zero_outputs_loss():
    X, y = two_blobs(flipped=0)
    model, loss = mlp([2, 16, 2], rng=np.random.default_rng(0)), SoftmaxCrossEntropy()
    seen = []

    class Peek(Callback):
        def on_epoch_end(self, run):
            seen.append((run.history.initial_loss, run.reference))

    fit(model, loss, Adam(0.01), X, y, epochs=60, batch_size=16, callbacks=[Peek()])
    first, reference = seen[0]
    assert reference == pytest.approx(max(first, np.log(2)), rel=1e-6)
    fit(model, loss, Adam(0.01), X, y, epochs=1, batch_size=16, callbacks=[Peek()])
    first, reference = seen[-1]
    assert first < 0.01                                # trained: ln(number of classes)
    assert reference == pytest.approx(np.log(2), rel=1e-6)


# -- seeding: every random choice (code review B7) -----------------------------------------

def test_the_same_seed_gives_the_same_run_with_an_unseeded_dropout_layer():
    X, y = two_blobs()

    def run(seed):
        rng = np.random.default_rng(3)
        model = mlp([2, 32, 2], rng=rng)
        model.layers.insert(2, Dropout(0.5))          # built without rng: unseeded
        history = fit(model, SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=3,
                      batch_size=16, seed=seed)
        return history.loss, model.state()

    (loss_a, state_a), (loss_b, state_b), (loss_c, _) = run(0), run(0), run(1)
    assert loss_a == loss_b
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    assert loss_a != loss_c


# -- augmentation ----------------------------------------------------------------------------

def test_augment_is_called_once_per_epoch_with_a_seeded_generator_and_its_output_trains():
    X, y = two_blobs()
    draws = []

    def augment(X, rng):
        draws.append(rng.random())
        return -X                                   # the labels no longer match the blobs

    def run(augment_fn, seed=0):
        model = mlp([2, 8, 2], rng=np.random.default_rng(0))
        fit(model, SoftmaxCrossEntropy(), Adam(0.05), X, y, epochs=4, batch_size=16,
            augment=augment_fn, seed=seed)
        return (model.predict(-X).argmax(1) == y).mean()

    assert run(augment) > 0.9                      # trained on the mirrored inputs
    assert len(draws) == 4 and len(set(draws)) == 4
    first = draws[:]
    draws.clear()
    run(augment)
    assert draws == first                           # same seed, same augmentation
    draws.clear()
    run(augment, seed=1)
    assert draws != first


def test_augment_must_return_an_array_like_the_input():
    X, y = two_blobs()
    with pytest.raises(ValueError, match="augment must return an array of the input's shape"):
        fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1,
            augment=lambda X, rng: X[:10])
    with pytest.raises(TypeError, match="augment must be callable"):
        fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, augment=3)


# -- callbacks ---------------------------------------------------------------------------------

class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def on_train_begin(self, run):
        self.calls.append("begin")

    def on_epoch_begin(self, run):
        self.calls.append(f"epoch {run.epoch} ({run.history.epochs} done)")

    def on_epoch_end(self, run):
        self.calls.append(f"end {run.epoch} ({run.history.epochs} done)")
        if self.stop_after is not None and run.epoch + 1 >= self.stop_after:
            run.stop = True

    def on_train_end(self, run):
        self.calls.append("done")


def test_callbacks_see_every_epoch_in_order_and_can_stop_training():
    X, y = two_blobs()
    rec = Recorder(stop_after=2)
    history = fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=5,
                  callbacks=[rec])
    assert rec.calls == ["begin", "epoch 0 (0 done)", "end 0 (1 done)",
                         "epoch 1 (1 done)", "end 1 (2 done)", "done"]
    assert history.epochs == 2


def test_callbacks_must_be_callback_instances():
    X, y = two_blobs()
    with pytest.raises(TypeError, match="callbacks must be dlfs.train.Callback instances"):
        fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1,
            callbacks=[lambda run: None])


def test_a_schedule_callback_sets_the_rate_of_every_epoch():
    X, y = two_blobs()
    history = fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=3,
                  callbacks=[LearningRateSchedule(lambda epoch: 0.1 / (epoch + 1))])
    assert history.lr == pytest.approx([0.1, 0.05, 0.1 / 3])
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateSchedule(0.1)


# -- the best epoch: one rule (code review B12) --------------------------------------------

def test_best_epoch_is_the_first_of_tied_lowest_validation_losses():
    assert History(val_loss=[3.0, 1.0, 1.0, 2.0]).best_epoch == 1
    assert History(val_loss=[]).best_epoch is None


def test_early_stopping_restores_the_epoch_that_best_epoch_names_on_ties():
    model = mlp([2, 3, 2], rng=np.random.default_rng(0))
    run = SimpleNamespace(model=model, history=History(), validation=("X", "y"), stop=False,
                          resumed_best=None)
    stopper = EarlyStopping(patience=2)
    stopper.on_train_begin(run)
    for epoch, val_loss in enumerate([3.0, 1.0, 1.0, 2.0]):
        for array in model.state().values():
            array[...] = epoch                      # parameters that name their epoch
        run.epoch = epoch
        run.history.val_loss.append(val_loss)
        stopper.on_epoch_end(run)
        if run.stop:
            break
    stopper.on_train_end(run)
    assert run.history.stopped_early and run.epoch == 3
    assert run.history.best_epoch == 1
    assert all(np.all(a == 1) for a in model.state().values())


def test_early_stopping_without_patience_trains_every_epoch_and_restores_the_best():
    X, y = two_blobs()
    Xv, yv = two_blobs(seed=1)
    model = mlp([2, 16, 2], rng=np.random.default_rng(0))
    loss = SoftmaxCrossEntropy()
    states = []

    class Keep(Callback):
        def on_epoch_end(self, run):
            states.append({k: v.copy() for k, v in run.model.state().items()})

    history = fit(model, loss, Adam(0.3), X, y, epochs=8, validation=(Xv, yv),
                  callbacks=[EarlyStopping(), Keep()])
    assert history.epochs == 8 and not history.stopped_early
    best = states[history.best_epoch]
    assert all(np.array_equal(model.state()[k], best[k]) for k in best)


def test_early_stopping_needs_validation_data():
    X, y = two_blobs()
    with pytest.raises(ValueError, match="needs a validation set"):
        fit(mlp([2, 4, 2]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1,
            callbacks=[EarlyStopping(2)])


def test_binary_training_reports_divergence_against_ln_2():
    X, y = two_blobs()
    yb = y.reshape(-1, 1).astype(np.float32)
    with pytest.raises(TrainingDiverged, match="learning rate 1e\\+08"):
        fit(mlp([2, 8, 1]), BinaryCrossEntropy(from_logits=True), SGD(1e8), X, yb, epochs=10)
