"""Activation functions as layers.

Each layer keeps exactly what its derivative needs: Sigmoid and Tanh keep
their output (the derivative is a function of it), ReLU and LeakyReLU keep
the input's sign pattern.
"""
from __future__ import annotations

import numpy as np

from .. import activations as F
from .._checks import check_positive
from .base import Layer


class Sigmoid(Layer):
    r"""Elementwise :math:`\sigma(z)`; backward uses :math:`\sigma' = \sigma(1-\sigma)`.

    Shapes: any (n_samples, ...) in, the same shape out.
    """

    def forward(self, x, training=True):
        self.out = F.sigmoid(self._check_input(x, ndim=range(1, 33)))
        return self._remember_output(self.out)

    def backward(self, grad_out):
        return self._check_grad(grad_out) * self.out * (1.0 - self.out)


class Tanh(Layer):
    r"""Elementwise :math:`\tanh(z)`; backward uses :math:`1 - \tanh^2`."""

    def forward(self, x, training=True):
        self.out = F.tanh(self._check_input(x, ndim=range(1, 33)))
        return self._remember_output(self.out)

    def backward(self, grad_out):
        return self._check_grad(grad_out) * (1.0 - self.out * self.out)


class ReLU(Layer):
    r"""Elementwise :math:`\max(0, z)`; the gradient passes where :math:`z > 0`."""

    def forward(self, x, training=True):
        x = self._check_input(x, ndim=range(1, 33))
        self.mask = x > 0
        return self._remember_output(np.maximum(x, 0))

    def backward(self, grad_out):
        grad_out = self._check_grad(grad_out)        # first: self.mask exists only after forward
        return grad_out * self.mask       # branch-free: np.where is slow on random signs


class LeakyReLU(Layer):
    r"""Elementwise :math:`z` if :math:`z > 0` else :math:`\alpha z`."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(check_positive(alpha, "alpha"))
        if self.alpha >= 1:
            raise ValueError(f"alpha must be < 1 (the slope for negative inputs), got {alpha!r}")

    def forward(self, x, training=True):
        x = self._check_input(x, ndim=range(1, 33))
        self.slope = F.leaky_relu_grad(x, self.alpha)    # 1 or alpha per element
        return self._remember_output(x * self.slope)

    def backward(self, grad_out):
        return self._check_grad(grad_out) * self.slope

    def config(self):
        return {"alpha": self.alpha}


class Softmax(Layer):
    r"""Row-wise softmax :math:`s = e^{z} / \sum_j e^{z_j}` for (n_samples, n_classes).

    Its Jacobian is :math:`\partial s_i/\partial z_j = s_i(\delta_{ij} - s_j)`,
    so the vector-Jacobian product is :math:`s \odot (g - \langle g, s\rangle)`.
    For training, prefer :class:`dlfs.losses.SoftmaxCrossEntropy`, which fuses
    softmax with the loss and is both faster and more accurate.
    """

    def forward(self, x, training=True):
        self.out = F.softmax(self._check_input(x), axis=1)
        return self._remember_output(self.out)

    def backward(self, grad_out):
        g = self._check_grad(grad_out)
        return self.out * (g - np.sum(g * self.out, axis=1, keepdims=True))


#: Option name -> layer class, for building models from strings (CLI, configs).
ACTIVATION_LAYERS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
}
