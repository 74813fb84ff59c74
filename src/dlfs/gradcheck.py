r"""Check backpropagation against centred finite differences.

For a scalar function :math:`L(\theta)` the centred difference

.. math:: \frac{\partial L}{\partial \theta_i} \approx
          \frac{L(\theta + h e_i) - L(\theta - h e_i)}{2h}

has error :math:`O(h^2)`.  We compare it with the analytic gradient
:math:`g_a` by the relative error of cs231n, taken over the whole array:
:math:`\lVert g_a - g_n\rVert / \max(\lVert g_a\rVert, \lVert g_n\rVert)`
(0 when both are 0), with :math:`g_n` the numerical gradient.  In float64 a correct gradient typically gives 1e-7 or less (the
single-neuron chapter of the book measures it); a wrong one gives something near 1.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array
from ._docs import implements
from .layers import Layer
from .losses import Loss
from .model import Sequential


def relative_error(analytic: np.ndarray, numeric: np.ndarray,
                   atol: float = 0.0) -> float:
    """‖analytic - numeric‖ / max(‖analytic‖, ‖numeric‖), Euclidean norms.

    Returns 0 when both norms are at most ``atol``: the gradient is then
    zero to within the finite-difference noise (for example the bias of a
    layer followed by BatchNorm, whose true gradient is exactly zero), and a
    ratio of two noise terms would be meaningless.
    """
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    if scale <= atol:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


implements(relative_error, "eq-relerr")


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f()`` w.r.t. ``x``.

    ``x`` (any shape, also a non-contiguous view such as ``A.T``) is
    perturbed in place, one element at a time, and restored; the result is a
    float64 array of the shape of ``x``.  This is the one deliberate Python
    loop over elements in the package: it is a checking tool for small
    arrays, never on a training path.
    """
    if (not isinstance(x, np.ndarray)
            or not np.issubdtype(x.dtype, np.floating)):
        got = getattr(x, "dtype", type(x).__name__)
        raise TypeError("numerical_gradient perturbs x in place: x must be "
                        f"a floating-point numpy.ndarray, got {got}")
    if not x.flags.writeable:
        raise ValueError("numerical_gradient perturbs x in place: x must be "
                         "writeable")
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):     # indexes x itself, whatever its strides
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


implements(numerical_gradient, "eq-central")


def _generators(obj) -> list[np.random.Generator]:
    layers = obj.layers if isinstance(obj, Sequential) else [obj]
    return [layer.rng for layer in layers if isinstance(getattr(layer, "rng", None),
                                                        np.random.Generator)]


def _buffers(obj) -> list[np.ndarray]:
    layers = obj.layers if isinstance(obj, Sequential) else [obj]
    return [buffer for layer in layers for buffer in layer.buffers.values()]


def gradcheck(obj, x: np.ndarray, target: np.ndarray | None = None, *,
              loss: Loss | None = None, h: float = 1e-6, atol: float = 1e-8,
              training: bool = True, seed: int = 0) -> dict[str, float]:
    """Relative error between backprop and finite differences, per array.

    Parameters
    ----------
    obj : Layer, Sequential or Loss
        What to check.  A layer or model is reduced to a scalar by ``loss``
        if given, else by the random projection ``sum(output * R)`` (so
        every output element gets a different weight).  A loss is checked
        w.r.t. its prediction ``x`` for the given ``target``.
    x : ndarray, float64
        Input (or prediction, for a loss).  Use float64: in float32 the
        finite-difference error alone is around 1e-3.
    target : ndarray, optional
        Target for ``loss`` or for a Loss ``obj``.
    h : float
        Finite-difference step.
    training : bool
        Mode of the forward passes (False checks e.g. BatchNorm's inference
        mode).
    atol : float
        Gradients whose norms are both below ``atol`` count as equal (error
        0); see ``relative_error``.

    Returns
    -------
    dict
        ``{"x": err, "W": err, ...}`` for a layer, ``{"x": err, "0.W": err,
        ...}`` for a model, ``{"prediction": err}`` for a loss.

    Layers that draw random numbers (Dropout) get their generator rewound
    before every forward pass, so all evaluations see the same mask.  Every
    buffer (BatchNorm's running statistics) and generator is restored at the
    end: checking a model leaves it as it was.
    """
    check_array(x, "gradcheck input", dtype=np.float64)
    x = np.array(x, dtype=np.float64, copy=True)      # private, contiguous copy

    if isinstance(obj, Loss):
        f = lambda: obj.forward(x, target)             # noqa: E731
        f()
        analytic = obj.backward().copy()
        numeric = numerical_gradient(f, x, h)
        return {"prediction": relative_error(analytic, numeric, atol)}

    if not isinstance(obj, (Layer, Sequential)):
        raise TypeError(f"gradcheck takes a Layer, Sequential or Loss, "
                        f"got {type(obj).__name__}")
    rngs = _generators(obj)
    rng_states = [g.bit_generator.state for g in rngs]
    buffers = _buffers(obj)
    saved = [b.copy() for b in buffers]
    try:
        return _check_layers(obj, x, target, loss, h, atol, training, seed,
                             rngs, rng_states)
    finally:
        for buffer, old in zip(buffers, saved):
            buffer[...] = old
        for g, s in zip(rngs, rng_states):
            g.bit_generator.state = s


def _check_layers(obj, x, target, loss, h, atol, training, seed, rngs,
                  rng_states):
    projection = None

    def f() -> float:
        nonlocal projection
        for g, s in zip(rngs, rng_states):
            g.bit_generator.state = s
        out = obj.forward(x, training=training)
        if loss is not None:
            return loss.forward(out, target)
        if projection is None:
            rng = np.random.default_rng(seed)
            projection = rng.standard_normal(out.shape)
        return float(np.sum(out * projection))

    f()
    grad_out = loss.backward() if loss is not None else projection
    analytic_x = obj.backward(grad_out, input_grad=True)
    if isinstance(obj, Sequential):
        analytic = {name: g.copy() for name, _, g in obj.parameters()}
        params = {name: p for name, p, _ in obj.parameters()}
    else:
        analytic = {name: g.copy() for name, g in obj.grads.items()}
        params = obj.params
    errors = {"x": relative_error(analytic_x, numerical_gradient(f, x, h),
                                  atol)}
    for name, param in params.items():
        numeric = numerical_gradient(f, param, h)
        errors[name] = relative_error(analytic[name], numeric, atol)
    return errors


def kink_margin(model: Sequential, x: np.ndarray, *,
                training: bool = True) -> float:
    """Smallest abs(z) over every input entry of a ReLU or LeakyReLU layer.

    ReLU and LeakyReLU have a kink at z = 0.  A centred difference
    with step ``h`` straddles the kink when a perturbation moves a
    pre-activation across zero; the quotient then averages the two slopes
    and disagrees with backpropagation although the code is right (a *false
    alarm*).  The returned margin tells how far the nearest pre-activation is
    from its kink; a gradient check is trustworthy only when the margin is
    large compared with how much a step of size ``h`` can move a
    pre-activation.

    Parameters
    ----------
    model : Sequential
    x : ndarray of shape (n_samples, ...)
        The input of the check.
    training : bool
        Mode of the forward pass (as in ``gradcheck``).

    Returns
    -------
    float
        ``inf`` when the model has no ReLU or LeakyReLU layer.
    """
    from .layers import LeakyReLU, ReLU

    if not isinstance(model, Sequential):
        raise TypeError(f"kink_margin takes a Sequential model, "
                        f"got {type(model).__name__}")
    margin = np.inf
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            margin = min(margin, float(np.min(np.abs(x))))
        x = layer.forward(x, training=training)
    return margin


implements(kink_margin, "eq-gc-kink")
