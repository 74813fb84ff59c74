"""Input validation shared by every module.

Bad input must fail loudly with a message that names the culprit, never turn
into a silent NaN or a broadcast to the wrong shape.  Each helper returns the
array it checked, so callers can write ``x = check_array(x, ...)``.
"""
from __future__ import annotations

import numpy as np


class NonFiniteError(ValueError):
    """An array that must be finite holds NaN or infinity.

    A ``ValueError`` (so existing handlers still catch it) of its own type, so
    that the training loop can tell a diverging run from any other bad value
    without reading the message.
    """


def check_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None,
                dtype=None, finite: bool = True) -> np.ndarray:
    """Check that ``x`` is a real floating-point ndarray of the expected rank.

    Parameters
    ----------
    x : ndarray
        The array to check.  Lists are refused: silently converting them hides
        dtype mistakes (a list of ints would become int64).
    name : str
        How to call ``x`` in error messages.
    ndim : int, tuple of int or range, optional
        Allowed number(s) of dimensions (``range(2, 33)``: "at least 2").
    dtype : numpy dtype, optional
        Required dtype.  When omitted any floating dtype is accepted.
    finite : bool
        Refuse NaN and infinity.

    Returns
    -------
    ndarray
        ``x`` itself, unchanged.

    Raises
    ------
    TypeError
        For a non-array, an integer or complex dtype, or the wrong dtype.
    ValueError
        For the wrong number of dimensions; :class:`NonFiniteError` (a
        ``ValueError``) for NaN or infinity when ``finite``.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if dtype is not None and x.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {x.dtype}")
    if dtype is None and not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = (f"at least {ndim.start}" if isinstance(ndim, range) and len(ndim) > 4
                    else " or ".join(str(a) for a in allowed))
            raise ValueError(f"{name} must have {want} dimensions, got shape {x.shape}")
    if finite and not np.all(np.isfinite(x)):
        raise NonFiniteError(f"{name} contains NaN or infinity")
    return x


def check_labels(y, name: str, n_classes: int) -> np.ndarray:
    """Check integer class labels ``y`` of shape (n_samples,) in ``[0, n_classes)``."""
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(y).__name__}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (n_samples,), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes}), "
                         f"got values from {y.min()} to {y.max()}")
    return y


def check_positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    """Check a hyperparameter such as a learning rate or a batch size."""
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind):
        want = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {want}, got {value!r}")
    # A Python int is always finite (and may exceed what np.isfinite takes: 10**25).
    finite = isinstance(value, int) or np.isfinite(value)
    if not finite or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_choice(value: str, name: str, choices) -> str:
    """Check that ``value`` is one of the allowed option names."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(sorted(choices))}")
    return value


def check_float_dtype(dtype, name: str) -> np.dtype:
    """The dtype of a layer with parameters: float32 or float64, nothing else.

    Integer weights would be truncated to zero by the initialisers and complex
    ones have no order for ReLU or max-pooling.  float16 is refused too: its
    smallest positive number is about 6e-8, so Adam's ``eps = 1e-8`` rounds to
    0 and its squared gradients underflow, and with an 11-bit significand a
    sum over a batch of a few thousand terms loses every small contribution;
    training ends in NaN.  (Frameworks train in float16 only with float32
    master weights and loss scaling.)
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        why = (" (float16 underflows: Adam's eps=1e-8 and small squared gradients round to 0)"
               if dt == np.float16 else "")
        raise TypeError(f"{name} dtype must be float32 or float64, got {dt}{why}")
    return dt
