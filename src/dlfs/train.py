"""Mini-batch training: the loop every chapter from here on uses.

:func:`fit` runs the epochs, :func:`fit_epoch` one pass over the data and
:func:`step` one mini-batch, as in d2l.  Everything else a run may need
(learning-rate schedules, early stopping with the best epoch restored, a
progress bar, checkpoints to resume from, your own per-epoch code) is a
:class:`Callback`.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ._checks import NonFiniteError, check_array, check_labels, check_positive
from ._docs import implements
from .io import (Checkpoint, check_save_path, load_checkpoint, read_checkpoint,
                 save_checkpoint)
from .losses import Loss, SoftmaxCrossEntropy
from .model import Sequential
from .optim import Optimizer
from .schedules import check_rates


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
    """Training blew up: the loss became non-finite or grew far beyond its reference.

    Attributes ``epoch`` (counted from 1), ``lr`` (the learning rate in use),
    ``loss`` (the batch loss that gave it away, or None when the parameters
    themselves overflowed), ``initial_loss`` (the run's first batch loss) and
    ``reference`` (the value ``loss`` was compared with, see :func:`fit`).
    """

    def __init__(self, epoch: int, lr: float, loss: float | None, initial_loss: float | None,
                 factor: float | None, reference: float | None = None) -> None:
        self.epoch, self.lr, self.loss, self.initial_loss = epoch, lr, loss, initial_loss
        self.reference = initial_loss if reference is None else reference
        if loss is None:
            what = "the parameters became NaN or infinite"
        elif not np.isfinite(loss):
            what = f"the training loss became {loss}"
        else:
            what = (f"the training loss rose from {initial_loss:.4g} to {loss:.4g} "
                    f"(more than {factor:g} times {self.reference:.4g}, the larger of its "
                    "first value and the loss of an all-zero output)")
        super().__init__(f"training diverged in epoch {epoch}: {what} with learning rate "
                         f"{lr:g}; try a smaller learning rate, e.g. {lr / 10:g}")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit`; ``epoch`` (from 1) is the epoch that was running.

    A ``KeyboardInterrupt``, so code that does not care handles it as
    before.  ``history`` holds the epochs that completed; the model keeps the
    parameters of the moment it was stopped (with :class:`EarlyStopping`: those
    of the best epoch so far).
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
    if drop_last is not None and not isinstance(drop_last, (bool, np.bool_)):
        raise TypeError(f"drop_last must be True, False or None, got {drop_last!r}")
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
    stopped_early: bool = False
    #: Loss of the very first mini-batch of the run.
    initial_loss: float | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def best_epoch(self) -> int | None:
        """Index of the epoch with the lowest validation loss (the first, on ties), or None."""
        best = None
        for epoch, value in enumerate(self.val_loss):
            if best is None or value < self.val_loss[best]:
                best = epoch
        return best


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


def fit(model: Sequential, loss: Loss, optimizer: Optimizer,
        X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int = 64,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        schedule=None, patience: int | None = None, augment=None,
        callbacks=(), seed: int = 0, progress: bool | None = None,
        drop_last: bool | None = None,
        divergence_factor: float | None = 1e3, resume=None) -> History:
    """Train ``model`` with mini-batch gradient descent; return its History.

    ``fit`` runs the epochs, ``fit_epoch`` one pass over the data, ``step``
    one mini-batch step.

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
        See ``dlfs.schedules``; adds a ``LearningRateSchedule``.
    patience : int, optional
        Early stopping: stop when the validation loss has not improved for
        ``patience`` epochs and restore the best epoch's parameters; adds an
        ``EarlyStopping``.
    augment : callable (X, rng) -> X, optional
        Called at the start of every epoch with the training inputs and a
        generator seeded from ``seed``; the epoch trains on what it returns
        (the same number of samples, in the same order).
    callbacks : sequence of ``Callback``
        Called at the start and end of training and of every epoch.
    seed : int
        Decides every random choice of the run: the shuffling, the
        augmentation's generator and the masks of every layer that draws
        random numbers while training (``fit`` gives each Dropout layer a
        generator derived from ``seed``).  The same seed, initial parameters,
        data and arguments give bit-identical training at the same number of
        BLAS threads (a different number may round matrix products differently;
        see ``dlfs._blas``).
    progress : bool, optional
        Show a tqdm progress bar; default: only when stderr is a terminal.
    drop_last : bool, optional
        Leave out the incomplete last mini-batch of each epoch.  The default,
        None, drops it only when the model cannot train on it: a single sample
        with BatchNorm.  See ``check_batching``.
    divergence_factor : float, optional
        Stop with ``TrainingDiverged`` when a batch loss exceeds this
        many times the larger of the first batch's loss and the loss of an
        all-zero output (``ln 10`` for ten classes), so a run that starts from
        a tiny loss (continued training, fine-tuning) is not stopped by one
        hard batch; None turns the check off.  A non-finite loss or parameter
        always stops training.
    resume : dlfs.io.Checkpoint or path-like, optional
        Continue the run a ``SaveCheckpoint`` saved, loaded with
        ``dlfs.io.load_checkpoint`` (a path: checked with
        ``dlfs.io.read_checkpoint``, then loaded into ``model`` and
        ``optimizer``): from its epoch on, with its history, generators and
        early stopping's best epoch, so that the result is the
        uninterrupted run's, bit for bit.  ``epochs`` counts from the
        run's start; a run that had stopped early trains no more epochs.

    Raises
    ------
    TrainingDiverged
        Naming the epoch and the learning rate.
    TrainingInterrupted
        On Ctrl-C, naming the epoch.
    ValueError
        For bad arguments, before any training.
    """
    run = _start(model, loss, optimizer, X, y, epochs=epochs,
                 batch_size=batch_size, validation=validation,
                 schedule=schedule, patience=patience, augment=augment,
                 callbacks=callbacks, seed=seed, progress=progress,
                 drop_last=drop_last, divergence_factor=divergence_factor,
                 resume=resume)
    # Overflow warnings would only announce the divergence step() reports.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            run.notify("on_train_begin")
            for run.epoch in range(run.epoch, epochs):
                run.notify("on_epoch_begin")
                fit_epoch(run)
                run.notify("on_epoch_end")
                if run.stop:
                    break
        except KeyboardInterrupt:               # Ctrl-C: say in which epoch
            raise TrainingInterrupted(run.epoch + 1, epochs,
                                      run.history) from None
        finally:
            run.notify("on_train_end")
    return run.history


def fit_epoch(run: Run) -> None:
    """One pass over the training set in shuffled mini-batches, then the
    validation set."""
    X = run.X if run.augment is None else run.augmented()
    history, start = run.history, time.perf_counter()
    total, correct, seen = 0.0, 0, 0
    for Xb, yb in batches(X, run.y, run.batch_size, rng=run.rng,
                          drop_last=run.drop_last):
        out, batch_loss = step(run, Xb, yb)
        total += batch_loss * len(Xb)       # the epoch's loss: a sample mean
        seen += len(Xb)
        correct += run.n_correct(out, yb)
    history.seconds.append(time.perf_counter() - start)
    history.loss.append(total / seen)
    history.accuracy.append(correct / seen if run.classifies
                            else float("nan"))
    history.lr.append(run.optimizer.lr)
    if run.validation is not None:
        val_loss, val_acc = evaluate(run.model, run.loss, *run.validation)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(float("nan") if val_acc is None
                                    else val_acc)


def step(run: Run, Xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, float]:
    """One mini-batch step; returns the network's output and the batch loss."""
    try:
        out = run.model.forward(Xb, training=True)
        batch_loss = run.loss.forward(out, yb)
    except NonFiniteError:
        # X and y are finite, so a NaN or infinity inside the network comes
        # from parameters that grew out of range: check_divergence says so.
        run.check_divergence(None)
        raise
    run.check_divergence(batch_loss)
    run.model.backward(run.loss.backward())
    run.optimizer.step(run.model.parameters())
    run.steps += 1
    return out, batch_loss


implements(step, "eq-tl-sgd")


class Callback:
    """Hooks into :func:`fit`; a subclass overrides the ones it needs.

    Each hook gets the :class:`Run`: ``run.epoch`` is the current epoch
    (from 0), ``run.history`` holds the epochs so far, and setting
    ``run.stop = True`` ends training after the current epoch.
    ``on_train_end`` is called however training ends (also after
    Ctrl-C or divergence).
    """

    def on_train_begin(self, run: Run) -> None:
        pass

    def on_epoch_begin(self, run: Run) -> None:
        pass

    def on_epoch_end(self, run: Run) -> None:
        pass

    def on_train_end(self, run: Run) -> None:
        pass


class LearningRateSchedule(Callback):
    """Set ``optimizer.lr = schedule(epoch)`` before every epoch (``epoch`` from 0).

    Every epoch's rate is checked before training starts
    (:func:`dlfs.schedules.check_rates`): a positive, finite number.
    """

    def __init__(self, schedule) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable (epoch -> learning rate), "
                            f"got {type(schedule).__name__}")
        self.schedule = schedule

    def on_train_begin(self, run: Run) -> None:
        self.rates = check_rates(self.schedule, run.epochs)

    def on_epoch_begin(self, run: Run) -> None:
        run.optimizer.lr = self.rates[run.epoch]


class EarlyStopping(Callback):
    """Keep the epoch with the lowest validation loss; optionally stop when it stays behind.

    Parameters
    ----------
    patience : int, optional
        Stop after this many epochs without a lower validation loss; None
        trains every epoch.
    restore_best : bool
        At the end of training, copy back the parameters (and buffers) of the
        best epoch, :attr:`History.best_epoch`: the first epoch with the
        lowest validation loss.
    """

    def __init__(self, patience: int | None = None, *, restore_best: bool = True) -> None:
        if patience is not None:
            check_positive(patience, "patience", integer=True)
        self.patience, self.restore_best = patience, bool(restore_best)
        self.best_state = None

    def on_train_begin(self, run: Run) -> None:
        if run.validation is None:
            raise ValueError("early stopping (patience) needs a validation set")
        # A resumed run continues with the best epoch its checkpoint held.
        self.best_state = run.resumed_best if self.restore_best else None

    def on_epoch_end(self, run: Run) -> None:
        best = run.history.best_epoch
        if best == run.epoch:                          # a new lowest validation loss
            if self.restore_best:
                self.best_state = {k: v.copy() for k, v in run.model.state().items()}
        elif self.patience is not None and run.epoch - best >= self.patience:
            run.history.stopped_early = run.stop = True

    def on_train_end(self, run: Run) -> None:
        if self.best_state is not None:
            for name, array in run.model.state().items():
                array[...] = self.best_state[name]


class SaveCheckpoint(Callback):
    """Save a checkpoint to ``path`` after every ``every``-th epoch and the last.

    The file (:func:`dlfs.io.save_checkpoint`) holds the model, the
    optimiser's state, the history, the states of the run's random
    generators and, with an :class:`EarlyStopping` that restores the best
    epoch, that epoch's parameters, so that ``fit(..., resume=path)``
    continues the run exactly.  Each save replaces the last, atomically.
    ``info``, a JSON object, is stored with it (``dlfs.io.Checkpoint.info``):
    what the caller needs to recognise the run later.
    """

    def __init__(self, path, every: int = 1, *, info: dict | None = None) -> None:
        self.path = check_save_path(path)
        self.every = check_positive(every, "every", integer=True)
        if info is not None and not isinstance(info, dict):
            raise TypeError(f"info must be a dict, got {type(info).__name__}")
        try:
            json.dumps(info)
        except (TypeError, ValueError) as err:
            raise TypeError(f"info must be a JSON object (a dict of JSON values): "
                            f"{err}") from None
        self.info = info

    def on_epoch_end(self, run: Run) -> None:
        done = run.epoch + 1
        if done % self.every == 0 or done == run.epochs or run.stop:
            save_checkpoint(self.path, run.model, run.optimizer, epoch=done,
                            history=run.history, seed=run.seed,
                            generators=generator_states(run),
                            best=_best_epoch_state(run), info=self.info)


def _best_epoch_state(run: Run) -> dict | None:
    """The best epoch's parameters and buffers that the run's :class:`EarlyStopping`
    will restore, or None when no callback keeps them.

    This epoch's own state when it is the best so far, whatever the order of
    the callbacks.
    """
    keeper = next((c for c in run.callbacks
                   if isinstance(c, EarlyStopping) and c.restore_best), None)
    if keeper is None:
        return None
    return run.model.state() if run.history.best_epoch == run.epoch else keeper.best_state


def generator_states(run: Run) -> dict:
    """The states of every random generator of a :func:`fit` run.

    ``{"shuffle": ..., "augment": ..., "layers": {"i": ...}}``: each a
    ``Generator.bit_generator.state`` (plain ints and strings), the
    ``"layers"`` those of the layers that draw random numbers (Dropout).
    """
    return {"shuffle": run.rng.bit_generator.state,
            "augment": run.augment_rng.bit_generator.state,
            "layers": {str(i): layer.rng.bit_generator.state
                       for i, layer in _random_layers(run.model)}}


def _random_layers(model: Sequential) -> list:
    return [(i, layer) for i, layer in enumerate(model.layers)
            if isinstance(getattr(layer, "rng", None), np.random.Generator)]


class ProgressBar(Callback):
    """A tqdm bar with one tick per epoch, showing the latest losses."""

    def on_train_begin(self, run: Run) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=run.epochs, initial=run.epoch, unit="epoch",
                        leave=False)

    def on_epoch_end(self, run: Run) -> None:
        h = run.history
        shown = {"loss": f"{h.loss[-1]:.4f}"}
        if h.val_loss:
            shown["val_loss"] = f"{h.val_loss[-1]:.4f}"
        self.bar.set_postfix(**shown)
        self.bar.update()

    def on_train_end(self, run: Run) -> None:
        if getattr(self, "bar", None) is not None:
            self.bar.close()
            self.bar = None


@dataclass
class Run:
    """Everything one :func:`fit` call works with, in one place (what callbacks see)."""

    model: Sequential
    loss: Loss
    optimizer: Optimizer
    X: np.ndarray
    y: np.ndarray
    batch_size: int
    epochs: int
    rng: np.random.Generator                      # the shuffling
    augment_rng: np.random.Generator
    validation: tuple[np.ndarray, np.ndarray] | None = None
    augment: object = None
    drop_last: bool = False
    divergence_factor: float | None = 1e3
    callbacks: list = field(default_factory=list)
    history: History = field(default_factory=History)
    epoch: int = 0
    steps: int = 0
    stop: bool = False
    seed: int = 0
    #: Loss of an all-zero output on the first batch's targets (a chance-level scale).
    zero_output_loss: float | None = None
    reference: float | None = None
    #: The best epoch's state a resumed checkpoint held (for :class:`EarlyStopping`).
    resumed_best: dict | None = None

    @property
    def classifies(self) -> bool:
        return hasattr(self.loss, "predict_labels")

    def n_correct(self, out: np.ndarray, yb: np.ndarray) -> int:
        if not self.classifies:
            return 0
        return int(np.sum(self.loss.predict_labels(out) == self.loss.target_labels(yb)))

    def notify(self, hook: str) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self)

    def augmented(self) -> np.ndarray:
        X = self.augment(self.X, self.augment_rng)
        if not isinstance(X, np.ndarray) or X.shape != self.X.shape or X.dtype != self.X.dtype:
            raise ValueError(f"augment must return an array of the input's shape {self.X.shape} "
                             f"and dtype {self.X.dtype}, got "
                             f"{getattr(X, 'shape', type(X).__name__)} "
                             f"{getattr(X, 'dtype', '')}".rstrip())
        return check_array(X, "the augmented X")

    def check_divergence(self, batch_loss: float | None) -> None:
        """Raise :class:`TrainingDiverged` if ``batch_loss`` (None: a non-finite value
        inside the network) shows that training blew up."""
        history, lr = self.history, self.optimizer.lr
        if batch_loss is None:
            if self.steps > 0 or not all(np.all(np.isfinite(p))
                                         for _, p, _ in self.model.parameters()):
                raise TrainingDiverged(self.epoch + 1, lr, None, history.initial_loss,
                                       self.divergence_factor, self.reference)
            return                                  # not caused by training: the caller re-raises
        if not np.isfinite(batch_loss):
            raise TrainingDiverged(self.epoch + 1, lr, batch_loss, history.initial_loss,
                                   self.divergence_factor, self.reference)
        if history.initial_loss is None:
            history.initial_loss = batch_loss
            self.reference = max(batch_loss, self.zero_output_loss or 0.0)
        if (self.divergence_factor is not None and self.reference > 0
                and batch_loss > self.divergence_factor * self.reference):
            raise TrainingDiverged(self.epoch + 1, lr, batch_loss, history.initial_loss,
                                   self.divergence_factor, self.reference)


def _check_validation(validation, X) -> None:
    """Refuse a validation set that would fail only after the first epoch's updates."""
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError("validation must be a pair (X_val, y_val)")
    X_val, y_val = validation
    check_array(X_val, "X_val", ndim=X.ndim)
    if len(X_val) == 0:
        raise ValueError("the validation set is empty (0 samples)")
    if len(X_val) != len(y_val):
        raise ValueError(f"X_val has {len(X_val)} samples but y_val has {len(y_val)}")
    if isinstance(y_val, np.ndarray) and np.issubdtype(y_val.dtype, np.inexact):
        check_array(y_val, "y_val")


def _check_class_labels(model, loss, X, y, validation) -> None:
    """Integer labels for softmax cross-entropy must name one of the model's outputs:
    checked up front, so that a bad label late in the set fails before any update."""
    if not isinstance(loss, SoftmaxCrossEntropy) or not isinstance(model, Sequential):
        return
    try:
        n_classes = model.output_shape(X.shape[1:])[-1]
    except (ValueError, TypeError):
        return                          # the first forward pass will name the problem
    for labels, name in [(y, "y"), (None if validation is None else validation[1], "y_val")]:
        if isinstance(labels, np.ndarray) and np.issubdtype(labels.dtype, np.integer):
            check_labels(labels, f"{name} (class labels)", n_classes)


def _start(model, loss, optimizer, X, y, *, epochs, batch_size, validation, schedule, patience,
           augment, callbacks, seed, progress, drop_last, divergence_factor,
           resume=None) -> Run:
    """Check :func:`fit`'s arguments (before any training) and set up its :class:`Run`."""
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
        _check_validation(validation, X)
    _check_class_labels(model, loss, X, y, validation)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be callable (X, rng) -> X, got {type(augment).__name__}")
    check_positive(seed, "seed", integer=True, allow_zero=True)
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be dlfs.train.Callback instances, "
                            f"got {type(callback).__name__}")
    if resume is not None:
        keeps_best = patience is not None or any(
            isinstance(c, EarlyStopping) and c.restore_best for c in callbacks)
        resume = _checked_resume(resume, epochs, seed, keeps_best, model, optimizer)
    standard = [LearningRateSchedule(schedule)] if schedule is not None else []
    if patience is not None:
        standard.append(EarlyStopping(patience))
    if progress or (progress is None and sys.stderr is not None and sys.stderr.isatty()):
        standard.append(ProgressBar())
    # fit's seed decides every random choice: give each layer that draws random
    # numbers while training (Dropout) its own generator derived from it.
    for i, layer in enumerate(model.layers):
        if isinstance(getattr(layer, "rng", None), np.random.Generator):
            layer.rng = np.random.default_rng([seed, 2, i])
    run = Run(model, loss, optimizer, X, y, batch_size, epochs,
              rng=np.random.default_rng(seed), augment_rng=np.random.default_rng([seed, 1]),
              validation=validation, augment=augment, drop_last=drop_last,
              divergence_factor=divergence_factor, callbacks=standard + callbacks,
              zero_output_loss=_zero_output_loss(model, loss, X, y, batch_size), seed=seed)
    if resume is not None:
        _resume(run, resume)
    return run


def _checked_resume(resume, epochs, seed, keeps_best, model, optimizer) -> Checkpoint:
    """The checkpoint to continue, checked before any training; a path is
    loaded into ``model`` and ``optimizer`` once its checks have passed."""
    if isinstance(resume, (str, os.PathLike)):
        _check_resume(read_checkpoint(resume), epochs, seed, keeps_best, model)
        resume = load_checkpoint(resume, model, optimizer)
    _check_resume(resume, epochs, seed, keeps_best, model)
    return resume


def _check_resume(resume, epochs, seed, keeps_best, model) -> None:
    """Refuse a checkpoint that fit cannot continue exactly, before any training."""
    if not isinstance(resume, Checkpoint):
        raise TypeError(f"resume must be a dlfs.io.Checkpoint (from load_checkpoint) or "
                        f"the path of a checkpoint, got {type(resume).__name__}")
    if resume.epoch > epochs:
        raise ValueError(f"the checkpoint is after epoch {resume.epoch}, beyond epochs={epochs}")
    if resume.seed is not None and resume.seed != seed:
        raise ValueError(f"the checkpoint's run was started with seed={resume.seed}, "
                         f"not {seed}; pass seed={resume.seed} to continue it")
    fields = {f.name for f in dataclasses.fields(History)}
    if resume.history is not None and not set(resume.history) <= fields:
        raise ValueError(f"the checkpoint's history has fields "
                         f"{sorted(set(resume.history) - fields)} that History has not")
    if resume.generators is None:
        raise ValueError("the checkpoint holds no generator states: fit cannot continue "
                         "its shuffling exactly")
    ours = sorted(str(i) for i, _ in _random_layers(model))
    if sorted(resume.generators["layers"]) != ours:
        raise ValueError(f"the checkpoint has generators for layers "
                         f"{sorted(resume.generators['layers'])}, the model draws random "
                         f"numbers in layers {ours}")
    if keeps_best and resume.best is None and resume.epoch > 0:
        raise ValueError("the checkpoint holds no best epoch's parameters (its run kept "
                         "none), so early stopping could not restore them; continue it "
                         "without early stopping that restores the best epoch")
    if resume.best is not None and not keeps_best:
        raise ValueError("the checkpoint's run keeps its best epoch's parameters (early "
                         "stopping with restore_best=True); continue it with that early "
                         "stopping")


def _resume(run: Run, resume) -> None:
    """Continue where the checkpoint stopped: epoch, history, generators, best epoch."""
    run.history = History(**copy.deepcopy(resume.history or {}))
    # A run that stopped early is complete: no epoch is left to train.
    run.epoch = run.epochs if run.history.stopped_early else resume.epoch
    run.resumed_best = resume.best
    run.steps = run.optimizer.t
    for generator, state in [(run.rng, resume.generators["shuffle"]),
                             (run.augment_rng, resume.generators["augment"])]:
        generator.bit_generator.state = state
    for i, layer in _random_layers(run.model):
        layer.rng.bit_generator.state = resume.generators["layers"][str(i)]
    if run.history.initial_loss is not None:
        run.reference = max(run.history.initial_loss, run.zero_output_loss or 0.0)


def _zero_output_loss(model, loss, X, y, batch_size) -> float | None:
    """The loss of an all-zero output on the first batch's targets, or None."""
    n = min(batch_size, len(X))
    try:
        zeros = np.zeros((n, *model.output_shape(X.shape[1:])), dtype=X.dtype)
        value = copy.copy(loss).forward(zeros, y[:n])      # a copy: keep loss's own state
    except (ValueError, TypeError):
        return None
    return value if np.isfinite(value) else None
