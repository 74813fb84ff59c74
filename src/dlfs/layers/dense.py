"""Fully connected (affine) layer: ``Z = X @ W + b``."""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from .._checks import check_positive
from .base import Layer


class Dense(Layer):
    """Affine map ``Z = X @ W + b`` on a batch of row vectors.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output features.
    init : str
        Weight initialiser, one of :data:`dlfs.init.INITIALIZERS`
        (``"he"``, ``"xavier_uniform"``, ...).  Biases start at zero.
    dtype : numpy dtype
        float32 (default) for speed, float64 for gradient checks.
    rng : numpy.random.Generator, optional
        Source of the initial weights; pass a seeded one for repeatable runs.

    Shapes
    ------
    X : ndarray of shape (n_samples, n_in) -> Z : ndarray of shape (n_samples, n_out);
    W : (n_in, n_out); b : (n_out,).

    Implements :eq:`eq-affine` (forward) and :eq:`eq-affine-grads` (backward).
    """

    def __init__(self, n_in: int, n_out: int, *, init: str = "xavier_uniform",
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        check_positive(n_in, "n_in", integer=True)
        check_positive(n_out, "n_out", integer=True)
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng() if rng is None else rng
        self.params["W"] = initializers.initialize(init, (n_in, n_out), rng, self.dtype)
        self.params["b"] = np.zeros(n_out, dtype=self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        x = self._check_input(x)
        if x.shape[1] != self.n_in:
            raise ValueError(f"Dense expects {self.n_in} input features, got shape {x.shape}")
        if x.dtype != self.dtype:
            raise TypeError(f"Dense has dtype {self.dtype} but its input has dtype {x.dtype}; "
                            f"convert with x.astype(np.{self.dtype})")
        self.x = x                                  # dW needs the input
        return self._remember_output(x @ self.params["W"] + self.params["b"])

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self._check_grad(grad_out)
        # Write into the existing arrays: optimisers may hold references to them.
        np.matmul(self.x.T, grad_out, out=self.grads["W"])
        np.sum(grad_out, axis=0, out=self.grads["b"])
        return grad_out @ self.params["W"].T

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}

    def output_shape(self, input_shape):
        return (self.n_out,)
