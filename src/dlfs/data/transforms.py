"""Turn loaded images and labels into what a network eats.

* :func:`train_val_split` holds out a stratified, seeded validation set.
* :func:`one_hot` turns class labels into indicator rows.
* :func:`to_float` scales uint8 pixels to [0, 1] and flattens each image.
* :func:`standardise` centres and scales features with *training* statistics.
* :func:`flip_horizontal` mirrors images left to right (data augmentation).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_array, check_labels, check_positive
from .._docs import implements


def train_val_split(X, y, val_fraction=0.2, *, seed=0, stratify=True):
    """Hold out a validation set, keeping every class's share of the samples.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Samples, e.g. images of shape (n_samples, 28, 28) or features of
        shape (n_samples, n_features).
    y : ndarray of shape (n_samples,)
        Labels (integer class labels when ``stratify``).
    val_fraction : float
        Share of the samples to hold out, strictly between 0 and 1.  The
        validation set gets ``round(val_fraction * n_samples)`` samples.
    seed : int
        Seed of the random choice; the same seed gives the same split.
    stratify : bool
        Hold out ``val_fraction`` of each class separately (up to rounding:
        each class is within one sample of its exact share), so a rare class
        can't vanish from either side.

    Returns
    -------
    X_train : ndarray of shape (n_train, ...)
    y_train : ndarray of shape (n_train,)
    X_val : ndarray of shape (n_val, ...)
    y_val : ndarray of shape (n_val,)
        Copies; ``n_train + n_val == n_samples``.  Each side keeps the
        samples' original relative order (the split chooses, it does not
        shuffle: shuffle mini-batches in the training loop).

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is not an ndarray.
    ValueError
        If ``val_fraction`` is not in (0, 1), leaves either side empty, or
        ``X`` and ``y`` differ in length.
    """
    for name, array in (("X", X), ("y", y)):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if X.ndim < 1 or y.ndim != 1:
        raise ValueError(f"X must have shape (n_samples, ...) and y (n_samples,), "
                         f"got {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}; they must match")
    check_positive(seed, "seed", integer=True, allow_zero=True)
    n_samples = len(y)
    _, n_val = split_sizes(n_samples, val_fraction)

    shuffled = np.random.default_rng(seed).permutation(n_samples)
    is_val = np.zeros(n_samples, dtype=bool)
    is_val[_stratified_pick(y, shuffled, n_val) if stratify else shuffled[:n_val]] = True
    # Boolean masks keep the original order on each side.
    return X[~is_val], y[~is_val], X[is_val], y[is_val]


def _stratified_pick(y, shuffled, n_val):
    """Indices of ``n_val`` samples, each class contributing its share."""
    # Group the shuffled indices by class (a stable sort keeps them random
    # within each class), then take the first few of every group.
    grouped = shuffled[np.argsort(y[shuffled], kind="stable")]
    _, class_of, counts = np.unique(y[grouped], return_inverse=True, return_counts=True)
    # Largest-remainder rounding, in exact integer arithmetic: floor every
    # class's share, then give the samples still missing to the classes with
    # the largest remainders.  The total is exactly n_val and every class is
    # less than one sample away from its exact share.
    per_class, remainder = np.divmod(counts * n_val, len(y))
    missing = n_val - per_class.sum()
    per_class[np.argsort(-remainder, kind="stable")[:missing]] += 1
    group_start = np.cumsum(counts) - counts
    rank_in_class = np.arange(len(y)) - group_start[class_of]
    return grouped[rank_in_class < per_class[class_of]]


def one_hot(y, n_classes, dtype=np.float32):
    """Encode class labels as one-hot rows.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Integer labels in ``[0, n_classes)``.
    n_classes : int
        Number of classes (columns).
    dtype : numpy dtype
        Dtype of the result.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_classes)
        ``Y[i, y[i]] == 1``, every other entry 0.

    Raises
    ------
    ValueError
        If a label is outside ``[0, n_classes)``.
    """
    check_positive(n_classes, "n_classes", integer=True)
    check_labels(y, "y", n_classes)
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def to_float(images, dtype=np.float32, flatten=True):
    """Scale uint8 pixels to floats in [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n_samples, ...), dtype uint8
        E.g. (n_samples, 28, 28) for MNIST or (n_samples, 64, 64, 3) for cats.
    dtype : numpy floating dtype
        Dtype of the result.
    flatten : bool
        Flatten each image into one row of features.

    Returns
    -------
    X : ndarray
        ``images / 255``, of shape (n_samples, n_features) if ``flatten``
        (``n_features`` is the product of ``images.shape[1:]``: 784 for
        MNIST, 12288 for cats), else of the shape of ``images``.
    """
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images must be a numpy.ndarray, "
                        f"got {type(images).__name__}")
    if images.dtype != np.uint8:
        # Dividing floats that are already scaled by 255 again would be a
        # silent bug, so only raw pixels are accepted.
        raise TypeError(f"images must have dtype uint8 (raw pixels 0-255), "
                        f"got {images.dtype}")
    if images.ndim < 2:
        raise ValueError(f"images must have shape (n_samples, ...), "
                         f"got {images.shape}")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating-point dtype, "
                        f"got {np.dtype(dtype)}")
    X = images.reshape(len(images), -1) if flatten else images
    X = X.astype(dtype)
    # Divide rather than multiply by 1/255: 255 / 255 is then exactly 1.
    np.divide(X, 255, out=X)
    return X


implements(to_float, "eq-mnist-scale")


def standardise(X, mean=None, std=None):
    """Centre and scale each feature: ``(X - mean) / std``.

    Compute the statistics on the training set only, then pass the returned
    ``mean`` and ``std`` when standardising the validation and test sets, so
    no information leaks from them into training::

        X_train, mean, std = standardise(X_train)
        X_test, _, _ = standardise(X_test, mean, std)

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), floating dtype
    mean : float or ndarray of shape (n_features,), optional
    std : float or ndarray of shape (n_features,), optional
        Give both or neither.  When omitted, they are the per-feature mean and
        standard deviation of ``X``.  Scalars (e.g. MNIST's usual 0.1307 and
        0.3081) apply one statistic to every feature.

    Returns
    -------
    X_std : ndarray of shape (n_samples, n_features)
        Same dtype as ``X``; ``X`` itself is not changed.
    mean : ndarray of shape (n_features,) or ()
    std : ndarray of shape (n_features,) or ()
        The statistics used, in ``X``'s dtype.

    Notes
    -----
    A feature that is constant in ``X`` (MNIST's border pixels are always 0)
    has standard deviation 0; its ``std`` is set to 1, so it standardises to
    0 instead of dividing by zero.  A feature that is *almost* constant (a
    pixel inked in a handful of training images) still gets a tiny ``std``
    and large values where it is nonzero; for images, scalar statistics avoid
    that.
    """
    check_array(X, "X", ndim=2)
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (from the training set) or neither")
    if mean is None:
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        std[X.max(axis=0) == X.min(axis=0)] = 1.0
    mean = np.asarray(mean, dtype=X.dtype)
    std = np.asarray(std, dtype=X.dtype)
    for name, stat in (("mean", mean), ("std", std)):
        if stat.ndim > 1 or stat.size not in (1, X.shape[1]):
            raise ValueError(f"{name} must be a scalar or of shape ({X.shape[1]},), "
                             f"got {stat.shape}")
        check_array(stat, name)
    if np.any(std <= 0):
        raise ValueError("std must be > 0 everywhere; a zero std would divide by zero")
    return (X - mean) / std, mean, std


def split_sizes(n_samples, val_fraction):
    """Sizes ``(n_train, n_val)`` that :func:`train_val_split` gives, checked.

    Parameters
    ----------
    n_samples : int
    val_fraction : float in (0, 1)

    Returns
    -------
    n_train, n_val : int
        ``n_val = round(val_fraction * n_samples)``; both at least 1.

    Raises
    ------
    ValueError
        If ``val_fraction`` is not in (0, 1) or leaves either side empty.
    """
    check_positive(val_fraction, "val_fraction")
    if not val_fraction < 1:
        raise ValueError(f"val_fraction must be < 1, got {val_fraction!r}")
    n_val = int(round(val_fraction * n_samples))
    if not 0 < n_val < n_samples:
        raise ValueError(f"val_fraction={val_fraction} of {n_samples} samples leaves "
                         f"{'no validation' if n_val == 0 else 'no training'} samples")
    return n_samples - n_val, n_val


def flip_horizontal(images, *, layout: str | None = None):
    """Mirror images left to right (the simplest data augmentation).

    Parameters
    ----------
    images : ndarray of shape (n, H, W), (n, H, W, C) or (n, C, H, W)
        Any dtype (raw uint8 pixels or floats).
    layout : str, optional
        ``"NHW"``, ``"NHWC"`` or ``"NCHW"``: which axis is the width.  By
        default 3-D batches are NHW, and 4-D batches are NHWC when the last
        axis has 1 or 3 channels (pictures as loaded, e.g. the cats'
        (n, 64, 64, 3)) and NCHW when axis 1 has (the layout convolutions
        take); any other 4-D batch must say which.

    Returns
    -------
    flipped : ndarray of the same shape and dtype
        A new array whose width axis is reversed: for NHWC
        ``flipped[i, r, c] == images[i, r, W - 1 - c]``.

    Raises
    ------
    TypeError
        If ``images`` is not an ndarray.
    ValueError
        If ``images`` is not a batch of 2-D images, or its layout is unknown
        or does not match its number of axes.
    """
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images must be a numpy.ndarray, "
                        f"got {type(images).__name__}")
    if images.ndim not in (3, 4):
        raise ValueError("images must have shape (n_samples, height, width"
                         "[, channels]) or (n_samples, channels, height, "
                         f"width), got {images.shape}; flatten after "
                         "flipping, not before")
    if layout is None:
        layout = "NHW" if images.ndim == 3 else _guess_layout(images.shape)
    width_axis = {"NHW": 2, "NHWC": 2, "NCHW": 3}.get(layout)
    if width_axis is None or len(layout) != images.ndim:
        raise ValueError(f"layout must be 'NHW', 'NHWC' or 'NCHW' matching "
                         f"the {images.ndim} axes of images {images.shape}, "
                         f"got {layout!r}")
    return np.flip(images, axis=width_axis).copy()


def _guess_layout(shape) -> str:
    last, first = shape[3] in (1, 3), shape[1] in (1, 3)
    if last != first:
        return "NHWC" if last else "NCHW"
    raise ValueError(f"cannot tell whether images of shape {shape} are NHWC or NCHW; "
                     "pass layout='NHWC' or layout='NCHW'")
