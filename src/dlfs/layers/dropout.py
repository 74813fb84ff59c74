"""Inverted dropout."""
from __future__ import annotations

import numpy as np

from .base import Layer


class Dropout(Layer):
    """Zero each activation with probability ``p`` while training.

    *Inverted* dropout divides the survivors by ``1 - p`` during training, so
    the expected activation is unchanged and prediction needs no rescaling:
    with ``training=False`` the layer is the identity.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    rng : numpy.random.Generator, optional
        Source of the masks.

    Shapes: X of shape (n_samples, ...) in, the same shape out.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if (isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating))
                or not 0 <= p < 1):
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None

    def forward(self, x, training=True):
        x = self._check_input(x, ndim=range(2, 33))
        if not training or self.p == 0.0:
            self.mask = None
            return self._remember_output(x)
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return self._remember_output(x * self.mask)

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)
        return grad_out if self.mask is None else grad_out * self.mask

    def config(self):
        return {"p": self.p}
