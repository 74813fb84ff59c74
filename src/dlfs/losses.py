r"""Loss functions, averaged over the batch.

Every loss has the same two methods:

* ``forward(prediction, target) -> float`` computes the mean loss and keeps
  what the gradient needs;
* ``backward() -> ndarray`` returns :math:`\partial L / \partial\,\text{prediction}`,
  with the prediction's shape and dtype (the :math:`1/N` of the mean included).

Classification losses also have ``predict_labels(prediction)``, which turns
network outputs into class labels, so training code can report accuracy
without knowing which loss it uses.
"""
from __future__ import annotations

import numpy as np

from . import activations as F
from ._checks import check_array, check_labels


class Loss:
    """Base class: the forward/backward protocol shared by all losses."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, prediction, target) -> float:
        return self.forward(prediction, target)

    def _need_forward(self):
        if getattr(self, "_grad", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")

    def __repr__(self):
        return f"{type(self).__name__}()"


def _check_real_target(target, prediction, name: str) -> np.ndarray:
    """Real-valued targets must match the prediction's shape exactly.

    Broadcasting (N,) against (N, 1) would silently build an (N, N) matrix,
    which is why shapes are compared instead of trusted.
    """
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{name} target must be a numpy.ndarray, got {type(target).__name__}")
    if target.shape != prediction.shape:
        raise ValueError(f"{name} target shape {target.shape} does not match "
                         f"prediction shape {prediction.shape}")
    if not (np.issubdtype(target.dtype, np.floating) or np.issubdtype(target.dtype, np.integer)
            or target.dtype == bool):
        raise TypeError(f"{name} target must be numeric, got dtype {target.dtype}")
    target = target.astype(prediction.dtype, copy=False)
    check_array(target, f"{name} target")
    return target


class MSE(Loss):
    r"""Mean squared error over all elements: :math:`L = \frac{1}{NK}\sum_{n,k}(\hat y_{nk} - y_{nk})^2`.

    prediction, target : ndarray of shape (n_samples, n_outputs) or (n_samples,).
    """

    def forward(self, prediction, target):
        prediction = check_array(prediction, "MSE prediction", ndim=(1, 2))
        target = _check_real_target(target, prediction, "MSE")
        diff = prediction - target
        self._grad = (2.0 / diff.size) * diff
        return float(np.mean(diff * diff))

    def backward(self):
        self._need_forward()
        return self._grad


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy, the negative log-likelihood of a Bernoulli label.

    .. math:: L = -\frac1N \sum_n \big[y_n \log p_n + (1 - y_n)\log(1 - p_n)\big]

    Implements :eq:`eq-bce` and :eq:`eq-bce-logit` (``forward``), :eq:`eq-dl-dz` divided by
    :math:`N` (``backward``) and :eq:`eq-boundary` (``predict_labels``).

    Parameters
    ----------
    from_logits : bool
        If True, the prediction is the logit :math:`z` with :math:`p=\sigma(z)`, and
        the loss is computed as :math:`\max(z,0) - zy + \log(1 + e^{-|z|})`, exact
        and overflow-free for any :math:`z`; its gradient is simply :math:`(\sigma(z) - y)/N`.
        If False, the prediction is a probability; it is clipped to
        :math:`[\epsilon, 1-\epsilon]` (machine epsilon of its dtype) so that
        :math:`p = 0` or :math:`1` gives a large but finite loss.

    prediction, target : ndarray of shape (n_samples,) or (n_samples, 1); targets in [0, 1].
    """

    def __init__(self, from_logits: bool = False) -> None:
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits

    def forward(self, prediction, target):
        prediction = check_array(prediction, "BinaryCrossEntropy prediction", ndim=(1, 2))
        if prediction.ndim == 2 and prediction.shape[1] != 1:
            raise ValueError("BinaryCrossEntropy prediction must have shape (n,) or (n, 1), "
                             f"got {prediction.shape}; use SoftmaxCrossEntropy for classes")
        y = _check_real_target(target, prediction, "BinaryCrossEntropy")
        if np.any((y < 0) | (y > 1)):
            raise ValueError("BinaryCrossEntropy targets must lie in [0, 1]")
        n = prediction.size
        if self.from_logits:
            z = prediction
            self._grad = (F.sigmoid(z) - y) / n
            losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        else:
            if np.any((prediction < 0) | (prediction > 1)):
                raise ValueError("BinaryCrossEntropy probabilities must lie in [0, 1]; "
                                 "pass from_logits=True for raw scores")
            eps = np.finfo(prediction.dtype).eps
            p = np.clip(prediction, eps, 1 - eps)
            self._grad = (p - y) / (p * (1 - p)) / n
            losses = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        return float(np.mean(losses))

    def backward(self):
        self._need_forward()
        return self._grad

    def predict_labels(self, prediction: np.ndarray) -> np.ndarray:
        """Class 1 where p > 0.5 (equivalently, logit > 0), as int64 of shape (n_samples,)."""
        threshold = 0.0 if self.from_logits else 0.5
        return (prediction.reshape(-1) > threshold).astype(np.int64)

    def __repr__(self):
        return f"BinaryCrossEntropy(from_logits={self.from_logits})"


class SoftmaxCrossEntropy(Loss):
    r"""Softmax followed by cross-entropy, fused for stability and speed.

    With logits :math:`Z` and :math:`\log p = Z - \operatorname{logsumexp}(Z)`:

    .. math:: L = -\frac1N \sum_n \log p_{n, y_n},
              \qquad \frac{\partial L}{\partial Z} = \frac1N(\operatorname{softmax}(Z) - Y)

    where :math:`Y` is one-hot.  The log-sum-exp shift makes logits of any
    size safe (no overflow, no :math:`\log 0`).

    Shapes
    ------
    prediction : ndarray of shape (n_samples, n_classes)
        The logits.
    target : int ndarray of shape (n_samples,), or float ndarray of shape (n_samples, n_classes)
        Labels in [0, n_classes), or one-hot (or soft) labels.
    """

    def forward(self, prediction, target):
        z = check_array(prediction, "SoftmaxCrossEntropy logits", ndim=2)
        n, k = z.shape
        log_p = F.log_softmax(z, axis=1)
        if isinstance(target, np.ndarray) and target.ndim == 1:
            y = check_labels(target, "SoftmaxCrossEntropy labels", k)
            if y.shape[0] != n:
                raise ValueError(f"got {y.shape[0]} labels for {n} rows of logits")
            rows = np.arange(n)
            loss = -np.mean(log_p[rows, y])
            grad = np.exp(log_p)
            grad[rows, y] -= 1
        else:
            y = _check_real_target(target, z, "SoftmaxCrossEntropy")
            if np.any(y < 0) or not np.allclose(y.sum(axis=1), 1, atol=1e-3):
                raise ValueError("SoftmaxCrossEntropy one-hot targets must be "
                                 "non-negative rows summing to 1")
            loss = -np.sum(y * log_p) / n
            grad = np.exp(log_p) - y
        grad /= n
        self._grad = grad
        return float(loss)

    def backward(self):
        self._need_forward()
        return self._grad

    @staticmethod
    def predict_labels(prediction: np.ndarray) -> np.ndarray:
        """Index of the largest logit per row, int64 of shape (n_samples,)."""
        return np.argmax(prediction, axis=1)


LOSSES = {"mse": MSE, "bce": BinaryCrossEntropy, "softmax_ce": SoftmaxCrossEntropy}
