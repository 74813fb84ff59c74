"""The convolutional network of the chapter "A CNN from scratch on MNIST".

Two blocks of 5x5 convolution, ReLU and 2x2 max pooling, then a small dense
classifier::

    (1, 28, 28) -conv 5x5-> (C1, 24, 24) -pool-> (C1, 12, 12)
                -conv 5x5-> (C2, 8, 8)   -pool-> (C2, 4, 4) -> 16*C2 -> hidden -> 10

The recipe follows the book's selection protocol (:mod:`dlfs.recipes.selection`):

* :func:`train` sees training and validation images only
  (:func:`load_mnist_images`); it never reads the test set.
* :data:`CANDIDATES` are named changes to :data:`BASE`; ``python -m
  dlfs.recipes.mnist_cnn --search`` scores them on the validation images and
  writes ``searches/mnist_cnn-screen.json`` (every candidate, one seed) and
  ``searches/mnist_cnn.json`` (the best few, three seeds), whose winner is
  :data:`RECIPE`.
* :func:`final_test` is the module's one reader of the test set
  (:func:`load_test_images`), called once per final model;
  :func:`final_runs` trains the chosen recipe with several seeds and tests each.

The same architecture and recipe are built in PyTorch and Keras by
:mod:`dlfs.interop`.  Used by ``dlfs train mnist --model cnn``.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from .._checks import check_positive
from .. import data as dlfs_data
from ..data import to_float, train_val_split
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..losses import SoftmaxCrossEntropy
from ..model import Sequential
from ..optim import Adam
from ..schedules import ExponentialDecay
from ..train import EarlyStopping, evaluate, fit
from . import _common, selection
from ._common import Result
from .mnist import random_shift

IMAGE_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class CnnRecipe(_common.Recipe):
    """The chapter's choices for the CNN (a frozen, checked dataclass).

    ``channels`` of the two convolutions, ``hidden`` units of the dense
    layer, ``epochs``, ``batch_size``, Adam's initial learning rate ``lr``,
    decayed by ``exp(-lr_decay)`` per epoch, the random ``shift`` (in whole
    pixels, 0: none) applied to every training image afresh in every epoch
    (:func:`random_shift_images`), and the share ``val_fraction`` of the
    training images held out to choose the recipe and the kept epoch.
    """

    channels: tuple[int, int] = (16, 32)
    hidden: int = 128
    epochs: int = 6
    batch_size: int = 128
    lr: float = 3e-3
    lr_decay: float = 0.5
    shift: int = 0
    val_fraction: float = 1 / 12

    name = "mnist cnn"

    def check(self) -> None:
        super().check()
        _common.check_sizes(self.channels, "channels")
        if len(self.channels) != 2:
            raise ValueError(f"channels must hold two channel counts, got {self.channels!r}")
        check_positive(self.hidden, "hidden", integer=True)
        check_positive(self.shift, "shift", integer=True, allow_zero=True)


#: The starting point of the search, the recipe of the book's first edition.
BASE = CnnRecipe()

#: The candidates of the search, named changes to :data:`BASE` (``{}`` is BASE itself).
CANDIDATES = {
    "base": {},
    "decay 0.25": {"lr_decay": 0.25},
    "shift 1": {"shift": 1},
    "shift 2": {"shift": 2},
    "shift 2, 8 epochs": {"shift": 2, "epochs": 8},
}

#: How many of the best screened candidates are scored again with ``SEARCH_SEEDS``.
KEEP = 2
SEARCH_SEEDS = (0, 1, 2)

#: The chapter's recipe, the winner of ``searches/mnist_cnn.json`` (a test checks it);
#: ``dlfs train mnist --model cnn`` uses it, with its options on top.
RECIPE = CnnRecipe(shift=1)


def mnist_cnn(channels=(16, 32), hidden: int = 128, *, dtype=np.float32,
              rng: np.random.Generator | None = None) -> Sequential:
    """The chapter's CNN for (N, 1, 28, 28) images, producing 10 logits."""
    rng = np.random.default_rng(0) if rng is None else rng
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ValueError(f"channels must be two positive integers (conv1, conv2), "
                         f"got {channels!r}")
    c1, c2 = channels
    return Sequential([
        Conv2D(1, c1, 5, dtype=dtype, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(c1, c2, 5, dtype=dtype, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(),
        Dense(c2 * 16, hidden, init="he", dtype=dtype, rng=rng), ReLU(),
        Dense(hidden, 10, dtype=dtype, rng=rng),
    ], input_shape=IMAGE_SHAPE)


def load_mnist_images(*, seed: int = 0, val_fraction: float = RECIPE.val_fraction,
                      limit: int | None = None, dtype=np.float32):
    """The MNIST training images as floats in [0, 1] of shape (n, 1, 28, 28),
    split into training and validation sets; no test images.

    Returns ``((X_train, y_train), (X_val, y_val))``; the validation set is a
    stratified ``val_fraction`` of the (first ``limit``, a positive integer)
    training images, drawn with ``seed``.  The test images come only from
    :func:`load_test_images`.
    """
    x_train, y_train = dlfs_data.mnist.load_split("train")
    if limit is not None:
        check_positive(limit, "limit", integer=True)
        x_train, y_train = x_train[:limit], y_train[:limit]
    X = to_float(x_train, dtype, flatten=False)[:, None]
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val)


def load_test_images(*, dtype=np.float32):
    """The 10,000 MNIST test images as ``(X_test, y_test)``, shaped (n, 1, 28, 28).

    For :func:`final_test` (and for looking at a digit); nothing that makes a
    choice may call it.
    """
    x_test, y_test = dlfs_data.mnist.load_split("test")
    return to_float(x_test, dtype, flatten=False)[:, None], y_test


def random_shift_images(X: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`dlfs.recipes.mnist.random_shift` for images of shape (n, 1, 28, 28)."""
    if X.ndim != 4 or X.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"X must have shape (n_samples, 1, 28, 28), got {X.shape}")
    return random_shift(X.reshape(len(X), -1), max_shift, rng).reshape(X.shape)


def _split(data):
    """``((X_train, y_train), (X_val, y_val))``; refuses anything else, a test set included."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError("data must be ((X_train, y_train), (X_val, y_val)) as "
                         "load_mnist_images returns it; the test set is read only by "
                         "final_test")
    return data


def train(recipe: CnnRecipe = RECIPE, data=None, *, seed: int = 0,
          progress: bool | None = False, callbacks=(), resume=None) -> Result:
    """Train ``mnist_cnn`` with Adam; keep the epoch of best validation loss.

    Returns a ``dlfs.recipes._common.Result`` whose model has the parameters
    of the best validation epoch; its test fields stay None (``final_test``
    fills them in).

    Parameters
    ----------
    recipe : CnnRecipe
    data : ((X_train, y_train), (X_val, y_val)), optional
        As ``load_mnist_images`` returns it (default: loaded with the
        recipe's ``val_fraction`` and split seed 0).
    seed : int
        Seeds the initial weights, the shuffling and the shifts.
    progress : bool, optional
        Passed to ``dlfs.train.fit``.
    callbacks : sequence of dlfs.train.Callback
        Passed to ``dlfs.train.fit`` after the early stopping that keeps
        the best epoch (e.g. a ``SaveCheckpoint``).
    resume : path-like, optional
        A checkpoint that a ``SaveCheckpoint`` in ``callbacks`` wrote in
        an earlier call with the same arguments: training continues from
        it and ends as the uninterrupted run (``fit``'s ``resume``).
    """
    if data is None:
        data = load_mnist_images(val_fraction=recipe.val_fraction)
    (X_tr, y_tr), (X_val, y_val) = _split(data)

    def shift(X, rng):
        return random_shift_images(X, recipe.shift, rng)

    model = mnist_cnn(recipe.channels, recipe.hidden,
                      rng=np.random.default_rng(seed))
    start = time.perf_counter()
    history = fit(model, SoftmaxCrossEntropy(), Adam(recipe.lr), X_tr, y_tr,
                  epochs=recipe.epochs, batch_size=recipe.batch_size,
                  validation=(X_val, y_val),
                  schedule=ExponentialDecay(recipe.lr, recipe.lr_decay),
                  augment=shift if recipe.shift else None,
                  # restore_best=True keeps the best epoch
                  callbacks=[EarlyStopping(restore_best=True), *callbacks],
                  seed=seed, progress=progress, resume=resume)
    return Result(model, history, recipe, seed, time.perf_counter() - start,
                  input_shape=IMAGE_SHAPE, restored_best=True)


def final_test(result: Result, test=None) -> Result:
    """The result with its test loss and accuracy.

    This is the one place the test set is read.  Call it once per final
    model, after the recipe has been chosen.  ``test`` is
    ``(X_test, y_test)`` (default: ``load_test_images``).
    """
    X_test, y_test = load_test_images() if test is None else test
    if len(X_test) != len(y_test):
        raise ValueError(f"{len(X_test)} test images but {len(y_test)} labels")
    loss, acc = evaluate(result.model, SoftmaxCrossEntropy(), X_test, y_test,
                         batch_size=1000)
    return dataclasses.replace(result, test_loss=float(loss),
                               test_accuracy=float(acc),
                               extra={**result.extra, "n_test": len(y_test)})


def final_runs(recipe: CnnRecipe = RECIPE, seeds=(0, 1, 2), *, data=None, test=None,
               cache_dir=None) -> list[Result]:
    """The recipe trained with each seed (through the result cache), each tested once.

    Every seed trains on the same split (``data``, default
    :func:`load_mnist_images` with split seed 0), so the validation scores are
    those of the search.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    data = load_mnist_images(val_fraction=recipe.val_fraction) if data is None else data
    data = _split(data)
    test = load_test_images() if test is None else test
    return [final_test(_common.cached(train, recipe, data, seed=s, cache_dir=cache_dir)[0], test)
            for s in seeds]


def run_search(candidates=None, data=None, *, keep: int = KEEP, seeds=SEARCH_SEEDS,
               base: CnnRecipe = BASE, log=print, cache_dir=None):
    """Screen every candidate with seed ``seeds[0]``, then score the ``keep`` best with
    every seed; returns ``(screen, table)``, two :class:`~dlfs.recipes.selection.SearchTable`.

    The winner of ``table`` (highest mean validation accuracy over the seeds)
    is the chosen recipe.  Every run goes through the result cache
    (:func:`~dlfs.recipes._common.cached`, ``cache_dir``), so a screened
    candidate's first-seed run is reused, and :func:`final_runs` of the
    winner finds its models there while the source is unchanged.
    """
    candidates = CANDIDATES if candidates is None else candidates
    check_positive(keep, "keep", integer=True)
    seeds = [int(s) for s in seeds]
    data = load_mnist_images(val_fraction=base.val_fraction) if data is None else data
    data = _split(data)
    n_val = len(data[1][1])
    for name, changes in candidates.items():      # refuse a bad candidate before training
        base.with_(**changes)
    known: dict[tuple, float] = {}

    def score(changes, seed):
        key = (tuple(sorted(changes.items())), seed)
        if key not in known:
            result, hit = _common.cached(train, base.with_(**changes), data, seed=seed,
                                         cache_dir=cache_dir)
            known[key] = result.val_accuracy
            if log is not None:
                log(f"  {changes} seed {seed}: {known[key]:.4f} "
                    f"({'cached' if hit else f'{result.train_seconds:.0f} s'})")
        return known[key]

    what = (f"validation accuracy on {n_val:,} held-out training images (split seed 0) "
            f"of the epoch with the lowest validation loss")
    screen = selection.search(candidates, score, recipe="mnist cnn", seeds=seeds[:1],
                              protocol=f"{what}, training seed {seeds[0]}", log=log)
    best = sorted(screen.rows, key=lambda r: -r.mean)[:keep]
    kept = {r.name: r.changes for r in screen.rows if r in best}    # in the listed order
    table = selection.search(kept, score, recipe="mnist cnn", seeds=seeds,
                             protocol=f"{what}, mean over training seeds "
                                      f"{', '.join(map(str, seeds))}; the {keep} best of the "
                                      f"screen (seed {seeds[0]} scores reused)", log=log)
    return screen, table


def main(argv=None) -> int:
    import argparse

    from .._blas import set_blas_threads

    parser = argparse.ArgumentParser(prog="python -m dlfs.recipes.mnist_cnn",
                                     description="Choose the CNN recipe on validation data.")
    parser.add_argument("--search", action="store_true", required=True,
                        help="run the search and write searches/mnist_cnn*.json")
    parser.add_argument("--out", default=str(selection.SEARCHES),
                        help="folder of the tables (default: the package's)")
    args = parser.parse_args(argv)
    set_blas_threads(1)                        # as the chapter trains
    screen, table = run_search(log=lambda line: print(line, flush=True))
    from pathlib import Path
    screen.save(Path(args.out) / "mnist_cnn-screen.json")
    table.save(Path(args.out) / "mnist_cnn.json")
    print("\n".join(table.lines()))
    print("chosen:", table.chosen.name, table.chosen.changes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
