"""dlfs.io, third fault audit and code review: save writes only what load reads (B2, N8),
forged files (N2, N3), --save targets (N5, N6, symlinks), saves in progress elsewhere (N16),
and the questionable cases of parameter files (FIFO, symlink loop, permissions, cast)."""
import fcntl
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dlfs import (Conv2D, Dense, Flatten, ParameterFileError, ReLU, Sequential, load_model,
                  load_params, mlp, save_model)
from dlfs.io import (FORMAT, MAX_LAYERS, MAX_SAMPLE_ELEMENTS, _checksum, check_save_path,
                     sample_size)


def forge(path, record, arrays):
    arch = json.dumps(record, sort_keys=True)
    meta = {"__architecture__": np.array(arch), "__sha256__": np.array(_checksum(arch, arrays))}
    np.savez(path, **arrays, **meta)
    return path


# -- B2 / N8: save_model never writes a file that load_model refuses ---------------------------

def test_an_input_shape_the_model_does_not_take_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"load_model would refuse the file: layer 0: Dense "
                                         r"expects 4 input features per sample, got sample "
                                         r"shape \(5,\)"):
        save_model(mlp([4, 3]), tmp_path / "m.npz", input_shape=(5,))
    with pytest.raises(ValueError, match=r"layer 0: Dense expects 784 input features"):
        save_model(mlp([784, 8, 10]), tmp_path / "m.npz", input_shape=(1, 28, 28))
    assert list(tmp_path.iterdir()) == []
    model = Sequential([Flatten(), Dense(784, 10)])
    assert load_model(save_model(model, tmp_path / "ok.npz",
                                 input_shape=(1, 28, 28))).input_shape == (1, 28, 28)


def test_more_layers_than_a_file_may_hold_are_refused_before_writing(tmp_path):
    layers = [ReLU() for _ in range(MAX_LAYERS + 1)]
    with pytest.raises(ValueError, match=rf"'layers' must be a list of 1 to {MAX_LAYERS}"):
        save_model(Sequential(layers), tmp_path / "deep.npz")
    assert not (tmp_path / "deep.npz").exists()


def test_a_single_layer_is_not_a_model(tmp_path):
    with pytest.raises(TypeError, match=r"saves a Sequential model, got Dense; wrap a single "
                                        r"layer as Sequential\(\[layer\]\)"):
        save_model(Dense(4, 2), tmp_path / "d.npz")


# -- N2: a 5000-digit integer in the JSON ---------------------------------------------------------

def test_a_huge_integer_in_the_architecture_is_a_parameter_file_error(tmp_path):
    arch = '{"format": "%s", "layers": [{"type": "ReLU", "x": %s}]}' % (FORMAT, "1" * 5000)
    path = tmp_path / "big.npz"
    np.savez(path, __architecture__=np.array(arch), __sha256__=np.array(_checksum(arch, {})))
    with pytest.raises(ParameterFileError, match=r"has no valid dlfs architecture record "
                                                 r"\(ValueError: Exceeds the limit"):
        load_model(path)


# -- N3: what a file's geometry makes evaluation allocate ---------------------------------------

def test_the_audits_forged_padding_is_refused_when_loading(tmp_path):
    W, b = np.zeros((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)
    layers = [{"type": "Conv2D", "in_channels": 1, "out_channels": 1, "kernel_size": [1, 1],
               "stride": 1001, "padding": 13500, "init": "he"},
              {"type": "Flatten"}, {"type": "Dense", "n_in": 784, "n_out": 10, "init": "he"}]
    arrays = {"0.W": W, "0.b": b, "2.W": np.zeros((784, 10), np.float32),
              "2.b": np.zeros(10, np.float32)}
    path = forge(tmp_path / "pad.npz", {"format": FORMAT, "layers": layers,
                                        "input_shape": [1, 28, 28]}, arrays)
    with pytest.raises(ParameterFileError, match=r"one sample of shape \(1, 28, 28\) would "
                                                 r"occupy 730,512,784 values in some layer"):
        load_model(path)


def test_sample_size_counts_padding_and_unfolded_patches():
    conv = Sequential([Conv2D(3, 8, 5, padding=2), Flatten()])
    # padded 3*32*32 = 3072; patches 3*5*5 * 28*28 = 58,800; output 8*28*28 = 6272
    assert sample_size(conv, (3, 28, 28)) == 3 * 25 * 28 * 28
    assert sample_size(mlp([784, 512, 10]), (784,)) == 784
    assert sample_size(mlp([4, 3]), (4,)) <= MAX_SAMPLE_ELEMENTS


def test_save_refuses_a_model_whose_file_would_be_refused_for_its_size(tmp_path):
    model = Sequential([Conv2D(1, 1, 1, padding=5000), Flatten()], input_shape=(1, 28, 28))
    with pytest.raises(ValueError, match=r"load_model would refuse the file: one sample"):
        save_model(model, tmp_path / "m.npz")


# -- N5, N6 and symlinks: --save targets ----------------------------------------------------------

def test_a_name_too_long_for_the_temporary_name_is_refused_up_front(tmp_path):
    fits = "m" * 200 + ".npz"
    assert check_save_path(tmp_path / fits) == tmp_path / fits
    with pytest.raises(ValueError, match=r"the file name is 244 bytes; at most 232 fit"):
        check_save_path(tmp_path / ("m" * 240 + ".npz"))
    with pytest.raises(ValueError, match=r"cannot save to .*: (the file name is 304 bytes|"
                                         r"File name too long)"):
        check_save_path(tmp_path / ("m" * 300 + ".npz"))


def test_a_fifo_or_a_device_is_never_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"it exists and is not a regular file \(a named pipe\)"):
        save_model(mlp([2, 3]), fifo)
    with pytest.raises(ValueError, match=r"/dev/null: it exists and is not a regular file "
                                         r"\(a character device\)"):
        check_save_path("/dev/null")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_symlink_to_a_file_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    save_model(mlp([2, 3]), link)
    assert link.is_symlink() and load_model(link).n_params() == 9
    assert load_model(real).n_params() == 9


# -- N16: a save in progress in another container is not deleted -----------------------------

def test_a_locked_temporary_file_is_kept_whatever_its_pid(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    # The pid runs nowhere here (as for a writer in another PID namespace), but it is locked.
    busy = tmp_path / f".m.npz.{gone.pid}.0a1b2c3d.tmp"
    with open(busy, "wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        save_model(mlp([2, 3]), tmp_path / "m.npz")
        assert busy.exists()
    save_model(mlp([2, 3]), tmp_path / "m.npz")            # unlocked now: a killed save's
    assert not busy.exists()


# -- questionable parameter-file cases, decided ---------------------------------------------------

def test_a_fifo_as_parameter_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "p.npz"
    os.mkfifo(fifo)
    with pytest.raises(ParameterFileError, match=r"p\.npz is not a regular file"):
        load_model(fifo)


def test_a_symlink_loop_and_a_broken_link_are_named(tmp_path):
    loop = tmp_path / "loop.npz"
    loop.symlink_to(loop)
    with pytest.raises(ParameterFileError, match=r"cannot read parameter file .*loop\.npz: "
                                                 r"Too many levels of symbolic links"):
        load_model(loop)
    broken = tmp_path / "broken.npz"
    broken.symlink_to(tmp_path / "nowhere.npz")
    with pytest.raises(ParameterFileError, match=r"broken\.npz is a broken symbolic link"):
        load_model(broken)


def test_an_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    path = save_model(mlp([2, 3]), tmp_path / "m.npz")
    monkeypatch.setattr(os, "access", lambda p, mode: False)     # as a non-root user would
    with pytest.raises(ParameterFileError, match=r"cannot read parameter file .*m\.npz: "
                                                 r"permission denied"):
        load_model(path)


def test_cast_must_be_a_bool_and_must_not_overflow(tmp_path):
    path = save_model(mlp([2, 3], dtype=np.float64), tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"cast must be True or False, got 'no'"):
        load_params(mlp([2, 3]), path, cast="no")
    big = mlp([2, 3], dtype=np.float64)
    big.layers[0].params["W"][0, 0] = 1e300
    path = save_model(big, tmp_path / "big.npz")
    model = mlp([2, 3])
    before = model.layers[0].params["W"].copy()
    with pytest.raises(ParameterFileError, match=r"values too large for float32"):
        load_params(model, path, cast=True)
    np.testing.assert_array_equal(model.layers[0].params["W"], before)
