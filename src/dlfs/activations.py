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

from ._docs import implements


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function σ(z) = 1 / (1 + exp(-z)), without overflow.

    Written as exp(min(z, 0)) / (1 + exp(-abs(z))): for z >= 0 that is
    1 / (1 + exp(-z)), for z < 0 it is the equal exp(z) / (1 + exp(z)).
    Every exponent is <= 0, so nothing overflows, and tiny probabilities
    keep their full relative precision.  (Two exponentials are cheaper than
    choosing per element with ``np.where``, whose data-dependent branches
    are slow on random signs.)

    ``z``: any shape; returns that shape and dtype.
    """
    return np.exp(np.minimum(z, 0)) / (1.0 + np.exp(-np.abs(z)))


implements(sigmoid, "eq-neuron")


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """σ'(z) = σ(z) (1 - σ(z)) = σ(z) σ(-z).

    ``z``: any shape; returns that shape and dtype.

    Computed as σ(z) σ(-z): for large z, 1 - σ(z) rounds to 0 (from about
    z = 37 in float64) while σ(-z) keeps its full relative precision.
    """
    return sigmoid(z) * sigmoid(-z)


implements(sigmoid_grad, "eq-sigmoid-props")


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's is already stable).

    ``z``: any shape; returns that shape and dtype.
    """
    return np.tanh(z)


implements(tanh, "eq-act-tanh")


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)².

    ``z``: any shape; returns that shape and dtype.
    """
    t = np.tanh(z)
    return 1.0 - t * t


implements(tanh_grad, "eq-act-derivs")


def relu(z: np.ndarray) -> np.ndarray:
    """max(0, z).

    ``z``: any shape; returns that shape and dtype.
    """
    return np.maximum(z, 0)


implements(relu, "eq-act-relu")


def relu_grad(z: np.ndarray) -> np.ndarray:
    """1 where z > 0, else 0 (we take the derivative at the kink to be 0).

    ``z``: any shape; returns that shape and dtype.
    """
    return (z > 0).astype(z.dtype)


implements(relu_grad, "eq-act-derivs")


def leaky_relu(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """z for z > 0, αz otherwise (0 < α < 1, ``alpha``).

    For α < 1 this is simply max(z, αz).

    ``z``: any shape; returns that shape and dtype.
    """
    return np.maximum(z, alpha * z)


implements(leaky_relu, "eq-act-lrelu")


def leaky_relu_grad(z: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """1 for z > 0, α otherwise (0 < α < 1, ``alpha``).

    ``z``: any shape; returns that shape and dtype.
    """
    return np.maximum((z > 0).astype(z.dtype), alpha)


implements(leaky_relu_grad, "eq-act-derivs")


def logsumexp(z: np.ndarray, axis: int = -1,
              keepdims: bool = False) -> np.ndarray:
    """Stable log(sum_k exp(z_k)) along ``axis``.

    Subtracting the maximum first keeps every exponent <= 0, so nothing
    overflows, and the largest term is exactly exp(0) = 1, so the sum never
    underflows to zero.

    ``z``: any shape; returns its shape without ``axis`` (kept as 1 with
    ``keepdims``).
    """
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


implements(logsumexp, "eq-loss-lse")


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z - logsumexp(z), stable.

    ``z``: any shape; returns that shape and dtype.
    """
    # (z - m) - log(sum) rather than z - (m + log(sum)): the shifted logits
    # are exact, so a confident prediction's log-probability keeps full
    # precision.
    shifted = z - np.max(z, axis=axis, keepdims=True)
    total = np.sum(np.exp(shifted), axis=axis, keepdims=True)
    return shifted - np.log(total)


implements(log_softmax, "eq-loss-ce-logits", "eq-loss-lse")


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
