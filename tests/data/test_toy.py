"""dlfs.data.toy: shapes, dtypes, labels, reproducibility, geometry, bad input."""
import numpy as np
import pytest

from dlfs.data.toy import make_moons, make_spirals, make_xor

MAKERS = [make_xor, make_moons, make_spirals]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shapes_dtypes_and_balanced_labels(make, n):
    X, y = make(n, np.random.default_rng(0))
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y)) <= {0, 1}
    assert abs(int(np.sum(y == 1)) - int(np.sum(y == 0))) <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", MAKERS)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(50, np.random.default_rng(3))
    X2, y2 = make(50, np.random.default_rng(3))
    X3, _ = make(50, np.random.default_rng(4))
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_xor_without_noise_is_the_four_corners():
    X, y = make_xor(4, np.random.default_rng(0), noise=0.0)
    assert np.array_equal(X, [[-1, -1], [-1, 1], [1, 1], [1, -1]])
    assert np.array_equal(y, [0, 1, 0, 1])
    # class 1 exactly where the signs differ
    X, y = make_xor(200, np.random.default_rng(0), noise=0.0)
    assert np.array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(300, np.random.default_rng(1), noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0)
    assert np.all(upper[:, 1] >= 0)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0)
    assert np.all(lower[:, 1] <= 0.5)


def test_spirals_without_noise_are_point_symmetric_within_the_unit_disc():
    X, y = make_spirals(400, np.random.default_rng(2), noise=0.0, turns=1.0)
    radius = np.linalg.norm(X, axis=1)
    assert np.all(radius <= 1.0)
    # angle = 2 pi turns r + pi y (mod 2 pi)
    angle = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * radius + np.pi * y
    np.testing.assert_allclose(np.cos(angle - expected), 1.0, atol=1e-9)


@pytest.mark.parametrize("make", MAKERS)
def test_bad_arguments(make):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        make(0, rng)
    with pytest.raises(TypeError):
        make(2.5, rng)
    with pytest.raises(ValueError):
        make(10, rng, noise=-0.1)
    with pytest.raises(TypeError):
        make(10, 0)


def test_spirals_need_positive_turns():
    with pytest.raises(ValueError):
        make_spirals(10, np.random.default_rng(0), turns=0)
