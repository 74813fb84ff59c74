r"""Weight initialisers.

Each initialiser draws an array of the requested ``shape`` and dtype.  Two
layouts are understood, and :func:`fan_in_fan_out` reads the fans from them:

* 2-D ``(n_in, n_out)``: a :class:`~dlfs.layers.Dense` weight matrix (fan-in
  first, matching ``Z = X @ W + b``);
* N-d ``(C_out, C_in, kh, kw)`` (or any number of kernel axes): a convolution
  kernel, in PyTorch's layout; images are NCHW.  Each output value sums over
  ``C_in * kh * kw`` inputs, and each input feeds ``C_out * kh * kw`` outputs.

The variance-preserving initialisers pick the scale so that activations keep
roughly the same variance from layer to layer:

==================  =======================================================
``zeros``           all zeros (breaks symmetry only for a single neuron)
``normal``          :math:`\mathcal N(0, 0.01^2)`, the classic "small random"
``xavier_normal``   :math:`\mathcal N(0, 2/(n_\text{in}+n_\text{out}))` (Glorot & Bengio, 2010)
``xavier_uniform``  :math:`\mathcal U(-a, a)`, :math:`a = \sqrt{6/(n_\text{in}+n_\text{out})}`
``he``              :math:`\mathcal N(0, 2/n_\text{in})` (He et al., 2015), for ReLU
==================  =======================================================

with :math:`n_\text{in}, n_\text{out}` the fans.  Every initialiser takes
``(shape, rng, dtype)`` and returns an ndarray of that shape and dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_choice
from ._docs import implements


def fan_in_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """Number of inputs each output sums over, and of outputs each input feeds.

    Parameters
    ----------
    shape : tuple of int
        ``(n_in, n_out)`` for a dense layer, or ``(C_out, C_in, k1, k2, ...)``
        for a convolution kernel.

    Returns
    -------
    (fan_in, fan_out) : tuple of int
        ``(n_in, n_out)``, or ``(C_in * k1 * k2 ..., C_out * k1 * k2 ...)``:
        for kernels the same numbers as PyTorch's
        ``torch.nn.init._calculate_fan_in_and_fan_out``.  (For 2-D the axes are
        swapped relative to PyTorch's ``Linear``, which stores ``(out, in)``.)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) < 2:
        raise ValueError(f"fan-in and fan-out need a weight of at least 2 dimensions, "
                         f"got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def zeros(shape, rng, dtype=np.float32):
    """All zeros, of ``shape`` (any) and ``dtype``."""
    return np.zeros(shape, dtype=dtype)


def normal(shape, rng, dtype=np.float32, std=0.01):
    r""":math:`\mathcal N(0, \text{std}^2)` of ``shape`` (any) and ``dtype``."""
    return (std * rng.standard_normal(shape)).astype(dtype)


def xavier_normal(shape, rng, dtype=np.float32):
    """Normal, mean 0, variance 2/(n_in + n_out); ``shape`` 2-D or a kernel."""
    fan_in, fan_out = fan_in_fan_out(shape)
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (std * rng.standard_normal(shape)).astype(dtype)


implements(xavier_normal, "eq-init-xavier")


def xavier_uniform(shape, rng, dtype=np.float32):
    """Uniform on (-a, a), a = sqrt(6 / (n_in + n_out)).

    ``shape`` 2-D or a kernel.  The same variance as ``xavier_normal``.
    """
    fan_in, fan_out = fan_in_fan_out(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


implements(xavier_uniform, "eq-init-xavier")


def he(shape, rng, dtype=np.float32):
    """Normal, mean 0, variance 2/n_in; ``shape`` 2-D or a kernel."""
    fan_in, _ = fan_in_fan_out(shape)
    return (np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)).astype(dtype)


implements(he, "eq-init-he")


INITIALIZERS = {
    "zeros": zeros,
    "normal": normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": he,
}


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator,
               dtype=np.float32) -> np.ndarray:
    """Draw an array of ``shape`` (``(n_in, n_out)`` or ``(C_out, C_in, kh, kw)``) and ``dtype``
    with the initialiser called ``name``."""
    check_choice(name, "initializer", INITIALIZERS)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return INITIALIZERS[name](shape, rng, dtype)
