"""The convolutional network of the chapter "A CNN from scratch on MNIST".

Two blocks of 5x5 convolution, ReLU and 2x2 max pooling, then a small dense
classifier::

    (1, 28, 28) -conv 5x5-> (C1, 24, 24) -pool-> (C1, 12, 12)
                -conv 5x5-> (C2, 8, 8)   -pool-> (C2, 4, 4) -> 16*C2 -> hidden -> 10

The same architecture and recipe are built in PyTorch and Keras by
:mod:`dlfs.interop`.  Used by ``dlfs train mnist --model cnn``.
"""
from __future__ import annotations

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
from . import _common
from ._common import Result


@dataclass(frozen=True)
class CnnRecipe(_common.Recipe):
    """The chapter's choices for the CNN (a frozen, checked dataclass).

    ``channels`` of the two convolutions, ``hidden`` units of the dense
    layer, ``epochs``, ``batch_size``, Adam's initial learning rate ``lr``,
    decayed by ``exp(-lr_decay)`` per epoch, and the share ``val_fraction``
    of the training images held out to choose the epoch whose parameters
    are kept.
    """

    channels: tuple[int, int] = (16, 32)
    hidden: int = 128
    epochs: int = 6
    batch_size: int = 128
    lr: float = 3e-3
    lr_decay: float = 0.5
    val_fraction: float = 1 / 12

    name = "mnist cnn"

    def check(self) -> None:
        super().check()
        _common.check_sizes(self.channels, "channels")
        if len(self.channels) != 2:
            raise ValueError(f"channels must hold two channel counts, got {self.channels!r}")
        check_positive(self.hidden, "hidden", integer=True)


#: The chapter's recipe; ``dlfs train mnist --model cnn`` uses it, with its options on top.
RECIPE = CnnRecipe()


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
    ], input_shape=(1, 28, 28))


def load_mnist_images(*, seed: int = 0, val_fraction: float = RECIPE.val_fraction,
                      limit: int | None = None, dtype=np.float32):
    """MNIST as float images in [0, 1] of shape (n, 1, 28, 28): train, validation, test.

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``; the
    validation set is a stratified ``val_fraction`` of the (first ``limit``, a
    positive integer) training images.
    """
    x_train, y_train, x_test, y_test = dlfs_data.load_mnist()
    if limit is not None:
        check_positive(limit, "limit", integer=True)
        x_train, y_train = x_train[:limit], y_train[:limit]
    X = to_float(x_train, dtype, flatten=False)[:, None]
    X_test = to_float(x_test, dtype, flatten=False)[:, None]
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val), (X_test, y_test)


def train(recipe: CnnRecipe = RECIPE, data=None, *, seed: int = 0,
          progress: bool | None = False) -> Result:
    """Train :func:`mnist_cnn` with Adam and keep the epoch with the best validation loss.

    ``data`` is the output of :func:`load_mnist_images` (default: loaded with
    the recipe's ``val_fraction``).  Returns a :class:`~dlfs.recipes._common.Result`
    whose model has the parameters of the best validation epoch.
    """
    if data is None:
        data = load_mnist_images(seed=seed, val_fraction=recipe.val_fraction)
    (X_tr, y_tr), (X_val, y_val), (X_test, y_test) = data

    model = mnist_cnn(recipe.channels, recipe.hidden, rng=np.random.default_rng(seed))
    loss = SoftmaxCrossEntropy()
    start = time.perf_counter()
    history = fit(model, loss, Adam(recipe.lr), X_tr, y_tr, epochs=recipe.epochs,
                  batch_size=recipe.batch_size, validation=(X_val, y_val),
                  schedule=ExponentialDecay(recipe.lr, recipe.lr_decay),
                  callbacks=[EarlyStopping(restore_best=True)],   # keeps the best epoch
                  seed=seed, progress=progress)
    train_seconds = time.perf_counter() - start
    test_loss, test_acc = evaluate(model, loss, X_test, y_test, batch_size=1000)
    return Result(model, history, recipe, seed, train_seconds, input_shape=(1, 28, 28),
                  restored_best=True, test_loss=test_loss, test_accuracy=float(test_acc))
