"""The dlfs command end to end on data: train, save, evaluate, and data errors.

With ``$DLFS_DATA_MIRROR`` set (CI) these run on the real MNIST and cat files
(a subset, to stay quick); otherwise on the tiny files of conftest.py.
"""
import json

import pytest

from dlfs.cli import main
from dlfs.data import fetch


@pytest.fixture
def data_env(monkeypatch, tmp_path, use_case):
    """Point the loaders at a case's mirror, with a fresh cache under tmp_path."""
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    return use_case


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_train_save_and_evaluate_mnist(data_env, mnist_case, tmp_path, capsys):
    data_env(mnist_case)
    params = tmp_path / "mnist.npz"
    argv = ["train", "mnist", "--hidden", "64", "--epochs", "2", "--limit", "3000",
            "--shift", "0", "--val-fraction", "0.25", "--seed", "3", "--json", "--quiet", "--save", str(params)]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert out.err == ""                                  # --quiet: nothing but the JSON
    result = last_json(out.out)
    assert result["epochs"] == 2 and result["train_seconds"] > 0
    if mnist_case.real:                                   # 2 epochs on 2,250 digits
        assert result["test_accuracy"] > 0.8

    assert main(["evaluate", "mnist", "--params", str(params), "--json"]) == 0
    evaluated = last_json(capsys.readouterr().out)
    assert evaluated["test_accuracy"] == result["test_accuracy"]

    assert main(argv) == 0                                # same seed, same result
    assert last_json(capsys.readouterr().out)["test_accuracy"] == result["test_accuracy"]


def test_parameters_of_another_dataset_are_refused(data_env, mnist_case, cats_case,
                                                   tmp_path, capsys):
    data_env(mnist_case)
    params = tmp_path / "mnist.npz"
    assert main(["train", "mnist", "--hidden", "8", "--epochs", "1", "--limit", "200",
                 "--val-fraction", "0.25", "--quiet", "--save", str(params)]) == 0
    capsys.readouterr()
    data_env(cats_case)
    assert main(["evaluate", "cats", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert "mnist.npz was not trained on cats" in err and "784 inputs to 10 outputs" in err


def test_train_cats_reports_progress_unless_quiet(data_env, cats_case, capsys):
    data_env(cats_case)
    assert main(["train", "cats", "--hidden", "7", "--epochs", "3", "--json"]) == 0
    out = capsys.readouterr()
    result = last_json(out.out)
    assert result["epochs"] == 3 and result["recipe"]["hidden"] == [7]
    assert "total" in out.err                             # the model summary
    assert len([line for line in out.err.splitlines() if line.split()[:1] in
                (["1"], ["2"], ["3"])]) >= 3              # one line per epoch


def test_missing_dataset_is_an_error_naming_the_file(data_env, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv(fetch.MIRROR_ENV, str(empty))
    assert main(["train", "cats", "--epochs", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    message = err[err.index("dlfs: error:"):]            # after any "downloading" lines
    assert "train_catvnoncat.h5" in message and "DLFS_DATA_MIRROR" in message
