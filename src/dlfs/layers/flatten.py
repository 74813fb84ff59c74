"""Flatten each sample to a vector, e.g. images (n, 28, 28) -> (n, 784)."""
from __future__ import annotations

import numpy as np

from .base import Layer


class Flatten(Layer):
    """Reshape ``X`` of shape (n_samples, d1, d2, ...) to (n_samples, d1*d2*...).

    ``backward`` reshapes the gradient back to the input's shape.
    """

    def __init__(self) -> None:
        super().__init__()
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        x = self._check_input(x, ndim=range(2, 33))
        self.input_shape = x.shape
        return self._remember_output(x.reshape(x.shape[0], -1))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self._check_grad(grad_out).reshape(self.input_shape)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)
