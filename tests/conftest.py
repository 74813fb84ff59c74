"""Shared fixtures for the dlfs core tests.

Hypothesis strategies live next to the tests that use them (they are one-liners
built from ``hypothesis.extra.numpy``); this file holds the small data sets the
training tests share.  Fixtures used together with ``@given`` must not be
function-scoped, so everything here is session-scoped and read-only.
"""
from __future__ import annotations

import numpy as np
import pytest


def make_two_spirals(n_per_class: int, *, turns: float = 1.5, noise: float = 0.0,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals in 2-D: class 0 and its point reflection, class 1.

    Points are spread evenly along the arc (``t ~ sqrt(U)``), scaled to unit
    standard deviation.  Returns float32 X of shape (2n, 2) and int64 labels.
    """
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n_per_class)) * turns * 2 * np.pi
    arm = np.column_stack([t * np.cos(t), t * np.sin(t)])
    X = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2))
    y = np.repeat(np.arange(2), n_per_class)
    return (X / X.std()).astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="session")
def two_spirals() -> tuple[np.ndarray, np.ndarray]:
    """1000 points on two spirals of 2 turns each."""
    return make_two_spirals(500, turns=2.0)


@pytest.fixture(scope="session")
def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points (float32) and their labels: not linearly separable."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return X, np.array([0, 1, 1, 0])


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """A small, easy 3-class problem: 150 float32 points around three centres."""
    rng = np.random.default_rng(1)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + 0.5 * rng.standard_normal((150, 2))
    return X.astype(np.float32), y
