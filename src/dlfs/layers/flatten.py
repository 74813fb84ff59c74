"""Flatten each sample to a vector, e.g. images (n, 1, 28, 28) -> (n, 784)."""
from __future__ import annotations

import math

from .base import Layer


class Flatten(Layer):
    """Reshape ``X`` of shape (n_samples, d1, d2, ...) to (n_samples, d1*d2*...).

    ``backward`` reshapes the gradient back to the input's shape.  NCHW
    images flatten channel by channel, each channel row by row (C order).
    """

    input_ndim = range(2, 33)

    @classmethod
    def param_shapes(cls, config):
        return {}                           # no arrays

    def _forward(self, x, training):
        """(n_samples, d1, d2, ...) -> (n_samples, d1*d2*...), also for 0 samples."""
        self.input_shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def _backward(self, grad_out, input_grad):
        """(n_samples, d1*d2*...) -> (n_samples, d1, d2, ...)."""
        return grad_out.reshape(self.input_shape)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)
