"""dlfs.recipes.cats: features, folded standardisation, training, the search, the CLI path.

With ``$DLFS_DATA_MIRROR`` set the CLI tests use the real pictures (the recipe
trains in about a second); otherwise the tiny files of conftest.py.
"""
import json

import numpy as np
import pytest

import dlfs.data
from dlfs.cli import main
from dlfs.data import cats as cats_data
from dlfs.losses import BinaryCrossEntropy
from dlfs.data import fetch
from dlfs.data.transforms import standardise
from dlfs.io import load_model
from dlfs.recipes import cats as recipe
from dlfs.recipes.selection import load_search


@pytest.fixture
def data_env(monkeypatch, tmp_path, use_case):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    return use_case


from cats_pictures import pictures  # noqa: E402  (tests/data is on sys.path)


def test_features_average_pool_and_scale():
    images = np.zeros((1, 64, 64, 3), np.uint8)
    images[0, :2, :2, 0] = [[0, 255], [255, 255]]              # one 2x2 block, red
    X = recipe.features(images, pool=2)
    assert X.shape == (1, 32 * 32 * 3) and X.dtype == np.float32
    assert X[0, 0] == pytest.approx(0.75) and X[0, 1] == 0.0   # red of block 0, then green
    assert recipe.features(images, 1).shape == (1, 12288)
    assert recipe.n_features(16) == 48 == recipe.features(images, 16).shape[1]


@pytest.mark.parametrize("bad, pool, error", [
    (np.zeros((2, 64, 64, 3)), 2, TypeError),                  # floats, not pixels
    (np.zeros((2, 64, 64, 3), np.uint8), 3, ValueError),       # 3 does not divide 64
    (np.zeros((2, 64, 64, 3), np.uint8), 0, ValueError),
])
def test_features_reject_bad_input(bad, pool, error):
    with pytest.raises(error):
        recipe.features(bad, pool)


def test_folding_the_standardisation_keeps_the_function():
    images, _ = pictures(20)
    X = recipe.features(images, 8)
    Xs, mean, std = standardise(X)
    model = recipe.build_model(recipe.CatsConfig(hidden=(5,), pool=8), X.shape[1], seed=0)
    before = model.predict(Xs)
    recipe.fold_standardisation(model, mean, std)
    np.testing.assert_allclose(model.predict(X), before, rtol=1e-4, atol=1e-4)


def test_train_is_seeded_and_learns_the_training_set():
    images, labels = pictures(24)
    config = recipe.CatsConfig(hidden=(16,), pool=16, flip=True, epochs=60)
    m1, history = recipe.train_model(config, images, labels, seed=3,
                                     validation=(images[:4], labels[:4]))
    m2, _ = recipe.train_model(config, images, labels, seed=3)
    assert history.epochs == 60 and len(history.val_loss) == 60
    p = recipe.predict_proba(m1, images, config.pool)
    assert p.shape == (24,) and np.all((0 <= p) & (p <= 1))
    np.testing.assert_array_equal(p, recipe.predict_proba(m2, images, config.pool))
    assert recipe.accuracy(m1, images, labels, config.pool) > 0.9


def test_validation_accuracy_uses_one_result_per_split():
    images, labels = pictures(30)
    histories = []
    accs = recipe.validation_accuracy(recipe.CatsConfig(pool=16, epochs=2), images, labels,
                                      splits=3, histories=histories)
    assert accs.shape == (3,) and np.all((0 <= accs) & (accs <= 1))
    assert len(histories) == 3 and all(len(h.val_accuracy) == 2 for h in histories)
    np.testing.assert_array_equal(       # recording histories does not change the result
        accs, recipe.validation_accuracy(recipe.CatsConfig(pool=16, epochs=2), images, labels,
                                         splits=3))


def test_every_candidate_is_a_valid_recipe_and_options_are_checked():
    assert all(isinstance(c.describe(), str) for c in recipe.CANDIDATES.values())
    for config in recipe.CANDIDATES.values():      # frozen and checked: a copy re-checks
        assert config.with_() == config
    with pytest.raises(ValueError, match="the cats recipe has no option 'shift'"):
        recipe.RECIPE.with_(shift=1)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        recipe.RECIPE.with_(optimizer="adagrad")
    with pytest.raises(ValueError, match="pool=3 must divide the picture size 64"):
        recipe.CatsConfig(pool=3)


def test_train_never_reads_the_test_set_and_final_test_uses_the_library_loss(monkeypatch):
    x, y = pictures(40)
    config = recipe.CatsConfig(hidden=(8,), pool=16, epochs=3)

    def no_test_file(split, **kwargs):
        raise AssertionError(f"train read the {split} file")

    monkeypatch.setattr(cats_data, "load_split", no_test_file)
    result = recipe.train(config, (x[:30], y[:30]), seed=0)
    assert result.test_loss is None and result.test_accuracy is None
    assert result.input_shape == (recipe.n_features(16),)
    assert recipe.final_test(result, (x[30:], y[30:])) is result
    logits = result.model.predict(recipe.features(x[30:], 16))
    expected = BinaryCrossEntropy(from_logits=True).forward(
        logits, y[30:].reshape(-1, 1).astype(np.float32))
    assert result.test_loss == pytest.approx(expected, rel=1e-6)
    assert result.test_accuracy == np.mean((logits.ravel() > 0) == (y[30:] == 1))


def test_the_search_scores_on_validation_splits_only(monkeypatch):
    x, y = pictures(30)
    read = []

    def only_train(split, **kwargs):
        read.append(split)
        return x, y

    monkeypatch.setattr(cats_data, "load_split", only_train)
    small = {"a": recipe.CatsConfig(pool=16, epochs=2),
             "b": recipe.CatsConfig(hidden=(4,), pool=16, epochs=2)}
    table = recipe.run_search(small, seeds=(0, 1), log=None)
    assert read == ["train"]
    assert [r.name for r in table.rows] == ["a", "b"]
    assert table.row("b").changes == {"hidden": [4], "pool": 16, "epochs": 2}
    for row in table.rows:
        np.testing.assert_array_equal(row.scores, [recipe.split_score(
            small[row.name], x, y, k) for k in (0, 1)])


def test_the_recipe_is_the_choice_of_the_committed_table(cats_case, use_case):
    table = load_search("cats")
    assert [r.name for r in table.rows] == list(recipe.CANDIDATES)   # every candidate tried
    for row in table.rows:
        assert recipe.config_of(row.changes) == recipe.CANDIDATES[row.name]
        assert len(row.scores) == len(recipe.SEARCH_SEEDS)
    assert table.chosen.name == recipe.RECIPE_NAME
    assert recipe.RECIPE == recipe.CANDIDATES[recipe.RECIPE_NAME]
    if cats_case.real:              # re-run one recorded point (a fast candidate, split 0)
        use_case(cats_case)
        x, y = recipe.load_data()
        score = recipe.split_score(recipe.CANDIDATES["logistic 8x8"], x, y, 0)
        assert abs(score - table.row("logistic 8x8").scores[0]) <= 1 / 42 + 1e-12


def test_changes_round_trip_through_json():
    for config in recipe.CANDIDATES.values():
        changes = json.loads(json.dumps(recipe.changes_of(config)))
        assert recipe.config_of(changes) == config
    assert recipe.changes_of(recipe.CatsConfig()) == {}


def test_probabilities_at_extreme_logits_give_no_overflow_warning():
    model = recipe.build_model(recipe.CatsConfig(pool=16), recipe.n_features(16), seed=0)
    x, _ = pictures(3)
    model.layers[-1].params["b"][...] = -1e4          # exp(1e4) overflows a hand-written sigmoid
    p = recipe.predict_proba(model, x, 16)           # warnings are errors in this suite
    assert np.all(p == 0.0)


def test_the_test_set_of_a_recipe_model_reads_only_the_test_file(monkeypatch):
    x, y = pictures(6)

    def only_test(split, **kwargs):
        assert split == "test", "the training file was read"
        return x, y

    def no_training_set(**kwargs):
        raise AssertionError("the training file was read")

    monkeypatch.setattr(cats_data, "load_split", only_test)
    monkeypatch.setattr(cats_data, "load_cats", no_training_set)
    monkeypatch.setattr(dlfs.data, "load_cats", no_training_set)
    X, labels = recipe.pooled_test_set(recipe.n_features(16))
    np.testing.assert_array_equal(X, recipe.features(x, 16))
    np.testing.assert_array_equal(labels, y)


def test_cli_trains_the_recipe_and_evaluate_reproduces_its_accuracy(data_env, cats_case,
                                                                    tmp_path, capsys):
    data_env(cats_case)
    params = tmp_path / "cats.npz"
    assert main(["train", "cats", "--json", "--quiet", "--save", str(params)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["recipe"] == recipe.RECIPE.as_dict()
    assert result["n_params"] == load_model(params).n_params()
    assert main(["evaluate", "cats", "--params", str(params), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert evaluated["test_loss"] == pytest.approx(result["test_loss"], rel=1e-5)


def test_cli_options_change_the_recipe_and_never_switch_models(data_env, cats_case, capsys):
    data_env(cats_case)
    assert main(["train", "cats", "--hidden", "4", "--epochs", "1", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["recipe"] == recipe.RECIPE.with_(hidden=(4,), epochs=1).as_dict()
    pool = recipe.RECIPE.pool                          # still the recipe's pooled pictures
    assert result["n_params"] == (64 // pool) ** 2 * 3 * 4 + 4 + 4 + 1
