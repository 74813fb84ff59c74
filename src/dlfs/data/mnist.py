"""MNIST handwritten digits: the IDX file reader and :func:`load_mnist`.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges
(http://yann.lecun.com/exdb/mnist/), licensed CC BY-SA 3.0.

An IDX file is a tiny header followed by raw bytes::

    magic   4 bytes, big-endian: 0x00 0x00 <type code> <number of dims>
    dims    one big-endian uint32 per dimension
    data    prod(dims) values, here unsigned bytes (type code 0x08)

so images have magic 0x00000803 (n, rows, cols) and labels 0x00000801 (n,).
"""
from __future__ import annotations

import os

import numpy as np

from .fetch import DatasetError, RemoteFile, cached_path, read_verified

DATASET = "mnist"

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_UBYTE = 0x08


def _mirrors(name: str) -> tuple[str, ...]:
    # The original host, http://yann.lecun.com/exdb/mnist/, answers 403 today;
    # these maintained copies (torchvision's and TensorFlow's) serve the same
    # files.  Checksums are of the decompressed bytes, so any copy verifies.
    return (f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}",
            f"https://storage.googleapis.com/cvdf-datasets/mnist/{name}")


# Sizes and SHA-256 of the *decompressed* IDX files, identical to the original
# distribution (their MD5s match LeCun's published ones).
MNIST_FILES = {
    "train_images": RemoteFile(
        "train-images-idx3-ubyte.gz", size=47_040_016,
        sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        urls=_mirrors("train-images-idx3-ubyte.gz"), n_samples=60_000),
    "train_labels": RemoteFile(
        "train-labels-idx1-ubyte.gz", size=60_008,
        sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        urls=_mirrors("train-labels-idx1-ubyte.gz"), n_samples=60_000),
    "test_images": RemoteFile(
        "t10k-images-idx3-ubyte.gz", size=7_840_016,
        sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        urls=_mirrors("t10k-images-idx3-ubyte.gz"), n_samples=10_000),
    "test_labels": RemoteFile(
        "t10k-labels-idx1-ubyte.gz", size=10_008,
        sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        urls=_mirrors("t10k-labels-idx1-ubyte.gz"), n_samples=10_000),
}

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10


def parse_idx(content, *, magic: int,
              source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Decode an unsigned-byte IDX file without copying the pixel data.

    Parameters
    ----------
    content : bytes-like
        The whole (decompressed) file.
    magic : int
        Expected magic number: ``IMAGES_MAGIC`` (0x803) or
        ``LABELS_MAGIC`` (0x801).
    source : str or path-like
        How to name the file in error messages.

    Returns
    -------
    ndarray of dtype uint8 and shape dims
        ``(n, rows, cols)`` for images, ``(n,)`` for labels.  It is a view of
        ``content`` (writable when ``content`` is a bytearray).

    Raises
    ------
    DatasetError
        If the magic number differs or the header's dims disagree with the
        file size.
    """
    n_dims = magic & 0xFF
    header_size = 4 + 4 * n_dims
    found = int.from_bytes(content[:4], "big") if len(content) >= 4 else None
    if found is not None and found != magic:
        raise DatasetError(f"{source}: IDX magic number is 0x{found:08x}, "
                           f"expected 0x{magic:08x} (unsigned bytes, "
                           f"{n_dims} dims)")
    if len(content) < header_size:
        raise DatasetError(f"{source}: {len(content)} bytes is too short for "
                           f"an IDX header with {n_dims} dims "
                           f"({header_size} bytes)")
    # big-endian unsigned 32-bit sizes after the 4 bytes of the magic number
    sizes = np.frombuffer(content, dtype=">u4", count=n_dims, offset=4)
    dims = tuple(int(d) for d in sizes)
    expected = header_size + int(np.prod(dims, dtype=np.int64))
    if len(content) != expected:
        raise DatasetError(f"{source}: IDX header says dims {dims}, which "
                           f"needs {expected:,} bytes, but the file has "
                           f"{len(content):,}")
    pixels = np.frombuffer(content, dtype=np.uint8, offset=header_size)
    return pixels.reshape(dims)


def load_split(split: str, *, data_dir: str | os.PathLike | None = None):
    """One split of MNIST: ``(x, y)`` as :func:`~dlfs.data.load_mnist` returns them.

    Parameters
    ----------
    split : {"train", "test"}
    data_dir : str or path-like, optional
        Cache root; see :func:`~dlfs.data.load_mnist`.

    Returns
    -------
    x : ndarray of shape (n, 28, 28), dtype uint8
    y : ndarray of shape (n,), dtype int64
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return _load_split(MNIST_FILES[f"{split}_images"], MNIST_FILES[f"{split}_labels"], data_dir)


def _load_split(images: RemoteFile, labels: RemoteFile, data_dir):
    image_path = cached_path(DATASET, images, data_dir)
    label_path = cached_path(DATASET, labels, data_dir)
    x = parse_idx(read_verified(DATASET, images, data_dir=data_dir),
                  magic=IMAGES_MAGIC, source=image_path)
    y = parse_idx(read_verified(DATASET, labels, data_dir=data_dir),
                  magic=LABELS_MAGIC, source=label_path)
    if x.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{image_path}: images are {x.shape[1:]}, expected {IMAGE_SHAPE}")
    if len(x) != len(y):
        raise DatasetError(f"{image_path} holds {len(x)} images but {label_path} "
                           f"holds {len(y)} labels; they must match")
    if y.size and y.max() >= N_CLASSES:
        raise DatasetError(f"{label_path}: labels must be digits 0-9, found {y.max()}")
    return x, y.astype(np.int64)


def load_mnist(*, data_dir: str | os.PathLike | None = None):
    """Load MNIST, fetching and verifying the files on first use.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Cache root holding ``mnist/``; defaults to ``$DLFS_DATA_DIR``, then the
        checkout's ``datasets/``, then ``~/.cache/dlfs``.  Missing files come
        from ``$DLFS_DATA_MIRROR`` or are downloaded (see :mod:`dlfs.data.fetch`).

    Returns
    -------
    x_train : ndarray of shape (60000, 28, 28), dtype uint8
        Grey levels 0 (background) to 255 (ink).
    y_train : ndarray of shape (60000,), dtype int64
        Digits 0-9.
    x_test : ndarray of shape (10000, 28, 28), dtype uint8
    y_test : ndarray of shape (10000,), dtype int64

    Raises
    ------
    DatasetError
        If a file is missing and cannot be fetched, or is corrupt.
    """
    files = MNIST_FILES
    x_train, y_train = _load_split(files["train_images"], files["train_labels"], data_dir)
    x_test, y_test = _load_split(files["test_images"], files["test_labels"], data_dir)
    return x_train, y_train, x_test, y_test
