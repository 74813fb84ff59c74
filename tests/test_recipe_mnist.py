"""The MNIST recipe: augmentation, training loop, command-line options."""
import numpy as np
import pytest

from dlfs.cli import main
from dlfs.recipes import _common, mnist
from dlfs.train import Callback


def digits(n, seed=0):
    """Random 'images' with a label-dependent bright pixel: learnable in one epoch."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = rng.random((n, 784), dtype=np.float32) * 0.1
    X[np.arange(n), 300 + 3 * y] = 4.0
    return X, y


def tiny_data():
    X, y = digits(500)
    return mnist.MnistData(X[:400], y[:400], X[400:], y[400:])


def tiny_test():
    X, y = digits(100, seed=1)
    return X, y


def test_random_shift_moves_each_image_by_at_most_max_shift():
    rng = np.random.default_rng(0)
    X = np.zeros((200, 784), dtype=np.float32)
    X[:, 14 * 28 + 14] = 1.0                              # one ink pixel in the centre
    out = mnist.random_shift(X, 1, rng)
    assert out.shape == X.shape and out.dtype == X.dtype
    rows, cols = np.divmod(np.argmax(out, axis=1), 28)
    assert np.all(out.sum(axis=1) == 1)                   # the pixel moved, nothing lost
    assert set(rows - 14) == {-1, 0, 1} and set(cols - 14) == {-1, 0, 1}
    assert X[:, 14 * 28 + 14].sum() == 200                # input untouched


def test_random_shift_fills_with_background_and_zero_is_identity():
    rng = np.random.default_rng(1)
    X = np.ones((50, 784), dtype=np.float32)
    out = mnist.random_shift(X, 2, rng).reshape(50, 28, 28)
    # A shifted all-ones image keeps ones except for the rows/columns moved in.
    assert np.all(out[:, 2:-2, 2:-2] == 1) and out.min() == 0
    assert np.array_equal(mnist.random_shift(X, 0, rng), X)


def test_random_shift_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="784"):
        mnist.random_shift(np.zeros((3, 100), np.float32), 1, rng)
    with pytest.raises(ValueError):
        mnist.random_shift(np.zeros((3, 784), np.float32), -1, rng)


def test_base_recipe_is_the_searchs_starting_point():
    r = mnist.BASE
    assert r.hidden == (512, 256) and r.optimizer == "adam" and r.shift == 1
    assert r.with_(epochs=3).epochs == 3 and r.epochs == 15
    model = mnist.build_model(r)
    assert model.n_params() == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10


def test_train_learns_and_is_reproducible():
    data = tiny_data()
    recipe = mnist.RECIPE.with_(hidden=(32,), epochs=3, batch_size=32, lr=3e-3, shift=0)
    seen = []

    class Seen(Callback):
        def on_epoch_end(self, run):
            seen.append(run.epoch)

    a = mnist.train(recipe, data, seed=5, callbacks=[Seen()])
    b = mnist.train(recipe, data, seed=5)
    assert seen == [0, 1, 2]
    assert a.history.epochs == 3 and a.history.lr[1] == pytest.approx(3e-3 * np.exp(-0.2))
    assert a.val_accuracy > 0.9 and a.test_accuracy is None
    assert a.val_accuracy == b.val_accuracy and a.history.loss == b.history.loss
    summary = a.summary()
    assert summary["recipe"]["hidden"] == [32] and summary["epochs"] == 3


def test_patience_stops_and_restores_the_best_epoch():
    data = tiny_data()
    data.y_val = np.roll(data.y_val, 1)        # unrelated labels: validation loss rises
    recipe = mnist.RECIPE.with_(hidden=(32,), epochs=30, batch_size=32, lr=0.05, lr_decay=0,
                                optimizer="sgd", shift=0, patience=1)
    r = mnist.train(recipe, data, seed=0)
    assert r.history.stopped_early and r.history.epochs < 30
    best = min(r.history.val_loss)
    from dlfs.losses import SoftmaxCrossEntropy
    from dlfs.train import evaluate
    assert evaluate(r.model, SoftmaxCrossEntropy(), data.X_val, data.y_val)[0] == \
        pytest.approx(best, rel=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["train", "mnist", "--shift", "-1"], "argument --shift:"),
    (["train", "mnist", "--lr-decay", "x"], "argument --lr-decay:"),
])
def test_recipe_options_are_validated(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_trained_caches_an_identical_result(tmp_path):
    data = tiny_data()
    recipe = mnist.RECIPE.with_(hidden=(16,), epochs=2, batch_size=50, shift=1)
    first, cached = mnist.trained(recipe, data, seed=1, cache_dir=tmp_path)
    assert not cached and len(list(tmp_path.iterdir())) == 2
    again, cached = mnist.trained(recipe, data, seed=1, cache_dir=tmp_path)
    assert cached and again.val_accuracy == first.val_accuracy
    assert again.test_accuracy is None                   # the cache holds no test numbers
    assert again.history.val_loss == first.history.val_loss
    for (name, a), b in zip(first.model.state().items(), again.model.state().values()):
        assert np.array_equal(a, b), name
    _, cached = mnist.trained(recipe.with_(epochs=1), data, seed=1, cache_dir=tmp_path)
    assert not cached                            # another recipe: trained afresh


def test_the_recipe_is_one_fit_call_with_the_shifts_as_augmentation(monkeypatch):
    calls = []
    real_fit = mnist.fit

    def counting_fit(*args, **kwargs):
        calls.append(kwargs)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(mnist, "fit", counting_fit)
    recipe = mnist.RECIPE.with_(hidden=(16,), epochs=3, batch_size=50, shift=1)
    result = mnist.train(recipe, tiny_data(), seed=0)
    assert len(calls) == 1 and calls[0]["epochs"] == 3 and calls[0]["augment"] is not None
    assert result.history.epochs == 3


def test_with_refuses_unknown_options_and_bad_values():
    with pytest.raises(ValueError, match="the mnist recipe has no option 'channels'; its "
                                         "options are hidden, epochs"):
        mnist.RECIPE.with_(channels=(8, 16))
    with pytest.raises(ValueError, match="epochs must be > 0"):
        mnist.RECIPE.with_(epochs=0)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        mnist.RECIPE.with_(optimizer="adagrad")
    with pytest.raises(TypeError, match="hidden must be a tuple of positive integers"):
        mnist.RECIPE.with_(hidden=[32])
    with pytest.raises(ValueError, match="val_fraction must be in"):
        mnist.Recipe(val_fraction=1.0)


def test_shifts_need_28_by_28_images():
    X, y = np.ones((20, 10), np.float32), np.arange(20) % 10
    data = mnist.MnistData(X, y, X, y)
    with pytest.raises(ValueError, match="shift=1 moves 28x28 images, but the data has 10"):
        mnist.train(mnist.RECIPE.with_(hidden=(4,), epochs=1), data)


# -- the result cache: keyed on the data, per user, atomic (code review B11; audit N12, N13) ----

def test_the_cache_key_covers_the_data(tmp_path):
    recipe = mnist.RECIPE.with_(hidden=(16,), epochs=1, batch_size=50, shift=0)
    first, cached = mnist.trained(recipe, tiny_data(), seed=1, cache_dir=tmp_path)
    other = tiny_data()
    other.X_train = other.X_train[:200].copy()
    other.y_train = other.y_train[:200].copy()
    second, cached = mnist.trained(recipe, other, seed=1, cache_dir=tmp_path)
    assert not cached                               # other data: trained afresh
    assert second.history.loss != first.history.loss
    third, cached = mnist.trained(recipe, tiny_data(), seed=1, cache_dir=tmp_path)
    assert cached and third.history.loss == first.history.loss


def test_the_cache_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    cache = tmp_path / "cache"
    recipe = mnist.RECIPE.with_(hidden=(16,), epochs=1, batch_size=50, shift=0)
    mnist.trained(recipe, tiny_data(), seed=1, cache_dir=cache)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for path in list(cache.iterdir()):
        path.unlink()
        path.symlink_to(victim)                     # planted where the next run writes
    result, cached = mnist.trained(recipe, tiny_data(), seed=1, cache_dir=cache)
    assert not cached
    assert victim.read_text() == "precious"
    assert all(p.is_file() and not p.is_symlink() for p in cache.iterdir())


def test_the_cache_refuses_a_folder_others_may_write_to(tmp_path):
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    recipe = mnist.RECIPE.with_(hidden=(16,), epochs=1, batch_size=50, shift=0)
    with pytest.raises(OSError, match="every user may write to it"):
        mnist.trained(recipe, tiny_data(), seed=1, cache_dir=cache)


def test_the_default_cache_is_per_user_not_in_the_temporary_folder(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.delenv("DLFS_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = _common.cache_folder()
    assert folder == tmp_path / ".cache" / "dlfs" / "results"
    assert not str(folder).startswith(tempfile.gettempdir() + "/dlfs")
    monkeypatch.setenv("DLFS_CACHE_DIR", str(tmp_path / "mine"))
    assert _common.cache_folder() == tmp_path / "mine"


# -- the test set: read by final_test only (issue 17) -------------------------------------------

@pytest.fixture
def fake_mnist_files(monkeypatch):
    """dlfs.data.mnist.load_split on synthetic digits, counting the reads of each split."""
    reads = {"train": 0, "test": 0}

    def load_split(split, *, data_dir=None):
        reads[split] += 1
        X, y = digits(500 if split == "train" else 100, seed=0 if split == "train" else 1)
        images = np.clip(X * 60, 0, 255).astype(np.uint8).reshape(-1, 28, 28)
        return images, y

    monkeypatch.setattr(mnist.dlfs_mnist, "load_split", load_split)
    return reads


def test_training_never_reads_the_test_set(fake_mnist_files, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the test set was read during training")

    monkeypatch.setattr(mnist, "load_test_set", forbidden)
    data = mnist.load_data(val_fraction=0.2)
    assert not hasattr(data, "X_test") and fake_mnist_files == {"train": 1, "test": 0}
    result = mnist.train(mnist.BASE.with_(hidden=(16,), epochs=2, batch_size=50, shift=0),
                         seed=0)                      # data=None: loads training data itself
    assert result.test_loss is None and result.test_accuracy is None
    assert fake_mnist_files["test"] == 0
    recipe = mnist.BASE.with_(hidden=(16,), epochs=1, shift=0)
    assert mnist.score({"hidden": [16], "epochs": 1, "shift": 0}, 0, data) == \
        mnist.train(recipe, data, seed=0).val_accuracy
    assert fake_mnist_files["test"] == 0


def test_final_test_is_the_one_reader_and_measures_the_test_set(fake_mnist_files):
    data = mnist.load_data(val_fraction=0.2)
    result = mnist.train(mnist.BASE.with_(hidden=(16,), epochs=2, batch_size=50), data, seed=0)
    tested = mnist.final_test(result)
    assert fake_mnist_files["test"] == 1 and result.test_accuracy is None
    X_test, y_test = mnist.load_test_set()
    predicted = np.argmax(result.model.predict(X_test), axis=1)
    assert tested.test_accuracy == pytest.approx(np.mean(predicted == y_test))
    assert tested.test_loss > 0 and tested.val_accuracy == result.val_accuracy
    given = mnist.final_test(result, tiny_test())       # test arrays passed in: no read
    assert fake_mnist_files["test"] == 2 and 0 <= given.test_accuracy <= 1


def test_final_runs_train_through_the_cache_and_read_the_test_set_once(fake_mnist_files,
                                                                       tmp_path):
    recipe = mnist.BASE.with_(hidden=(16,), epochs=1, batch_size=50, shift=0)
    runs = mnist.final_runs(recipe, seeds=(0, 1), cache_dir=tmp_path)
    assert [r.seed for r in runs] == [0, 1] and fake_mnist_files["test"] == 1
    assert all(r.test_accuracy is not None and r.val_accuracy is not None for r in runs)
    again = mnist.final_runs(recipe, seeds=(0, 1), cache_dir=tmp_path)
    assert [r.test_accuracy for r in again] == [r.test_accuracy for r in runs]
    assert len(list(tmp_path.iterdir())) == 4            # two cached models, no retraining


# -- the search (issue 17) ---------------------------------------------------------------------

def test_run_search_screens_everything_then_retrains_the_best_with_more_seeds(monkeypatch):
    calls = []

    def fake_score(changes, seed, data=None):
        calls.append((changes.get("lr"), seed))
        return {1: 0.90, 2: 0.95, 3: 0.93, 4: 0.80}[changes["lr"]] + 0.001 * seed

    monkeypatch.setattr(mnist, "score", fake_score)
    candidates = {f"lr {k}": {"lr": k} for k in (1, 2, 3, 4)}
    screen, final = mnist.run_search(candidates, finalists=2, data=tiny_data(), log=None)
    assert [r.name for r in screen.rows] == list(candidates) and screen.seeds == [0]
    assert [r.name for r in final.rows] == ["lr 2", "lr 3"]        # the two best, listed order
    assert final.seeds == list(mnist.FINAL_SEEDS) and final.chosen.name == "lr 2"
    assert calls.count((2, 0)) == 1                     # seed 0 is not trained twice
    assert len(calls) == 4 + 2 * (len(mnist.FINAL_SEEDS) - 1)


def test_the_recipe_is_the_chosen_row_of_the_committed_search():
    from dlfs.recipes import selection

    screen, final = selection.load_search("mnist-screen"), selection.load_search("mnist")
    assert mnist.RECIPE == mnist.recipe_of(final.chosen.changes)
    # the screening is every candidate, as listed, with the changes the code has
    assert [r.name for r in screen.rows] == list(mnist.CANDIDATES)
    for row in screen.rows:
        assert mnist.recipe_of(row.changes) == mnist.recipe_of(mnist.CANDIDATES[row.name])
        assert len(row.scores) == len(mnist.SCREEN_SEEDS)
    # the finalists are the screening's best, and reuse its seed-0 scores
    best = sorted(screen.rows, key=lambda r: -r.mean)[:mnist.FINALISTS]
    assert {r.name for r in final.rows} == {r.name for r in best}
    for row in final.rows:
        assert row.scores[0] == screen.row(row.name).scores[0]
        assert len(row.scores) == len(mnist.FINAL_SEEDS)
    assert final.seeds == list(mnist.FINAL_SEEDS)
