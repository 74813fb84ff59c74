"""Looking inside a network: every layer's output, gradient norms per layer, dead units.

These are measurements, not training code: they never change a model's
parameters.  The book uses them to show vanishing gradients (the norm of
:math:`\\partial L / \\partial \\mathbf{W}` falls from layer to layer) and dead
ReLU units (units whose output is zero for every input).
"""
from __future__ import annotations

import numpy as np

from .layers import ReLU
from .model import Sequential


def _check_model(model) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"expected a dlfs Sequential model, got {type(model).__name__}")
    return model


def layer_outputs(model: Sequential, x: np.ndarray, *, training: bool = False) -> list[np.ndarray]:
    """The output of every layer for the input ``x``, in order.

    Parameters
    ----------
    model : Sequential
    x : ndarray of shape (n_samples, ...)
        Input, in the model's dtype.
    training : bool
        Mode of the forward pass (default: inference).

    Returns
    -------
    list of ndarray
        ``outputs[i]`` is the output of ``model.layers[i]``, of shape
        (n_samples, ...); ``outputs[-1]`` equals ``model.forward(x, training)``.
    """
    _check_model(model)
    outputs = []
    for layer in model.layers:
        x = layer.forward(x, training)
        outputs.append(x)
    return outputs


def weight_gradient_norms(model: Sequential) -> np.ndarray:
    """Frobenius norm of the weight gradient dL/dW of every layer with weights.

    Call it after ``model.backward(...)``: it reads the gradients that the
    backward pass stored in ``layer.grads["W"]``.

    Returns
    -------
    ndarray of shape (n_weight_layers,), float64
        One norm per layer that has a parameter ``"W"`` (Dense layers), from
        the input side to the output side.
    """
    _check_model(model)
    norms = [float(np.linalg.norm(layer.grads["W"])) for layer in model.layers
             if "W" in layer.params]
    return np.array(norms, dtype=np.float64)


def dead_units(model: Sequential, x: np.ndarray) -> dict[int, np.ndarray]:
    """Which units of each ReLU layer output zero for every sample of ``x``.

    A ReLU unit whose pre-activation is negative for every input passes no
    gradient to its weights, so gradient descent can never revive it: it is
    *dead* (on these inputs).  Leaky ReLU units never output exactly zero for a
    non-zero input and are not counted.

    Parameters
    ----------
    model : Sequential
    x : ndarray of shape (n_samples, ...)
        The inputs to test, typically the whole training set.

    Returns
    -------
    dict
        ``{i: mask}`` for every layer ``model.layers[i]`` that is a
        ``ReLU``; ``mask`` is a boolean ndarray of shape
        (n_units,) (the layer's output shape per sample, flattened), True for
        dead units.  ``mask.sum()`` counts them.
    """
    if len(x) == 0:
        raise ValueError("dead_units needs at least one sample")
    outputs = layer_outputs(model, x)
    dead = {}
    for i, (layer, out) in enumerate(zip(model.layers, outputs)):
        if isinstance(layer, ReLU):
            dead[i] = ~np.any(out.reshape(len(out), -1) > 0, axis=0)
    return dead
