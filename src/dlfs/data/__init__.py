"""Datasets of the book: loaders that fetch, verify and cache, and transforms.

>>> from dlfs.data import load_mnist, to_float, one_hot, train_val_split
>>> x_train, y_train, x_test, y_test = load_mnist()        # doctest: +SKIP
>>> X = to_float(x_train)                                  # (60000, 784) in [0, 1]

Where the files come from (cache, then ``$DLFS_DATA_MIRROR``, then download)
is explained in :mod:`dlfs.data.fetch` and ``datasets/README.md``.
"""
from .cats import load_cats
from .datasets import arrange_inputs, as_targets, load_dataset, load_test_set
from .fetch import DatasetError
from .mnist import load_mnist
from .transforms import (flip_horizontal, one_hot, split_sizes, standardise, to_float,
                         train_val_split)

__all__ = [
    "DatasetError",
    "arrange_inputs",
    "as_targets",
    "load_dataset",
    "load_test_set",
    "flip_horizontal",
    "load_cats",
    "load_mnist",
    "one_hot",
    "split_sizes",
    "standardise",
    "to_float",
    "train_val_split",
]
