"""2-D convolution (cross-correlation) on NCHW batches, via im2col."""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from .._checks import check_float_dtype, check_positive
from .base import Layer, config_size
from .im2col import col2im, conv_output_size, im2col


def _pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 5)`` stays; checks positive integers."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    for v in pair:
        check_positive(v, name, integer=True)
    return int(pair[0]), int(pair[1])


def _out_hw(layer: Layer, shape: tuple[int, ...], padding: int = 0) -> tuple[int, int]:
    """Output height and width for a sample of ``shape`` (C, H, W), or a ValueError
    that names the layer, its geometry and the sample shape."""
    kh, kw = layer.kernel_size
    try:
        return (conv_output_size(shape[-2], kh, layer.stride, padding, what="input height"),
                conv_output_size(shape[-1], kw, layer.stride, padding, what="input width"))
    except ValueError as err:
        raise ValueError(f"{type(layer).__name__} with kernel {layer.kernel_size}, stride "
                         f"{layer.stride}, padding {padding} cannot take samples of shape "
                         f"{tuple(shape)}: {err}") from None


class Conv2D(Layer):
    r"""2-D cross-correlation with zero padding and stride, as in PyTorch's ``Conv2d``.

    ``Z[n, o, p, q] = b[o] + sum_{c,i,j} W[o, c, i, j] * Xpad[n, c, s*p + i, s*q + j]``

    Parameters
    ----------
    in_channels, out_channels : int
        ``C_in`` and ``C_out``.
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    stride : int
        Step between neighbouring output positions, the same along both axes.
    padding : int
        Rows/columns of zeros added on every side of the input.
    init : str
        Weight initialiser; the fans of a kernel are
        ``fan_in = C_in * kh * kw`` and ``fan_out = C_out * kh * kw``
        (:func:`dlfs.init.fan_in_fan_out`).
    dtype : numpy dtype
        float32 (default, the fast path) or float64 (gradient checks).
    rng : numpy.random.Generator, optional

    Shapes
    ------
    X : (N, C_in, H, W) -> Z : (N, C_out, OH, OW) with
    ``OH = (H + 2*padding - kh) // stride + 1``, same for OW; a remainder of the
    division is allowed only if the rows it leaves uncovered are padding
    (:func:`~dlfs.layers.im2col.conv_output_size`);
    W : (C_out, C_in, kh, kw) (PyTorch's layout); b : (C_out,).

    Implements :eq:`eq-conv-forward` and :eq:`eq-conv-im2col` (forward).
    Implements :eq:`eq-conv-grad-b`, :eq:`eq-conv-grad-w`, :eq:`eq-conv-grad-x` and
    :eq:`eq-conv-grad-mat` (backward).
    """

    input_ndim = 4

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, stride: int = 1,
                 padding: int = 0, init: str = "he", dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        check_positive(in_channels, "in_channels", integer=True)
        check_positive(out_channels, "out_channels", integer=True)
        check_positive(stride, "stride", integer=True)
        check_positive(padding, "padding", integer=True, allow_zero=True)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.init = int(stride), int(padding), init
        self.dtype = check_float_dtype(dtype, "Conv2D")
        rng = np.random.default_rng() if rng is None else rng
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.params["W"] = initializers.initialize(init, shape, rng, self.dtype)
        self.params["b"] = np.zeros(self.out_channels, dtype=self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cols: np.ndarray | None = None
        self.x_shape: tuple[int, ...] | None = None

    def _out_hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return _out_hw(self, shape, self.padding)

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Z = W_matrix @ im2col(X) + b, returned as (N, C_out, OH, OW)."""
        n = x.shape[0]              # forward has checked x with output_shape
        oh, ow = self._out_hw(x.shape[1:])
        # (C*kh*kw, OH*OW*N): one column per output pixel and sample
        cols = im2col(x, *self.kernel_size, self.stride, self.padding)
        z = self.params["W"].reshape(self.out_channels, -1) @ cols
        z += self.params["b"][:, None]
        self.cols, self.x_shape = cols, x.shape   # backward needs the patches
        # (C_out, OH, OW, N) -> (N, C_out, OH, OW): a view, no copy
        return z.reshape(self.out_channels, oh, ow, n).transpose(3, 0, 1, 2)

    def _backward(self, grad_out: np.ndarray, input_grad: bool = True):
        """dW = G cols^T, db = row sums of G, dX = col2im(W^T G) (cropped)."""
        c_out, dW = self.out_channels, self.grads["W"]
        # (N, C_out, OH, OW) -> (C_out, OH*OW*N), the layout of Z
        g = grad_out.transpose(1, 2, 3, 0).reshape(c_out, -1)
        # in place, whatever dW's layout
        dW[...] = (g @ self.cols.T).reshape(dW.shape)
        np.sum(g, axis=1, out=self.grads["b"])
        if not input_grad:
            return None
        dcols = self.params["W"].reshape(c_out, -1).T @ g  # (C*kh*kw, OH*OW*N)
        return col2im(dcols, self.x_shape, *self.kernel_size, self.stride,
                      self.padding)

    @classmethod
    def param_shapes(cls, config):
        kh, kw = _pair(config.get("kernel_size"), "kernel_size")
        c_out = config_size(config, "out_channels")
        return {"W": (c_out, config_size(config, "in_channels"), kh, kw), "b": (c_out,)}

    def config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": self.stride,
                "padding": self.padding, "init": self.init}

    def output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"Conv2D expects samples of shape ({self.in_channels}, H, W), "
                             f"got {tuple(input_shape)}")
        return (self.out_channels, *self._out_hw(tuple(input_shape)))
