"""Max and average pooling over spatial windows of NCHW batches.

Both loop over the ``kh * kw`` offsets inside a window (4 for 2x2 pooling),
never over samples or pixels: each offset is one strided view of the whole
batch, ``X[:, :, i:i + s*OH:s, j:j + s*OW:s]``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive
from .base import Layer
from .conv import _out_hw, _pair


class _Pool2D(Layer, register=False):
    input_ndim = 4

    def __init__(self, kernel_size, stride: int | None = None) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        stride = self.kernel_size[0] if stride is None else stride
        self.stride = int(check_positive(stride, "stride", integer=True))
        self.x_shape: tuple[int, ...] | None = None

    def _out_hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return _out_hw(self, shape)

    def _windows(self, x: np.ndarray, oh: int, ow: int):
        """Yield ``(i, j, view)``: the entry at offset (i, j) of every window."""
        s = self.stride
        for i in range(self.kernel_size[0]):
            for j in range(self.kernel_size[1]):
                yield i, j, x[:, :, i:i + s * oh:s, j:j + s * ow:s]

    @classmethod
    def param_shapes(cls, config):
        return {}                                  # a pool holds no arrays

    def config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": self.stride}

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects samples of shape (C, H, W), "
                             f"got {tuple(input_shape)}")
        return (input_shape[0], *self._out_hw(tuple(input_shape)))


class MaxPool2D(_Pool2D):
    """Maximum over each ``kh x kw`` window.

    ``stride`` is one step for both axes and defaults to the window height
    ``kh`` (so a non-square window needs an explicit stride to tile the input;
    PyTorch's default is the window size per axis).

    The gradient goes to the first maximal entry of each window (row-major
    order), as in PyTorch; every other entry gets zero.

    Shapes
    ------
    X : (N, C, H, W) -> (N, C, OH, OW), ``OH = (H - kh) / stride + 1`` (an integer).

    Implements :eq:`eq-conv-maxpool` (forward) and :eq:`eq-conv-maxpool-grad` (backward).
    """

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Maximum of each window, one strided view per window offset."""
        oh, ow = self._out_hw(x.shape[1:])
        out = None
        for _, _, view in self._windows(x, oh, ow):
            # order="K" keeps the input's memory layout (Conv2D's output has
            # the sample index fastest), so every later elementwise pass is
            # contiguous.
            if out is None:
                out = view.copy(order="K")
            else:
                np.maximum(out, view, out=out)
        self.x, self.out = x, out
        return out

    def _backward(self, grad_out: np.ndarray, input_grad: bool = True):
        """Route each gradient to the (first) maximum of its window."""
        if not input_grad:
            return None
        oh, ow = self.out.shape[2:]
        dx = np.zeros_like(self.x)
        free = np.ones_like(self.out, dtype=bool)      # window not yet routed
        s, overlap = self.stride, self.stride < max(self.kernel_size)
        for i, j, view in self._windows(self.x, oh, ow):
            hit = np.equal(view, self.out, out=np.empty_like(free))
            hit &= free
            free ^= hit
            target = dx[:, :, i:i + s * oh:s, j:j + s * ow:s]
            if overlap:
                target += grad_out * hit
            else:                       # each input entry is in one window only
                np.multiply(grad_out, hit, out=target)
        return dx


class AvgPool2D(_Pool2D):
    """Mean over each ``kh x kw`` window (``stride`` as in :class:`MaxPool2D`).

    The gradient of each output is spread equally, ``1 / (kh * kw)`` each,
    over its window.

    Shapes
    ------
    X : (N, C, H, W) -> (N, C, OH, OW), ``OH = (H - kh) / stride + 1`` (an integer).

    Implements :eq:`eq-conv-avgpool` (forward) and :eq:`eq-conv-avgpool-grad` (backward).
    """

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Mean of each window, one strided view per window offset."""
        oh, ow = self._out_hw(x.shape[1:])
        out = None
        for _, _, view in self._windows(x, oh, ow):
            out = view.copy(order="K") if out is None else np.add(out, view, out=out)
        out *= out.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        self.x = x
        return out

    def _backward(self, grad_out: np.ndarray, input_grad: bool = True):
        """Spread each gradient evenly over its window."""
        if not input_grad:
            return None
        oh, ow = grad_out.shape[2:]
        kh, kw = self.kernel_size
        share = grad_out * grad_out.dtype.type(1.0 / (kh * kw))
        dx = np.zeros_like(self.x)          # same memory layout as the input
        s = self.stride
        for i, j, _ in self._windows(dx, oh, ow):
            dx[:, :, i:i + s * oh:s, j:j + s * ow:s] += share
        return dx
