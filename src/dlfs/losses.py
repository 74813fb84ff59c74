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
from ._checks import check_array, check_float_dtype, check_labels, check_positive


class Loss:
    """Base class: the forward/backward protocol shared by all losses.

    ``forward`` checks the prediction and target (``_check``, which also
    refuses an empty batch) and calls the subclass's ``_forward``, which
    returns the mean loss and keeps what the gradient needs; ``backward``
    calls ``_backward``, which computes the gradient.  Evaluation, which only
    calls ``forward``, never pays for the gradient.
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """Mean loss over the batch.

        Parameters
        ----------
        prediction : ndarray of shape (n_samples, ...)
            The network output; each loss states the shapes it accepts.
        target : ndarray
            Targets matching the prediction (see each loss).

        Returns
        -------
        float
        """
        self._ready = False                 # a failed forward leaves no stale gradient
        prediction, target = self._check(prediction, target)
        check_float_dtype(prediction.dtype, f"{type(self).__name__} prediction")
        if prediction.shape[0] == 0:
            raise ValueError(f"{type(self).__name__} got an empty batch (0 samples); "
                             "a mean loss needs at least one sample")
        value = float(self._forward(prediction, target))
        self._ready = True
        return value

    def backward(self) -> np.ndarray:
        """Gradient of the last ``forward``'s loss w.r.t. the prediction (its shape and dtype)."""
        if not getattr(self, "_ready", False):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._backward()

    def __call__(self, prediction, target) -> float:
        return self.forward(prediction, target)

    def _check(self, prediction, target) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _forward(self, prediction, target) -> float:
        raise NotImplementedError

    def _backward(self) -> np.ndarray:
        raise NotImplementedError

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
    The gradient has the prediction's shape.

    The loss is computed in the prediction's dtype: in float32 an error beyond
    about 1.8e19 squares to infinity (with NumPy's overflow warning), which
    :func:`~dlfs.train.fit` reports as a diverged run.

    Implements :eq:`eq-loss-mse`.
    Implements :eq:`eq-loss-mse-grad`.
    """

    def _check(self, prediction, target):
        prediction = check_array(prediction, "MSE prediction", ndim=(1, 2))
        return prediction, _check_real_target(target, prediction, "MSE")

    def _forward(self, prediction, target):
        self.diff = prediction - target
        return np.mean(self.diff * self.diff)

    def _backward(self):
        return (2.0 / self.diff.size) * self.diff


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy, the negative log-likelihood of a Bernoulli label.

    .. math:: L = -\frac1N \sum_n \big[y_n \log p_n + (1 - y_n)\log(1 - p_n)\big]

    Implements :eq:`eq-bce` and :eq:`eq-bce-logit` (``forward``) and :eq:`eq-dl-dz` divided
    by :math:`N` (``backward``); ``predict_labels`` implements the decision rule.

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
    The gradient has the prediction's shape.
    """

    def __init__(self, from_logits: bool = False) -> None:
        if not isinstance(from_logits, bool):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits

    def _check(self, prediction, target):
        prediction = check_array(prediction, "BinaryCrossEntropy prediction", ndim=(1, 2))
        if prediction.ndim == 2 and prediction.shape[1] != 1:
            raise ValueError("BinaryCrossEntropy prediction must have shape (n,) or (n, 1), "
                             f"got {prediction.shape}; use SoftmaxCrossEntropy for classes")
        y = _check_real_target(target, prediction, "BinaryCrossEntropy")
        if np.any((y < 0) | (y > 1)):
            raise ValueError("BinaryCrossEntropy targets must lie in [0, 1]")
        if not self.from_logits and np.any((prediction < 0) | (prediction > 1)):
            raise ValueError("BinaryCrossEntropy probabilities must lie in [0, 1]; "
                             "pass from_logits=True for raw scores")
        return prediction, y

    def _forward(self, prediction, target):
        self.y = target
        if self.from_logits:
            z = self.z = prediction
            # log(1 + e^z) - y z, with log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
            return np.mean(np.maximum(z, 0) - z * target
                           + np.log1p(np.exp(-np.abs(z))))
        eps = np.finfo(prediction.dtype).eps
        p = self.p = np.clip(prediction, eps, 1 - eps)
        return -np.mean(target * np.log(p) + (1 - target) * np.log1p(-p))

    def _backward(self):
        y, n = self.y, self.y.size
        if self.from_logits:
            return (F.sigmoid(self.z) - y) / n
        p = self.p
        return (p - y) / (p * (1 - p)) / n

    def predict_labels(self, prediction: np.ndarray) -> np.ndarray:
        """Class 1 where p > 0.5 (equivalently, logit > 0), as int64 of shape (n_samples,).

        Implements :eq:`eq-boundary`.
        """
        threshold = 0.0 if self.from_logits else 0.5
        return (prediction.reshape(-1) > threshold).astype(np.int64)

    @staticmethod
    def target_labels(target: np.ndarray) -> np.ndarray:
        """Class 1 where the target is > 0.5 (soft targets 0.1/0.9 too), int64 (n_samples,)."""
        return (target.reshape(-1) > 0.5).astype(np.int64)

    def __repr__(self):
        return f"BinaryCrossEntropy(from_logits={self.from_logits})"


class SoftmaxCrossEntropy(Loss):
    r"""Softmax followed by cross-entropy, fused for stability and speed.

    With logits :math:`Z` and :math:`\log p = Z - \operatorname{logsumexp}(Z)`:

    .. math:: L = -\frac1N \sum_n \log p_{n, y_n},
              \qquad \frac{\partial L}{\partial Z} = \frac1N(\operatorname{softmax}(Z) - Y)

    where :math:`Y` is one-hot.  The log-sum-exp shift makes logits of any
    size safe (no overflow, no :math:`\log 0`), and the exponentials computed
    for the loss are reused for the gradient, which has the logits' shape.

    Implements :eq:`eq-loss-ce-logits` and :eq:`eq-loss-ce-grad`.

    Shapes
    ------
    prediction : ndarray of shape (n_samples, n_classes)
        The logits.
    target : int ndarray of shape (n_samples,), or float ndarray of shape (n_samples, n_classes)
        Labels in [0, n_classes), or one-hot (or soft) labels.
    """

    def _check(self, prediction, target):
        z = check_array(prediction, "SoftmaxCrossEntropy logits", ndim=2)
        n, k = z.shape
        if isinstance(target, np.ndarray) and target.ndim == 1:
            y = check_labels(target, "SoftmaxCrossEntropy labels", k)
            if y.shape[0] != n:
                raise ValueError(f"got {y.shape[0]} labels for {n} rows of logits")
            return z, y
        y = _check_real_target(target, z, "SoftmaxCrossEntropy")
        if np.any(y < 0) or not np.allclose(y.sum(axis=1), 1, atol=1e-3):
            raise ValueError("SoftmaxCrossEntropy one-hot targets must be "
                             "non-negative rows summing to 1")
        return z, y

    def _forward(self, prediction, target):
        # exponents <= 0
        shifted = prediction - np.max(prediction, axis=1, keepdims=True)
        self.e = np.exp(shifted)   # the only exponentials, reused by backward
        self.total = np.sum(self.e, axis=1, keepdims=True)
        log_p = shifted - np.log(self.total)
        self.y = target
        if target.ndim == 1:       # integer labels: pick log p of the class
            return -np.mean(log_p[np.arange(len(target)), target])
        return -np.sum(target * log_p) / len(target)

    def _backward(self):
        grad = self.e / self.total                # softmax(Z)
        y, n = self.y, len(self.y)
        if y.ndim == 1:
            grad[np.arange(n), y] -= 1
        else:
            grad -= y
        return grad / grad.dtype.type(n)

    @staticmethod
    def predict_labels(prediction: np.ndarray) -> np.ndarray:
        """Index of the largest logit per row, int64 of shape (n_samples,)."""
        return np.argmax(prediction, axis=1)

    @staticmethod
    def target_labels(target: np.ndarray) -> np.ndarray:
        """Integer labels (n_samples,) from labels or from one-hot rows (their argmax)."""
        return np.argmax(target, axis=1) if target.ndim == 2 else target


LOSSES = {"mse": MSE, "bce": BinaryCrossEntropy, "softmax_ce": SoftmaxCrossEntropy}


def for_outputs(n_outputs: int) -> Loss:
    """The classification loss for a model with ``n_outputs`` logits.

    One logit is a binary classifier: :class:`BinaryCrossEntropy` on logits
    (targets of shape (n, 1) in {0, 1}); two or more are one logit per class:
    :class:`SoftmaxCrossEntropy` (integer labels or one-hot rows).
    """
    check_positive(n_outputs, "n_outputs", integer=True)
    return BinaryCrossEntropy(from_logits=True) if n_outputs == 1 else SoftmaxCrossEntropy()
