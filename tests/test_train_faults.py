"""dlfs.train under faults: tiny last batches with BatchNorm, bad scheduled learning rates,
divergence, Ctrl-C and empty inputs (issue 6, defects 1, 6, 11, 13, 18)."""
import numpy as np
import pytest

from dlfs import (SGD, Adam, BatchNorm, Dense, ReLU, Sequential, SoftmaxCrossEntropy,
                  TrainingDiverged, TrainingInterrupted, batches, fit, mlp)
from dlfs.losses import MSE
from dlfs.train import check_batching


def batchnorm_model():
    rng = np.random.default_rng(0)
    return Sequential([Dense(2, 4, rng=rng), BatchNorm(4), ReLU(), Dense(4, 3, rng=rng)])


# -- defect 1: a last mini-batch of one sample with BatchNorm ------------------------------

def test_fit_with_batchnorm_survives_a_last_batch_of_one_sample(blobs):
    X, y = blobs[0][:129], blobs[1][:129]              # 129 = 128 + 1, as in the issue
    history = fit(batchnorm_model(), SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=2,
                  batch_size=128)
    assert history.epochs == 2 and np.isfinite(history.loss).all()


def test_without_batchnorm_the_default_keeps_every_sample(blobs):
    X, y = blobs[0][:129], blobs[1][:129]
    assert check_batching(129, 128, min_batch=1) is False
    assert check_batching(129, 128, min_batch=2) is True
    assert check_batching(130, 128, min_batch=2) is False     # a batch of 2 is fine
    history = fit(mlp([2, 4, 3]), SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=1,
                  batch_size=128)
    assert history.epochs == 1


def test_drop_last_false_with_batchnorm_is_refused_before_training(blobs):
    X, y = blobs[0][:129], blobs[1][:129]
    model = batchnorm_model()
    before = model.layers[0].params["W"].copy()
    with pytest.raises(ValueError, match=r"129 samples in batches of 128 leave a last batch "
                                         r"of 1 \(BatchNorm needs at least 2 samples per "
                                         r"batch\); pass drop_last=True"):
        fit(model, SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=1, batch_size=128,
            drop_last=False)
    np.testing.assert_array_equal(model.layers[0].params["W"], before)


def test_batch_size_one_with_batchnorm_is_refused():
    with pytest.raises(ValueError, match=r"batch_size=1 is too small \(BatchNorm needs"):
        check_batching(100, 1, min_batch=2)


def test_one_sample_is_enough_for_batchnorm_over_more_than_the_batch_axis():
    from dlfs.train import min_batch_size

    assert min_batch_size(batchnorm_model()) == 2
    assert min_batch_size(Sequential([BatchNorm(4)], input_shape=(4,))) == 2
    assert min_batch_size(Sequential([BatchNorm(4)], input_shape=(4, 3))) == 1    # (N, C, L)
    assert min_batch_size(Sequential([BatchNorm(4)])) == 2                         # unknown
    assert min_batch_size(mlp([2, 3])) == 1


def test_drop_last_leaves_out_the_incomplete_batch():
    X, y = np.zeros((10, 1), np.float32), np.arange(10)
    assert [len(b) for _, b in batches(X, y, 4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="leaves no batch"):
        check_batching(3, 4, drop_last=True)


def test_history_loss_is_the_mean_over_the_samples_trained_on(blobs):
    X, y = blobs
    model = mlp([2, 4, 3])
    history = fit(model, SoftmaxCrossEntropy(), SGD(1e-12), X, y, epochs=1, batch_size=100,
                  drop_last=True)                  # the first 100 shuffled samples only
    order = np.random.default_rng(0).permutation(150)[:100]
    expected = SoftmaxCrossEntropy().forward(model.predict(X[order]), y[order])
    assert history.loss[0] == pytest.approx(expected, rel=1e-5)


# -- defect 6: learning rates from a schedule -----------------------------------------------

@pytest.mark.parametrize("lr", [-0.5, 0.0, float("nan"), float("inf"), "0.1", None])
def test_a_bad_scheduled_learning_rate_is_refused_naming_the_epoch(blobs, lr):
    X, y = blobs
    schedule = lambda epoch: 0.01 if epoch < 2 else lr       # noqa: E731
    model = mlp([2, 4, 3])
    before = {k: v.copy() for k, v in model.state().items()}
    with pytest.raises(ValueError, match=rf"the schedule gives learning rate "
                                         rf"{ {'0.1': repr('0.1')}.get(lr, lr)!s} for epoch 3 "
                                         r"of 5; a learning rate must be a positive, finite "
                                         r"number"):
        fit(model, SoftmaxCrossEntropy(), SGD(0.01), X, y, epochs=5, schedule=schedule)
    # refused before training: nothing was trained
    assert all(np.array_equal(v, before[k]) for k, v in model.state().items())


# -- defect 11: divergence ----------------------------------------------------------------------

def test_a_finite_blow_up_is_reported_with_the_learning_rate(blobs):
    X, y = blobs
    with pytest.raises(TrainingDiverged, match=r"training diverged in epoch \d+: the training "
                                               r"loss rose from .* \(more than 1000 times .*, "
                                               r"the larger of its first value and the loss of "
                                               r"an all-zero output\) with learning rate 1e\+06; try a "
                                               r"smaller learning rate, e.g. 100000") as info:
        fit(mlp([2, 16, 3]), SoftmaxCrossEntropy(), SGD(1e6), X, y, epochs=20)
    assert info.value.lr == 1e6 and np.isfinite(info.value.loss)
    assert info.value.loss > 1e3 * info.value.initial_loss


def test_parameters_that_overflow_are_reported_as_divergence_not_as_a_nan_input():
    # Huge steps on a ReLU network: the weights reach inf before the loss is computed.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = 1e18 * rng.standard_normal((64, 1)).astype(np.float32)
    model = Sequential([Dense(3, 8, rng=rng), ReLU(), Dense(8, 1, rng=rng)])
    with pytest.raises(TrainingDiverged, match=r"training diverged in epoch \d+: .* with "
                                               r"learning rate 1e\+10"):
        fit(model, MSE(), SGD(1e10), X, y, epochs=50, batch_size=8, divergence_factor=None)


def test_divergence_check_can_be_turned_off_and_leaves_normal_training_alone(blobs):
    X, y = blobs
    history = fit(mlp([2, 16, 3]), SoftmaxCrossEntropy(), Adam(0.01), X, y, epochs=20)
    assert history.initial_loss == pytest.approx(np.log(3), rel=0.5)
    with pytest.raises(ValueError, match="divergence_factor must be > 0"):
        fit(mlp([2, 4, 3]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1,
            divergence_factor=-1.0)


# -- defect 13: Ctrl-C ------------------------------------------------------------------------

class InterruptingLoss(SoftmaxCrossEntropy):
    """Raises KeyboardInterrupt (as Ctrl-C would) on its ``after``-th call."""

    def __init__(self, after):
        super().__init__()
        self.calls, self.after = 0, after

    def forward(self, pred, target):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return super().forward(pred, target)


def test_ctrl_c_says_in_which_epoch_training_stopped(blobs):
    X, y = blobs                                    # 150 samples, batch 64: 3 batches/epoch
    with pytest.raises(TrainingInterrupted, match="training interrupted in epoch 2 of 5") as info:
        fit(mlp([2, 4, 3]), InterruptingLoss(after=5), SGD(0.1), X, y, epochs=5)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.epoch == 2 and info.value.history.epochs == 1


# -- defect 18: empty inputs ------------------------------------------------------------------

def test_fit_on_an_empty_training_set_is_a_clear_error():
    X, y = np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="X has no samples: cannot train on an empty set"):
        fit(mlp([2, 4, 3]), SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1)
