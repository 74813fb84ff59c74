"""dlfs.recipes.cats_cnn: features, the network, augmentation, stratified folds, the search,
the test set read only by final_test, and the CLI's --model cnn for the cats."""
import json

import numpy as np
import pytest

from dlfs.cli import main
from dlfs.data import cats as cats_data
from dlfs.data import fetch
from dlfs.io import load_model
from dlfs.losses import BinaryCrossEntropy
from dlfs.recipes import cats_cnn as recipe
from dlfs.recipes.selection import load_search


from cats_pictures import pictures  # noqa: E402  (tests/data is on sys.path)


def test_features_pool_scale_and_put_channels_first():
    images = np.zeros((1, 64, 64, 3), np.uint8)
    images[0, :2, :2, 1] = [[0, 255], [255, 255]]              # one 2x2 block, green
    X = recipe.features(images, pool=2)
    assert X.shape == (1, 3, 32, 32) and X.dtype == np.float32 and X.flags.c_contiguous
    assert X[0, 1, 0, 0] == pytest.approx(0.75) and X[0, 0, 0, 0] == 0.0
    with pytest.raises(TypeError):
        recipe.features(images.astype(np.float32), 2)
    with pytest.raises(ValueError, match="pool=3 must divide"):
        recipe.features(images, 3)


def test_the_network_maps_pictures_to_one_logit_and_checks_its_config():
    config = recipe.CatsCnnConfig(channels=(4, 8), pool=4, hidden=5, dropout=0.5)
    model = recipe.build_model(config, seed=0)
    x, _ = pictures(3)
    assert model.predict(recipe.features(x, 4)).shape == (3, 1)
    # conv 3*4*9+4, conv 4*8*9+8, dense 8*5+5, dense 5+1
    assert model.n_params() == 112 + 296 + 45 + 6
    with pytest.raises(ValueError, match="halve the side"):
        recipe.CatsCnnConfig(channels=(4, 4, 4, 4, 4, 4), pool=2)   # 32 / 2**6
    with pytest.raises(ValueError, match="at least one"):
        recipe.CatsCnnConfig(channels=())
    with pytest.raises(TypeError):
        recipe.CatsCnnConfig(flip=1)
    with pytest.raises(ValueError, match="has no option 'hidden_layers'"):
        recipe.RECIPE.with_(hidden_layers=2)


def test_augmentation_mirrors_and_shifts_each_picture_and_is_seeded():
    assert recipe.augmenter(recipe.CatsCnnConfig(flip=False, shift=0)) is None
    X = np.random.default_rng(1).random((50, 3, 8, 8)).astype(np.float32)
    flip = recipe.augmenter(recipe.CatsCnnConfig(flip=True, shift=0))
    out = flip(X, np.random.default_rng(0))
    mirrored = np.array([np.array_equal(o, x[:, :, ::-1]) for o, x in zip(out, X)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, X)])
    assert np.all(mirrored ^ kept) and 10 < mirrored.sum() < 40
    shift = recipe.augmenter(recipe.CatsCnnConfig(flip=False, shift=2))
    out = shift(X, np.random.default_rng(0))
    assert out.shape == X.shape
    np.testing.assert_array_equal(out, shift(X, np.random.default_rng(0)))
    for o, x in zip(out, X):          # some offset (dy, dx) in [-2, 2]^2 explains each
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="edge")
        assert any(np.array_equal(o, padded[:, i:i + 8, j:j + 8])
                   for i in range(5) for j in range(5))


def test_stratified_folds_partition_every_class_evenly():
    y = np.array([1] * 72 + [0] * 137)
    fold = recipe.stratified_folds(y, 5, seed=3)
    assert sorted(np.unique(fold)) == [0, 1, 2, 3, 4]
    sizes = np.bincount(fold)
    cats = np.bincount(fold[y == 1])
    assert sizes.max() - sizes.min() <= 1 and cats.max() - cats.min() <= 1
    np.testing.assert_array_equal(fold, recipe.stratified_folds(y, 5, seed=3))
    assert not np.array_equal(fold, recipe.stratified_folds(y, 5, seed=4))
    with pytest.raises(ValueError):
        recipe.stratified_folds(y, 1)


def test_cv_accuracy_and_the_search_read_the_training_pictures_only(monkeypatch):
    x, y = pictures(20)
    read = []

    def only_train(split, **kwargs):
        read.append(split)
        return x, y

    monkeypatch.setattr(cats_data, "load_split", only_train)
    small = {"a": {"channels": [2], "pool": 8, "epochs": 1},
             "b": {"channels": [2], "pool": 8, "epochs": 1, "shift": 1}}
    table = recipe.run_search(small, seeds=(0,), log=None)
    assert read == ["train"]
    score = recipe.cv_accuracy(recipe.config_of(small["b"]), x, y, seed=0)
    assert table.row("b").scores == [score] and 0 <= score <= 1
    assert score * 20 == round(score * 20)            # a share of the 20 pictures


def test_train_never_reads_the_test_set_and_final_test_does(monkeypatch):
    x, y = pictures(30)
    config = recipe.CatsCnnConfig(channels=(2, 2), pool=8, epochs=2)

    def no_file(split, **kwargs):
        raise AssertionError(f"train read the {split} file")

    monkeypatch.setattr(cats_data, "load_split", no_file)
    result = recipe.train(config, (x[:20], y[:20]), seed=1)
    assert result.test_accuracy is None and result.test_loss is None
    assert result.input_shape == (3, 8, 8)
    recipe.final_test(result, (x[20:], y[20:]))
    logits = result.model.predict(recipe.features(x[20:], 8))
    assert result.test_loss == pytest.approx(BinaryCrossEntropy(from_logits=True).forward(
        logits, y[20:].reshape(-1, 1).astype(np.float32)), rel=1e-6)
    assert result.test_accuracy == np.mean((logits.ravel() > 0) == (y[20:] == 1))
    again = recipe.train(config, (x[:20], y[:20]), seed=1)
    np.testing.assert_array_equal(again.model.predict(recipe.features(x[20:], 8)), logits)


def test_the_recipe_is_the_choice_of_the_committed_table():
    table = load_search("cats_cnn")
    assert [r.name for r in table.rows] == list(recipe.CANDIDATES)
    assert len(table.seeds) == len(recipe.SEARCH_SEEDS)
    assert recipe.RECIPE == recipe.config_of(table.chosen.changes)
    assert table.chosen.name == recipe.RECIPE_NAME


def test_cli_trains_the_cnn_and_evaluate_reproduces_its_accuracy(monkeypatch, tmp_path,
                                                                 cats_case, use_case,
                                                                 capsys):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    use_case(cats_case)
    params = tmp_path / "cnn.npz"
    argv = ["train", "cats", "--model", "cnn", "--epochs", "1", "--json", "--quiet",
            "--save", str(params)]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["recipe"] == recipe.RECIPE.with_(epochs=1).as_dict()
    assert result["n_params"] == load_model(params).n_params()
    assert 0 <= result["test_accuracy"] <= 1
    assert main(["evaluate", "cats", "--params", str(params), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert evaluated["test_loss"] == pytest.approx(result["test_loss"], rel=1e-5)
