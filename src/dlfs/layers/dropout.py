"""Inverted dropout."""
from __future__ import annotations

import numpy as np

from .base import Layer


class Dropout(Layer):
    """Zero each activation with probability ``p`` while training.

    *Inverted* dropout divides the survivors by ``1 - p`` during training, so
    the expected activation is unchanged and prediction needs no rescaling:
    with ``training=False`` the layer is the identity.

    Implements :eq:`eq-reg-dropout`.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    rng : numpy.random.Generator, optional
        Source of the masks; inside :func:`dlfs.train.fit` it is replaced by a
        generator derived from ``fit``'s ``seed``.

    Shapes: X of shape (n_samples, ...) in, the same shape out.
    """

    input_ndim = range(2, 33)

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if (isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating))
                or not 0 <= p < 1):
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None

    @classmethod
    def param_shapes(cls, config):
        return {}                           # no arrays

    def _forward(self, x, training):
        """Any shape -> same shape: x * mask, each mask entry 0 or 1/(1 - p).

        The identity when predicting (``training`` False).
        """
        if not training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def _backward(self, grad_out, input_grad):
        """Same shape as the input: passes the kept units, scaled."""
        return grad_out if self.mask is None else grad_out * self.mask

    def config(self):
        return {"p": self.p}
