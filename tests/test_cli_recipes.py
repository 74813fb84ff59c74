"""The dlfs command runs recipes with the options on top (B8, B9, B20, N1), refuses what does
not apply, and loses nothing and shows no traceback whatever happens (N4-N7, N17), on
synthetic data (no dataset files needed)."""
import json
import os

import numpy as np
import pytest
from test_cli_faults import exits_2, namespace

from dlfs import Conv2D, Dense, Flatten, Sequential, cli, save_model
from dlfs.cli import build_parser, main
from dlfs.data import datasets
from dlfs.recipes import cats, cats_cnn, mnist, mnist_cnn


@pytest.fixture
def fake_data(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", namespace["fake_load_dataset"])


def recipe_for(*argv):
    args = build_parser().parse_args(["train", *argv])
    return cli._recipe_from_options(args)


# -- B8: options change the recipe's fields, never the model --------------------------------------

def test_cats_options_apply_on_top_of_the_recipe():
    module, recipe = recipe_for("cats", "--epochs", "100")
    assert module is cats and recipe == cats.RECIPE            # the recipe's own value
    _, recipe = recipe_for("cats", "--epochs", "3", "--hidden", "20,7,5", "--lr", "1e-4")
    assert recipe == cats.RECIPE.with_(epochs=3, hidden=(20, 7, 5), lr=1e-4)
    assert recipe.pool == cats.RECIPE.pool and recipe.flip == cats.RECIPE.flip


def test_mnist_and_cnn_options_apply_on_top_of_their_recipes():
    module, recipe = recipe_for("mnist", "--epochs", "2", "--shift", "0", "--batchnorm")
    assert module is mnist and recipe == mnist.RECIPE.with_(epochs=2, shift=0, batchnorm=True)
    module, recipe = recipe_for("mnist", "--model", "cnn", "--hidden", "64", "--val-fraction",
                                "0.2", "--lr-decay", "0")
    assert module is mnist_cnn
    assert recipe == mnist_cnn.RECIPE.with_(hidden=64, val_fraction=0.2, lr_decay=0.0)


# -- B20, N1 and the first questionable group: options a recipe does not have ---------------------

@pytest.mark.parametrize("argv, option, recipe", [
    (["mnist", "--model", "cnn", "--optimizer", "sgd"], "--optimizer", "mnist cnn"),
    (["mnist", "--model", "cnn", "--dropout", "0.5"], "--dropout", "mnist cnn"),
    (["mnist", "--model", "cnn", "--weight-decay", "0.1"], "--weight-decay", "mnist cnn"),
    (["mnist", "--model", "cnn", "--shift", "2"], "--shift", "mnist cnn"),
    (["mnist", "--model", "cnn", "--batchnorm"], "--batchnorm", "mnist cnn"),
    (["mnist", "--model", "cnn", "--patience", "2"], "--patience", "mnist cnn"),
    (["mnist", "--model", "cnn", "--activation", "tanh"], "--activation", "mnist cnn"),
    (["cats", "--lr-decay", "0.1"], "--lr-decay", "cats"),
    (["cats", "--activation", "tanh"], "--activation", "cats"),
])
def test_an_option_the_recipe_does_not_have_exits_2(argv, option, recipe, capsys, monkeypatch):
    err = exits_2(["train", *argv], capsys, monkeypatch)
    assert f"argument {option}: does not apply to the {recipe} recipe" in err


def test_the_cnn_checks_its_own_split_and_a_single_hidden_size(capsys, monkeypatch):
    err = exits_2(["train", "mnist", "--model", "cnn", "--limit", "6"], capsys, monkeypatch)
    assert "the mnist cnn recipe with --val-fraction 0.0833333 --batch-size 128" in err
    assert "of 6 samples leaves no validation samples" in err and "0.1" not in err
    err = exits_2(["train", "mnist", "--model", "cnn", "--hidden", "64,32"], capsys,
                  monkeypatch)
    assert "the mnist cnn recipe has one hidden layer; give one size" in err
    err = exits_2(["train", "cats", "--model", "cnn", "--hidden", "64,32"], capsys,
                  monkeypatch)
    assert "the cats cnn recipe has one hidden layer; give one size" in err


def test_cats_cnn_options_apply_on_top_of_its_recipe():
    module, recipe = recipe_for("cats", "--model", "cnn")
    assert module is cats_cnn and recipe == cats_cnn.RECIPE
    _, recipe = recipe_for("cats", "--model", "cnn", "--epochs", "3", "--shift", "1",
                           "--dropout", "0.25")
    assert recipe == cats_cnn.RECIPE.with_(epochs=3, shift=1, dropout=0.25)


# -- B9: the checks read the recipe and the manifests ----------------------------------------------

def test_the_pre_checks_use_the_recipes_batch_size_and_the_manifests_sizes(capsys, monkeypatch):
    assert datasets.train_size("mnist") == 60_000 and datasets.train_size("cats") == 209
    monkeypatch.setattr(mnist, "RECIPE", mnist.RECIPE.with_(batch_size=7))
    err = exits_2(["train", "mnist", "--limit", "10", "--val-fraction", "0.5", "--drop-last"],
                  capsys, monkeypatch)
    assert "--batch-size 7 --limit 10: drop_last with batch_size=7 leaves no batch" in err


def test_a_limit_beyond_int64_is_clamped_to_the_dataset(capsys, monkeypatch):
    err = exits_2(["train", "mnist", "--limit", str(10**30), "--val-fraction", "0.9999999"],
                  capsys, monkeypatch)
    assert "of 60000 samples leaves no training samples" in err
    assert build_parser().parse_args(["train", "mnist", "--seed", str(10**25)]).seed == 10**25


# -- B5 through the CLI --------------------------------------------------------------------------

def test_adamw_without_weight_decay_decays_with_adamws_default():
    assert recipe_for("mnist", "--optimizer", "adamw")[1].weight_decay == 0.01
    assert recipe_for("mnist", "--optimizer", "adamw", "--weight-decay", "0")[1].weight_decay == 0
    assert recipe_for("mnist", "--optimizer", "adam")[1].weight_decay == 0


def test_a_decay_that_zeroes_the_weights_and_a_rate_that_underflows_exit_2(capsys,
                                                                           monkeypatch):
    err = exits_2(["train", "mnist", "--optimizer", "adamw", "--weight-decay", "1000"], capsys,
                  monkeypatch)
    assert "lr * weight_decay must be < 1" in err
    err = exits_2(["train", "mnist", "--lr-decay", "1000"], capsys, monkeypatch)
    assert "--lr-decay 1000: the schedule gives learning rate 0.0 for epoch 2" in err


# -- N5, N6, N7: --save targets, --shift, memory ---------------------------------------------------

def test_save_targets_that_cannot_work_exit_2_before_loading(tmp_path, capsys, monkeypatch):
    err = exits_2(["train", "mnist", "--save", str(tmp_path / ("m" * 300 + ".npz"))], capsys,
                  monkeypatch)
    assert "argument --save: cannot save to" in err
    err = exits_2(["train", "mnist", "--save", str(tmp_path / ("m" * 240 + ".npz"))], capsys,
                  monkeypatch)
    assert "the file name is 244 bytes; at most 232 fit" in err
    err = exits_2(["train", "mnist", "--save", "/dev/null"], capsys, monkeypatch)
    assert "it exists and is not a regular file (a character device)" in err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    err = exits_2(["train", "cats", "--save", str(fifo)], capsys, monkeypatch)
    assert "(a named pipe)" in err


def test_a_shift_that_moves_digits_out_of_the_picture_exits_2(capsys, monkeypatch):
    err = exits_2(["train", "mnist", "--shift", "28"], capsys, monkeypatch)
    assert "argument --shift: must be at most 27" in err


def test_running_out_of_memory_is_one_line(fake_data, capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 298. GiB for an array with shape (200000, 200000)")
    monkeypatch.setattr(mnist, "train", too_big)
    assert main(["train", "mnist", "--hidden", "200000,200000", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == ("dlfs: error: out of memory (Unable to allocate 298. GiB for an array with "
                   "shape (200000, 200000)); reduce --batch-size, --hidden, --limit\n")


# -- N4: nothing is lost when the save fails after training -------------------------------------

def test_a_save_that_fails_after_training_writes_beside_the_target(fake_data, tmp_path, capsys,
                                                                  monkeypatch):
    target = tmp_path / "m.npz"
    real_save = cli.save_model

    def refuse_the_target(model, path, **kwargs):
        if str(path) == str(target):
            raise OSError(28, "No space left on device", str(target))
        return real_save(model, path, **kwargs)
    monkeypatch.setattr(cli, "save_model", refuse_the_target)
    code = main(["train", "mnist", "--epochs", "1", "--quiet", "--json", "--save", str(target)])
    out, err = capsys.readouterr()
    fallback = tmp_path / f"m.{os.getpid()}.npz"
    assert code == 1 and fallback.exists() and not target.exists()
    assert err == (f"dlfs: error: could not save the trained parameters to {target}: No space "
                   f"left on device: {target}; saved them to {fallback} instead\n")
    assert json.loads(out)["saved"] == str(fallback)           # the results are still shown


# -- N17: closed standard streams ------------------------------------------------------------------

def test_closed_stdout_and_stderr_are_not_a_traceback(fake_data, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.setattr("sys.stderr", None)
    assert main(["train", "mnist", "--epochs", "1", "--json", "--shift", "0"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and json.loads(out)["epochs"] == 1   # only the JSON

    images = np.random.default_rng(0).random((20, 28, 28)).astype(np.float32)
    monkeypatch.setattr(datasets, "load_test_set", lambda name: (images, np.arange(20) % 10, 10))
    path = save_model(Sequential([Flatten(), Dense(784, 10)]), tmp_path / "m.npz",
                      input_shape=(28, 28))
    monkeypatch.setattr("sys.stdout", None)
    assert main(["evaluate", "mnist", "--params", str(path)]) == 0


# -- evaluate: forged geometry (N3) and a file that does not say what it takes (M15) --------------

def test_evaluate_refuses_the_audits_forged_padding_in_one_line(tmp_path, capsys):
    from test_io_round2 import forge

    from dlfs.io import FORMAT

    layers = [{"type": "Conv2D", "in_channels": 1, "out_channels": 1, "kernel_size": [1, 1],
               "stride": 1001, "padding": 13500, "init": "he"},
              {"type": "Flatten"}, {"type": "Dense", "n_in": 784, "n_out": 10, "init": "he"}]
    arrays = {"0.W": np.zeros((1, 1, 1, 1), np.float32), "0.b": np.zeros(1, np.float32),
              "2.W": np.zeros((784, 10), np.float32), "2.b": np.zeros(10, np.float32)}
    path = forge(tmp_path / "pad.npz", {"format": FORMAT, "layers": layers,
                                        "input_shape": [1, 28, 28]}, arrays)
    assert main(["evaluate", "mnist", "--params", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dlfs: error: ") and len(err.splitlines()) == 1
    assert "would occupy 730,512,784 values in some layer" in err


def test_a_file_without_an_input_shape_is_described_as_such(tmp_path, capsys, monkeypatch):
    images = np.zeros((5, 28, 28), np.float32)
    monkeypatch.setattr(datasets, "load_test_set", lambda name: (images, np.arange(5), 10))
    path = save_model(Sequential([Flatten(), Dense(784, 10)]), tmp_path / "m.npz")
    assert main(["evaluate", "mnist", "--params", str(path)]) == 1
    assert "the model records no input shape and does not start with a Dense layer" in \
        capsys.readouterr().err


def test_more_hidden_layers_than_a_file_holds_exit_2_when_saving(tmp_path, capsys, monkeypatch):
    hidden = ",".join(["1"] * 5001)
    err = exits_2(["train", "mnist", "--hidden", hidden, "--save", str(tmp_path / "d.npz")],
                  capsys, monkeypatch)
    assert "5001 hidden layers make 10003 layers; a parameter file holds at most 10000" in err


def test_even_a_bug_is_one_line_unless_debugging(fake_data, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("surprise")
    monkeypatch.setattr(mnist, "train", broken)
    assert main(["train", "mnist", "--quiet"]) == 1
    assert capsys.readouterr().err == ("dlfs: internal error: KeyError: 'surprise' (please "
                                       "report it; DLFS_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("DLFS_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["train", "mnist", "--quiet"])
