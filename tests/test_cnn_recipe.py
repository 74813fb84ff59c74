"""The MNIST CNN recipe and ``dlfs train mnist --model cnn`` (on small synthetic digits, so
the test needs no download; the chapter trains the real recipe and checks its validation
accuracy), and its selection protocol: training never reads the test set, ``final_test`` is
the one reader, and the committed search tables agree with ``RECIPE``."""
import json

import numpy as np
import pytest

import dlfs.data
from dlfs import Conv2D
from dlfs.cli import main
from dlfs.recipes import mnist_cnn as recipe
from dlfs.recipes import selection
from dlfs.recipes.mnist import random_shift
from dlfs.recipes.mnist_cnn import (load_mnist_images, load_test_images, mnist_cnn,
                                    random_shift_images)

TINY = recipe.BASE.with_(channels=(4, 8), hidden=16, epochs=2, batch_size=32,
                         val_fraction=0.25)


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
def reads(monkeypatch):
    """Fake digits from both entry points of the MNIST loader; the list records which
    splits were read ("train", "test"; load_mnist reads both)."""
    splits, log = fake_mnist(), []

    def load_mnist(**kwargs):
        log.extend(["train", "test"])
        return splits

    def load_split(split, **kwargs):
        log.append(split)
        return splits[:2] if split == "train" else splits[2:]

    monkeypatch.setattr(dlfs.data, "load_mnist", load_mnist)
    monkeypatch.setattr(dlfs.data.mnist, "load_split", load_split)
    return log


def test_the_cnn_maps_images_to_ten_logits_with_the_documented_shapes():
    model = mnist_cnn(rng=np.random.default_rng(0))
    summary = model.summary((1, 28, 28))
    for shape in ["(16, 24, 24)", "(16, 12, 12)", "(32, 8, 8)", "(32, 4, 4)", "(512,)", "(10,)"]:
        assert shape in summary
    x = np.zeros((3, 1, 28, 28), np.float32)
    assert model.forward(x).shape == (3, 10)


def test_training_images_carry_no_test_set_and_come_as_nchw_float32(reads):
    data = load_mnist_images(val_fraction=0.25)
    assert len(data) == 2 and reads == ["train"]
    (X, y), (X_val, y_val) = data
    assert X.shape[1:] == X_val.shape[1:] == (1, 28, 28)
    assert X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert len(X) + len(X_val) == 1200 and len(X_val) == 300
    X_test, y_test = load_test_images()
    assert X_test.shape == (300, 1, 28, 28) and X_test.dtype == np.float32
    assert reads == ["train", "test"]


def test_training_learns_the_synthetic_digits_without_reading_the_test_set(reads):
    result = recipe.train(recipe.RECIPE.with_(epochs=2, batch_size=32, val_fraction=0.25))
    assert "test" not in reads
    assert result.test_accuracy is None and result.test_loss is None
    assert result.val_accuracy > 0.9
    history = result.history
    assert result.best_epoch == history.best_epoch + 1 and result.restored_best
    assert result.val_accuracy == history.val_accuracy[history.best_epoch]
    assert result.summary()["best_epoch"] == result.best_epoch
    tested = recipe.final_test(result)                  # the one reader, once
    assert reads.count("test") == 1
    assert tested.test_accuracy > 0.9 and tested.model is result.model
    assert tested.extra["n_test"] == 300
    assert tested.val_accuracy == result.val_accuracy


def test_train_refuses_data_that_carries_a_test_set(reads):
    (X, y), (X_val, y_val) = load_mnist_images(val_fraction=0.25)
    with pytest.raises(ValueError, match="read only by final_test"):
        recipe.train(TINY, ((X, y), (X_val, y_val), (X_val, y_val)))


def test_final_test_refuses_mismatched_labels(reads):
    result = recipe.train(TINY.with_(epochs=1))
    X_test, y_test = load_test_images()
    with pytest.raises(ValueError, match="300 test images but 299 labels"):
        recipe.final_test(result, (X_test, y_test[:-1]))


def test_final_runs_test_each_seed_once_on_one_split(reads, tmp_path):
    runs = recipe.final_runs(TINY, seeds=(0, 1), cache_dir=tmp_path)
    assert [r.seed for r in runs] == [0, 1] and reads.count("test") == 1
    assert all(r.test_accuracy is not None and r.test_accuracy > 0.5 for r in runs)
    again = recipe.final_runs(TINY, seeds=(0,), cache_dir=tmp_path)   # from the cache
    assert again[0].val_accuracy == runs[0].val_accuracy
    assert again[0].test_accuracy == runs[0].test_accuracy
    with pytest.raises(ValueError, match="at least one seed"):
        recipe.final_runs(TINY, seeds=(), cache_dir=tmp_path)


def test_the_search_scores_on_validation_only_and_keeps_the_best(reads, tmp_path):
    candidates = {"base": {}, "lr 1e-5": {"lr": 1e-5}, "shift 1": {"shift": 1}}
    screen, table = recipe.run_search(candidates, keep=2, seeds=(0, 1),
                                      base=TINY.with_(epochs=1), log=None, cache_dir=tmp_path)
    assert "test" not in reads
    assert [r.name for r in screen.rows] == list(candidates) and screen.seeds == [0]
    assert len(table.rows) == 2 and table.seeds == [0, 1]
    assert "lr 1e-5" not in [r.name for r in table.rows]      # learns nothing in one epoch
    for row in table.rows:                  # seed-0 scores are the screen's (deterministic)
        assert row.scores[0] == screen.row(row.name).scores[0]
    chosen = TINY.with_(epochs=1, **table.chosen.changes)
    data = load_mnist_images(val_fraction=0.25)
    assert recipe.train(chosen, data, seed=1).val_accuracy == table.chosen.scores[1]
    runs = recipe.final_runs(chosen, seeds=(0, 1), data=data, cache_dir=tmp_path)
    assert [r.val_accuracy for r in runs] == table.chosen.scores     # the search's models


def test_a_bad_candidate_is_refused_before_any_training(reads, tmp_path):
    with pytest.raises(ValueError, match="no option 'dropout'"):
        recipe.run_search({"base": {}, "dropout": {"dropout": 0.5}}, base=TINY, log=None,
                          cache_dir=tmp_path)
    with pytest.raises(ValueError, match="shift must be"):
        recipe.run_search({"bad shift": {"shift": -1}}, base=TINY, log=None,
                          cache_dir=tmp_path)
    assert reads == ["train", "train"]                         # loaded, never trained


def test_recipe_is_the_winner_of_the_committed_search():
    screen = selection.load_search("mnist_cnn-screen")
    table = selection.load_search("mnist_cnn")
    assert {r.name: r.changes for r in screen.rows} == recipe.CANDIDATES
    assert screen.seeds == [0] and table.seeds == list(recipe.SEARCH_SEEDS)
    best = sorted(screen.rows, key=lambda r: -r.mean)[:recipe.KEEP]
    assert [r.name for r in table.rows] == [r.name for r in screen.rows if r in best]
    for row in table.rows:
        assert row.changes == recipe.CANDIDATES[row.name]
        assert row.scores[0] == screen.row(row.name).scores[0]
    assert recipe.RECIPE == recipe.BASE.with_(**table.chosen.changes)


def test_random_shift_images_moves_whole_images():
    rng = np.random.default_rng(0)
    X = rng.random((5, 1, 28, 28)).astype(np.float32)
    shifted = random_shift_images(X, 2, np.random.default_rng(1))
    flat = random_shift(X.reshape(5, -1), 2, np.random.default_rng(1))
    assert shifted.shape == X.shape and shifted.dtype == X.dtype
    np.testing.assert_array_equal(shifted.reshape(5, -1), flat)
    np.testing.assert_array_equal(random_shift_images(X, 0, rng), X)
    with pytest.raises(ValueError, match=r"\(n_samples, 1, 28, 28\)"):
        random_shift_images(X.reshape(5, -1), 1, rng)


def test_the_recipe_refuses_options_it_does_not_have_and_bad_values():
    with pytest.raises(ValueError, match="the mnist cnn recipe has no option 'optimizer'"):
        recipe.RECIPE.with_(optimizer="sgd")
    with pytest.raises(ValueError, match="channels must hold two channel counts"):
        recipe.RECIPE.with_(channels=(8,))
    with pytest.raises(ValueError, match="lr must be > 0"):
        recipe.RECIPE.with_(lr=0.0)
    with pytest.raises((TypeError, ValueError), match="shift must be"):
        recipe.RECIPE.with_(shift=1.5)


@pytest.mark.parametrize("limit", [-5, 0, 2.5])
def test_a_limit_that_is_not_a_positive_integer_is_refused(reads, limit):
    with pytest.raises((TypeError, ValueError), match="limit must be"):
        load_mnist_images(limit=limit)


def test_cli_trains_saves_and_evaluates_the_cnn(reads, tmp_path, capsys):
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
