"""The cats revisited: a small convolutional network, chosen by repeated cross-validation.

The chapter "The cats, revisited with convolutions" trains a CNN from
scratch on the same 209 training pictures as the MLP of "Case study: cat vs
non-cat", and follows the book's selection protocol
(``dlfs.recipes.selection``):

* every candidate is a named change to :data:`BASE` in :data:`CANDIDATES`;
* a candidate's score is its repeated stratified 5-fold cross-validation
  accuracy on the training pictures (:func:`cv_accuracy`): seed ``r`` draws
  one partition into five folds, trains five models (each on four folds)
  and scores the share of the 209 pictures classified correctly when held out;
* ``python -m dlfs.recipes.cats_cnn --search`` scores them all and writes
  ``searches/cats_cnn.json``; :data:`RECIPE` is the chosen row;
* :func:`final_runs` trains the recipe on all 209 pictures with five seeds,
  and :func:`final_test` is the one function that reads the test pictures.

The network sees pictures average-pooled by ``pool`` (64x64 -> 32x32 by
default) with values in [0, 1], channels first::

    (3, 32, 32) -[conv 3x3 pad 1, ReLU, max-pool 2]-> (C1, 16, 16) -> ... -> (Ck, s, s)
                -global average pool-> Ck -[dropout]-> 1 logit of "cat"
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from .. import activations as F
from .._blas import blas_threads
from .._checks import check_positive
from ..data import cats as cats_data
from ..layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from ..losses import BinaryCrossEntropy
from ..model import Sequential
from ..optim import make_optimizer
from ..train import fit
from . import _common, selection
from ._common import Result


@dataclass(frozen=True)
class CatsCnnConfig(_common.Recipe):
    """Every choice that defines a cat/non-cat CNN and how it is trained (frozen, checked).

    Parameters
    ----------
    channels : tuple of int
        Output channels of the convolution blocks; each block is a 3x3
        convolution with padding 1, ReLU and 2x2 max pooling.
    pool : int
        Average-pooling factor of the 64x64 input pictures (1, 2 or 4).
    hidden : int
        Units of a dense ReLU layer after the global average pooling (0: none).
    dropout : float
        Dropout probability before the last dense layer.
    flip : bool
        Mirror each training picture with probability 1/2, anew every epoch.
    shift : int
        Translate each training picture by up to ``shift`` (pooled) pixels in
        each direction, anew every epoch (edges repeated).
    optimizer, lr, weight_decay, epochs, batch_size
        As in :class:`dlfs.recipes.cats.CatsConfig`.
    """

    channels: tuple[int, ...] = (16, 32, 64)
    pool: int = 2
    hidden: int = 0
    dropout: float = 0.0
    flip: bool = True
    shift: int = 0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 40
    batch_size: int = 32

    name = "cats cnn"

    def check(self) -> None:
        super().check()
        _common.check_sizes(self.channels, "channels")
        if not self.channels:
            raise ValueError("channels must name at least one convolution block")
        check_positive(self.pool, "pool", integer=True)
        if 64 % self.pool:
            raise ValueError(f"pool={self.pool} must divide the picture size 64")
        side = 64 // self.pool
        if side % 2 ** len(self.channels):
            raise ValueError(f"{len(self.channels)} blocks halve the side {side} too often")
        check_positive(self.hidden, "hidden", integer=True, allow_zero=True)
        check_positive(self.shift, "shift", integer=True, allow_zero=True)
        if not isinstance(self.flip, bool):
            raise TypeError(f"flip must be True or False, got {self.flip!r}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        side = 64 // self.pool
        return (3, side, side)


def features(images: np.ndarray, pool: int = 2) -> np.ndarray:
    """uint8 pictures (n, 64, 64, 3) -> float32 (n, 3, 64/pool, 64/pool) in [0, 1].

    Average pooling by ``pool`` as in :func:`dlfs.recipes.cats.features`
    (:eq:`eq-cats-pool`), laid out channels first for the convolutions.
    """
    check_positive(pool, "pool", integer=True)
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        raise TypeError("images must be a uint8 array of shape (n_samples, height, width, 3)")
    n, h, w, c = images.shape
    if h % pool or w % pool:
        raise ValueError(f"pool={pool} must divide the image size {h}x{w}")
    x = images.reshape(n, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))
    return np.ascontiguousarray((x / 255.0).transpose(0, 3, 1, 2), dtype=np.float32)


def build_model(config: CatsCnnConfig, seed: int) -> Sequential:
    """The CNN of ``config`` for (N, 3, S, S) inputs, one logit out."""
    rng = np.random.default_rng(seed)
    layers, c_in = [], 3
    for c_out in config.channels:
        layers += [Conv2D(c_in, c_out, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2)]
        c_in = c_out
    side = config.input_shape[1] // 2 ** len(config.channels)
    if side > 1:
        layers.append(AvgPool2D(side))           # global average pooling
    layers.append(Flatten())
    if config.hidden:
        layers += [Dense(c_in, config.hidden, init="he", rng=rng), ReLU()]
        c_in = config.hidden
    if config.dropout:
        layers.append(Dropout(config.dropout, rng=rng))
    layers.append(Dense(c_in, 1, rng=rng))
    return Sequential(layers, input_shape=config.input_shape)


def augmenter(config: CatsCnnConfig):
    """The ``augment`` function of ``dlfs.train.fit`` for ``config``, or None.

    Every epoch, each picture is mirrored with probability 1/2 (``flip``) and
    moved by a random offset of up to ``shift`` pixels in each direction,
    the picture's border pixels repeated into the space it leaves.
    """
    if not config.flip and not config.shift:
        return None
    s = config.shift

    def augment(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = X.copy()
        if config.flip:
            mirror = rng.random(len(X)) < 0.5
            out[mirror] = out[mirror, :, :, ::-1]
        if s:
            h, w = X.shape[2:]
            padded = np.pad(out, ((0, 0), (0, 0), (s, s), (s, s)), mode="edge")
            dy, dx = rng.integers(0, 2 * s + 1, size=(2, len(X)))
            for i in range(len(X)):
                out[i] = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        return out

    return augment


def train_model(config: CatsCnnConfig, images: np.ndarray, labels: np.ndarray, *,
                seed: int = 0, validation: tuple[np.ndarray, np.ndarray] | None = None,
                callbacks=(), resume=None):
    """Train ``config`` on uint8 ``images`` with 0/1 ``labels``: (model, history).

    ``validation`` (images, labels), if given, is evaluated after every epoch
    (for curves; the model returned is the last epoch's).  ``callbacks``
    and ``resume`` are passed to ``dlfs.train.fit`` (see :func:`train`).  One
    BLAS thread.
    """
    X = features(images, config.pool)
    y = labels.reshape(-1, 1).astype(np.float32)
    val = None
    if validation is not None:
        val = (features(validation[0], config.pool),
               validation[1].reshape(-1, 1).astype(np.float32))
    model = build_model(config, seed)
    with blas_threads(1):
        optimizer = make_optimizer(config.optimizer, config.lr,
                                   weight_decay=config.weight_decay)
        history = fit(model, BinaryCrossEntropy(from_logits=True), optimizer, X, y,
                      epochs=config.epochs, batch_size=config.batch_size, validation=val,
                      callbacks=callbacks, resume=resume,
                      augment=augmenter(config), seed=seed, progress=False)
    return model, history


def predict_proba(model: Sequential, images: np.ndarray, pool: int) -> np.ndarray:
    """Probability of "cat" for every picture, shape (n_samples,)."""
    with blas_threads(1):
        logits = model.predict(features(images, pool), batch_size=256)
    return F.sigmoid(logits.ravel().astype(np.float64))


def accuracy(model: Sequential, images: np.ndarray, labels: np.ndarray, pool: int) -> float:
    """Share of pictures whose predicted class (p > 1/2) is the label."""
    return float(np.mean((predict_proba(model, images, pool) > 0.5) == (labels == 1)))


def stratified_folds(labels: np.ndarray, k: int = 5, *,
                     seed: int = 0) -> np.ndarray:
    """Fold number (0..k-1) of every sample: a random partition into ``k`` folds
    that each hold (within one sample) the same share of every class.

    The samples of each class are shuffled with ``seed`` and dealt to the
    folds in turn, continuing from one class to the next.
    """
    labels = np.asarray(labels)
    check_positive(k, "k", integer=True)
    if k < 2 or k > len(labels):
        raise ValueError(f"k must be between 2 and the number of samples "
                         f"{len(labels)}, got {k}")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                            for c in np.unique(labels)])
    fold = np.empty(len(labels), dtype=np.int64)
    fold[order] = np.arange(len(labels)) % k
    return fold


def cv_predictions(config: CatsCnnConfig, images: np.ndarray,
                   labels: np.ndarray, *, seed: int = 0,
                   k: int = 5) -> np.ndarray:
    """Probability of "cat" for each training picture, predicted while held out.

    ``stratified_folds`` with ``seed`` partitions the pictures; for each
    fold a model is trained (with ``seed``) on the other folds and predicts
    the fold.  Only the pictures passed in (the training set) are used.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    fold = stratified_folds(labels, k, seed=seed)
    p = np.empty(len(labels))
    for f in range(k):
        held = fold == f
        model, _ = train_model(config, images[~held], labels[~held], seed=seed)
        p[held] = predict_proba(model, images[held], config.pool)
    return p


def cv_accuracy(config: CatsCnnConfig, images: np.ndarray, labels: np.ndarray,
                *, seed: int = 0, k: int = 5) -> float:
    """Stratified ``k``-fold cross-validation accuracy of ``config``, one seed.

    The share of the pictures that ``cv_predictions`` classifies correctly.
    """
    p = cv_predictions(config, images, labels, seed=seed, k=k)
    return float(np.mean((p > 0.5) == (labels == 1)))


#: The starting point of the search, three conv blocks on 32x32 pictures, flips.
BASE = CatsCnnConfig()

#: The candidates of the search, as named changes to :data:`BASE`, simplest first.
CANDIDATES: dict[str, dict] = {
    "base": {},
    "no flips": {"flip": False},
    "shifts 2": {"shift": 2},
    "shifts 4": {"shift": 4},
    "dropout 0.5": {"dropout": 0.5},
    "narrow (8, 16, 32)": {"channels": (8, 16, 32)},
    "16x16 inputs": {"pool": 4},
    "80 epochs": {"epochs": 80},
    "lr 3e-3": {"lr": 3e-3},
    "adamw 1e-2": {"optimizer": "adamw", "weight_decay": 1e-2},
    "shifts 4, dropout 0.5, 80 epochs": {"shift": 4, "dropout": 0.5, "epochs": 80},
}

#: Seeds of the search; seed r is one repeat of stratified 5-fold cross-validation.
SEARCH_SEEDS = (0, 1)

PROTOCOL = ("share of the 209 training pictures classified correctly while held out in "
            "stratified 5-fold cross-validation; seed r draws the partition and trains "
            "the five models; the test pictures are not read")


def config_of(changes: dict) -> CatsCnnConfig:
    """:data:`BASE` with a candidate's changes (lists from JSON become tuples)."""
    return BASE.with_(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in changes.items()})


def run_search(candidates=None, seeds=SEARCH_SEEDS, *, log=print) -> selection.SearchTable:
    """Score ``candidates`` (default :data:`CANDIDATES`) by :func:`cv_accuracy`."""
    x_train, y_train = cats_data.load_split("train")
    return selection.search(
        CANDIDATES if candidates is None else candidates,
        lambda changes, s: cv_accuracy(config_of(changes), x_train, y_train, seed=s),
        recipe="cats_cnn", protocol=PROTOCOL, seeds=seeds, log=log)


#: The candidate the committed table ``searches/cats_cnn.json`` chooses (a test checks it).
RECIPE_NAME = "base"
#: The recipe, :data:`BASE` with the chosen candidate's changes.
RECIPE: CatsCnnConfig = config_of(CANDIDATES[RECIPE_NAME])


def load_data():
    """Training pictures and labels only: ``(x_train, y_train)``, uint8 (209, 64, 64, 3)."""
    return cats_data.load_split("train")


def train(recipe: CatsCnnConfig = RECIPE, data=None, *, seed: int = 0,
          progress: bool | None = False, callbacks=(), resume=None) -> Result:
    """Train ``recipe`` on all training pictures.

    Never reads the test pictures: the result's test fields are None until
    :func:`final_test` fills them.

    Parameters
    ----------
    recipe : CatsCnnConfig
    data : tuple, optional
        The training pictures and labels first (:func:`load_data`; loaded
        when None).
    seed : int
        Seeds the initial weights, the shuffling, the flips and shifts and
        any dropout.
    progress : bool, optional
        Accepted for the common recipe interface.
    callbacks : sequence of dlfs.train.Callback
        Passed to :func:`dlfs.train.fit`, e.g. a ``SaveCheckpoint``.
    resume : path-like, optional
        A checkpoint to continue (see :func:`dlfs.recipes.mnist.train`).
    """
    x_train, y_train = load_data() if data is None else data[:2]
    start = time.perf_counter()
    model, history = train_model(recipe, x_train, y_train, seed=seed,
                                 callbacks=callbacks, resume=resume)
    seconds = time.perf_counter() - start
    return Result(model, history, recipe, seed, seconds, input_shape=recipe.input_shape,
                  extra={"train_accuracy": accuracy(model, x_train, y_train, recipe.pool)})


def final_test(result: Result, test=None) -> Result:
    """Test loss and accuracy of a final model: the module's one reader of the test set.

    ``test`` is ``(x_test, y_test)`` (loaded when None).  Returns ``result``
    with ``test_loss`` and ``test_accuracy`` filled in.
    """
    x_test, y_test = cats_data.load_split("test") if test is None else test
    with blas_threads(1):
        logits = result.model.predict(features(x_test, result.recipe.pool), batch_size=256)
    loss = BinaryCrossEntropy(from_logits=True)
    result.test_loss = float(loss.forward(logits, y_test.reshape(-1, 1).astype(logits.dtype)))
    result.test_accuracy = float(np.mean(loss.predict_labels(logits) == (y_test == 1)))
    return result


def final_runs(recipe: CatsCnnConfig = RECIPE, seeds=(0, 1, 2, 3, 4)) -> list[Result]:
    """The recipe trained on all training pictures with each seed (test fields None)."""
    data = load_data()
    return [train(recipe, data, seed=s) for s in seeds]


def pooled_test_set(input_shape):
    """Test inputs and labels for a model taking ``input_shape`` (3, S, S), or None.

    Used by ``dlfs evaluate cats`` for a saved CNN of this recipe, whose
    pooling factor is ``64 // S``.  Only the test file is read.
    """
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2] or not shape[1] \
            or 64 % shape[1]:
        return None
    x_test, y_test = cats_data.load_split("test")
    return features(x_test, 64 // shape[1]), y_test


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlfs.recipes.cats_cnn")
    parser.add_argument("--search", action="store_true",
                        help="score every candidate and write searches/cats_cnn.json")
    parser.add_argument("--only", nargs="*", help="score only these candidates (no file)")
    args = parser.parse_args(argv)
    if args.only:
        table = run_search({n: CANDIDATES[n] for n in args.only})
        print("\n".join(table.lines()))
        return 0
    if args.search:
        table = run_search()
        path = table.save(selection.SEARCHES / "cats_cnn.json")
        print("\n".join(table.lines()))
        print(f"written to {path}")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["BASE", "CANDIDATES", "PROTOCOL", "RECIPE", "RECIPE_NAME", "SEARCH_SEEDS",
           "CatsCnnConfig", "accuracy", "augmenter", "build_model", "config_of", "cv_accuracy",
           "cv_predictions",
           "features", "final_runs", "final_test", "load_data", "pooled_test_set",
           "predict_proba", "run_search", "stratified_folds", "train", "train_model"]
