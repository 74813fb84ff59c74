"""The dlfs command under bad options and faults (issue 6, defects 1, 2, 11, 12, 13, 14, 17),
on synthetic data so that no dataset file is needed."""
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dlfs import cli
from dlfs.cli import main
from dlfs.data import datasets
from dlfs.data.transforms import split_sizes

FAKE_DATA = textwrap.dedent('''
    import numpy as np
    from dlfs import cli
    from dlfs.data import datasets
    from dlfs.data.transforms import split_sizes

    def fake_load_dataset(name, *, seed, val_fraction, limit):
        """Separable blobs with the dataset's feature count; sizes as the real split gives."""
        rng = np.random.default_rng(seed)
        n = min(limit or 300, 300)
        n_train, _ = split_sizes(n, val_fraction)
        n_classes = 10 if name == "mnist" else 2
        def make(m):
            y = rng.integers(0, n_classes, m)
            X = 0.1 * rng.standard_normal((m, 784)).astype(np.float32)
            X[np.arange(m), y] += 1
            return X, y
        return make(n_train), make(n - n_train), make(50), n_classes
''')
namespace = {}
exec(FAKE_DATA, namespace)                                    # noqa: S102


@pytest.fixture
def fake_data(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", namespace["fake_load_dataset"])


def no_data(*args, **kwargs):
    raise AssertionError("options must be checked before any data is loaded")


def exits_2(argv, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", no_data)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dlfs") and "Traceback" not in err
    return err


# -- defect 12: every option checked by the parser, with the library's checks ------------------

@pytest.mark.parametrize("argv, message", [
    (["--lr", "inf"], r"argument --lr: must be > 0, got inf"),
    (["--lr", "nan"], r"argument --lr: must be > 0, got nan"),
    (["--seed", "-1"], r"argument --seed: must be >= 0, got -1"),
    (["--weight-decay", "-1"], r"argument --weight-decay: must be >= 0, got -1\.0"),
    (["--weight-decay", "nan"], r"argument --weight-decay: must be >= 0, got nan"),
    (["--dropout", "nan"], r"argument --dropout: must be >= 0, got nan"),
    (["--limit", "1"], r"the mnist recipe with --val-fraction 0\.1 --batch-size 128 --limit 1: "
                       r"val_fraction=0\.1 of 1 samples leaves no validation samples"),
    (["--val-fraction", "0.9999", "--limit", "500"],
     r"val_fraction=0\.9999 of 500 samples leaves no training samples"),
    (["--batch-size", "1", "--batchnorm"],
     r"batch_size=1 is too small \(BatchNorm needs at least 2 samples per batch\)"),
    (["--limit", "3", "--val-fraction", "0.5", "--batchnorm"],
     r"1 training sample is too few \(BatchNorm"),
    (["--limit", "100", "--batch-size", "200", "--drop-last"], r"leaves no batch"),
])
def test_options_the_library_would_reject_exit_2_before_loading(argv, message, capsys,
                                                               monkeypatch):
    err = exits_2(["train", "mnist", *argv], capsys, monkeypatch)
    assert re.search(message, err), err


def test_options_the_cats_recipe_does_not_have_exit_2(capsys, monkeypatch):
    for option in (["--shift", "2"], ["--val-fraction", "0.5"], ["--batchnorm"]):
        err = exits_2(["train", "cats", *option], capsys, monkeypatch)
        assert f"argument {option[0]}: does not apply to the cats recipe (its options: " in err


# -- defect 2: a bad --save path is found before training --------------------------------------

def test_a_bad_save_path_exits_2_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    err = exits_2(["train", "mnist", "--save", str(tmp_path)], capsys, monkeypatch)
    assert "argument --save: " in err and "is a directory" in err
    err = exits_2(["train", "mnist", "--save", str(tmp_path / "file" / "m.npz")], capsys,
                  monkeypatch)
    assert "is a file, not a directory" in err


# -- defect 1: BatchNorm and a last batch of one sample -----------------------------------------

def test_batchnorm_with_one_leftover_sample_trains(fake_data, tmp_path, capsys):
    # 143 samples, 10 % held out: 129 = 128 + 1 training samples, as in the issue.
    assert split_sizes(143, 0.1) == (129, 14)
    assert main(["train", "mnist", "--batchnorm", "--limit", "143", "--epochs", "1",
                 "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out


# -- defect 11: divergence -------------------------------------------------------------------

def test_divergence_exits_1_with_one_line_naming_the_learning_rate(fake_data, capsys):
    code = main(["train", "mnist", "--lr", "1e6", "--optimizer", "sgd", "--epochs", "5",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("dlfs: error: training diverged in epoch ")
    assert "learning rate 1e+06; try a smaller learning rate, e.g. 100000" in err


# -- defect 13: Ctrl-C -------------------------------------------------------------------------

def test_ctrl_c_says_where_it_stopped_saves_nothing_and_exits_130(fake_data, tmp_path,
                                                                  capsys, monkeypatch):
    import dlfs.train

    real_step, calls = dlfs.train.step, []

    def interrupt_on_the_eighth_batch(*args):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return real_step(*args)
    monkeypatch.setattr(dlfs.train, "step", interrupt_on_the_eighth_batch)
    # 270 training samples in batches of 128: 3 steps per epoch, so step 8 is in epoch 3.
    save = tmp_path / "m.npz"
    code = main(["train", "mnist", "--epochs", "5", "--quiet", "--save", str(save)])
    err = capsys.readouterr().err
    assert code == 130
    assert err == "dlfs: interrupted in epoch 3 of 5; nothing was saved\n"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_loading_data(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(datasets, "load_dataset", interrupted)
    assert main(["train", "mnist"]) == 130
    assert capsys.readouterr().err == "dlfs: interrupted; nothing was saved\n"


# -- defect 14: a closed output pipe --------------------------------------------------------------

def test_json_into_a_closed_pipe_ends_quietly():
    code = FAKE_DATA + textwrap.dedent('''
        import sys, time
        datasets.load_dataset = fake_load_dataset
        time.sleep(0.5)              # the reader below has closed the pipe by now
        sys.exit(cli.main(["train", "mnist", "--epochs", "1", "--quiet", "--json"]))
    ''')
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception" not in err


# -- defect 17: a directory as --params -----------------------------------------------------

def test_a_directory_as_params_is_named_as_such(tmp_path, capsys):
    assert main(["evaluate", "mnist", "--params", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dlfs: error:") and "is a directory, not a parameter file" in err
    assert "does not exist" not in err


# -- the input shape: the CLI no longer assumes Dense layers at both ends ----------------------

def test_evaluate_feeds_the_recorded_input_shape(tmp_path, capsys, monkeypatch):
    from dlfs import Dense, Flatten, Sequential, save_model

    images = np.random.default_rng(0).random((30, 28, 28)).astype(np.float32)
    labels = np.arange(30) % 10
    monkeypatch.setattr(datasets, "load_test_set", lambda name: (images, labels, 10))
    model = Sequential([Flatten(), Dense(784, 10, rng=np.random.default_rng(0))])
    path = save_model(model, tmp_path / "flat.npz", input_shape=(1, 28, 28))   # NCHW input
    assert main(["evaluate", "mnist", "--params", str(path), "--json"]) == 0
    assert '"test_accuracy"' in capsys.readouterr().out
    assert datasets.arrange_inputs(images, (1, 28, 28)).shape == (30, 1, 28, 28)
    rgb = np.zeros((2, 64, 64, 3), np.float32)
    rgb[..., 2] = 1
    nchw = datasets.arrange_inputs(rgb, (3, 64, 64))
    assert nchw.shape == (2, 3, 64, 64) and nchw[:, 2].min() == 1 and nchw[:, :2].max() == 0
    assert datasets.arrange_inputs(rgb, (12288,)).shape == (2, 12288)
    assert datasets.arrange_inputs(rgb, (5, 5)) is None


def test_a_real_sigint_during_training(tmp_path):
    code = FAKE_DATA + textwrap.dedent(f'''
        import sys
        datasets.load_dataset = fake_load_dataset
        sys.exit(cli.main(["train", "mnist", "--epochs", "1000000", "--lr-decay", "0",
                           "--save", {str(tmp_path / "m.npz")!r}]))
    ''')
    import signal

    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as in a terminal
    with process.stdout, process.stderr:
        for line in process.stderr:                  # the recipe line: training starts now
            if line.startswith("mnist recipe:"):
                break
        time.sleep(1.0)                              # well into the epochs
        process.send_signal(signal.SIGINT)
        err = process.stderr.read()
        out = process.stdout.read()
    assert process.wait(timeout=120) == 130
    assert re.fullmatch(r"dlfs: interrupted in epoch \d+ of 1000000; nothing was saved\n", err)
    assert out == "" and list(tmp_path.iterdir()) == []


def test_a_save_path_that_goes_bad_during_training_is_one_line(fake_data, tmp_path, capsys,
                                                              monkeypatch):
    import dlfs.io

    target = tmp_path / "m.npz"
    real_save = cli.save_model

    def save_after_the_folder_vanished(model, path, **kwargs):
        target.mkdir()                                   # someone made it a directory meanwhile
        return real_save(model, path, **kwargs)
    monkeypatch.setattr(cli, "save_model", save_after_the_folder_vanished)
    assert main(["train", "mnist", "--epochs", "1", "--quiet", "--save", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dlfs: error: could not save the trained parameters to ")
    assert "is a directory" in err and len(err.splitlines()) == 1
    assert dlfs.io.save_model is real_save
