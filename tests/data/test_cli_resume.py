"""``dlfs train --checkpoint`` / ``--resume`` and the recipes' ``train(..., resume=...)``:
an interrupted run, resumed, ends exactly as the uninterrupted one; a checkpoint of another
run, or no checkpoint at all, exits 2 before any data is loaded.  On synthetic data (no
dataset files needed), with tiny runs."""
import json

import numpy as np
import pytest
from cats_pictures import pictures       # tests/data and tests are on sys.path
from test_checkpoint import StopAfter
from test_cli_faults import namespace
from test_cnn_recipe import fake_mnist

import dlfs.data.mnist
import dlfs.train
from dlfs import load_model, save_model
from dlfs.cli import main
from dlfs.data import cats as cats_data
from dlfs.data import datasets
from dlfs.io import read_checkpoint
from dlfs.losses import SoftmaxCrossEntropy
from dlfs.model import mlp
from dlfs.optim import Adam
from dlfs.recipes import cats, cats_cnn, mnist, mnist_cnn
from dlfs.train import SaveCheckpoint, fit


@pytest.fixture
def synthetic(monkeypatch):
    """Every loader of the four recipes on small synthetic data; counts the reads."""
    reads = []
    monkeypatch.setattr(datasets, "load_dataset", namespace["fake_load_dataset"])
    x, y, x_test, y_test = fake_mnist()
    splits = {"mnist": {"train": (x, y), "test": (x_test[:30], y_test[:30])},
              "cats": {"train": pictures(60, 0), "test": pictures(20, 1)}}

    def loader(dataset):
        def load_split(split, **kwargs):
            reads.append((dataset, split))
            return splits[dataset][split]
        return load_split

    monkeypatch.setattr(dlfs.data.mnist, "load_split", loader("mnist"))
    monkeypatch.setattr(cats_data, "load_split", loader("cats"))
    return reads


#: The four recipes of ``dlfs train``, shrunk to runs of about a second.
CASES = {
    "mnist mlp": ["mnist", "--hidden", "16", "--limit", "200", "--batch-size", "64"],
    "mnist cnn": ["mnist", "--model", "cnn", "--hidden", "8", "--limit", "120",
                  "--batch-size", "32"],
    "cats mlp": ["cats", "--hidden", "16", "--limit", "40", "--batch-size", "8"],
    "cats cnn": ["cats", "--model", "cnn", "--limit", "24", "--batch-size", "8"],
}


def run(argv, capsys):
    """``dlfs train argv --quiet --json``: the exit code and the JSON result (or None)."""
    code = main(["train", *argv, "--quiet", "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if code == 0 else None


def assert_same_parameters(path_a, path_b):
    a, b = load_model(path_a).state(), load_model(path_b).state()
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def without_seconds(history: dict) -> dict:
    return {k: v for k, v in history.items() if k != "seconds"}


RESULTS = ("val_accuracy", "test_accuracy", "test_loss", "train_accuracy", "epochs",
           "best_epoch", "stopped_early", "n_params")


def interrupt_in_epoch(monkeypatch, epoch):
    """Ctrl-C at the start of epoch ``epoch`` (from 1), once."""
    real, fired = dlfs.train.fit_epoch, []

    def fit_epoch(run):
        if run.epoch + 1 == epoch and not fired:
            fired.append(True)
            raise KeyboardInterrupt
        return real(run)
    monkeypatch.setattr(dlfs.train, "fit_epoch", fit_epoch)


@pytest.mark.parametrize("case", CASES)
def test_a_run_stopped_by_ctrl_c_and_resumed_ends_as_the_uninterrupted_run(
        case, synthetic, tmp_path, capsys, monkeypatch):
    argv = [*CASES[case], "--epochs", "3", "--seed", "2"]
    whole_ck = tmp_path / "whole-run.npz"
    code, whole = run([*argv, "--checkpoint", str(whole_ck), "--save",
                       str(tmp_path / "whole.npz")], capsys)
    assert code == 0 and whole["epochs"] == 3 and whole["resumed_after"] is None

    ck = tmp_path / "run.npz"
    interrupt_in_epoch(monkeypatch, 3)
    assert main(["train", *argv, "--quiet", "--checkpoint", str(ck)]) == 130
    assert capsys.readouterr().err == (f"dlfs: interrupted in epoch 3 of 3; the checkpoint "
                                       f"{ck} holds 2 epochs: add --resume {ck} to continue\n")
    assert read_checkpoint(ck).epoch == 2

    code, resumed = run([*argv, "--checkpoint", str(ck), "--resume", str(ck), "--save",
                         str(tmp_path / "resumed.npz")], capsys)
    assert code == 0 and resumed["resumed_after"] == 2
    assert_same_parameters(tmp_path / "whole.npz", tmp_path / "resumed.npz")
    for key in RESULTS:
        assert resumed[key] == whole[key], key
    a, b = read_checkpoint(whole_ck), read_checkpoint(ck)
    assert a.epoch == b.epoch == 3
    assert without_seconds(a.history) == without_seconds(b.history)
    assert (a.best is None) == (b.best is None) == (case != "mnist cnn")


@pytest.mark.parametrize("case", CASES)
def test_one_epoch_then_resumed_to_two_equals_two_epochs(case, synthetic, tmp_path, capsys):
    argv, ck = [*CASES[case], "--seed", "5"], tmp_path / "run.npz"
    code, whole = run([*argv, "--epochs", "2", "--save", str(tmp_path / "whole.npz")], capsys)
    assert code == 0
    assert run([*argv, "--epochs", "1", "--checkpoint", str(ck)], capsys)[0] == 0
    code, resumed = run([*argv, "--epochs", "2", "--resume", str(ck), "--save",
                         str(tmp_path / "resumed.npz")], capsys)
    assert code == 0 and resumed["epochs"] == 2 and resumed["resumed_after"] == 1
    assert_same_parameters(tmp_path / "whole.npz", tmp_path / "resumed.npz")
    for key in RESULTS:
        assert resumed[key] == whole[key], key
    assert read_checkpoint(ck).epoch == 1       # --resume alone writes no checkpoint


@pytest.fixture
def misleading_validation(synthetic, monkeypatch):
    """Validation labels one class off: the validation loss rises as training fits, so the
    best epoch is the first and restoring it matters."""
    fake, images = namespace["fake_load_dataset"], mnist_cnn.load_mnist_images

    def load_dataset(name, **kwargs):
        train, (X_val, y_val), test, n_classes = fake(name, **kwargs)
        return train, (X_val, (y_val + 1) % n_classes), test, n_classes

    def load_mnist_images(**kwargs):
        train, (X_val, y_val) = images(**kwargs)
        return train, (X_val, (y_val + 1) % 10)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(mnist_cnn, "load_mnist_images", load_mnist_images)


@pytest.mark.parametrize("case, options", [("mnist mlp", ["--patience", "2", "--shift", "0",
                                                          "--lr", "0.05"]),
                                           ("mnist cnn", [])])      # keeps the best epoch
def test_early_stopping_resumes_with_the_best_epoch_through_the_cli(
        case, options, misleading_validation, tmp_path, capsys, monkeypatch):
    argv = [*CASES[case], *options, "--epochs", "4", "--seed", "1"]
    code, whole = run([*argv, "--save", str(tmp_path / "whole.npz")], capsys)
    assert code == 0 and whole["best_epoch"] == 1
    assert whole["stopped_early"] == bool(options) and whole["epochs"] == (3 if options else 4)
    ck = tmp_path / "run.npz"
    interrupt_in_epoch(monkeypatch, 3)
    assert main(["train", *argv, "--quiet", "--checkpoint", str(ck)]) == 130
    capsys.readouterr()
    saved = read_checkpoint(ck)
    assert saved.epoch == 2 and saved.best is not None     # epoch 1's parameters
    code, resumed = run([*argv, "--resume", str(ck), "--save", str(tmp_path / "resumed.npz")],
                        capsys)
    assert code == 0
    assert_same_parameters(tmp_path / "whole.npz", tmp_path / "resumed.npz")
    for key in RESULTS:
        assert resumed[key] == whole[key], key


def test_resuming_reads_the_test_set_once_and_only_after_training(synthetic, tmp_path,
                                                                  capsys):
    argv, ck = [*CASES["cats cnn"], "--seed", "1"], tmp_path / "run.npz"
    assert run([*argv, "--epochs", "1", "--checkpoint", str(ck)], capsys)[0] == 0
    synthetic.clear()
    assert run([*argv, "--epochs", "2", "--resume", str(ck)], capsys)[0] == 0
    assert synthetic == [("cats", "train"), ("cats", "test")]


def test_the_resumed_run_says_so_unless_quiet(synthetic, tmp_path, capsys):
    argv, ck = [*CASES["mnist mlp"], "--seed", "1"], tmp_path / "run.npz"
    assert run([*argv, "--epochs", "1", "--checkpoint", str(ck)], capsys)[0] == 0
    assert main(["train", *argv, "--epochs", "2", "--resume", str(ck)]) == 0
    err = capsys.readouterr().err
    assert f"resuming after epoch 1 from {ck}" in err
    assert "    1 " in err and "    2 " in err               # the whole history is shown


# -- a checkpoint of another run, or none: exit 2 before any data is loaded --------------------

@pytest.fixture
def checkpoint(synthetic, tmp_path, capsys):
    """A two-epoch checkpoint of ``dlfs train mnist`` (hidden 4, 100 images, seed 1)."""
    path = tmp_path / "run.npz"
    assert run(["mnist", "--hidden", "4", "--limit", "100", "--epochs", "2", "--seed", "1",
                "--checkpoint", str(path)], capsys)[0] == 0
    return path


def refused(argv, capsys, monkeypatch):
    """``dlfs train argv`` exits 2 with a usage line and one error line, loading nothing."""
    def no_data(*args, **kwargs):
        raise AssertionError("--resume must be checked before any data is loaded")
    for module, name in ((datasets, "load_dataset"), (dlfs.data.mnist, "load_split"),
                         (cats_data, "load_split")):
        monkeypatch.setattr(module, name, no_data)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *argv, "--quiet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dlfs train") and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("dlfs train: error:")]
    assert len(lines) == 1
    return lines[0].removeprefix("dlfs train: error: ")


SAME = ["--hidden", "4", "--limit", "100", "--epochs", "2", "--seed", "1"]


@pytest.mark.parametrize("argv, message", [
    (["mnist", *SAME[:-1], "2"], "is from another run: --seed 1 there, 2 here; give the "
                                 "options the run was started with"),
    (["mnist", *SAME, "--hidden", "8"], "--hidden 4 there, 8 here"),
    (["mnist", *SAME, "--limit", "150"], "--limit 100 there, 150 here"),
    (["mnist", *SAME[2:]], "--hidden 4 there, 512,256 here"),      # the recipe's default
    (["mnist", *SAME, "--lr", "0.01", "--shift", "0"],
     "--lr 0.003 there, 0.01 here; --shift 1 there, 0 here"),
    (["mnist", *SAME, "--patience", "2"], "--patience none there, 2 here"),
    (["mnist", *SAME, "--batchnorm"], "--batchnorm False there, True here"),
    (["cats", *SAME], "is a checkpoint of dlfs train mnist --model mlp, not of cats --model mlp"),
    (["mnist", "--model", "cnn", "--hidden", "4", "--limit", "100", "--epochs", "2",
      "--seed", "1"], "is a checkpoint of dlfs train mnist --model mlp, not of mnist --model "
                      "cnn"),
    (["mnist", *SAME[:-3], "1", "--seed", "1"], "holds 2 epochs, more than --epochs 1; give "
                                                "--epochs 2 or more"),
])
def test_a_checkpoint_of_another_run_exits_2_naming_what_differs(argv, message, checkpoint,
                                                                 capsys, monkeypatch):
    before = checkpoint.read_bytes()
    line = refused([*argv, "--resume", str(checkpoint)], capsys, monkeypatch)
    assert line.startswith(f"argument --resume: {checkpoint} ") and message in line, line
    assert checkpoint.read_bytes() == before                   # untouched


def test_a_missing_file_or_one_that_is_no_checkpoint_of_dlfs_train_exits_2(
        checkpoint, tmp_path, capsys, monkeypatch):
    argv = ["mnist", *SAME, "--resume"]
    missing = tmp_path / "missing.npz"
    line = refused([*argv, str(missing)], capsys, monkeypatch)
    assert line == f"argument --resume: {missing} does not exist"

    model = save_model(mnist.build_model(mnist.RECIPE.with_(hidden=(4,))),
                       tmp_path / "model.npz")
    line = refused([*argv, str(model)], capsys, monkeypatch)
    assert "expected 'dlfs-checkpoint-1' (a model file from save_model" in line

    text = tmp_path / "notes.npz"
    text.write_text("not a checkpoint")
    assert "is not a readable dlfs parameter file" in refused([*argv, str(text)], capsys,
                                                              monkeypatch)
    damaged = tmp_path / "damaged.npz"
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    line = refused([*argv, str(damaged)], capsys, monkeypatch)
    assert line.startswith(f"argument --resume: {damaged}")

    plain = tmp_path / "library.npz"                           # SaveCheckpoint without info
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    model = mlp([784, 4, 10], rng=np.random.default_rng(1))
    fit(model, SoftmaxCrossEntropy(), Adam(1e-3), X, y, epochs=1, seed=1,
        callbacks=[SaveCheckpoint(plain)])
    line = refused([*argv, str(plain)], capsys, monkeypatch)
    assert "is a training checkpoint, but not one of dlfs train --checkpoint" in line


def test_checkpoint_targets_that_cannot_work_exit_2(tmp_path, capsys, monkeypatch):
    line = refused(["mnist", "--checkpoint", str(tmp_path)], capsys, monkeypatch)
    assert line.startswith("argument --checkpoint:") and "is a directory" in line
    same = str(tmp_path / "m.npz")
    line = refused(["mnist", "--checkpoint", same, "--save", same], capsys, monkeypatch)
    assert line == ("argument --checkpoint: the same file as --save (the trained model would "
                    "replace the checkpoint)")


def test_help_lists_the_checkpoint_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--checkpoint PATH" in out and "--resume PATH" in out


# -- the recipes in Python: train(..., callbacks=[SaveCheckpoint], resume=path) ------------------

def recipe_runs():
    """Each recipe module with a small recipe and its training data (no test data)."""
    x, y = (a[:80] for a in fake_mnist()[:2])
    flat = mnist.MnistData(x[:64].reshape(64, -1) / np.float32(255), y[:64],
                           x[64:].reshape(16, -1) / np.float32(255), y[64:])
    images = (x / np.float32(255))[:, None]
    return {
        "mnist": (mnist, mnist.RECIPE.with_(hidden=(8,), epochs=3, batch_size=16), flat),
        "mnist_cnn": (mnist_cnn, mnist_cnn.CnnRecipe(channels=(2, 4), hidden=8, epochs=3,
                                                     batch_size=16, shift=1),
                      ((images[:64], y[:64]), (images[64:], y[64:]))),
        "cats": (cats, cats.CatsConfig(hidden=(8,), pool=16, flip=True, dropout=0.5,
                                       epochs=3, batch_size=8), pictures(30, 3)),
        "cats_cnn": (cats_cnn, cats_cnn.CatsCnnConfig(channels=(4,), pool=4, dropout=0.5,
                                                      shift=1, epochs=3, batch_size=8),
                     pictures(30, 3)),
    }


@pytest.mark.parametrize("name", ["mnist", "mnist_cnn", "cats", "cats_cnn"])
def test_every_recipe_train_resumes_from_a_checkpoint(name, tmp_path):
    module, recipe, data = recipe_runs()[name]
    whole = module.train(recipe, data, seed=3)
    path = tmp_path / "ck.npz"
    stopped = module.train(recipe, data, seed=3,
                           callbacks=[SaveCheckpoint(path), StopAfter(2)])
    assert stopped.history.epochs == 2 and read_checkpoint(path).epoch == 2
    resumed = module.train(recipe, data, seed=3, resume=path)
    for key, array in whole.model.state().items():
        assert np.array_equal(array, resumed.model.state()[key]), key
    assert resumed.history.loss == whole.history.loss
    assert resumed.history.val_loss == whole.history.val_loss
    assert resumed.val_accuracy == whole.val_accuracy
    assert resumed.test_accuracy is None                       # train never tests
    with pytest.raises(ValueError, match="started with seed=3, not 4"):
        module.train(recipe, data, seed=4, resume=path)
