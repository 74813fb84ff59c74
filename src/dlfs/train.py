"""Mini-batch training: the loop every chapter from here on uses."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_array, check_positive
from .losses import Loss
from .model import Sequential
from .optim import Optimizer


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, *,
            rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield mini-batches ``(X[idx], y[idx])`` covering every sample once.

    With ``rng`` the order is a fresh random permutation (one per call, so one
    per epoch); without it the order is the original one.  The last batch may
    be smaller.
    """
    check_positive(batch_size, "batch_size", integer=True)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    order = rng.permutation(len(X)) if rng is not None else None
    for start in range(0, len(X), batch_size):
        if order is None:
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            yield X[idx], y[idx]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run; every list has one entry per epoch."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.loss)


def evaluate(model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
             batch_size: int = 4096) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression losses) in inference mode."""
    if len(X) == 0:
        raise ValueError("cannot evaluate on an empty set")
    total, correct = 0.0, 0
    for Xb, yb in batches(X, y, batch_size):
        out = model.forward(Xb, training=False)
        total += loss.forward(out, yb) * len(Xb)
        if hasattr(loss, "predict_labels"):
            correct += int(np.sum(loss.predict_labels(out) == loss.target_labels(yb)))
    acc = correct / len(X) if hasattr(loss, "predict_labels") else None
    return total / len(X), acc


def fit(model: Sequential, loss: Loss, optimizer: Optimizer, X: np.ndarray, y: np.ndarray, *,
        epochs: int, batch_size: int = 64, validation: tuple[np.ndarray, np.ndarray] | None = None,
        schedule=None, patience: int | None = None, seed: int = 0,
        progress: bool | None = None) -> History:
    """Train ``model`` with mini-batch gradient descent; return the :class:`History`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Inputs, in the model's dtype.
    y : ndarray
        Targets in the form ``loss`` expects (labels of shape (n_samples,),
        one-hot rows, or 0/1 values of shape (n_samples, 1)).
    epochs : int
        Maximum number of passes over the data.
    batch_size : int
    validation : (X_val, y_val), optional
        Evaluated after every epoch in inference mode.
    schedule : callable epoch -> learning rate, optional
        See :mod:`dlfs.schedules`.
    patience : int, optional
        Early stopping: stop when the validation loss has not improved for
        ``patience`` epochs and restore the parameters of the best epoch.
    seed : int
        Seeds the shuffling, so the same seed gives bit-identical training.
    progress : bool, optional
        Show a tqdm progress bar; default: only when stderr is a terminal.
    """
    check_array(X, "X", ndim=range(2, 33))
    epochs = check_positive(epochs, "epochs", integer=True)
    if patience is not None:
        check_positive(patience, "patience", integer=True)
        if validation is None:
            raise ValueError("early stopping (patience) needs a validation set")
    if validation is not None:
        check_array(validation[0], "X_val", ndim=X.ndim)
    rng = np.random.default_rng(seed)
    history = History()
    best_loss, best_state, since_best = np.inf, None, 0

    bar = None
    if progress or (progress is None and sys.stderr.isatty()):
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, unit="epoch", leave=False)

    for epoch in range(epochs):
        if schedule is not None:
            optimizer.lr = float(schedule(epoch))
        start = time.perf_counter()
        total, correct = 0.0, 0
        classify = hasattr(loss, "predict_labels")
        for Xb, yb in batches(X, y, batch_size, rng=rng):
            out = model.forward(Xb, training=True)
            batch_loss = loss.forward(out, yb)
            if not np.isfinite(batch_loss):
                raise FloatingPointError(f"training loss became {batch_loss} in epoch {epoch}; "
                                         "try a smaller learning rate")
            total += batch_loss * len(Xb)
            model.backward(loss.backward())
            optimizer.step(model.parameters())
            if classify:
                correct += int(np.sum(loss.predict_labels(out) == loss.target_labels(yb)))
        history.seconds.append(time.perf_counter() - start)
        history.loss.append(total / len(X))
        history.accuracy.append(correct / len(X) if classify else float("nan"))
        history.lr.append(optimizer.lr)
        if validation is not None:
            val_loss, val_acc = evaluate(model, loss, *validation)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc if val_acc is not None else float("nan"))
            if val_loss < best_loss:
                best_loss, since_best, history.best_epoch = val_loss, 0, epoch
                if patience is not None:
                    best_state = {k: v.copy() for k, v in model.state().items()}
            else:
                since_best += 1
        if bar is not None:
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}", **(
                {"val_loss": f"{history.val_loss[-1]:.4f}"} if validation is not None else {}))
            bar.update()
        if patience is not None and since_best >= patience:
            history.stopped_early = True
            break

    if bar is not None:
        bar.close()
    if best_state is not None:                      # restore the best epoch's parameters
        for name, array in model.state().items():
            array[...] = best_state[name]
    return history
