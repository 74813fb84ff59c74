"""The dlfs command: its contract (options, exit codes, --json) and its results."""
import json
import re
import subprocess
import sys

import pytest

from dlfs.cli import main


def run_cli(*args, env=None):
    """Run ``python -m dlfs`` in a subprocess, as a reader would run ``dlfs``."""
    return subprocess.run([sys.executable, "-m", "dlfs", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.parametrize("argv, message", [
    (["train"], "the following arguments are required: dataset"),
    (["train", "imagenet"], r"invalid choice: 'imagenet'"),
    (["train", "mnist", "--lr", "-1"], "argument --lr: must be > 0"),
    (["train", "mnist", "--epochs", "0"], "argument --epochs: must be > 0"),
    (["train", "mnist", "--epochs", "two"], "argument --epochs: invalid int value"),
    (["train", "mnist", "--hidden", "64,x"], "argument --hidden: expected comma-separated"),
    (["train", "mnist", "--hidden", "64,-3"], "argument --hidden: layer sizes must be positive"),
    (["train", "mnist", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
    (["train", "mnist", "--activation", "swish"], "argument --activation: invalid choice"),
    (["train", "mnist", "--dropout", "1"], r"argument --dropout: must be in \[0, 1\)"),
    (["train", "mnist", "--val-fraction", "1.5"], r"argument --val-fraction: must be in \(0, 1\)"),
    (["train", "mnist", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["evaluate", "mnist"], "the following arguments are required: --params"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_options_exit_2_with_an_argparse_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dlfs")
    assert re.search(message, err), err


def test_help_lists_every_training_option():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    for option in ("--hidden", "--activation", "--epochs", "--batch-size", "--lr", "--optimizer",
                   "--weight-decay", "--dropout", "--batchnorm", "--patience", "--seed",
                   "--save", "--quiet", "--json"):
        assert option in result.stdout


def test_evaluate_reports_a_missing_parameter_file(tmp_path, capsys):
    code = main(["evaluate", "cats", "--params", str(tmp_path / "nothing.npz")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("dlfs: error:") and "nothing.npz" in err
