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
            rng: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield mini-batches ``(X[idx], y[idx])`` covering every sample once.

    With ``rng`` the order is a fresh random permutation (one per call, so one
    per epoch); without it the order is the original one.  The last batch may
    be smaller, unless ``drop_last`` leaves it out (then the ``len(X) %
    batch_size`` samples left over differ from epoch to epoch when shuffled).
    """
    check_positive(batch_size, "batch_size", integer=True)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    order = rng.permutation(len(X)) if rng is not None else None
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        if order is None:
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            yield X[idx], y[idx]


class TrainingDiverged(FloatingPointError):
    """Training blew up: the loss became non-finite or grew far beyond its first value.

    Attributes ``epoch`` (counted from 1), ``lr`` (the learning rate in use),
    ``loss`` (the batch loss that gave it away, or None when the parameters
    themselves overflowed) and ``initial_loss``.
    """

    def __init__(self, epoch: int, lr: float, loss: float | None, initial_loss: float,
                 factor: float | None) -> None:
        self.epoch, self.lr, self.loss, self.initial_loss = epoch, lr, loss, initial_loss
        if loss is None:
            what = "the parameters became NaN or infinite"
        elif not np.isfinite(loss):
            what = f"the training loss became {loss}"
        else:
            what = (f"the training loss rose from {initial_loss:.4g} to {loss:.4g} "
                    f"(more than {factor:g} times its first value)")
        super().__init__(f"training diverged in epoch {epoch}: {what} with learning rate "
                         f"{lr:g}; try a smaller learning rate, e.g. {lr / 10:g}")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit`; ``epoch`` (from 1) is the epoch that was running.

    A ``KeyboardInterrupt``, so code that does not care handles it as
    before.  ``history`` holds the epochs that completed; the model keeps the
    parameters of the moment it was stopped.
    """

    def __init__(self, epoch: int, epochs: int, history: "History") -> None:
        super().__init__(f"training interrupted in epoch {epoch} of {epochs}")
        self.epoch, self.epochs, self.history = epoch, epochs, history


def min_batch_size(model: Sequential) -> int:
    """Smallest mini-batch ``model`` can train on.

    2 when a BatchNorm layer sees one value per feature and sample (after a
    Dense layer: a batch variance needs two samples), else 1.  BatchNorm after
    a convolution averages over the pixels too, so one image is enough; that
    is known only when the model has an ``input_shape``.
    """
    from .layers import BatchNorm

    shape, need = getattr(model, "input_shape", None), 1
    for layer in model.layers:
        if isinstance(layer, BatchNorm) and (
                shape is None or int(np.prod(shape)) // layer.n_features < 2):
            need = 2
        if shape is not None:
            try:
                shape = layer.output_shape(shape)
            except ValueError:
                shape = None
    return need


def check_batching(n_samples: int, batch_size: int, *, min_batch: int = 1,
                   drop_last: bool | None = None) -> bool:
    """Check that ``n_samples`` split into mini-batches that a model can train on.

    Parameters
    ----------
    n_samples : int
        Training set size.
    batch_size : int
    min_batch : int
        Smallest batch the model accepts (see :func:`min_batch_size`).
    drop_last : bool, optional
        Leave out an incomplete last batch.  ``None`` (the default of
        :func:`fit`) drops it only when it is smaller than ``min_batch``:
        one leftover sample with BatchNorm.

    Returns
    -------
    bool
        Whether the last incomplete batch is dropped.

    Raises
    ------
    ValueError
        Naming the sizes, when no batch or a too small one would result.
    """
    check_positive(batch_size, "batch_size", integer=True)
    need = "" if min_batch < 2 else " (BatchNorm needs at least 2 samples per batch)"
    if n_samples == 0:
        raise ValueError("X has no samples: cannot train on an empty set")
    if batch_size < min_batch:
        raise ValueError(f"batch_size={batch_size} is too small{need}")
    if n_samples < min_batch:
        raise ValueError(f"{n_samples} training sample is too few{need}")
    leftover = n_samples % batch_size
    if drop_last is None:
        drop_last = 0 < leftover < min_batch
    if drop_last and n_samples < batch_size:
        raise ValueError(f"drop_last with batch_size={batch_size} leaves no batch of "
                         f"{n_samples} samples; use a smaller batch_size")
    if not drop_last and 0 < leftover < min_batch:
        raise ValueError(f"{n_samples} samples in batches of {batch_size} leave a last batch "
                         f"of {leftover}{need}; pass drop_last=True or change batch_size")
    return bool(drop_last)


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
    #: Loss of the very first mini-batch, the reference for divergence checks.
    initial_loss: float | None = None

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
        progress: bool | None = None, drop_last: bool | None = None,
        divergence_factor: float | None = 1e3) -> History:
    """Train ``model`` with mini-batch gradient descent; return the :class:`History`.

    Implements :eq:`eq-tl-sgd`, one mini-batch step at a time.

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
        See :mod:`dlfs.schedules`.  Every rate it returns must be positive and
        finite (checked at the start of each epoch).
    patience : int, optional
        Early stopping: stop when the validation loss has not improved for
        ``patience`` epochs and restore the parameters of the best epoch.
    seed : int
        Seeds the shuffling, so the same seed gives bit-identical training.
    progress : bool, optional
        Show a tqdm progress bar; default: only when stderr is a terminal.
    drop_last : bool, optional
        Leave out the incomplete last mini-batch of each epoch.  The default,
        None, drops it only when the model cannot train on it: a single sample
        with BatchNorm.  See :func:`check_batching`.
    divergence_factor : float, optional
        Stop with :class:`TrainingDiverged` when a batch loss exceeds this
        many times the first batch loss; None turns the check off.  A
        non-finite loss or parameter always stops training.

    Raises
    ------
    TrainingDiverged
        Naming the epoch and the learning rate.
    TrainingInterrupted
        On Ctrl-C, naming the epoch.
    ValueError
        For bad arguments, before any training.
    """
    check_array(X, "X", ndim=range(2, 33))
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.inexact):
        check_array(y, "y")
    epochs = check_positive(epochs, "epochs", integer=True)
    drop_last = check_batching(len(X), batch_size, min_batch=min_batch_size(model),
                               drop_last=drop_last)
    if divergence_factor is not None:
        check_positive(divergence_factor, "divergence_factor")
    if patience is not None:
        check_positive(patience, "patience", integer=True)
        if validation is None:
            raise ValueError("early stopping (patience) needs a validation set")
    if validation is not None:
        check_array(validation[0], "X_val", ndim=X.ndim)
    rng = np.random.default_rng(seed)
    history = History()
    best_loss, best_state, since_best, epoch = np.inf, None, 0, 0

    bar = None
    if progress or (progress is None and sys.stderr.isatty()):
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, unit="epoch", leave=False)

    # Overflow warnings would only announce the divergence that is reported below.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(epochs):
                _train_epoch(model, loss, optimizer, X, y, batch_size, rng, drop_last,
                             schedule, epoch, history, divergence_factor)
                if validation is not None:
                    val_loss, val_acc = evaluate(model, loss, *validation)
                    history.val_loss.append(val_loss)
                    history.val_accuracy.append(val_acc if val_acc is not None
                                                else float("nan"))
                    if val_loss < best_loss:
                        best_loss, since_best, history.best_epoch = val_loss, 0, epoch
                        if patience is not None:
                            best_state = {k: v.copy() for k, v in model.state().items()}
                    else:
                        since_best += 1
                if bar is not None:
                    bar.set_postfix(loss=f"{history.loss[-1]:.4f}", **(
                        {"val_loss": f"{history.val_loss[-1]:.4f}"}
                        if validation is not None else {}))
                    bar.update()
                if patience is not None and since_best >= patience:
                    history.stopped_early = True
                    break
        except KeyboardInterrupt as interrupt:
            if isinstance(interrupt, TrainingInterrupted):
                raise
            raise TrainingInterrupted(epoch + 1, epochs, history) from None
        finally:
            if bar is not None:
                bar.close()

    if best_state is not None:                      # restore the best epoch's parameters
        for name, array in model.state().items():
            array[...] = best_state[name]
    return history


def _train_epoch(model, loss, optimizer, X, y, batch_size, rng, drop_last, schedule, epoch,
                 history, divergence_factor) -> None:
    """One pass over the training set; appends loss, accuracy, lr and time to ``history``."""
    if schedule is not None:
        lr = schedule(epoch)
        if (isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating))
                or not np.isfinite(lr) or lr <= 0):
            raise ValueError(f"the schedule gave learning rate {lr!r} for epoch {epoch + 1}; "
                             "a learning rate must be a positive, finite number")
        optimizer.lr = float(lr)
    start = time.perf_counter()
    total, correct, seen = 0.0, 0, 0
    classify = hasattr(loss, "predict_labels")
    for Xb, yb in batches(X, y, batch_size, rng=rng, drop_last=drop_last):
        try:
            out = model.forward(Xb, training=True)
            batch_loss = loss.forward(out, yb)
        except ValueError as err:
            # X and y were checked to be finite, so once a step has been taken a NaN or
            # an infinity inside the network ("ReLU input contains NaN") comes from
            # parameters that grew out of range: say so, and name the learning rate.
            blown = history.initial_loss is not None and "NaN or infinity" in str(err)
            if blown or not all(np.all(np.isfinite(p)) for _, p, _ in model.parameters()):
                raise TrainingDiverged(epoch + 1, optimizer.lr, None,
                                       history.initial_loss, divergence_factor) from None
            raise
        if history.initial_loss is None:
            history.initial_loss = batch_loss
        if not np.isfinite(batch_loss) or (
                divergence_factor is not None and history.initial_loss > 0
                and batch_loss > divergence_factor * history.initial_loss):
            raise TrainingDiverged(epoch + 1, optimizer.lr, batch_loss, history.initial_loss,
                                   divergence_factor)
        total += batch_loss * len(Xb)
        seen += len(Xb)
        model.backward(loss.backward())
        optimizer.step(model.parameters())
        if classify:
            correct += int(np.sum(loss.predict_labels(out) == loss.target_labels(yb)))
    history.seconds.append(time.perf_counter() - start)
    history.loss.append(total / seen)
    history.accuracy.append(correct / seen if classify else float("nan"))
    history.lr.append(optimizer.lr)
