"""Cat vs non-cat: the deeplearning.ai course's small image set and :func:`load_cats`.

The two HDF5 files come with the programming assignments of deeplearning.ai's
course *Neural Networks and Deep Learning*.  No licence was ever published:
use them for teaching and non-commercial examples only, and credit
deeplearning.ai.  Each file holds ``<split>_set_x`` (n, 64, 64, 3) uint8 RGB
pictures, ``<split>_set_y`` (n,) int64 labels (0 = non-cat, 1 = cat) and
``list_classes`` (2,) byte strings.
"""
from __future__ import annotations

import io
import os

import numpy as np

from .fetch import DatasetError, RemoteFile, cached_path, read_verified

DATASET = "catvnoncat"


def _mirrors(name: str) -> tuple[str, ...]:
    # Public GitHub repositories of course work that publish the course's
    # original files byte for byte (same git blob ids in both).
    return (
        "https://raw.githubusercontent.com/Hiren2002/Logistic-Regression/"
        f"5aa70859e5a6890e07d9a4c3294e8adb4b6a033f/datasets/{name}",
        "https://raw.githubusercontent.com/ramakris/coursera-deeplearning/"
        f"HEAD/neuralnetworks/week2/datasets/{name}",
    )


# Sizes and SHA-256 of the .h5 files themselves.
CATS_FILES = {
    "train": RemoteFile(
        "train_catvnoncat.h5", size=2_572_022,
        sha256="fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
        urls=_mirrors("train_catvnoncat.h5"), n_samples=209),
    "test": RemoteFile(
        "test_catvnoncat.h5", size=616_958,
        sha256="6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
        urls=_mirrors("test_catvnoncat.h5"), n_samples=50),
}

IMAGE_SHAPE = (64, 64, 3)
CLASSES = ("non-cat", "cat")


def load_split(split: str, *, data_dir: str | os.PathLike | None = None):
    """One split of the cat pictures: ``(x, y)`` as :func:`~dlfs.data.load_cats` returns them.

    Parameters
    ----------
    split : {"train", "test"}
    data_dir : str or path-like, optional
        Cache root; see :func:`~dlfs.data.load_cats`.

    Returns
    -------
    x : ndarray of shape (n, 64, 64, 3), dtype uint8
    y : ndarray of shape (n,), dtype int64
    """
    import h5py                   # here, not at the top: ``import dlfs`` stays light

    if split not in CATS_FILES:
        raise ValueError(f"split must be one of {sorted(CATS_FILES)}, got {split!r}")
    remote = CATS_FILES[split]
    path = cached_path(DATASET, remote, data_dir)
    content = read_verified(DATASET, remote, data_dir=data_dir)
    try:
        with h5py.File(io.BytesIO(content), "r") as h5:
            x = h5[f"{split}_set_x"][()]
            y = h5[f"{split}_set_y"][()]
            classes = tuple(name.decode("ascii") for name in h5["list_classes"][()])
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: not a readable cat/non-cat HDF5 file with "
                           f"{split}_set_x, {split}_set_y and list_classes ({exc})") from None
    if x.dtype != np.uint8 or x.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{path}: {split}_set_x is {x.dtype} {x.shape}, "
                           f"expected uint8 (n, {', '.join(map(str, IMAGE_SHAPE))})")
    if y.shape != (len(x),) or not np.isin(y, (0, 1)).all():
        raise DatasetError(f"{path}: {split}_set_y must hold {len(x)} labels 0 or 1, "
                           f"got shape {y.shape}")
    if classes != CLASSES:
        raise DatasetError(f"{path}: list_classes is {classes}, expected {CLASSES}")
    return x, y.astype(np.int64)


def load_cats(*, data_dir: str | os.PathLike | None = None):
    """Load the cat / non-cat pictures, fetching and verifying them on first use.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Cache root holding ``catvnoncat/``; defaults to ``$DLFS_DATA_DIR``, then
        the checkout's ``datasets/``, then ``~/.cache/dlfs``.  Missing files
        come from ``$DLFS_DATA_MIRROR`` or are downloaded (see
        :mod:`dlfs.data.fetch`).

    Returns
    -------
    x_train : ndarray of shape (209, 64, 64, 3), dtype uint8
        RGB pictures, 0-255.
    y_train : ndarray of shape (209,), dtype int64
        1 for a cat, 0 otherwise.
    x_test : ndarray of shape (50, 64, 64, 3), dtype uint8
    y_test : ndarray of shape (50,), dtype int64
    classes : tuple of str
        ``("non-cat", "cat")``: ``classes[label]`` names a label.

    Raises
    ------
    DatasetError
        If a file is missing and cannot be fetched, or is corrupt.

    Notes
    -----
    The class balance is reversed between the splits: about two thirds of the
    training pictures are non-cats, two thirds of the test pictures are cats.
    """
    x_train, y_train = load_split("train", data_dir=data_dir)
    x_test, y_test = load_split("test", data_dir=data_dir)
    return x_train, y_train, x_test, y_test, CLASSES
