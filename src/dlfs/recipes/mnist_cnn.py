"""The convolutional network of the chapter "A CNN from scratch on MNIST".

Two blocks of 5x5 convolution, ReLU and 2x2 max pooling, then a small dense
classifier::

    (1, 28, 28) -conv 5x5-> (C1, 24, 24) -pool-> (C1, 12, 12)
                -conv 5x5-> (C2, 8, 8)   -pool-> (C2, 4, 4) -> 16*C2 -> hidden -> 10

The same architecture and recipe are built in PyTorch and Keras by
:mod:`dlfs.recipes.frameworks`.  Used by ``dlfs train mnist --model cnn``.
"""
from __future__ import annotations

import time

import numpy as np

from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..losses import SoftmaxCrossEntropy
from ..model import Sequential
from ..optim import Adam
from ..schedules import ExponentialDecay
from ..train import evaluate, fit

#: The chapter's recipe; ``dlfs train mnist --model cnn`` uses it unless overridden.
CNN_DEFAULTS = {"channels": (16, 32), "hidden": 128, "epochs": 6, "batch_size": 128,
                "lr": 3e-3, "decay": 0.5, "val_fraction": 1 / 12}


def mnist_cnn(channels=(16, 32), hidden: int = 128, *, dtype=np.float32,
              rng: np.random.Generator | None = None) -> Sequential:
    """The chapter's CNN for (N, 1, 28, 28) images, producing 10 logits."""
    rng = np.random.default_rng(0) if rng is None else rng
    c1, c2 = channels
    return Sequential([
        Conv2D(1, c1, 5, dtype=dtype, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(c1, c2, 5, dtype=dtype, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(),
        Dense(c2 * 16, hidden, init="he", dtype=dtype, rng=rng), ReLU(),
        Dense(hidden, 10, dtype=dtype, rng=rng),
    ], input_shape=(1, 28, 28))


def load_mnist_images(*, seed: int = 0, val_fraction: float = 1 / 12, limit: int | None = None,
                      dtype=np.float32):
    """MNIST as float images in [0, 1] of shape (n, 1, 28, 28): train, validation, test.

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``; the
    validation set is a stratified ``val_fraction`` of the (first ``limit``)
    training images.
    """
    from ..data import load_mnist, to_float, train_val_split

    x_train, y_train, x_test, y_test = load_mnist()
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    X = to_float(x_train, dtype, flatten=False)[:, None]
    X_test = to_float(x_test, dtype, flatten=False)[:, None]
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val), (X_test, y_test)


def train_mnist_cnn(*, channels=None, hidden=None, epochs=None, batch_size=None, lr=None,
                    decay=None, val_fraction=None, limit=None, seed: int = 0,
                    data=None, progress: bool | None = False) -> dict:
    """Train :func:`mnist_cnn` with Adam and keep the epoch with the best validation loss.

    Arguments left at None take their value from :data:`CNN_DEFAULTS`.  ``data``
    may pass the output of :func:`load_mnist_images` to avoid reloading it.

    Returns
    -------
    dict
        ``model``, ``history`` and the JSON-friendly results ``test_accuracy``,
        ``test_loss``, ``val_accuracy`` (of the kept epoch), ``best_epoch``
        (1-based), ``train_seconds``, ``epochs``, ``n_params``.
    """
    d = CNN_DEFAULTS
    channels = tuple(d["channels"] if channels is None else channels)
    hidden = d["hidden"] if hidden is None else hidden
    epochs = d["epochs"] if epochs is None else epochs
    batch_size = d["batch_size"] if batch_size is None else batch_size
    lr = d["lr"] if lr is None else lr
    decay = d["decay"] if decay is None else decay
    val_fraction = d["val_fraction"] if val_fraction is None else val_fraction
    if data is None:
        data = load_mnist_images(seed=seed, val_fraction=val_fraction, limit=limit)
    (X_tr, y_tr), (X_val, y_val), (X_test, y_test) = data

    model = mnist_cnn(channels, hidden, rng=np.random.default_rng(seed))
    loss = SoftmaxCrossEntropy()
    start = time.perf_counter()
    # patience = epochs: never stops early, but restores the best validation epoch
    history = fit(model, loss, Adam(lr), X_tr, y_tr, epochs=epochs, batch_size=batch_size,
                  validation=(X_val, y_val), schedule=ExponentialDecay(lr, decay),
                  patience=epochs, seed=seed, progress=progress)
    train_seconds = time.perf_counter() - start
    test_loss, test_acc = evaluate(model, loss, X_test, y_test, batch_size=1000)
    best = history.best_epoch
    return {"model": model, "history": history, "test_accuracy": test_acc,
            "test_loss": test_loss, "val_accuracy": history.val_accuracy[best],
            "best_epoch": best + 1, "train_seconds": round(train_seconds, 3),
            "epochs": history.epochs, "n_params": model.n_params(),
            "channels": list(channels), "hidden": hidden, "batch_size": batch_size, "lr": lr,
            "seed": seed}
