"""The cat / non-cat case study: candidate models, selection on validation data, the recipe.

The chapter "Case study: cat vs non-cat" follows the book's selection
protocol (``dlfs.recipes.selection``):

* :data:`CANDIDATES` lists every model that was tried;
* a candidate's score on split ``k`` (:func:`split_score`) is its accuracy
  on a stratified validation part of :data:`VAL_FRACTION` of the 209 training
  pictures, drawn with seed ``k``, after training with seed ``k`` on the rest;
* ``python -m dlfs.recipes.cats --search`` scores every candidate on the
  splits :data:`SEARCH_SEEDS` and writes ``searches/cats.json``, which the
  chapter shows; :data:`RECIPE` is the candidate that table chooses;
* :func:`final_runs` trains the recipe on all training pictures with five
  seeds, and :func:`final_test` is the one function that reads the test
  pictures, once per final model.  :func:`train` never reads them.

Features: every picture is average-pooled by a factor ``pool`` (64x64 RGB
pixels -> (64/pool)^2 * 3 numbers in [0, 1]), flattened, and standardised
with the statistics of the training images; the standardisation is folded
into the first dense layer after training (:func:`fold_standardisation`), so
the saved model maps pooled pixels to a logit by itself.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from .. import activations as F
from .._blas import blas_threads
from .._docs import implements
from .._checks import check_choice, check_positive
from ..data import cats as cats_data
from ..data.transforms import flip_horizontal, standardise, train_val_split
from ..init import INITIALIZERS
from ..layers import Dense
from ..losses import BinaryCrossEntropy
from ..model import Sequential, mlp
from ..optim import make_optimizer
from ..train import History, fit
from . import _common, selection
from ._common import Result

#: Share of the 209 training images held out in each validation split.
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class CatsConfig(_common.Recipe):
    """Every choice that defines a cat/non-cat model and how it is trained (frozen, checked).

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer sizes; ``()`` is logistic regression.
    pool : int
        Average-pooling factor of the 64x64 pictures (1, 2, 4, 8, 16...).
    init : str
        Weight initialiser of the hidden layers (see :mod:`dlfs.init`).
    optimizer : str
        ``"adam"``, ``"adamw"``, ``"sgd"`` or ``"momentum"`` (0.9).
    lr : float
    weight_decay : float
        Decoupled for ``"adamw"``, an L2 penalty otherwise.
    dropout : float
        Dropout probability after every hidden activation.
    flip : bool
        Train on every picture and its mirror image.
    epochs, batch_size : int
    """

    hidden: tuple[int, ...] = ()
    pool: int = 1
    init: str = "he"
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.0
    flip: bool = False
    epochs: int = 100
    batch_size: int = 32

    name = "cats"

    def check(self) -> None:
        super().check()
        _common.check_sizes(self.hidden, "hidden")
        check_positive(self.pool, "pool", integer=True)
        if 64 % self.pool:
            raise ValueError(f"pool={self.pool} must divide the picture size 64")
        check_choice(self.init, "init", INITIALIZERS)
        if not isinstance(self.flip, bool):
            raise TypeError(f"flip must be True or False, got {self.flip!r}")

    def describe(self) -> str:
        """One line for tables: architecture, resolution and the non-default choices."""
        side = 64 // self.pool
        net = ("logistic regression" if not self.hidden
               else "MLP " + "-".join(map(str, self.hidden)))
        extra = []
        if self.init != "he":
            extra.append(f"{self.init} init")
        if self.optimizer != "adam" or self.lr != 1e-3:
            extra.append(f"{self.optimizer} lr {self.lr:g}")
        if self.weight_decay:
            extra.append(f"wd {self.weight_decay:g}")
        if self.dropout:
            extra.append(f"dropout {self.dropout:g}")
        if self.flip:
            extra.append("flips")
        return f"{net}, {side}x{side}" + (", " + ", ".join(extra) if extra else "")


def features(images: np.ndarray, pool: int = 1) -> np.ndarray:
    """Average-pool uint8 pictures by ``pool``; flatten to float32 rows in [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n_samples, 64, 64, 3), dtype uint8
    pool : int
        Must divide 64.

    Returns
    -------
    X : ndarray of shape (n_samples, (64 // pool) ** 2 * 3), dtype float32
    """
    check_positive(pool, "pool", integer=True)
    if (not isinstance(images, np.ndarray) or images.dtype != np.uint8
            or images.ndim != 4):
        raise TypeError("images must be a uint8 array of shape "
                        "(n_samples, height, width, 3)")
    n, h, w, c = images.shape
    if h % pool or w % pool:
        raise ValueError(f"pool={pool} must divide the image size {h}x{w}")
    x = images.reshape(n, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))
    return (x.reshape(n, -1) / 255.0).astype(np.float32)


implements(features, "eq-cats-pool")


def build_model(config: CatsConfig, n_features: int, seed: int) -> Sequential:
    """The network of ``config`` for ``n_features`` inputs, one logit out."""
    return mlp([n_features, *config.hidden, 1], init=config.init, dropout=config.dropout,
               rng=np.random.default_rng(seed))


def fold_standardisation(model: Sequential, mean: np.ndarray,
                         std: np.ndarray) -> Sequential:
    """Make the first Dense layer absorb ``(x - mean) / std``, in place.

    ``((x - m) / s) W + b = x (W / s[:, None]) + (b - (m / s) W)``, so the
    model then takes unstandardised features.
    """
    first = model.layers[0]
    if not isinstance(first, Dense):
        raise TypeError("the first layer must be Dense")
    W, b = first.params["W"], first.params["b"]
    scaled = W / std.reshape(-1, 1)
    b -= (mean.reshape(1, -1) @ scaled).ravel().astype(b.dtype)
    W[...] = scaled
    return model


implements(fold_standardisation, "eq-cats-fold")


def train_model(config: CatsConfig, images: np.ndarray, labels: np.ndarray, *,
                seed: int = 0, validation: tuple[np.ndarray, np.ndarray] | None = None,
                callbacks=(), resume=None
                ) -> tuple[Sequential, History]:
    """Train ``config`` on uint8 ``images`` with 0/1 ``labels``.

    Flipped copies are added when ``config.flip``; features are standardised
    with the training statistics, which are folded into the returned model,
    so ``model.predict(features(images, config.pool))`` gives logits.
    ``validation`` (images, labels) is evaluated after every epoch;
    ``callbacks`` and ``resume`` are passed to ``dlfs.train.fit`` (see :func:`train`).

    Training uses one BLAS thread (``dlfs._blas.blas_threads``): the
    matrices are small, and the result is then the same on every machine
    whatever its number of cores.
    """
    if config.flip:
        images = np.concatenate([images, flip_horizontal(images)])
        labels = np.concatenate([labels, labels])
    X = features(images, config.pool)
    X, mean, std = standardise(X)
    y = labels.reshape(-1, 1).astype(np.float32)
    val = None
    if validation is not None:
        X_val, _, _ = standardise(features(validation[0], config.pool), mean, std)
        val = (X_val, validation[1].reshape(-1, 1).astype(np.float32))
    model = build_model(config, X.shape[1], seed)
    with blas_threads(1):       # small matrices: faster, and independent of the core count
        optimizer = make_optimizer(config.optimizer, config.lr,
                                   weight_decay=config.weight_decay)
        history = fit(model, BinaryCrossEntropy(from_logits=True), optimizer, X, y,
                      epochs=config.epochs, batch_size=config.batch_size, validation=val,
                      callbacks=callbacks, resume=resume,
                      seed=seed, progress=False)
    return fold_standardisation(model, mean, std), history


def predict_logits(model: Sequential, images: np.ndarray, pool: int) -> np.ndarray:
    """The model's logit of "cat" for every picture, shape (n_samples, 1)."""
    with blas_threads(1):
        return model.predict(features(images, pool))


def predict_proba(model: Sequential, images: np.ndarray, pool: int) -> np.ndarray:
    """Probability of "cat" for every picture, shape (n_samples,)."""
    return F.sigmoid(predict_logits(model, images, pool).ravel().astype(np.float64))


def accuracy(model: Sequential, images: np.ndarray, labels: np.ndarray, pool: int) -> float:
    """Share of pictures whose predicted class (p > 1/2) is the label."""
    return float(np.mean((predict_proba(model, images, pool) > 0.5) == (labels == 1)))


def split_score(config: CatsConfig, images: np.ndarray, labels: np.ndarray,
                k: int, *, histories: list | None = None) -> float:
    """Validation accuracy of ``config`` on split ``k`` of the training images.

    Split ``k`` holds out ``VAL_FRACTION`` of every class, drawn with seed
    ``k`` (``dlfs.data.train_val_split``); the model trains with seed ``k``
    on the rest.  Only the images passed in (the training set) are used.
    If ``histories`` is a list, the run's ``dlfs.train.History`` (with
    per-epoch validation loss and accuracy) is appended to it.
    """
    x_tr, y_tr, x_val, y_val = train_val_split(images, labels, VAL_FRACTION,
                                               seed=k)
    model, history = train_model(
        config, x_tr, y_tr, seed=k,
        validation=None if histories is None else (x_val, y_val))
    if histories is not None:
        histories.append(history)
    return accuracy(model, x_val, y_val, config.pool)


def validation_accuracy(config: CatsConfig, images: np.ndarray, labels: np.ndarray, *,
                        splits: int = 5, histories: list | None = None) -> np.ndarray:
    """:func:`split_score` of ``config`` on the splits ``0, ..., splits - 1``.

    Returns
    -------
    ndarray of shape (splits,)
    """
    return np.array([split_score(config, images, labels, k, histories=histories)
                     for k in range(splits)])


#: Every model that was tried, by name, in the order of the chapter's table.  Each
#: differs from an earlier one in one choice (from "wide 4x4 flips dropout" on, from
#: that one), so that the table isolates what each choice does.
CANDIDATES: dict[str, CatsConfig] = {
    "logistic 64x64": CatsConfig(),
    "two-layer 64x64": CatsConfig(hidden=(7,)),
    "deep 64x64": CatsConfig(hidden=(20, 7, 5)),
    "logistic 8x8": CatsConfig(pool=8),
    "two-layer 8x8": CatsConfig(hidden=(64,), pool=8),
    "two-layer 4x4": CatsConfig(hidden=(64,), pool=16),
    "deep 4x4": CatsConfig(hidden=(64, 32, 16), pool=16),
    "two-layer 4x4 flips": CatsConfig(hidden=(64,), pool=16, flip=True),
    "wide 4x4 flips": CatsConfig(hidden=(128,), pool=16, flip=True),
    "wide 4x4 flips dropout": CatsConfig(hidden=(128,), pool=16, flip=True, dropout=0.5),
    "wide 4x4 flips dropout 0.3": CatsConfig(hidden=(128,), pool=16, flip=True, dropout=0.3),
    "wider 4x4 flips dropout": CatsConfig(hidden=(256,), pool=16, flip=True, dropout=0.5),
    "wide 8x8 flips dropout": CatsConfig(hidden=(128,), pool=8, flip=True, dropout=0.5),
    "wide 4x4 flips dropout xavier": CatsConfig(hidden=(128,), pool=16, flip=True,
                                                dropout=0.5, init="xavier_uniform"),
    "wide 4x4 flips dropout momentum": CatsConfig(hidden=(128,), pool=16, flip=True,
                                                  dropout=0.5, optimizer="momentum",
                                                  lr=0.01),
    "wide 4x4 flips dropout adamw": CatsConfig(hidden=(128,), pool=16, flip=True,
                                               dropout=0.5, optimizer="adamw",
                                               weight_decay=0.1),
}

#: The validation splits of the search (split ``k`` also seeds its training run).
SEARCH_SEEDS = (0, 1, 2, 3, 4)

#: What a score of the search is, in words (recorded in the table).
PROTOCOL = ("accuracy on the validation part of stratified split k (20% of the 209 training "
            "pictures, drawn with seed k) of a model trained with seed k on the other 80%; "
            "the test pictures are not read")


def changes_of(config: CatsConfig) -> dict:
    """The fields of ``config`` that differ from ``CatsConfig()``, JSON-friendly."""
    base = CatsConfig().as_dict()
    return {k: v for k, v in config.as_dict().items() if v != base[k]}


def config_of(changes: dict) -> CatsConfig:
    """``CatsConfig()`` with ``changes`` (lists from JSON become tuples)."""
    return CatsConfig().with_(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in changes.items()})


def run_search(candidates: dict[str, CatsConfig] | None = None, seeds=SEARCH_SEEDS, *,
               log=print) -> selection.SearchTable:
    """Score ``candidates`` (default :data:`CANDIDATES`) by :func:`split_score` on every
    split in ``seeds``; reads the training pictures only."""
    x_train, y_train = load_data()
    candidates = CANDIDATES if candidates is None else candidates
    return selection.search({name: changes_of(c) for name, c in candidates.items()},
                            lambda changes, k: split_score(config_of(changes), x_train,
                                                           y_train, k),
                            recipe="cats", protocol=PROTOCOL, seeds=seeds, log=log)


#: The candidate the committed search table ``searches/cats.json`` chooses (a test checks it).
RECIPE_NAME = "wide 4x4 flips dropout xavier"
#: The selected configuration, ``CANDIDATES[RECIPE_NAME]``.
RECIPE: CatsConfig = CANDIDATES[RECIPE_NAME]


def load_data():
    """The training pictures and labels, ``(x_train, y_train)``: uint8 of shape
    (209, 64, 64, 3) and 0/1 labels.  The test pictures are :func:`final_test`'s."""
    return cats_data.load_split("train")


def train(recipe: CatsConfig = RECIPE, data=None, *, seed: int = 0,
          progress: bool | None = False, callbacks=(), resume=None) -> Result:
    """Train ``recipe`` on all training pictures; the test set is not read.

    The result's ``test_loss`` and ``test_accuracy`` stay None until
    :func:`final_test`.  The saved model maps pooled pictures
    (:func:`features`) to a logit.

    Parameters
    ----------
    recipe : CatsConfig
    data : tuple, optional
        ``(x_train, y_train)`` as :func:`load_data` returns them (loaded
        when None; further items are ignored).
    seed : int
        Seeds the initial weights, the shuffling and the dropout masks.
    progress : bool, optional
        Accepted for the common recipe interface; the runs are short.
    callbacks : sequence of dlfs.train.Callback
        For :func:`dlfs.train.fit`; a ``SaveCheckpoint`` saves the model
        before the standardisation is folded in.
    resume : path-like, optional
        A checkpoint to continue, as in :func:`dlfs.recipes.mnist.train`.
    """
    x_train, y_train = load_data() if data is None else data[:2]
    start = time.perf_counter()
    model, history = train_model(recipe, x_train, y_train, seed=seed,
                                 callbacks=callbacks, resume=resume)
    seconds = time.perf_counter() - start
    train_acc = accuracy(model, x_train, y_train, recipe.pool)
    return Result(model, history, recipe, seed, seconds,
                  input_shape=(n_features(recipe.pool),),
                  extra={"train_accuracy": train_acc})


def final_test(result: Result, test=None) -> Result:
    """Test loss and accuracy of a final model.

    This is the module's one reader of the test set.

    Called once per final model, after the choice.  ``test`` is
    ``(x_test, y_test)`` (the test file is read when None).  Returns
    ``result`` with ``test_loss`` and ``test_accuracy`` filled in.
    """
    x_test, y_test = cats_data.load_split("test") if test is None else test
    loss = BinaryCrossEntropy(from_logits=True)
    logits = predict_logits(result.model, x_test, result.recipe.pool)
    targets = y_test.reshape(-1, 1).astype(logits.dtype)
    result.test_loss = float(loss.forward(logits, targets))
    result.test_accuracy = float(
        np.mean(loss.predict_labels(logits) == (y_test == 1)))
    return result


def final_runs(recipe: CatsConfig = RECIPE, seeds=(0, 1, 2, 3, 4)) -> list[Result]:
    """The recipe trained on all training pictures, once per seed (test fields None)."""
    data = load_data()
    return [train(recipe, data, seed=s) for s in seeds]


def n_features(pool: int) -> int:
    """Number of input features of a model for pooling factor ``pool``."""
    return (64 // pool) ** 2 * 3


def pooled_test_set(n_in: int):
    """Test features and labels for a model with ``n_in`` inputs, or None.

    Used by ``dlfs evaluate cats``: a model saved by the recipe takes pooled
    pictures, so the pooling factor is recovered from its input size.  Only
    the test file is read.
    """
    for pool in (1, 2, 4, 8, 16, 32):
        if n_features(pool) == n_in:
            x_test, y_test = cats_data.load_split("test")
            return features(x_test, pool), y_test
    return None


def main(argv=None) -> int:
    """``python -m dlfs.recipes.cats --search``: score the candidates, write the table."""
    parser = argparse.ArgumentParser(prog="python -m dlfs.recipes.cats")
    parser.add_argument("--search", action="store_true",
                        help="score every candidate and write searches/cats.json")
    args = parser.parse_args(argv)
    if not args.search:
        parser.print_help()
        return 2
    table = run_search()
    path = table.save(selection.SEARCHES / "cats.json")
    print("\n".join(table.lines()))
    print(f"written to {path}")
    return 0


__all__ = ["CANDIDATES", "PROTOCOL", "RECIPE", "RECIPE_NAME", "SEARCH_SEEDS", "VAL_FRACTION",
           "CatsConfig", "accuracy", "build_model", "changes_of", "config_of", "features",
           "final_runs", "final_test", "fold_standardisation", "load_data", "n_features",
           "pooled_test_set", "predict_logits", "predict_proba", "run_search", "split_score",
           "train", "train_model", "validation_accuracy"]


if __name__ == "__main__":
    raise SystemExit(main())
