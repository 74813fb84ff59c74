"""Fully connected (affine) layer: ``Z = X @ W + b``."""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from .._checks import check_float_dtype, check_positive
from .._docs import implements
from .base import Layer, config_size


class Dense(Layer):
    """Affine map ``Z = X @ W + b`` on a batch of row vectors.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output features.
    init : str
        Weight initialiser, one of :data:`dlfs.init.INITIALIZERS`
        (``"he"``, ``"xavier_uniform"``, ...).  Biases start at zero.
    dtype : float32 or float64
        float32 (default) for speed, float64 for gradient checks.  Other
        dtypes are refused (float16 underflows: Adam's ``eps = 1e-8`` rounds to 0).
    rng : numpy.random.Generator, optional
        Source of the initial weights; pass a seeded one for repeatable runs.

    Shapes
    ------
    X : ndarray of shape (n_samples, n_in) -> Z : ndarray of shape (n_samples, n_out);
    W : (n_in, n_out); b : (n_out,).

    Implements :eq:`eq-affine` (forward) and :eq:`eq-affine-grads` (backward).
    """

    input_ndim = 2

    def __init__(self, n_in: int, n_out: int, *, init: str = "xavier_uniform",
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        check_positive(n_in, "n_in", integer=True)
        check_positive(n_out, "n_out", integer=True)
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        self.dtype = check_float_dtype(dtype, "Dense")
        rng = np.random.default_rng() if rng is None else rng
        self.params["W"] = initializers.initialize(init, (n_in, n_out), rng, self.dtype)
        self.params["b"] = np.zeros(n_out, dtype=self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _forward(self, x, training):
        """X (n_samples, n_in) -> X @ W + b (n_samples, n_out).

        Keeps X for dW.
        """
        self.x = x
        out = x @ self.params["W"]
        out += self.params["b"]     # in place: one (n_samples, n_out) array
        return out

    def _backward(self, grad_out, input_grad):
        """dW = X^T G, db = the sum of G's rows, dX = G W^T, for G = grad_out.

        G has shape (n_samples, n_out); dX, returned if ``input_grad``, that
        of X.
        """
        # Write into the existing arrays: optimisers may hold references.
        np.matmul(self.x.T, grad_out, out=self.grads["W"])
        np.sum(grad_out, axis=0, out=self.grads["b"])
        if input_grad:
            return grad_out @ self.params["W"].T

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}

    @classmethod
    def param_shapes(cls, config):
        n_in, n_out = config_size(config, "n_in"), config_size(config, "n_out")
        return {"W": (n_in, n_out), "b": (n_out,)}

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.n_in,):
            raise ValueError(f"Dense expects {self.n_in} input features per sample, "
                             f"got sample shape {tuple(input_shape)}")
        return (self.n_out,)


implements(Dense._backward, "eq-bp-dense-w", "eq-bp-dense-b", "eq-bp-dense-x")
