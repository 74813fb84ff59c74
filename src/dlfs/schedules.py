r"""Learning-rate schedules: functions of the epoch number (0, 1, 2, ...).

:func:`dlfs.train.fit` sets ``optimizer.lr = schedule(epoch)`` at the start of
every epoch.
"""
from __future__ import annotations

import math

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
    r""":math:`\eta_t = \eta_0 \cdot \text{factor}^{\lfloor t / \text{every} \rfloor}`."""

    def __init__(self, lr0: float, factor: float = 0.5, every: int = 10) -> None:
        super().__init__(lr0)
        self.factor = float(check_positive(factor, "factor"))
        self.every = int(check_positive(every, "every", integer=True))

    def __call__(self, epoch):
        return self.lr0 * self.factor ** (epoch // self.every)


class ExponentialDecay(Schedule):
    r""":math:`\eta_t = \eta_0 e^{-k t}`."""

    def __init__(self, lr0: float, rate: float = 0.05) -> None:
        super().__init__(lr0)
        self.rate = float(check_positive(rate, "rate", allow_zero=True))

    def __call__(self, epoch):
        return self.lr0 * math.exp(-self.rate * epoch)


class InverseTimeDecay(Schedule):
    r""":math:`\eta_t = \eta_0 / (1 + k t)`."""

    def __init__(self, lr0: float, rate: float = 0.1) -> None:
        super().__init__(lr0)
        self.rate = float(check_positive(rate, "rate", allow_zero=True))

    def __call__(self, epoch):
        return self.lr0 / (1.0 + self.rate * epoch)
