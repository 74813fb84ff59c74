r"""Batch normalisation (Ioffe & Szegedy, 2015) for (N, C) features or (N, C, H, W) images."""
from __future__ import annotations

import numpy as np

from .._checks import check_float_dtype, check_positive
from .base import Layer, config_size


class BatchNorm(Layer):
    r"""Normalise each feature (channel, axis 1) over the batch, then scale and shift.

    Training: :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`,
    :math:`y = \gamma \hat x + \beta`, with :math:`\mu_B, \sigma_B^2` the mean
    and (biased) variance of each channel over every other axis (the samples,
    and for images every pixel position too); running averages of both are
    updated for prediction.  Prediction (``training=False``) uses the running
    averages.

    Backward (training mode), with :math:`g = \partial L/\partial y` and
    :math:`m` values per channel (:math:`m = N` for (N, C), :math:`NHW` for images):

    .. math::
        \frac{\partial L}{\partial x} = \frac{\gamma}{m\sqrt{\sigma_B^2+\epsilon}}
        \Big(m g - \textstyle\sum g - \hat x \sum g \hat x\Big),

    the sums running over the same values as the statistics.

    Implements :eq:`eq-reg-bn-forward`, :eq:`eq-reg-bn-backward` and
    :eq:`eq-reg-bn-running`.

    Running statistics, and how they differ from PyTorch's ``BatchNorm1d``/``2d``:
    each training step sets ``running = momentum * running + (1 - momentum) * batch``,
    so ``momentum`` weights the *old* value (Keras's convention); PyTorch's
    ``momentum`` weights the *new* batch, so ``BatchNorm(momentum=0.9)`` here
    matches PyTorch's ``momentum=0.1``.  The running variance averages the
    *biased* batch variance (divided by :math:`m`, the same one training
    normalises with); PyTorch (and tinygrad) average the unbiased one
    (divided by :math:`m-1`), so after the same steps PyTorch's
    ``running_var`` is larger by up to the factor :math:`m/(m-1)`.
    Training-mode outputs and gradients agree exactly; prediction differs by
    that factor unless it is applied (``tests/test_torch_reference.py``).

    Parameters
    ----------
    n_features : int
        Number of features (channels) C.
    momentum : float in [0, 1)
        Weight of the old running statistics in each update (PyTorch's
        ``momentum`` is ``1 - momentum``; see above).
    eps : float
        Added to the variance for numerical safety.
    dtype : float32 or float64

    Shapes: X of shape (n_samples, C) or (n_samples, C, ...), e.g. NCHW, in and
    out; gamma, beta, running_mean, running_var of shape (C,).
    """

    input_ndim = range(2, 33)

    def __init__(self, n_features: int, *, momentum: float = 0.9, eps: float = 1e-5,
                 dtype=np.float32) -> None:
        super().__init__()
        check_positive(n_features, "n_features", integer=True)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        check_positive(eps, "eps")
        self.n_features, self.momentum, self.eps = int(n_features), float(momentum), float(eps)
        self.dtype = check_float_dtype(dtype, "BatchNorm")
        self.params = {"gamma": np.ones(n_features, self.dtype),
                       "beta": np.zeros(n_features, self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {"running_mean": np.zeros(n_features, self.dtype),
                        "running_var": np.ones(n_features, self.dtype)}

    def _validate(self, x, training):
        super()._validate(x, training)
        if training and x.size // self.n_features < 2:
            raise ValueError(f"BatchNorm needs at least 2 values per feature in training mode "
                             f"(a batch of at least 2 samples), got input shape {x.shape}")

    def _forward(self, x, training):
        """(N, C, ...) -> (N, C, ...): normalise per channel, then
        gamma * x_hat + beta."""
        axes, shape = _stat_axes(x)   # all axes but 1; (C,) -> (1, C, 1, ...)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = self.momentum
            self.buffers["running_mean"] *= m
            self.buffers["running_mean"] += (1 - m) * mean
            self.buffers["running_var"] *= m
            self.buffers["running_var"] += (1 - m) * var
        else:
            mean = self.buffers["running_mean"]
            var = self.buffers["running_var"]
        self.inv_std = 1.0 / np.sqrt(var + self.dtype.type(self.eps))
        self.x_hat = (x - mean.reshape(shape)) * self.inv_std.reshape(shape)
        self.training = training
        gamma, beta = self.params["gamma"], self.params["beta"]
        return gamma.reshape(shape) * self.x_hat + beta.reshape(shape)

    def _backward(self, grad_out, input_grad):
        """(N, C, ...) -> (N, C, ...); d gamma, d beta of shape (C,)."""
        g, x_hat = grad_out, self.x_hat
        axes, shape = _stat_axes(g)
        np.sum(g * x_hat, axis=axes, out=self.grads["gamma"])
        np.sum(g, axis=axes, out=self.grads["beta"])
        if not input_grad:
            return None
        scale = (self.params["gamma"] * self.inv_std).reshape(shape)
        if not self.training:          # mean and var are constants here
            return g * scale
        m = g.size // self.n_features  # values per channel
        dbeta = self.grads["beta"].reshape(shape)
        dgamma = self.grads["gamma"].reshape(shape)
        return (scale / m) * (m * g - dbeta - x_hat * dgamma)

    def config(self):
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps}

    @classmethod
    def param_shapes(cls, config):
        n = config_size(config, "n_features")
        return {name: (n,) for name in ("gamma", "beta", "running_mean", "running_var")}

    def output_shape(self, input_shape):
        if len(input_shape) < 1 or input_shape[0] != self.n_features:
            raise ValueError(f"BatchNorm expects {self.n_features} features (channels, "
                             f"axis 1), got sample shape {tuple(input_shape)}")
        return tuple(input_shape)


def _stat_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to average over (all but axis 1) and the shape that broadcasts (C,) along axis 1."""
    return (0, *range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
