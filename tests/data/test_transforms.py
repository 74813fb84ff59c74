"""train_val_split, one_hot, to_float and standardise."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs.data import flip_horizontal, one_hot, standardise, to_float, train_val_split


def _ids_and_labels(counts):
    """Samples numbered 0..n-1 (so we can track them) and labels with ``counts`` per class."""
    y = np.repeat(np.arange(len(counts)), counts)
    y = np.random.default_rng(123).permutation(y)
    return np.arange(len(y)), y


# --------------------------------------------------------------------------
# train_val_split


def test_split_is_a_partition_of_the_input():
    ids, y = _ids_and_labels([50, 30, 20])
    ids_train, y_train, ids_val, y_val = train_val_split(ids, y, 0.25)
    assert len(ids_val) == 25 and len(ids_train) == 75
    assert not set(ids_train) & set(ids_val)
    assert sorted([*ids_train, *ids_val]) == ids.tolist()
    # Labels travel with their samples.
    np.testing.assert_array_equal(y_train, y[ids_train])
    np.testing.assert_array_equal(y_val, y[ids_val])


def test_split_keeps_every_class_share():
    ids, y = _ids_and_labels([50, 30, 20])
    _, y_train, _, y_val = train_val_split(ids, y, 0.25)
    assert np.bincount(y_val).tolist() == [12, 8, 5] or np.bincount(y_val).tolist() == [13, 7, 5]
    assert (np.abs(np.bincount(y_val) - 0.25 * np.array([50, 30, 20])) < 1).all()


def test_split_keeps_a_rare_class_on_both_sides():
    ids, y = _ids_and_labels([95, 5])
    _, y_train, _, y_val = train_val_split(ids, y, 0.2)
    assert np.bincount(y_val).tolist() == [19, 1]
    assert np.bincount(y_train).tolist() == [76, 4]


def test_split_is_deterministic_for_a_seed():
    ids, y = _ids_and_labels([40, 40, 20])
    first = train_val_split(ids, y, seed=7)
    again = train_val_split(ids, y, seed=7)
    other = train_val_split(ids, y, seed=8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert set(first[2]) != set(other[2])


def test_split_keeps_the_original_order_on_each_side():
    ids, y = _ids_and_labels([30, 30])
    ids_train, _, ids_val, _ = train_val_split(ids, y, 0.5)
    assert (np.diff(ids_train) > 0).all() and (np.diff(ids_val) > 0).all()


def test_split_without_stratify_has_the_right_sizes():
    ids, y = _ids_and_labels([90, 10])
    ids_train, _, ids_val, _ = train_val_split(ids, y, 0.3, stratify=False)
    assert len(ids_val) == 30
    assert sorted([*ids_train, *ids_val]) == ids.tolist()


def test_split_accepts_images():
    images = np.arange(10 * 2 * 3).reshape(10, 2, 3)
    y = np.array([0, 1] * 5)
    X_train, y_train, X_val, y_val = train_val_split(images, y, 0.2)
    assert X_train.shape == (8, 2, 3) and X_val.shape == (2, 2, 3)
    assert np.bincount(y_val).tolist() == [1, 1]
    # Rows stay whole: row i of images starts with 6 * i.
    np.testing.assert_array_equal(X_val[:, 0, 0] // 6 % 2, y_val)


def test_split_on_the_loaded_mnist_labels(mnist_cache):
    y = mnist_cache.arrays["y_train"]
    _, y_train, _, y_val = train_val_split(y, y, 0.2, seed=0)
    counts = np.bincount(y, minlength=10)
    assert len(y_val) == round(0.2 * len(y))
    assert (np.abs(np.bincount(y_val, minlength=10) - 0.2 * counts) < 1).all()
    assert (np.abs(np.bincount(y_train, minlength=10) - 0.8 * counts) < 1).all()


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       val_fraction=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_split_properties(counts, val_fraction, seed):
    ids, y = _ids_and_labels(counts)
    n_val = round(val_fraction * len(y))
    if not 0 < n_val < len(y):
        with pytest.raises(ValueError, match="leaves no"):
            train_val_split(ids, y, val_fraction, seed=seed)
        return
    ids_train, y_train, ids_val, y_val = train_val_split(ids, y, val_fraction, seed=seed)
    assert len(ids_val) == n_val
    assert sorted([*ids_train, *ids_val]) == ids.tolist()
    share = np.bincount(y_val, minlength=len(counts)) - val_fraction * np.array(counts)
    assert (np.abs(share) < 1 + 1e-9).all()


@pytest.mark.parametrize("val_fraction", [0, 1, -0.1, 1.5, float("nan")])
def test_split_refuses_a_bad_fraction(val_fraction):
    ids, y = _ids_and_labels([10, 10])
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(ids, y, val_fraction)


def test_split_refuses_a_fraction_that_empties_a_side():
    ids, y = _ids_and_labels([2, 2])
    with pytest.raises(ValueError, match="leaves no validation samples"):
        train_val_split(ids, y, 0.1)
    with pytest.raises(ValueError, match="leaves no training samples"):
        train_val_split(ids, y, 0.9)


def test_split_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        train_val_split(np.zeros((10, 3)), np.zeros(9, dtype=int))


def test_split_refuses_labels_of_the_wrong_shape():
    with pytest.raises(ValueError, match="y \\(n_samples,\\), got \\(10, 3\\) and \\(10, 1\\)"):
        train_val_split(np.zeros((10, 3)), np.zeros((10, 1), dtype=int))
    with pytest.raises(TypeError, match="y must be a numpy.ndarray, got list"):
        train_val_split(np.zeros((2, 3)), [0, 1])


# --------------------------------------------------------------------------
# one_hot


def test_one_hot_values():
    Y = one_hot(np.array([2, 0, 1, 2]), 3)
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert Y.dtype == np.float32


def test_one_hot_dtype_and_unused_classes():
    Y = one_hot(np.array([1, 1]), 4, dtype=np.int64)
    assert Y.dtype == np.int64 and Y.shape == (2, 4)
    assert Y.sum(axis=0).tolist() == [0, 2, 0, 0]


def test_one_hot_of_no_labels_is_empty():
    assert one_hot(np.array([], dtype=np.int64), 10).shape == (0, 10)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_one_hot_refuses_labels_out_of_range(labels):
    with pytest.raises(ValueError, match="must lie in \\[0, 3\\)"):
        one_hot(np.array(labels), 3)


def test_one_hot_refuses_float_labels_and_bad_class_counts():
    with pytest.raises(TypeError, match="integer class labels"):
        one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="n_classes must be > 0"):
        one_hot(np.array([0]), 0)


# --------------------------------------------------------------------------
# to_float


def test_to_float_scales_to_the_unit_interval():
    images = np.array([[[0, 51], [255, 102]]], dtype=np.uint8)
    X = to_float(images)
    assert X.shape == (1, 4) and X.dtype == np.float32
    np.testing.assert_array_equal(X, np.float32([[0, 0.2, 1, 0.4]]))
    assert X.max() == 1.0  # exactly


def test_to_float_without_flatten_keeps_the_shape():
    images = np.full((2, 64, 64, 3), 255, dtype=np.uint8)
    X = to_float(images, dtype=np.float64, flatten=False)
    assert X.shape == (2, 64, 64, 3) and X.dtype == np.float64
    assert (X == 1).all()


def test_to_float_on_the_loaded_mnist(mnist_case, mnist_cache):
    X = to_float(mnist_cache.arrays["x_test"])
    assert X.shape == (mnist_case.expected["test"]["n"], 784) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    expected = mnist_case.expected["test"]
    # Each float32 pixel is off by at most half an ulp (< 3e-8) from the exact k / 255.
    assert X.mean(dtype=np.float64) == pytest.approx(expected["pixel_mean"],
                                                     abs=expected["mean_tol"] + 3e-8)


def test_to_float_leaves_its_input_alone():
    images = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    to_float(images)
    assert images.dtype == np.uint8 and images.tolist()[2] == [[8, 9], [10, 11]]


def test_to_float_refuses_images_that_are_not_raw_pixels():
    with pytest.raises(TypeError, match="dtype uint8"):
        to_float(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="floating-point dtype"):
        to_float(np.zeros((2, 4), dtype=np.uint8), dtype=np.int32)
    with pytest.raises(ValueError, match="shape \\(n_samples, ...\\)"):
        to_float(np.zeros(4, dtype=np.uint8))


# --------------------------------------------------------------------------
# standardise


def test_standardise_centres_and_scales_every_feature():
    X = np.random.default_rng(0).normal([1.0, -5.0, 100.0], [2.0, 0.1, 30.0], size=(500, 3))
    Z, mean, std = standardise(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(std, X.std(axis=0))
    assert mean.shape == std.shape == (3,)


def test_standardise_reuses_training_statistics():
    rng = np.random.default_rng(1)
    X_train = rng.normal(3.0, 2.0, size=(200, 4)).astype(np.float32)
    X_test = rng.normal(3.0, 2.0, size=(50, 4)).astype(np.float32)
    _, mean, std = standardise(X_train)
    Z_test, mean_again, std_again = standardise(X_test, mean, std)
    np.testing.assert_allclose(Z_test, (X_test - mean) / std, rtol=1e-6)
    assert mean_again is not None and np.array_equal(mean_again, mean)
    assert np.array_equal(std_again, std)
    assert Z_test.dtype == mean.dtype == std.dtype == np.float32


def test_standardise_with_scalar_statistics():
    X = np.array([[0.1307, 0.4388]], dtype=np.float32)
    Z, mean, std = standardise(X, 0.1307, 0.3081)
    np.testing.assert_allclose(Z, [[0.0, 1.0]], atol=1e-6)
    assert mean.shape == std.shape == ()


def test_standardise_turns_a_constant_feature_into_zeros():
    X = np.array([[0.1, 1.0], [0.1, 3.0], [0.1, 5.0]])
    Z, mean, std = standardise(X)
    assert std[0] == 1.0
    np.testing.assert_allclose(Z[:, 0], 0, atol=1e-15)
    assert np.isfinite(Z).all()


def test_standardise_leaves_its_input_alone():
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    standardise(X)
    assert X.tolist() == [[1.0, 2.0], [3.0, 6.0]]


def test_standardise_refuses_bad_statistics():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="both mean and std"):
        standardise(X, mean=np.zeros(2))
    with pytest.raises(ValueError, match="std must be > 0"):
        standardise(X, np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        standardise(X, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        standardise(X, np.zeros(2), np.array([1.0, np.nan]))


def test_standardise_refuses_integer_or_flat_input():
    with pytest.raises(TypeError, match="floating-point"):
        standardise(np.ones((3, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="2 dimensions"):
        standardise(np.ones(3))


# -- B3: flip_horizontal reverses the width axis of every layout -------------------------------

def test_flip_horizontal_mirrors_the_columns_of_nchw_batches():
    images = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)     # NCHW
    flipped = flip_horizontal(images)
    np.testing.assert_array_equal(flipped[0, 0, 0], [3, 2, 1, 0])          # row 0 mirrored
    np.testing.assert_array_equal(flipped[:, :, :, ::-1], images)
    rgb = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    np.testing.assert_array_equal(flip_horizontal(rgb)[1, 2, 4], rgb[1, 2, 4, ::-1])


def test_flip_horizontal_nhwc_as_before_and_ambiguous_shapes_need_a_layout():
    pictures = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)                 # NHWC (cats)
    np.testing.assert_array_equal(flip_horizontal(pictures)[0, 1, 0], pictures[0, 1, 4])
    square = np.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"cannot tell whether images of shape \(2, 3, 3, 3\) "
                                         r"are NHWC or NCHW; pass layout="):
        flip_horizontal(square)
    np.testing.assert_array_equal(flip_horizontal(square, layout="NCHW"), square[..., ::-1])
    with pytest.raises(ValueError, match=r"layout must be 'NHW', 'NHWC' or 'NCHW' matching"):
        flip_horizontal(square, layout="NHW")
