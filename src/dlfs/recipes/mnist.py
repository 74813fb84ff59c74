"""The MNIST recipe of the case study: an MLP chosen on validation data.

>>> from dlfs.recipes import mnist
>>> data = mnist.load_data()                     # training and validation only # doctest: +SKIP
>>> result = mnist.train(mnist.RECIPE, data)      # never reads the test set   # doctest: +SKIP
>>> result.val_accuracy                          # doctest: +SKIP
>>> mnist.final_test(result).test_accuracy        # the one reader of the test set # doctest: +SKIP

The protocol is :mod:`dlfs.recipes.selection`'s: :data:`CANDIDATES` are
named changes to :data:`BASE`; ``python -m dlfs.recipes.mnist --search``
scores each on the validation set (6,000 training images held out,
stratified, split seed 0) and writes ``searches/mnist.json``; :data:`RECIPE`
is the chosen row.  Only :func:`final_test` reads the 10,000 test images,
once per final model (:func:`final_runs`).  ``dlfs train mnist`` uses
:data:`RECIPE` as its defaults and applies its options on top
(:meth:`~dlfs.recipes._common.Recipe.with_`).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_positive
from .._docs import implements
from ..data import mnist as dlfs_mnist
from ..data import to_float, train_val_split
from ..losses import SoftmaxCrossEntropy
from ..model import Sequential, mlp
from ..optim import make_optimizer
from ..schedules import ExponentialDecay
from ..train import TrainingDiverged, evaluate, fit
from . import _common, selection
from ._common import Result

IMAGE_SIDE = 28


@dataclass(frozen=True)
class Recipe(_common.Recipe):
    """Everything that decides a training run (a frozen, checked dataclass).

    The fields, with the recipe's values:

    - ``hidden`` (512, 256): hidden layer widths of the ReLU MLP
      ``784 -> hidden... -> 10``.
    - ``epochs`` 15, ``batch_size`` 128.
    - ``lr`` 1e-3: initial learning rate of the optimiser.
    - ``lr_decay`` 0.2: exponential decay rate ``k`` per epoch,
      ``lr_t = lr * exp(-k t)`` (``dlfs.schedules.ExponentialDecay``);
      0 keeps the rate constant.
    - ``optimizer`` ``"adam"``: a name of ``dlfs.optim.make_optimizer``.
    - ``shift`` 1: data augmentation; every epoch, each training image is
      moved by a random whole number of pixels in ``[-shift, shift]`` along
      each axis (``random_shift``); 0 turns augmentation off.
    - ``val_fraction`` 0.1: share of the 60,000 training images held out for
      validation.
    - ``activation`` ``"relu"``, ``weight_decay`` 0, ``dropout`` 0,
      ``batchnorm`` False: as in ``dlfs.model.mlp`` and
      ``dlfs.optim.make_optimizer`` (the recipe uses no regulariser).
    - ``patience`` None: early stopping on the validation loss after this
      many epochs without improvement, restoring the best epoch.
    - ``drop_last`` None: passed to ``dlfs.train.fit``.
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

    name = "mnist"

    def check(self) -> None:
        super().check()
        _common.check_sizes(self.hidden, "hidden")
        check_positive(self.shift, "shift", integer=True, allow_zero=True)


#: The starting point of the search, the recipe before the search (see :data:`CANDIDATES`).
BASE = Recipe()

#: The search's candidates, named changes to :data:`BASE`.  Each varies one choice
#: (width, learning rate, decay, batch size, shift, epochs, regularisation), and the
#: first rows take a part of the recipe away (the ablation): no shifts, no decay,
#: plain momentum instead of Adam, a smaller network.
CANDIDATES: dict[str, dict] = {
    "base": {},
    "no shifts": {"shift": 0},
    "no decay": {"lr_decay": 0.0},
    "momentum, not Adam": {"optimizer": "momentum", "lr": 0.05},
    "smaller net 128+64": {"hidden": (128, 64)},
    "one layer of 800": {"hidden": (800,)},
    "shifts up to 2": {"shift": 2},
    "lr 3e-3": {"lr": 3e-3},
    "batch 256": {"batch_size": 256},
    "25 epochs, decay 0.12": {"epochs": 25, "lr_decay": 0.12},
    "dropout 0.2": {"dropout": 0.2},
}

#: How many of the screening's best candidates are trained again with more seeds.
FINALISTS = 3
#: Seeds of the screening (one) and of the finalists (three).
SCREEN_SEEDS = (0,)
FINAL_SEEDS = (0, 1, 2)
#: What a score of the search is.
PROTOCOL = ("validation accuracy (after the last epoch) on 6,000 of the 60,000 training "
            "images held out (stratified split, seed 0), the network trained on the other "
            "54,000 with the given seed")

#: The recipe of the chapter and the default of ``dlfs train mnist``: the chosen row of
#: the committed search (``searches/mnist.json``; a test checks that they agree).
RECIPE = BASE.with_(lr=3e-3)


@dataclass
class MnistData:
    """Float32 training and validation arrays: images flattened to 784 values in
    [0, 1], integer labels.  There is no test set in here (see :func:`load_test_set`)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def load_data(*, val_fraction: float = BASE.val_fraction, seed: int = 0,
              limit: int | None = None, data_dir=None) -> MnistData:
    """MNIST's training images as ``MnistData``, with a stratified seeded
    validation split; the test file is not read.

    Parameters
    ----------
    val_fraction : float
        Share of the training images held out for validation.
    seed : int
        Seed of the split (the same seed gives the same split; the recipe's
        search and final runs all use split seed 0).
    limit : int, optional
        Keep only the first ``limit`` training images (before the split), for
        quick experiments.
    data_dir : path-like, optional
        Passed to ``dlfs.data.mnist.load_split``.
    """
    x_train, y_train = dlfs_mnist.load_split("train", data_dir=data_dir)
    if limit is not None:
        check_positive(limit, "limit", integer=True)
        x_train, y_train = x_train[:limit], y_train[:limit]
    return MnistData(*train_val_split(to_float(x_train), y_train, val_fraction,
                                      seed=seed))


def load_test_set(*, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images (float32, flattened) and labels; only :func:`final_test`
    calls it."""
    x_test, y_test = dlfs_mnist.load_split("test", data_dir=data_dir)
    return to_float(x_test), y_test


def random_shift(X: np.ndarray, max_shift: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Move every image by a random number of pixels, filling with background.

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
        raise ValueError(f"X must have shape (n_samples, {IMAGE_SIDE ** 2}), "
                         f"got {X.shape}")
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


implements(random_shift, "eq-mnist-shift")


def build_model(recipe: Recipe = BASE, *, seed: int = 0,
                n_inputs: int = IMAGE_SIDE * IMAGE_SIDE) -> Sequential:
    """The recipe's untrained ReLU MLP ``784 -> hidden -> 10`` (He initialisation)."""
    return mlp([n_inputs, *recipe.hidden, 10], activation=recipe.activation,
               dropout=recipe.dropout, batchnorm=recipe.batchnorm,
               rng=np.random.default_rng(seed))


def train(recipe: Recipe = RECIPE, data: MnistData | None = None, *, seed: int = 0,
          model: Sequential | None = None, progress: bool | None = False, callbacks=(),
          resume=None, loss=None) -> Result:
    """Train the recipe's model on the training images, watching the validation set.

    One call of :func:`~dlfs.train.fit`, with the learning-rate schedule as its
    schedule, the random shifts as its augmentation (fresh every epoch) and,
    with ``patience``, early stopping that restores the best epoch.  The test
    set is not read: the result's ``test_loss`` and ``test_accuracy`` stay
    None until :func:`final_test`.

    Implements :eq:`eq-mnist-lr` and :eq:`eq-mnist-shift`.

    Parameters
    ----------
    recipe : Recipe
    data : MnistData, optional
        Defaults to :func:`load_data` with the recipe's ``val_fraction``.
    seed : int
        Seeds the initial weights and, through ``fit``, the shuffling, the
        shifts and any dropout: the same seed gives the same run at the same
        number of BLAS threads.
    model : Sequential, optional
        Train this model instead of a fresh :func:`build_model`.
    progress : bool, optional
        Passed to :func:`dlfs.train.fit`.
    callbacks : sequence of dlfs.train.Callback
        Passed to :func:`dlfs.train.fit` (checkpoints, learning curves of extra
        quantities).
    resume : path-like, optional
        A checkpoint that a :class:`~dlfs.train.SaveCheckpoint` in ``callbacks``
        wrote during an earlier call with the same recipe, data and seed:
        training continues after its epoch and ends with the uninterrupted
        run's parameters and history, bit for bit at the same number of BLAS
        threads (:func:`~dlfs.train.fit`'s ``resume``).
    loss : Loss, optional
        Default :class:`~dlfs.losses.SoftmaxCrossEntropy`.
    """
    data = load_data(val_fraction=recipe.val_fraction) if data is None else data
    n_inputs = data.X_train.shape[1]
    if recipe.shift and n_inputs != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"shift={recipe.shift} moves 28x28 images, but the data has "
                         f"{n_inputs} features per sample; use shift=0")
    model = build_model(recipe, seed=seed, n_inputs=n_inputs) if model is None else model
    loss = SoftmaxCrossEntropy() if loss is None else loss
    optimizer = make_optimizer(recipe.optimizer, recipe.lr, weight_decay=recipe.weight_decay)

    def shift(X, rng):
        return random_shift(X, recipe.shift, rng)

    start = time.perf_counter()
    history = fit(model, loss, optimizer, data.X_train, data.y_train, epochs=recipe.epochs,
                  batch_size=recipe.batch_size, validation=(data.X_val, data.y_val),
                  schedule=ExponentialDecay(recipe.lr, recipe.lr_decay),
                  augment=shift if recipe.shift else None, patience=recipe.patience,
                  callbacks=callbacks, seed=seed, progress=progress,
                  drop_last=recipe.drop_last, resume=resume)
    return Result(model, history, recipe, seed, time.perf_counter() - start,
                  input_shape=(n_inputs,), restored_best=recipe.patience is not None)


def final_test(result: Result, test: tuple[np.ndarray, np.ndarray] | None = None) -> Result:
    """The result with its test loss and accuracy: the one function that reads the test set.

    Call it once per final model, after every choice is made.

    Parameters
    ----------
    result : Result
        From :func:`train` (or :func:`trained`).
    test : (X_test, y_test), optional
        Defaults to :func:`load_test_set` (pass it to test several models with one read).
    """
    X_test, y_test = load_test_set() if test is None else test
    test_loss, test_acc = evaluate(result.model, SoftmaxCrossEntropy(), X_test, y_test)
    return dataclasses.replace(result, test_loss=float(test_loss),
                               test_accuracy=float(test_acc))


def trained(recipe: Recipe = RECIPE, data: MnistData | None = None, *, seed: int = 0,
            cache_dir=None) -> tuple[Result, bool]:
    """:func:`train`, or the identical result of an earlier call from a file cache.

    Several chapters need the recipe's trained models; training is
    deterministic, so the later ones may load what the first one computed.
    Returns ``(result, cached)`` as :func:`dlfs.recipes._common.cached`, whose
    cache is per user and keyed on the recipe, the seed, the data, the source
    of :mod:`dlfs` and NumPy.
    """
    data = load_data(val_fraction=recipe.val_fraction) if data is None else data
    return _common.cached(train, recipe, data, seed=seed, cache_dir=cache_dir)


def final_runs(recipe: Recipe = RECIPE, seeds: Sequence[int] = FINAL_SEEDS, *,
               data: MnistData | None = None, cache_dir=None) -> list[Result]:
    """The final models: ``recipe`` trained with each seed (through the cache), each
    then tested once by :func:`final_test` (the test file is read once for all)."""
    data = load_data(val_fraction=recipe.val_fraction) if data is None else data
    runs = [trained(recipe, data, seed=s, cache_dir=cache_dir)[0] for s in seeds]
    test = load_test_set()
    return [final_test(r, test) for r in runs]


# -- the search ---------------------------------------------------------------------------------

def recipe_of(changes: dict) -> Recipe:
    """``BASE`` with a search row's changes (lists read from JSON become tuples)."""
    return BASE.with_(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in changes.items()})


def score(changes: dict, seed: int, data: MnistData | None = None) -> float:
    """Validation accuracy of :func:`recipe_of` ``(changes)`` trained with ``seed`` (the
    search's score; training and validation data only).  A run that diverges
    (:class:`~dlfs.train.TrainingDiverged`) scores 0."""
    data = load_data(val_fraction=BASE.val_fraction) if data is None else data
    try:
        return float(train(recipe_of(changes), data, seed=seed).val_accuracy)
    except TrainingDiverged:
        return 0.0


def run_search(candidates: dict[str, dict] | None = None, *, finalists: int = FINALISTS,
               data: MnistData | None = None, log=print, on_screen=None
               ) -> tuple[selection.SearchTable, selection.SearchTable]:
    """The two-stage search: every candidate with :data:`SCREEN_SEEDS`, then the
    ``finalists`` best with ``FINAL_SEEDS`` (scores already computed are reused).

    Returns ``(screen, final)``; ``final.chosen`` is the recipe.  ``on_screen(screen)``,
    if given, is called when the screening is done.
    """
    candidates = CANDIDATES if candidates is None else candidates
    data = load_data(val_fraction=BASE.val_fraction) if data is None else data
    seen: dict[tuple[str, int], float] = {}

    def scorer(name):
        def run(changes, seed):
            if (name, seed) not in seen:
                seen[name, seed] = score(changes, seed, data)
            return seen[name, seed]
        return run

    def stage(names, seeds, what):
        rows = []
        for name in names:
            table = selection.search({name: candidates[name]}, scorer(name), recipe="mnist",
                                     protocol=PROTOCOL, seeds=seeds, log=log)
            rows.extend(table.rows)
        return selection.SearchTable("mnist", f"{what}: {PROTOCOL}", list(seeds), rows,
                                     table.info)

    screen = stage(list(candidates), SCREEN_SEEDS, "screening, one seed")
    if on_screen is not None:
        on_screen(screen)
    best = sorted(screen.rows, key=lambda r: -r.mean)[:finalists]
    best_names = [n for n in candidates if n in {r.name for r in best}]    # listed order
    final = stage(best_names, FINAL_SEEDS, f"the {finalists} best of the screening, "
                                           f"{len(FINAL_SEEDS)} seeds")
    return screen, final


def main(argv: list[str] | None = None) -> int:
    """``python -m dlfs.recipes.mnist --search``: run the search, write the tables."""
    parser = argparse.ArgumentParser(prog="python -m dlfs.recipes.mnist",
                                     description="Model selection for the MNIST MLP recipe.")
    parser.add_argument("--search", action="store_true", required=True,
                        help="score CANDIDATES on validation data and write "
                             "searches/mnist-screen.json and searches/mnist.json")
    parser.parse_args(argv)

    def log(line):
        print(line, flush=True)

    def save(table, name):
        path = table.save(selection.SEARCHES / f"{name}.json")
        print(f"wrote {path}", *table.lines(), sep="\n", flush=True)

    screen, final = run_search(log=log, on_screen=lambda t: save(t, "mnist-screen"))
    save(final, "mnist")
    print(f"chosen: {final.chosen.name} {final.chosen.changes}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
