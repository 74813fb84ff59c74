"""The MNIST recipe of the case study: an MLP that reaches >= 98.5% test accuracy.

>>> from dlfs.recipes import mnist
>>> data = mnist.load_data()                       # doctest: +SKIP
>>> result = mnist.train(mnist.RECIPE, data)        # doctest: +SKIP
>>> result.test_accuracy                           # doctest: +SKIP

The recipe was chosen on the validation set (6,000 training images held out,
stratified, seeded); the 10,000 test images are only used for the final
number.  ``dlfs train mnist`` uses :data:`RECIPE` as its defaults.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .._checks import check_positive
from ..losses import SoftmaxCrossEntropy
from ..model import Sequential, mlp
from ..optim import make_optimizer
from ..schedules import ExponentialDecay
from ..train import History, TrainingDiverged, TrainingInterrupted, evaluate, fit

IMAGE_SIDE = 28


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run.

    Attributes
    ----------
    hidden : tuple of int
        Hidden layer widths of the ReLU MLP ``784 -> hidden... -> 10``.
    epochs, batch_size : int
    lr : float
        Initial learning rate of the optimiser.
    lr_decay : float
        Exponential decay rate ``k`` per epoch: ``lr_t = lr * exp(-k t)``
        (:class:`~dlfs.schedules.ExponentialDecay`); 0 keeps it constant.
    optimizer : str
        One of :data:`dlfs.optim.OPTIMIZERS`.
    shift : int
        Data augmentation: every epoch, each training image is moved by a
        random whole number of pixels in ``[-shift, shift]`` along each axis
        (:func:`random_shift`); 0 turns augmentation off.
    val_fraction : float
        Share of the 60,000 training images held out for validation.
    activation, weight_decay, dropout, batchnorm
        As in :func:`dlfs.model.mlp` and :func:`dlfs.optim.make_optimizer`
        (the recipe uses none of the regularisers).
    patience : int, optional
        Early stopping on the validation loss, restoring the best epoch.
    drop_last : bool, optional
        Passed to :func:`dlfs.train.fit`.
    """

    hidden: tuple[int, ...] = (512, 256)
    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: float = 0.2
    optimizer: str = "adam"
    shift: int = 1
    val_fraction: float = 0.1
    activation: str = "relu"
    weight_decay: float = 0.0
    dropout: float = 0.0
    batchnorm: bool = False
    patience: int | None = None
    drop_last: bool | None = None

    def with_(self, **changes) -> "Recipe":
        """A copy with some fields changed (``RECIPE.with_(epochs=3)``)."""
        return replace(self, **changes)


#: The recipe of the chapter and the default of ``dlfs train mnist``.
RECIPE = Recipe()


@dataclass
class MnistData:
    """Float32 arrays: images flattened to 784 values in [0, 1], integer labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_data(*, val_fraction: float = RECIPE.val_fraction, seed: int = 0,
              limit: int | None = None, data_dir=None) -> MnistData:
    """MNIST as :class:`MnistData`, with a stratified seeded validation split.

    Parameters
    ----------
    val_fraction : float
        Share of the training images held out for validation.
    seed : int
        Seed of the split (the same seed gives the same split).
    limit : int, optional
        Keep only the first ``limit`` training images (before the split), for
        quick experiments; the test set is always complete.
    data_dir : path-like, optional
        Passed to :func:`dlfs.data.load_mnist`.
    """
    from ..data import load_mnist, to_float, train_val_split

    x_train, y_train, x_test, y_test = load_mnist(data_dir=data_dir)
    if limit is not None:
        check_positive(limit, "limit", integer=True)
        x_train, y_train = x_train[:limit], y_train[:limit]
    X_tr, y_tr, X_val, y_val = train_val_split(to_float(x_train), y_train, val_fraction,
                                               seed=seed)
    return MnistData(X_tr, y_tr, X_val, y_val, to_float(x_test), y_test)


def random_shift(X: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Move every image by a random number of pixels, filling with background.

    Implements :eq:`eq-mnist-shift`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 784)
        Flattened 28 x 28 images.
    max_shift : int
        Each image moves by ``dy, dx`` drawn uniformly from
        ``{-max_shift, ..., max_shift}``, independently per image and axis.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_samples, 784), same dtype
        A new array; pixels moved in from outside the frame are 0.
    """
    check_positive(max_shift, "max_shift", integer=True, allow_zero=True)
    if X.ndim != 2 or X.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"X must have shape (n_samples, {IMAGE_SIDE ** 2}), got {X.shape}")
    n, s, m = len(X), IMAGE_SIDE, max_shift
    images = X.reshape(n, s, s)
    padded = np.zeros((n, s + 2 * m, s + 2 * m), dtype=X.dtype)
    padded[:, m:m + s, m:m + s] = images
    dy = rng.integers(-m, m + 1, size=n)
    dx = rng.integers(-m, m + 1, size=n)
    out = np.empty_like(images)
    # One slice per (dy, dx) pair: (2m+1)^2 vectorised copies, not n small ones.
    for sy in range(-m, m + 1):
        for sx in range(-m, m + 1):
            idx = np.flatnonzero((dy == sy) & (dx == sx))
            # Output pixel (r, c) is input pixel (r - sy, c - sx).
            out[idx] = padded[idx, m - sy:m - sy + s, m - sx:m - sx + s]
    return out.reshape(n, s * s)


def build_model(recipe: Recipe = RECIPE, *, seed: int = 0,
                n_inputs: int = IMAGE_SIDE * IMAGE_SIDE) -> Sequential:
    """The recipe's untrained ReLU MLP ``784 -> hidden -> 10`` (He initialisation)."""
    return mlp([n_inputs, *recipe.hidden, 10], activation=recipe.activation,
               dropout=recipe.dropout, batchnorm=recipe.batchnorm,
               rng=np.random.default_rng(seed))


@dataclass
class Result:
    """What :func:`train` returns: the model, its history and the headline numbers."""

    model: Sequential
    history: History
    recipe: Recipe
    seed: int
    train_seconds: float
    test_loss: float
    test_accuracy: float
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-serialisable numbers (what ``dlfs train mnist --json`` prints)."""
        h = self.history
        return {"test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
                "val_accuracy": h.val_accuracy[-1] if h.val_accuracy else None,
                "train_accuracy": h.accuracy[-1], "train_seconds": round(self.train_seconds, 3),
                "epochs": h.epochs, "seed": self.seed, "n_params": self.model.n_params(),
                "recipe": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in asdict(self.recipe).items()}}


def train(recipe: Recipe = RECIPE, data: MnistData | None = None, *, seed: int = 0,
          model: Sequential | None = None, progress: bool | None = False,
          callback=None, loss=None) -> Result:
    """Train the recipe's model and measure it on the test set.

    Implements the schedule :eq:`eq-mnist-lr` and the augmentation of
    :eq:`eq-mnist-shift`, once per epoch.

    Parameters
    ----------
    recipe : Recipe
    data : MnistData, optional
        Defaults to :func:`load_data` with the recipe's ``val_fraction``.
    seed : int
        Seeds the initial weights, the shuffling and the augmentation.
    model : Sequential, optional
        Train this model instead of a fresh :func:`build_model`.
    progress : bool, optional
        Passed to :func:`dlfs.train.fit`.
    callback : callable(epoch, model, history), optional
        Called after every epoch (learning curves of extra quantities).
    loss : Loss, optional
        Default :class:`~dlfs.losses.SoftmaxCrossEntropy`.

    Returns
    -------
    Result
        ``train_seconds`` counts the epochs (with augmentation and the
        validation pass), not the data loading or the final test.
    """
    data = load_data(val_fraction=recipe.val_fraction) if data is None else data
    model = build_model(recipe, seed=seed) if model is None else model
    loss = SoftmaxCrossEntropy() if loss is None else loss
    optimizer = make_optimizer(recipe.optimizer, recipe.lr, weight_decay=recipe.weight_decay)
    schedule = ExponentialDecay(recipe.lr, recipe.lr_decay)
    rng = np.random.default_rng([seed, 1])
    history = History()
    best_state, since_best = None, 0
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        optimizer.lr = schedule(epoch)
        X = data.X_train
        if recipe.shift:
            X = random_shift(X, recipe.shift, rng)
        # One epoch at a time, so every epoch sees freshly shifted images.
        try:
            h = fit(model, loss, optimizer, X, data.y_train, epochs=1,
                    batch_size=recipe.batch_size, validation=(data.X_val, data.y_val),
                    seed=int(rng.integers(2**31)), progress=progress,
                    drop_last=recipe.drop_last)
        except TrainingInterrupted:                 # count epochs of the whole run
            raise TrainingInterrupted(epoch + 1, recipe.epochs, history) from None
        except TrainingDiverged as err:
            raise TrainingDiverged(epoch + 1, err.lr, err.loss, err.initial_loss, 1e3) \
                from None
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
            getattr(history, name).extend(getattr(h, name))
        if callback is not None:
            callback(epoch, model, history)
        if recipe.patience is not None:
            if history.val_loss[-1] <= min(history.val_loss):
                best_state = {k: v.copy() for k, v in model.state().items()}
                since_best = 0
            else:
                since_best += 1
                if since_best >= recipe.patience:
                    history.stopped_early = True
                    break
    history.best_epoch = int(np.argmin(history.val_loss))
    if best_state is not None:                  # restore the best epoch's parameters
        for name, array in model.state().items():
            array[...] = best_state[name]
    seconds = time.perf_counter() - start
    test_loss, test_acc = evaluate(model, loss, data.X_test, data.y_test)
    return Result(model, history, recipe, seed, seconds, test_loss, float(test_acc))


def run_cli(args) -> dict:
    """``dlfs train mnist``: the recipe, with the options given on the command line.

    ``args`` is the :mod:`argparse` namespace of :mod:`dlfs.cli`; options left
    at ``None`` keep the recipe's values.  Data, loss and saving go through
    :mod:`dlfs.cli`, like every other dataset.  Returns the ``--json`` summary.
    """
    import sys

    from .. import cli

    changes = {"hidden": None if args.hidden is None else tuple(args.hidden),
               "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
               "lr_decay": getattr(args, "lr_decay", None), "shift": getattr(args, "shift", None),
               "optimizer": args.optimizer, "activation": args.activation,
               "weight_decay": args.weight_decay, "dropout": args.dropout,
               "batchnorm": args.batchnorm, "patience": args.patience,
               "val_fraction": args.val_fraction,
               "drop_last": True if getattr(args, "drop_last", False) else None}
    recipe = RECIPE.with_(**{k: v for k, v in changes.items() if v is not None})
    # The command's loader gives the same split as load_data.
    train_set, val_set, test_set, _ = cli.load_dataset("mnist", seed=args.seed,
                                                       val_fraction=recipe.val_fraction,
                                                       limit=args.limit)
    data = MnistData(*train_set, *val_set, *test_set)
    n_inputs = data.X_train.shape[1]
    if n_inputs != IMAGE_SIDE * IMAGE_SIDE:     # not images (a test's stand-in): no shifts
        recipe = recipe.with_(shift=0)
    model = build_model(recipe, seed=args.seed, n_inputs=n_inputs)
    if not args.quiet:
        print(model.summary((n_inputs,)), file=sys.stderr)
    result = train(recipe, data, seed=args.seed, model=model, loss=cli._loss_for(10),
                   progress=False if args.quiet else None)
    h = result.history
    if not args.quiet:
        print(f"{'epoch':>5} {'loss':>8} {'acc':>7} {'val_loss':>8} {'val_acc':>7} "
              f"{'lr':>8}", file=sys.stderr)
        for i in range(h.epochs):
            print(f"{i + 1:>5} {h.loss[i]:8.4f} {h.accuracy[i]:7.4f} {h.val_loss[i]:8.4f} "
                  f"{h.val_accuracy[i]:7.4f} {h.lr[i]:8.2e}", file=sys.stderr)
    if args.save:
        try:
            cli.save_model(result.model, args.save, input_shape=(n_inputs,))
        except (OSError, ValueError) as err:      # the path changed during training
            raise OSError(f"could not save the trained parameters to {args.save}: {err}") \
                from None
        args.saved_to = args.save
    return {"command": "train", "dataset": "mnist", **result.summary(),
            "stopped_early": h.stopped_early,
            "best_epoch": None if h.best_epoch is None else h.best_epoch + 1,
            "hidden": list(recipe.hidden), "optimizer": recipe.optimizer, "lr": recipe.lr,
            "batch_size": recipe.batch_size, "saved": args.save}


def _source_key(recipe: Recipe, seed: int) -> str:
    """Hash of everything a trained result depends on: recipe, seed, dlfs code, NumPy."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256(repr((asdict(recipe), seed, np.__version__)).encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def trained(recipe: Recipe = RECIPE, data: MnistData | None = None, *, seed: int = 0,
            cache_dir=None) -> tuple[Result, bool]:
    """:func:`train`, or the identical result of an earlier call from a file cache.

    Two chapters of the book need the recipe's trained model; training is
    deterministic (same recipe, seed, code and NumPy give the same numbers),
    so the second one may load what the first one computed instead of
    spending the time again.  The cache file's name is a hash of the recipe,
    the seed, the source of :mod:`dlfs` and the NumPy version, so any change
    retrains.

    Parameters
    ----------
    recipe, data, seed
        As for :func:`train`.
    cache_dir : path-like, optional
        Default: ``$DLFS_CACHE_DIR``, else ``dlfs-cache`` in the system's
        temporary directory (never the repository).

    Returns
    -------
    result : Result
        ``train_seconds`` is the time of the run that actually trained.
    cached : bool
        Whether the result came from the cache.
    """
    import json
    import os
    import tempfile
    from pathlib import Path

    from ..io import load_model, save_model

    root = Path(cache_dir or os.environ.get("DLFS_CACHE_DIR")
                or Path(tempfile.gettempdir()) / "dlfs-cache")
    stem = root / f"mnist-{_source_key(recipe, seed)}"
    params, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    if params.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        history = History(**info["history"])
        return Result(load_model(params), history, recipe, seed, info["train_seconds"],
                      info["test_loss"], info["test_accuracy"]), True
    result = train(recipe, data, seed=seed)
    root.mkdir(parents=True, exist_ok=True)
    save_model(result.model, params)
    info = {"history": asdict(result.history), "train_seconds": result.train_seconds,
            "test_loss": result.test_loss, "test_accuracy": result.test_accuracy}
    tmp = meta.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(meta)                           # complete files only
    return result, False
