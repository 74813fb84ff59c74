"""The MNIST CNN recipe and ``dlfs train mnist --model cnn`` (on small synthetic digits, so
the test needs no download; the 99.2% claim is checked by the book chapter that trains it)."""
import json

import numpy as np
import pytest

import dlfs.data
from dlfs import Conv2D
from dlfs.cli import main
from dlfs.recipes import mnist_cnn as recipe
from dlfs.recipes.mnist_cnn import load_mnist_images, mnist_cnn


def fake_mnist():
    """Digits whose class is where a bright 7x7 square sits (10 positions)."""
    rng = np.random.default_rng(0)

    def split(n):
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for label in range(10):
            r, c = 2 + 12 * (label // 5), 1 + 5 * (label % 5)
            x[y == label, r:r + 7, c:c + 7] = 250
        return x, y.astype(np.int64)

    return (*split(1200), *split(300))


@pytest.fixture
def synthetic_mnist(monkeypatch):
    """Both entry points of the MNIST loader (all splits; one split) serve fake digits."""
    splits = fake_mnist()
    monkeypatch.setattr(dlfs.data, "load_mnist", lambda **kwargs: splits)
    monkeypatch.setattr(dlfs.data.mnist, "load_split",
                        lambda split, **kwargs: splits[:2] if split == "train" else splits[2:])


def test_the_cnn_maps_images_to_ten_logits_with_the_documented_shapes():
    model = mnist_cnn(rng=np.random.default_rng(0))
    summary = model.summary((1, 28, 28))
    for shape in ["(16, 24, 24)", "(16, 12, 12)", "(32, 8, 8)", "(32, 4, 4)", "(512,)", "(10,)"]:
        assert shape in summary
    x = np.zeros((3, 1, 28, 28), np.float32)
    assert model.forward(x).shape == (3, 10)


def test_images_come_as_nchw_float32(synthetic_mnist):
    (X, y), (X_val, y_val), (X_test, y_test) = load_mnist_images(val_fraction=0.25)
    assert X.shape[1:] == X_val.shape[1:] == X_test.shape[1:] == (1, 28, 28)
    assert X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert len(X) + len(X_val) == 1200 and len(X_val) == 300


def test_training_learns_the_synthetic_digits_and_keeps_the_best_epoch(synthetic_mnist):
    result = recipe.train(recipe.RECIPE.with_(epochs=2, batch_size=32, val_fraction=0.25))
    assert result.test_accuracy > 0.9
    history = result.history
    assert result.best_epoch == history.best_epoch + 1 and result.restored_best
    assert result.val_accuracy == history.val_accuracy[history.best_epoch]
    assert result.summary()["best_epoch"] == result.best_epoch


def test_the_recipe_refuses_options_it_does_not_have_and_bad_values():
    with pytest.raises(ValueError, match="the mnist cnn recipe has no option 'optimizer'"):
        recipe.RECIPE.with_(optimizer="sgd")
    with pytest.raises(ValueError, match="channels must hold two channel counts"):
        recipe.RECIPE.with_(channels=(8,))
    with pytest.raises(ValueError, match="lr must be > 0"):
        recipe.RECIPE.with_(lr=0.0)


@pytest.mark.parametrize("limit", [-5, 0, 2.5])
def test_a_limit_that_is_not_a_positive_integer_is_refused(synthetic_mnist, limit):
    with pytest.raises((TypeError, ValueError), match="limit must be"):
        load_mnist_images(limit=limit)


def test_cli_trains_saves_and_evaluates_the_cnn(synthetic_mnist, tmp_path, capsys):
    path = tmp_path / "cnn.npz"
    assert main(["train", "mnist", "--model", "cnn", "--epochs", "1", "--quiet", "--json",
                 "--save", str(path)]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["model"] == "cnn" and trained["epochs"] == 1 and trained["saved"] == str(path)
    for key in ("test_accuracy", "val_accuracy", "train_seconds", "best_epoch", "n_params"):
        assert key in trained
    assert main(["evaluate", "mnist", "--params", str(path), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    assert isinstance(dlfs.load_model(path).layers[0], Conv2D)


def test_cli_refuses_a_model_without_a_recipe(capsys, monkeypatch):
    from dlfs import cli
    monkeypatch.delitem(cli.RECIPES, ("cats", "cnn"))
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "cats", "--model", "cnn"])
    assert exit_info.value.code == 2
    assert "no --model cnn recipe for cats" in capsys.readouterr().err
