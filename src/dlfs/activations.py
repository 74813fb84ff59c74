"""Activation functions and their derivatives, as plain NumPy functions.

Every function takes the pre-activation ``z`` (any shape, floating dtype) and
returns an array of the same shape and dtype.  The ``*_grad`` functions return
the elementwise derivative ``da/dz``; ``softmax`` is the exception, since its
Jacobian is not diagonal (see :class:`dlfs.layers.Softmax` for its backward).

The layer classes in :mod:`dlfs.layers.activation` wrap these functions, so
the formulas live in exactly one place.
"""
from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, without overflow.

    Written as :math:`e^{\min(z, 0)} / (1 + e^{-|z|})`: for :math:`z \ge 0`
    that is :math:`1 / (1 + e^{-z})`, for :math:`z < 0` it is the equal
    :math:`e^{z} / (1 + e^{z})`.  Every exponent is :math:`\le 0`, so nothing
    overflows, and tiny probabilities keep their full relative precision.
    (Two exponentials are cheaper than choosing per element with ``np.where``,
    whose data-dependent branches are slow on random signs.)

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-neuron` (the sigmoid).
    """
    return np.exp(np.minimum(z, 0)) / (1.0 + np.exp(-np.abs(z)))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z)) = \sigma(z)\,\sigma(-z)`.

    ``z``: any shape; returns that shape and dtype.

    Computed as :math:`\sigma(z)\,\sigma(-z)`: for large :math:`z`, :math:`1 - \sigma(z)`
    rounds to 0 (from about :math:`z = 37` in float64) while :math:`\sigma(-z)` keeps
    its full relative precision.

    Implements :eq:`eq-sigmoid-props`.
    """
    return sigmoid(z) * sigmoid(-z)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's is already stable).

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-tanh`.
    """
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    r""":math:`\tanh'(z) = 1 - \tanh^2(z)`.

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-derivs`.
    """
    t = np.tanh(z)
    return 1.0 - t * t


def relu(z: np.ndarray) -> np.ndarray:
    r""":math:`\max(0, z)`.

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-relu`.
    """
    return np.maximum(z, 0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """1 where ``z > 0``, else 0 (we take the derivative at the kink to be 0).

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-derivs`.
    """
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    r""":math:`z` for :math:`z > 0`, :math:`\alpha z` otherwise (:math:`0 < \alpha < 1`).

    For :math:`\alpha < 1` this is simply :math:`\max(z, \alpha z)`.

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-lrelu`.
    """
    return np.maximum(z, alpha * z)


def leaky_relu_grad(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    r"""1 for :math:`z > 0`, :math:`\alpha` otherwise (:math:`0 < \alpha < 1`).

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-act-derivs`.
    """
    return np.maximum((z > 0).astype(z.dtype), alpha)


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r"""Stable :math:`\log \sum_k e^{z_k}` along ``axis``.

    Subtracting the maximum first keeps every exponent :math:`\le 0`, so
    nothing overflows, and the largest term is exactly :math:`e^0 = 1`, so the
    sum never underflows to zero.

    ``z``: any shape; returns its shape without ``axis`` (kept as 1 with ``keepdims``).

    Implements :eq:`eq-loss-lse`.
    """
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r""":math:`\log \mathrm{softmax}(z) = z - \mathrm{logsumexp}(z)`, stable.

    ``z``: any shape; returns that shape and dtype.

    Implements :eq:`eq-loss-ce-logits` (the log-softmax) with the shift of :eq:`eq-loss-lse`.
    """
    # (z - m) - log(sum) rather than z - (m + log(sum)): the shifted logits are
    # exact, so a confident prediction's log-probability keeps full precision.
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r""":math:`e^{z_k} / \sum_j e^{z_j}` along ``axis``; same shape as ``z``.

    For a batch of logits of shape (n_samples, n_classes) use ``axis=1``
    (each row becomes a probability vector).

    Implements :eq:`eq-loss-softmax`, computed as in :eq:`eq-loss-lse`.
    """
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


#: Name -> (function, derivative), for building layers from option strings.
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
