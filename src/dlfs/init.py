r"""Weight initialisers.

Each initialiser draws an array of shape ``(n_in, n_out)`` (fan-in first,
matching ``Z = X @ W + b``).  The variance-preserving ones pick the scale so
that activations keep roughly the same variance from layer to layer:

==================  =======================================================
``zeros``           all zeros (breaks symmetry only for a single neuron)
``normal``          :math:`\mathcal N(0, 0.01^2)`, the classic "small random"
``xavier_normal``   :math:`\mathcal N(0, 2/(n_\text{in}+n_\text{out}))` (Glorot & Bengio, 2010)
``xavier_uniform``  :math:`\mathcal U(-a, a)`, :math:`a = \sqrt{6/(n_\text{in}+n_\text{out})}`
``he``              :math:`\mathcal N(0, 2/n_\text{in})` (He et al., 2015), for ReLU
==================  =======================================================
"""
from __future__ import annotations

import numpy as np

from ._checks import check_choice


def zeros(shape, rng, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def normal(shape, rng, dtype=np.float32, std=0.01):
    return (std * rng.standard_normal(shape)).astype(dtype)


def xavier_normal(shape, rng, dtype=np.float32):
    fan_in, fan_out = shape[0], shape[-1]
    return (np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)).astype(dtype)


def xavier_uniform(shape, rng, dtype=np.float32):
    fan_in, fan_out = shape[0], shape[-1]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he(shape, rng, dtype=np.float32):
    return (np.sqrt(2.0 / shape[0]) * rng.standard_normal(shape)).astype(dtype)


INITIALIZERS = {
    "zeros": zeros,
    "normal": normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": he,
}


def initialize(name: str, shape: tuple[int, ...], rng: np.random.Generator,
               dtype=np.float32) -> np.ndarray:
    """Draw an array of ``shape`` with the initialiser called ``name``."""
    check_choice(name, "initializer", INITIALIZERS)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return INITIALIZERS[name](shape, rng, dtype)


def kernel_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight array.

    A dense weight ``(n_in, n_out)`` has fans ``(n_in, n_out)``.  A convolution
    kernel ``(C_out, C_in, kh, kw)`` connects each output to ``C_in * kh * kw``
    inputs and each input to ``C_out * kh * kw`` outputs, so those are its fans
    (the convention of PyTorch and Keras).
    """
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def initialize_kernel(name: str, shape: tuple[int, ...], rng: np.random.Generator,
                      dtype=np.float32) -> np.ndarray:
    """Like :func:`initialize`, with the fans of :func:`kernel_fans` for any shape.

    For a 4-D kernel ``(C_out, C_in, kh, kw)`` He draws from
    :math:`\\mathcal N(0, 2/\\text{fan}_\\text{in})` with
    :math:`\\text{fan}_\\text{in} = C_\\text{in} k_h k_w`, and Xavier uses
    :math:`\\text{fan}_\\text{in} + \\text{fan}_\\text{out}`.
    """
    check_choice(name, "initializer", INITIALIZERS)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    fan_in, fan_out = kernel_fans(shape)
    if name == "he":
        return (np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)).astype(dtype)
    if name == "xavier_normal":
        return (np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)).astype(dtype)
    if name == "xavier_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)
    return INITIALIZERS[name](shape, rng, dtype)
