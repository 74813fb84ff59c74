"""The book's datasets by name, as arrays a model takes: what ``dlfs train``/``evaluate`` load.

>>> from dlfs.data.datasets import load_dataset
>>> train, val, test, n_classes = load_dataset("mnist", seed=0, val_fraction=0.1,
...                                            limit=None)          # doctest: +SKIP

Every caller (the command line, the recipes, the tests' stand-ins) goes
through these functions, so one place decides how a dataset becomes arrays.
"""
from __future__ import annotations

import numpy as np

from . import cats, mnist
from .transforms import to_float, train_val_split

#: The datasets by name, and their class counts.
N_CLASSES = {"mnist": mnist.N_CLASSES, "cats": len(cats.CLASSES)}


def dataset_module(name: str):
    """The loader module of dataset ``name`` (:mod:`~dlfs.data.mnist` or :mod:`~dlfs.data.cats`)."""
    if name not in N_CLASSES:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(N_CLASSES)}")
    return mnist if name == "mnist" else cats


def train_size(name: str) -> int | None:
    """Number of training samples of dataset ``name``, from its manifest (None if unknown).

    Lets options be checked against the dataset before anything is loaded.
    """
    module = dataset_module(name)
    manifest = module.MNIST_FILES["train_labels"] if module is mnist else module.CATS_FILES["train"]
    return manifest.n_samples


def load_dataset(name: str, *, seed: int, val_fraction: float, limit: int | None):
    """Train/validation/test arrays, float32 features of shape (n, n_features).

    ``limit`` keeps the first ``limit`` training images (before the split);
    the validation set is a seeded random ``val_fraction`` of them.

    Returns
    -------
    (X_train, y_train), (X_val, y_val), (X_test, y_test), n_classes
        Labels are integer classes: MNIST 0-9, cats 0/1 (use :func:`as_targets`
        for the single-logit targets of a binary model).
    """
    module = dataset_module(name)
    x_train, y_train = module.load_split("train")
    x_test, y_test = module.load_split("test")
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    X, X_test = to_float(x_train), to_float(x_test)
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val), (X_test, y_test), N_CLASSES[name]


def load_test_set(name: str):
    """The test images as float32 in [0, 1], not flattened, their labels and the class count.

    Only the test file is read: scoring saved parameters needs nothing else.
    """
    x_test, y_test = dataset_module(name).load_split("test")
    return to_float(x_test, flatten=False), y_test, N_CLASSES[name]


def arrange_inputs(images: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """``images`` (n, H, W) or (n, H, W, C) laid out as a model's ``input_shape``.

    Flat vectors, the images as they are, or channels first (NCHW, for
    convolutions: (n, 1, H, W) or (n, C, H, W)).  None when no layout fits.
    """
    sample, shape = images.shape[1:], tuple(input_shape)
    if shape == sample:
        return images
    if shape == (int(np.prod(sample)),):
        return images.reshape(len(images), -1)
    if len(sample) == 2 and shape == (1, *sample):
        return images[:, None]
    if len(sample) == 3 and shape == (sample[2], *sample[:2]):
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    return None


def as_targets(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Training targets for labels ``y``: binary problems train one logit on (n, 1) floats.

    Other problems keep the integer labels (for softmax cross-entropy).
    """
    return y.reshape(-1, 1).astype(np.float32) if n_classes == 2 else y


def n_outputs(n_classes: int) -> int:
    """Output units of a classifier: one logit for two classes, else one per class."""
    return 1 if n_classes == 2 else n_classes


__all__ = ["N_CLASSES", "arrange_inputs", "as_targets", "dataset_module", "load_dataset",
           "load_test_set", "n_outputs", "train_size"]
