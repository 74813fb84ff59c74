r"""Learning-rate schedules: functions of the epoch number (0, 1, 2, ...).

:func:`dlfs.train.fit` sets ``optimizer.lr = schedule(epoch)`` at the start of
every epoch.  :func:`check_rates` checks every epoch's rate before training
starts, so that a schedule that reaches 0 (an exponential decay that
underflows, :class:`WarmupCosine` past its ``total`` with ``lr_min=0``) is
refused at once rather than after hours of training.
"""
from __future__ import annotations

import math
import numbers

from ._checks import check_positive


class Schedule:
    def __init__(self, lr0: float) -> None:
        self.lr0 = float(check_positive(lr0, "lr0"))

    def __call__(self, epoch: int) -> float:
        raise NotImplementedError


class Constant(Schedule):
    """:math:`\\eta_t = \\eta_0`."""

    def __call__(self, epoch):
        return self.lr0


class StepDecay(Schedule):
    r""":math:`\eta_t = \eta_0 \cdot \text{factor}^{\lfloor t / \text{every} \rfloor}`.

    Implements :eq:`eq-opt-schedules` (step).
    """

    def __init__(self, lr0: float, factor: float = 0.5, every: int = 10) -> None:
        super().__init__(lr0)
        self.factor = float(check_positive(factor, "factor"))
        self.every = int(check_positive(every, "every", integer=True))

    def __call__(self, epoch):
        return self.lr0 * self.factor ** (epoch // self.every)


class ExponentialDecay(Schedule):
    r""":math:`\eta_t = \eta_0 e^{-k t}`.

    Implements :eq:`eq-opt-schedules` (exponential).
    """

    def __init__(self, lr0: float, rate: float = 0.05) -> None:
        super().__init__(lr0)
        self.rate = float(check_positive(rate, "rate", allow_zero=True))

    def __call__(self, epoch):
        return self.lr0 * math.exp(-self.rate * epoch)


class InverseTimeDecay(Schedule):
    r""":math:`\eta_t = \eta_0 / (1 + k t)`.

    Implements :eq:`eq-opt-schedules` (inverse time).
    """

    def __init__(self, lr0: float, rate: float = 0.1) -> None:
        super().__init__(lr0)
        self.rate = float(check_positive(rate, "rate", allow_zero=True))

    def __call__(self, epoch):
        return self.lr0 / (1.0 + self.rate * epoch)


class WarmupCosine(Schedule):
    r"""Linear warm-up for ``warmup`` epochs, then a half cosine down to ``lr_min``.

    .. math::
        \eta_t = \begin{cases}
        \eta_0\, (t + 1) / W, & t < W, \\
        \eta_\text{min} + \tfrac12 (\eta_0 - \eta_\text{min})
        \bigl(1 + \cos\bigl(\pi\, \tfrac{t - W}{T - W}\bigr)\bigr), & W \le t < T, \\
        \eta_\text{min}, & t \ge T,
        \end{cases}

    with :math:`W` = ``warmup`` and :math:`T` = ``total`` epochs.

    Implements :eq:`eq-opt-warmup-cosine`.

    Parameters
    ----------
    lr0 : float
        Peak learning rate :math:`\eta_0`, reached in epoch ``warmup - 1``
        (in epoch 0 when ``warmup`` is 0).
    total : int
        Number of epochs of the whole run; from epoch ``total`` on the rate
        stays at ``lr_min``, so with the default ``lr_min=0`` train at most
        ``total`` epochs (:func:`check_rates` refuses more).
    warmup : int
        Number of warm-up epochs, ``0 <= warmup < total``.
    lr_min : float
        Final learning rate, ``0 <= lr_min <= lr0``.
    """

    def __init__(self, lr0: float, total: int, warmup: int = 0, lr_min: float = 0.0) -> None:
        super().__init__(lr0)
        self.total = int(check_positive(total, "total", integer=True))
        self.warmup = int(check_positive(warmup, "warmup", integer=True, allow_zero=True))
        if self.warmup >= self.total:
            raise ValueError(f"warmup ({warmup}) must be smaller than total ({total})")
        self.lr_min = float(check_positive(lr_min, "lr_min", allow_zero=True))
        if self.lr_min > self.lr0:
            raise ValueError(f"lr_min ({lr_min}) must not exceed lr0 ({lr0})")

    def __call__(self, epoch):
        if epoch < self.warmup:
            return self.lr0 * (epoch + 1) / self.warmup
        if epoch >= self.total:
            return self.lr_min
        progress = (epoch - self.warmup) / (self.total - self.warmup)
        return (self.lr_min + 0.5 * (self.lr0 - self.lr_min)
                * (1.0 + math.cos(math.pi * progress)))


def check_rates(schedule, epochs: int) -> list[float]:
    """Every epoch's learning rate ``schedule(0), ..., schedule(epochs - 1)``, checked.

    Raises
    ------
    ValueError
        Naming the first epoch (counted from 1) whose rate is not a
        positive, finite number, e.g. ``WarmupCosine(0.1, total=10)`` (whose
        rate is ``lr_min = 0`` from epoch 11 on) asked for 12 epochs, or an
        exponential decay that underflows to 0.0.
    """
    check_positive(epochs, "epochs", integer=True)
    rates = []
    for epoch in range(epochs):
        lr = schedule(epoch)
        if (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr)
                or lr <= 0):
            hint = ""
            if isinstance(schedule, WarmupCosine) and epoch >= schedule.total:
                hint = (f"; WarmupCosine(total={schedule.total}) stays at lr_min="
                        f"{schedule.lr_min:g} after {schedule.total} epochs: train at most "
                        f"{schedule.total} epochs, or give lr_min > 0")
            raise ValueError(f"the schedule gives learning rate {lr!r} for epoch {epoch + 1} "
                             f"of {epochs}; a learning rate must be a positive, finite "
                             f"number{hint}")
        rates.append(float(lr))
    return rates
