"""Small two-dimensional classification problems, generated on the fly.

Every generator takes the number of samples and a seeded
:class:`numpy.random.Generator`, so a chapter reproduces its data exactly, and
returns ``(X, y)`` with

* ``X`` : float64 ndarray of shape (n_samples, 2), the points;
* ``y`` : int64 ndarray of shape (n_samples,), the class labels 0 or 1.

The classes alternate (sample ``i`` has class ``i % 2``), so every class has
``n_samples // 2`` or ``n_samples // 2 + 1`` samples.  None of the problems
is linearly separable, which is why the book uses them to motivate hidden
layers.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive


def _check(n_samples: int, noise: float, rng) -> np.ndarray:
    check_positive(n_samples, "n_samples", integer=True)
    check_positive(noise, "noise", allow_zero=True)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return np.arange(n_samples) % 2


def make_xor(n_samples: int, rng: np.random.Generator, *, noise: float = 0.1
             ) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points near the four corners of the square :math:`\\{-1, 1\\}^2`.

    Class 1 for the corners where the two coordinates have different signs
    ((-1, 1) and (1, -1)), class 0 for (-1, -1) and (1, 1).  Each point is its
    corner plus Gaussian noise with standard deviation ``noise`` per
    coordinate.  With ``n_samples=4`` and ``noise=0`` these are exactly the four
    corners, in the order (-1, -1), (-1, 1), (1, 1), (1, -1).

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
    """
    y = _check(n_samples, noise, rng)
    # Alternate the two corners of each class: sample i uses corner i % 4.
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    X = corners[np.arange(n_samples) % 4] + noise * rng.standard_normal((n_samples, 2))
    return X, y.astype(np.int64)


def make_moons(n_samples: int, rng: np.random.Generator, *, noise: float = 0.1
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles of radius 1.

    Class 0 lies on the upper half circle centred at (0, 0), class 1 on the
    lower half circle centred at (1, 0.5); the angle along each half circle is
    uniform.  Gaussian noise with standard deviation ``noise`` is added to
    each coordinate.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
    """
    y = _check(n_samples, noise, rng)
    t = np.pi * rng.random(n_samples)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n_samples, 2))
    return X, y.astype(np.int64)


def make_spirals(n_samples: int, rng: np.random.Generator, *, noise: float = 0.1,
                 turns: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals, each making ``turns`` revolutions.

    A point of class 0 at parameter :math:`t \\in [0, 1]` (uniform) lies at
    radius :math:`r = t` and angle :math:`\\theta = 2\\pi \\cdot \\mathrm{turns} \\cdot t`;
    class 1 is the same spiral rotated by :math:`\\pi`.  Gaussian noise with
    standard deviation ``noise`` is added to each coordinate, so without noise
    every point lies within the unit disc.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
    """
    y = _check(n_samples, noise, rng)
    check_positive(turns, "turns")
    t = rng.random(n_samples)
    angle = 2 * np.pi * turns * t + np.pi * y
    X = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n_samples, 2))
    return X, y.astype(np.int64)
