"""The one protocol every layer follows.

A layer is a function ``y = f(x; params)`` that can also run backwards:

* ``forward(x, training=True)`` computes the output and keeps whatever
  ``backward`` will need (the input, a mask, the output...).
* ``backward(grad_out)`` receives ``dL/dy`` (same shape as the output), fills
  ``self.grads`` with ``dL/dparam`` for every entry of ``self.params`` and
  returns ``dL/dx`` for the layer below.

``params`` and ``grads`` are dicts with the same keys (``"W"``, ``"b"``,
``"gamma"``...).  Optimisers update ``params`` in place, so the arrays keep
their identity for the whole life of the layer.  ``buffers`` hold state that
is saved with the model but not trained (BatchNorm's running statistics).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_array


class Layer:
    """Base class: holds ``params``, ``grads`` and ``buffers`` and checks shapes."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._out_shape: tuple[int, ...] | None = None
        self._out_dtype: np.dtype | None = None

    # -- the protocol ----------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)

    # -- description, used by Sequential.summary and by saved parameter files --
    def config(self) -> dict:
        """Constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input shape."""
        return input_shape

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- helpers for subclasses ------------------------------------------------
    def _check_input(self, x: np.ndarray, ndim=2) -> np.ndarray:
        return check_array(x, f"{type(self).__name__} input", ndim=ndim)

    def _remember_output(self, out: np.ndarray) -> np.ndarray:
        self._out_shape, self._out_dtype = out.shape, out.dtype
        return out

    def _check_grad(self, grad_out: np.ndarray) -> np.ndarray:
        name = type(self).__name__
        if self._out_shape is None:
            raise RuntimeError(f"{name}.backward called before forward")
        check_array(grad_out, f"{name} grad_out")
        if grad_out.shape != self._out_shape:
            raise ValueError(f"{name} grad_out must have the forward output's shape "
                             f"{self._out_shape}, got {grad_out.shape}")
        if grad_out.dtype != self._out_dtype:
            # A float64 gradient would silently upcast everything below this layer.
            raise TypeError(f"{name} grad_out must have the output's dtype {self._out_dtype}, "
                            f"got {grad_out.dtype}")
        return grad_out
