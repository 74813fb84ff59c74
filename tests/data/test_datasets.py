"""dlfs.data.datasets: the datasets by name, as the command line and the recipes load them."""
import numpy as np
import pytest

from dlfs.data import datasets, fetch


@pytest.fixture
def data_env(monkeypatch, tmp_path, use_case):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    return use_case


def test_load_dataset_splits_limits_and_flattens(data_env, mnist_case):
    data_env(mnist_case)
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te), n_classes = datasets.load_dataset(
        "mnist", seed=0, val_fraction=0.25, limit=40)
    assert n_classes == 10 and len(X_tr) == 30 and len(X_val) == 10
    assert X_tr.dtype == np.float32 and X_tr.shape[1] == 784 and X_te.shape[1] == 784
    assert 0 <= X_tr.min() and X_tr.max() <= 1 and y_tr.dtype == np.int64


def test_load_test_set_keeps_the_image_shape(data_env, cats_case):
    data_env(cats_case)
    images, labels, n_classes = datasets.load_test_set("cats")
    assert images.shape[1:] == (64, 64, 3) and images.dtype == np.float32 and n_classes == 2
    assert set(np.unique(labels)) <= {0, 1}


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="unknown dataset 'fashion'; choose one of: mnist, cats"):
        datasets.load_dataset("fashion", seed=0, val_fraction=0.1, limit=None)


def test_targets_and_outputs_of_binary_and_multiclass_problems():
    y = np.array([0, 1, 1])
    assert datasets.as_targets(y, 2).shape == (3, 1)
    assert datasets.as_targets(y, 2).dtype == np.float32
    assert datasets.as_targets(y, 10) is y
    assert datasets.n_outputs(2) == 1 and datasets.n_outputs(10) == 10


def test_arrange_inputs_lays_images_out_as_the_model_takes_them():
    grey = np.zeros((3, 28, 28), np.float32)
    assert datasets.arrange_inputs(grey, (784,)).shape == (3, 784)
    assert datasets.arrange_inputs(grey, (1, 28, 28)).shape == (3, 1, 28, 28)
    assert datasets.arrange_inputs(grey, (28, 28)) is grey
    rgb = np.zeros((2, 8, 8, 3), np.float32)
    rgb[..., 2] = 1
    nchw = datasets.arrange_inputs(rgb, (3, 8, 8))
    assert nchw.shape == (2, 3, 8, 8) and nchw[:, 2].min() == 1 and nchw[:, :2].max() == 0
    assert datasets.arrange_inputs(rgb, (5, 5)) is None
