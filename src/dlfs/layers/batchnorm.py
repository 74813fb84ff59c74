r"""Batch normalisation for (n_samples, n_features) inputs (Ioffe & Szegedy, 2015)."""
from __future__ import annotations

import numpy as np

from .._checks import check_positive
from .base import Layer


class BatchNorm(Layer):
    r"""Normalise each feature over the batch, then scale and shift.

    Training: :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`,
    :math:`y = \gamma \hat x + \beta`, with :math:`\mu_B, \sigma_B^2` the batch
    mean and (biased) variance; running averages of both are updated for
    prediction.  Prediction (``training=False``) uses the running averages.

    Backward (training mode), with :math:`g = \partial L/\partial y` and N rows:

    .. math::
        \frac{\partial L}{\partial x} = \frac{\gamma}{N\sqrt{\sigma_B^2+\epsilon}}
        \Big(N g - \textstyle\sum_n g_n - \hat x \sum_n g_n \hat x_n\Big).

    Parameters
    ----------
    n_features : int
    momentum : float in [0, 1)
        Weight of the old running statistics in each update.
    eps : float
        Added to the variance for numerical safety.
    dtype : numpy dtype

    Shapes: X of shape (n_samples, n_features) in and out; gamma, beta of shape (n_features,).
    """

    def __init__(self, n_features: int, *, momentum: float = 0.9, eps: float = 1e-5,
                 dtype=np.float32) -> None:
        super().__init__()
        check_positive(n_features, "n_features", integer=True)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        check_positive(eps, "eps")
        self.n_features, self.momentum, self.eps = int(n_features), float(momentum), float(eps)
        self.dtype = np.dtype(dtype)
        self.params = {"gamma": np.ones(n_features, self.dtype),
                       "beta": np.zeros(n_features, self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(n_features, self.dtype),
                        "running_var": np.ones(n_features, self.dtype)}

    def forward(self, x, training=True):
        x = self._check_input(x)
        if x.shape[1] != self.n_features:
            raise ValueError(f"BatchNorm expects {self.n_features} features, got shape {x.shape}")
        if x.dtype != self.dtype:
            raise TypeError(f"BatchNorm has dtype {self.dtype} but its input has dtype {x.dtype}")
        if training:
            if x.shape[0] < 2:
                raise ValueError("BatchNorm needs at least 2 samples per batch in training mode")
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.buffers["running_mean"] *= m
            self.buffers["running_mean"] += (1 - m) * mean
            self.buffers["running_var"] *= m
            self.buffers["running_var"] += (1 - m) * var
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.inv_std = 1.0 / np.sqrt(var + self.dtype.type(self.eps))
        self.x_hat = (x - mean) * self.inv_std
        self.training = training
        return self._remember_output(self.params["gamma"] * self.x_hat + self.params["beta"])

    def backward(self, grad_out):
        g = self._check_grad(grad_out)
        np.sum(g * self.x_hat, axis=0, out=self.grads["gamma"])
        np.sum(g, axis=0, out=self.grads["beta"])
        scale = self.params["gamma"] * self.inv_std
        if not self.training:                      # mean and var are constants here
            return g * scale
        n = g.shape[0]
        return (scale / n) * (n * g - self.grads["beta"] - self.x_hat * self.grads["gamma"])

    def config(self):
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps}
