"""Activation functions as layers.

The formulas live in :mod:`dlfs.activations`; an elementwise layer keeps its
input :math:`z` and multiplies the incoming gradient by the derivative
:math:`f'(z)`, elementwise (the chain rule for a diagonal Jacobian).
"""
from __future__ import annotations

import numpy as np

from .. import activations as F
from .._checks import check_positive
from .._docs import implements
from .base import Layer


class Elementwise(Layer, register=False):
    r"""Base of the elementwise activations :math:`a = f(z)`.

    Subclasses define ``f`` and its derivative ``df`` (functions of :math:`z`).

    Shapes: any (n_samples, ...) in, the same shape out.
    """

    input_ndim = range(1, 33)

    @classmethod
    def param_shapes(cls, config):
        return {}                           # no arrays

    def _forward(self, x, training):
        """a = f(z), elementwise, any shape; keeps z for the derivative."""
        self.z = x
        return self.f(x)

    def _backward(self, grad_out, input_grad):
        """dL/dz = dL/da * f'(z), elementwise, the shape of z."""
        return grad_out * self.df(self.z)


implements(Elementwise._backward, "eq-bp-elementwise")


class Sigmoid(Elementwise):
    r"""Elementwise :math:`\sigma(z)`; backward uses :math:`\sigma' = \sigma(1-\sigma)`."""

    f, df = staticmethod(F.sigmoid), staticmethod(F.sigmoid_grad)


class Tanh(Elementwise):
    r"""Elementwise :math:`\tanh(z)`; backward uses :math:`1 - \tanh^2`."""

    f, df = staticmethod(F.tanh), staticmethod(F.tanh_grad)


class ReLU(Elementwise):
    """Elementwise max(0, z); the gradient passes where z > 0."""

    f, df = staticmethod(F.relu), staticmethod(F.relu_grad)


class LeakyReLU(Elementwise):
    r"""Elementwise :math:`z` if :math:`z > 0` else :math:`\alpha z`."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(check_positive(alpha, "alpha"))
        if self.alpha >= 1:
            raise ValueError(f"alpha must be < 1 (the slope for negative inputs), got {alpha!r}")

    def f(self, z):
        return F.leaky_relu(z, self.alpha)

    def df(self, z):
        return F.leaky_relu_grad(z, self.alpha)

    def config(self):
        return {"alpha": self.alpha}


class Softmax(Layer):
    r"""Row-wise softmax :math:`s = e^{z} / \sum_j e^{z_j}` for (n_samples, n_classes).

    Its Jacobian is :math:`\partial s_i/\partial z_j = s_i(\delta_{ij} - s_j)`,
    so the vector-Jacobian product is :math:`s \odot (g - \langle g, s\rangle)`.
    For training, prefer :class:`dlfs.losses.SoftmaxCrossEntropy`, which fuses
    softmax with the loss and is both faster and more accurate.

    Shapes: Z of shape (n_samples, n_classes) in, the same shape out.
    """

    @classmethod
    def param_shapes(cls, config):
        return {}                           # no arrays

    def _forward(self, x, training):
        """Softmax of each row of ``x`` (n_samples, n_classes); keeps the output."""
        self.s = F.softmax(x, axis=1)
        return self.s

    def _backward(self, grad_out, input_grad):
        """s * (g - <g, s>) row by row, shape (n_samples, n_classes)."""
        s = self.s
        return s * (grad_out - np.sum(grad_out * s, axis=1, keepdims=True))

    def output_shape(self, input_shape):
        if len(input_shape) != 1 or input_shape[0] < 1:
            raise ValueError(f"Softmax needs at least one class, got sample shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)


implements(Softmax._backward, "eq-loss-softmax-vjp", "eq-bp-softmax")

#: Option name -> layer class, for building models from strings (CLI, configs).
ACTIVATION_LAYERS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
}
