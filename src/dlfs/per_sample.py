"""An MLP trained one sample at a time, the way Nielsen's ``network.py`` does it.

Nielsen's classic program (*Neural Networks and Deep Learning*, chapter 1)
computes the gradient of every sample of a mini-batch separately -- a
forward pass and a backward pass with vectors -- adds them up, and then
takes one gradient step.  The mathematics is that of the batched layers;
only the order of the loops differs.  The speed chapter times this class
against :class:`dlfs.model.Sequential` on the same network, with the same
initial weights and the same mini-batches: the two must end with the same
parameters (up to rounding), and the batched one must be much faster.

Here the network is a ReLU MLP with a softmax cross-entropy output, trained
with plain SGD, so that it can be compared with ``mlp(...)`` and
:class:`~dlfs.optim.SGD`.
"""
from __future__ import annotations

import numpy as np

from .activations import log_softmax
from .layers import Dense
from .model import Sequential


class PerSampleMLP:
    """ReLU MLP whose gradients are computed sample by sample.

    Parameters
    ----------
    weights : list of ndarray, shapes (n_in, n_out) per layer
    biases : list of ndarray, shapes (n_out,) per layer
        Copied.  Hidden layers apply ReLU, the last layer gives logits.
    """

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        if len(weights) != len(biases) or not weights:
            raise ValueError(f"need one bias per weight matrix, got {len(weights)} weights "
                             f"and {len(biases)} biases")
        for i, (W, b) in enumerate(zip(weights, biases)):
            if W.ndim != 2 or b.shape != (W.shape[1],):
                raise ValueError(f"layer {i}: W must be (n_in, n_out) and b (n_out,), "
                                 f"got {W.shape} and {b.shape}")
            if i and W.shape[0] != weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} takes {W.shape[0]} inputs but layer {i - 1} "
                                 f"gives {weights[i - 1].shape[1]}")
        self.weights = [W.copy() for W in weights]
        self.biases = [b.copy() for b in biases]

    @classmethod
    def from_model(cls, model: Sequential) -> "PerSampleMLP":
        """Copy the Dense layers' parameters of a ReLU :func:`~dlfs.model.mlp`."""
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        return cls([d.params["W"] for d in dense], [d.params["b"] for d in dense])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits of one sample ``x`` of shape (n_in,), shape (n_classes,)."""
        a = x
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            a = np.maximum(a @ W + b, 0)
        return a @ self.weights[-1] + self.biases[-1]

    def backprop(self, x: np.ndarray, label: int):
        """Loss and gradients of the cross-entropy of one sample.

        Returns
        -------
        loss : float
        grads_W, grads_b : lists of ndarray, shaped like the parameters
        """
        activations = [x]       # forward, keeping every layer's input
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            activations.append(np.maximum(activations[-1] @ W + b, 0))
        z = activations[-1] @ self.weights[-1] + self.biases[-1]
        log_p = log_softmax(z)
        delta = np.exp(log_p)   # dloss/dz = softmax(z) - onehot(label)
        delta[label] -= 1
        grads_W, grads_b = [], []
        for i in reversed(range(len(self.weights))):
            grads_W.append(np.outer(activations[i], delta))
            grads_b.append(delta)
            if i:               # through W, then through the ReLU
                delta = (self.weights[i] @ delta) * (activations[i] > 0)
        return float(-log_p[label]), grads_W[::-1], grads_b[::-1]

    def train_batch(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One SGD step on the mean loss of a mini-batch, one sample at a time.

        Returns the mean loss of the batch (before the step).
        """
        sum_W = [np.zeros_like(W) for W in self.weights]
        sum_b = [np.zeros_like(b) for b in self.biases]
        total = 0.0
        for x, label in zip(X, y):              # the loop that batching removes
            loss, grads_W, grads_b = self.backprop(x, int(label))
            total += loss
            for s, g in zip(sum_W, grads_W):
                s += g
            for s, g in zip(sum_b, grads_b):
                s += g
        for W, b, gW, gb in zip(self.weights, self.biases, sum_W, sum_b):
            W -= (lr / len(X)) * gW
            b -= (lr / len(X)) * gb
        return total / len(X)

    def train_epoch(self, X: np.ndarray, y: np.ndarray, lr: float, *, batch_size: int,
                    seed: int = 0) -> float:
        """One epoch of mini-batch SGD, in the same shuffled order as ``fit(..., seed=seed)``.

        Returns the mean training loss of the epoch.
        """
        order = np.random.default_rng(seed).permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            total += self.train_batch(X[idx], y[idx], lr) * len(idx)
        return total / len(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class of every row of ``X``, int64 of shape (n_samples,)."""
        return np.array([int(np.argmax(self.logits(x))) for x in X], dtype=np.int64)
