r"""Check backpropagation against centred finite differences.

For a scalar function :math:`L(\theta)` the centred difference

.. math:: \frac{\partial L}{\partial \theta_i} \approx
          \frac{L(\theta + h e_i) - L(\theta - h e_i)}{2h}

has error :math:`O(h^2)`.  We compare it with the analytic gradient ``a`` by
the relative error of cs231n, taken over the whole array:
:math:`\lVert a - n\rVert / \max(\lVert a\rVert, \lVert n\rVert)` (0 when both
are 0).  In float64 a correct gradient typically gives 1e-7 or less (the
single-neuron chapter of the book measures it); a wrong one gives something near 1.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array
from .layers import Layer
from .losses import Loss
from .model import Sequential


def relative_error(analytic: np.ndarray, numeric: np.ndarray, atol: float = 0.0) -> float:
    """``|a - n| / max(|a|, |n|)`` with Euclidean norms.

    Returns 0 when both norms are at most ``atol``: the gradient is then zero
    to within the finite-difference noise (for example the bias of a layer
    followed by BatchNorm, whose true gradient is exactly zero), and a ratio of
    two noise terms would be meaningless.

    Implements :eq:`eq-relerr`.
    """
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return 0.0 if scale <= atol else float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f()`` w.r.t. ``x``.

    ``x`` is perturbed in place, one element at a time, and restored.  This is
    the one deliberate Python loop over elements in the package: it is a
    checking tool for small arrays, never on a training path.

    Implements :eq:`eq-central`.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)   # views: x must be contiguous
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        plus = f()
        flat_x[i] = old - h
        minus = f()
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * h)
    return grad


def _generators(obj) -> list[np.random.Generator]:
    layers = obj.layers if isinstance(obj, Sequential) else [obj]
    return [layer.rng for layer in layers if isinstance(getattr(layer, "rng", None),
                                                        np.random.Generator)]


def gradcheck(obj, x: np.ndarray, target: np.ndarray | None = None, *, loss: Loss | None = None,
              h: float = 1e-6, atol: float = 1e-8, training: bool = True,
              seed: int = 0) -> dict[str, float]:
    """Relative error between backprop and finite differences, per array.

    Parameters
    ----------
    obj : Layer, Sequential or Loss
        What to check.  A layer or model is reduced to a scalar by ``loss`` if
        given, else by the random projection ``sum(output * R)`` (so every
        output element gets a different weight).  A loss is checked w.r.t. its
        prediction ``x`` for the given ``target``.
    x : ndarray, float64
        Input (or prediction, for a loss).  Use float64: in float32 the
        finite-difference error alone is around 1e-3.
    target : ndarray, optional
        Target for ``loss`` or for a Loss ``obj``.
    h : float
        Finite-difference step.
    training : bool
        Mode of the forward passes (False checks e.g. BatchNorm's inference mode).
    atol : float
        Gradients whose norms are both below ``atol`` count as equal (error 0);
        see :func:`relative_error`.

    Returns
    -------
    dict
        ``{"x": err, "W": err, ...}`` for a layer, ``{"x": err, "0.W": err, ...}``
        for a model, ``{"prediction": err}`` for a loss.

    Layers that draw random numbers (Dropout) get their generator rewound
    before every forward pass, so all evaluations see the same mask.
    """
    check_array(x, "gradcheck input", dtype=np.float64)
    x = np.array(x, dtype=np.float64, copy=True)      # private, contiguous copy

    if isinstance(obj, Loss):
        f = lambda: obj.forward(x, target)             # noqa: E731
        f()
        analytic = obj.backward().copy()
        return {"prediction": relative_error(analytic, numerical_gradient(f, x, h), atol)}

    if not isinstance(obj, (Layer, Sequential)):
        raise TypeError(f"gradcheck takes a Layer, Sequential or Loss, got {type(obj).__name__}")
    rngs = _generators(obj)
    rng_states = [g.bit_generator.state for g in rngs]
    projection = None

    def f() -> float:
        nonlocal projection
        for g, s in zip(rngs, rng_states):
            g.bit_generator.state = s
        out = obj.forward(x, training=training)
        if loss is not None:
            return loss.forward(out, target)
        if projection is None:
            projection = np.random.default_rng(seed).standard_normal(out.shape)
        return float(np.sum(out * projection))

    f()
    grad_out = loss.backward() if loss is not None else projection
    analytic_x = obj.backward(grad_out)
    if isinstance(obj, Sequential):
        analytic = {name: g.copy() for name, _, g in obj.parameters()}
        params = {name: p for name, p, _ in obj.parameters()}
    else:
        analytic = {name: g.copy() for name, g in obj.grads.items()}
        params = obj.params
    errors = {"x": relative_error(analytic_x, numerical_gradient(f, x, h), atol)}
    for name, param in params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(f, param, h), atol)
    return errors
