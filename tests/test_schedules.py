"""dlfs.schedules: documented learning rates per epoch, and fit applies them per epoch."""
import math

import numpy as np
import pytest

from dlfs import SGD, Dense, Sequential, SoftmaxCrossEntropy, fit
from dlfs.schedules import Constant, ExponentialDecay, InverseTimeDecay, StepDecay


def test_constant():
    assert [Constant(0.1)(t) for t in (0, 1, 100)] == [0.1, 0.1, 0.1]


def test_step_decay_halves_every_ten_epochs_by_default():
    s = StepDecay(0.1)
    assert [s(t) for t in (0, 9, 10, 19, 20, 35)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125], rel=1e-15)


def test_step_decay_with_custom_factor_and_period():
    s = StepDecay(1.0, factor=0.1, every=3)
    assert [s(t) for t in range(7)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01], rel=1e-15)


def test_exponential_decay():
    s = ExponentialDecay(0.2, rate=0.5)
    assert s(0) == 0.2
    assert s(4) == pytest.approx(0.2 * math.exp(-2.0), rel=1e-15)
    assert ExponentialDecay(0.2, rate=0)(50) == 0.2


def test_inverse_time_decay():
    s = InverseTimeDecay(0.3, rate=0.5)
    assert [s(t) for t in (0, 2, 6)] == pytest.approx([0.3, 0.15, 0.075], rel=1e-15)


@pytest.mark.parametrize("schedule", [StepDecay(0.2, every=2), ExponentialDecay(0.2, 0.3),
                                      InverseTimeDecay(0.2, 1.0)], ids=lambda s: type(s).__name__)
def test_schedules_are_non_increasing(schedule):
    values = [schedule(t) for t in range(30)]
    assert values[0] == 0.2
    assert all(a >= b for a, b in zip(values, values[1:]))


class RecordingSGD(SGD):
    """SGD that records the learning rate of every step it takes."""

    def __init__(self, lr):
        super().__init__(lr)
        self.lrs = []

    def step(self, params):
        self.lrs.append(self.lr)
        super().step(params)


def test_fit_sets_the_learning_rate_at_the_start_of_every_epoch(blobs):
    X, y = blobs                                   # 150 samples: 3 batches of 50
    opt = RecordingSGD(0.5)
    schedule = StepDecay(0.1, factor=0.5, every=2)
    history = fit(Sequential([Dense(2, 3)]), SoftmaxCrossEntropy(), opt, X, y,
                  epochs=5, batch_size=50, schedule=schedule)
    expected = [0.1, 0.1, 0.05, 0.05, 0.025]
    assert history.lr == pytest.approx(expected, rel=1e-15)
    assert opt.lrs == pytest.approx(np.repeat(expected, 3), rel=1e-15)
    assert opt.lr == 0.025


def test_without_a_schedule_fit_keeps_the_optimizer_rate(blobs):
    X, y = blobs
    history = fit(Sequential([Dense(2, 3)]), SoftmaxCrossEntropy(), SGD(0.3), X, y, epochs=3)
    assert history.lr == [0.3, 0.3, 0.3]


def test_fit_accepts_any_callable_as_schedule(blobs):
    X, y = blobs
    history = fit(Sequential([Dense(2, 3)]), SoftmaxCrossEntropy(), SGD(0.3), X, y, epochs=3,
                  schedule=lambda epoch: 0.1 * (epoch + 1))
    assert history.lr == pytest.approx([0.1, 0.2, 0.3])


@pytest.mark.parametrize("make, error, message", [
    (lambda: Constant(0), ValueError, "lr0 must be > 0, got 0"),
    (lambda: StepDecay(-1.0), ValueError, "lr0 must be > 0, got -1.0"),
    (lambda: StepDecay(0.1, factor=0), ValueError, "factor must be > 0, got 0"),
    (lambda: StepDecay(0.1, every=0), ValueError, "every must be > 0, got 0"),
    (lambda: StepDecay(0.1, every=2.5), TypeError, "every must be an integer, got 2.5"),
    (lambda: ExponentialDecay(0.1, rate=-0.1), ValueError, "rate must be >= 0, got -0.1"),
    (lambda: InverseTimeDecay(0.1, rate=-1), ValueError, "rate must be >= 0, got -1"),
])
def test_bad_schedule_parameters_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


# -- N9: a schedule that reaches 0 is refused before training ---------------------------------

def test_check_rates_refuses_warmup_cosine_past_its_total_with_lr_min_0():
    from dlfs.schedules import WarmupCosine, check_rates

    rates = check_rates(WarmupCosine(0.1, total=10), 10)
    assert len(rates) == 10 and min(rates) > 0
    with pytest.raises(ValueError, match=r"learning rate 0.0 for epoch 11 of 12; .* "
                                         r"WarmupCosine\(total=10\) stays at lr_min=0 after 10 "
                                         r"epochs: train at most 10 epochs, or give lr_min > 0"):
        check_rates(WarmupCosine(0.1, total=10), 12)
    assert check_rates(WarmupCosine(0.1, total=10, lr_min=1e-4), 12)[-1] == 1e-4


def test_check_rates_refuses_an_exponential_decay_that_underflows():
    from dlfs.schedules import ExponentialDecay, check_rates

    with pytest.raises(ValueError, match=r"learning rate 0.0 for epoch 2 of 3"):
        check_rates(ExponentialDecay(1e-3, rate=1000), 3)
    with pytest.raises(ValueError, match=r"learning rate nan for epoch 1"):
        check_rates(lambda epoch: float("nan"), 1)
