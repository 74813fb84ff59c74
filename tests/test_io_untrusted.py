"""dlfs.io with crafted and mismatched files, and the files it writes (issue 6, defects 2, 3,
8, 17, 20, 21; the input shape recorded in the file)."""
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from dlfs import (Dense, Dropout, LeakyReLU, ParameterFileError, ReLU, Sequential, load_model,
                  load_params, mlp, save_model)
from dlfs.io import FORMAT, _checksum, check_save_path


def forge(path, layers, arrays, *, record=None, compress=False):
    """Write a parameter file with a *valid* checksum, as anyone can: the checksum is unkeyed."""
    arch = json.dumps({"format": FORMAT, "layers": layers} if record is None else record,
                      sort_keys=True)
    meta = {"__architecture__": np.array(arch), "__sha256__": np.array(_checksum(arch, arrays))}
    (np.savez_compressed if compress else np.savez)(path, **arrays, **meta)
    return path


def small_arrays(dtype=np.float32):
    return {"0.W": np.ones((2, 8), dtype), "0.b": np.zeros(8, dtype)}


# -- defect 3: crafted files ------------------------------------------------------------------

def test_a_forged_checksum_is_accepted_which_is_why_the_contents_are_validated(tmp_path):
    path = forge(tmp_path / "forged.npz", [{"type": "Dense", "n_in": 2, "n_out": 8}],
                 small_arrays())
    model = load_model(path)                   # the checksum proves nothing about the author
    assert model.layers[0].params["W"].sum() == 16


def test_a_huge_declared_layer_is_refused_before_anything_is_allocated(tmp_path):
    path = forge(tmp_path / "evil.npz", [{"type": "Dense", "n_in": 3000, "n_out": 3000}],
                 small_arrays())
    tracemalloc.start()
    try:
        with pytest.raises(ParameterFileError, match=r"evil\.npz: layer 0 \(Dense\) declares "
                                                     r"arrays \{W: \(3000, 3000\), b: \(3000,\)\} "
                                                     r"but the file stores \{W: \(2, 8\), b: "
                                                     r"\(8,\)\}"):
            load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000                    # a 3000 x 3000 float32 W alone is 36 MB


def test_the_issues_149_gib_file_is_refused_at_once(tmp_path):
    path = forge(tmp_path / "evil.npz", [{"type": "Dense", "n_in": 200_000, "n_out": 200_000}],
                 small_arrays())
    assert path.stat().st_size < 3000
    with pytest.raises(ParameterFileError, match=r"declares arrays \{W: \(200000, 200000\)"):
        load_model(path)


def test_parameter_shapes_follow_from_the_configuration_without_building():
    from dlfs.io import _expected_shapes

    assert _expected_shapes("Dense", {"n_in": 3, "n_out": 5}) == {"W": (3, 5), "b": (5,)}
    assert _expected_shapes("BatchNorm", {"n_features": 4})["running_var"] == (4,)
    conv = {"in_channels": 3, "out_channels": 8, "kernel_size": [5, 3]}
    assert _expected_shapes("Conv2D", conv) == {"W": (8, 3, 5, 3), "b": (8,)}
    assert _expected_shapes("Conv2D", {**conv, "kernel_size": 3})["W"] == (8, 3, 3, 3)
    with pytest.raises(ValueError, match="kernel_size must be > 0, got 0"):
        _expected_shapes("Conv2D", {**conv, "kernel_size": [3, 0]})
    assert _expected_shapes("ReLU", {}) == {}                     # declared: no arrays


@pytest.mark.parametrize("record, message", [
    ([{"type": "Dense"}], r"the architecture record must be a JSON object, got list"),
    ({"format": FORMAT}, r"'layers' must be a list of 1 to \d+ layer descriptions, got None"),
    ({"format": FORMAT, "layers": {}}, r"'layers' must be a list"),
    ({"format": FORMAT, "layers": []}, r"'layers' must be a list"),
    ({"format": FORMAT, "layers": ["Dense"]}, r"layer 0 must be a JSON object, got 'Dense'"),
    ({"format": FORMAT, "layers": [{"n_in": 2}]}, r"layer 0 has unknown type None; known types"),
    ({"format": FORMAT, "layers": [{"type": "Evil"}]}, r"layer 0 has unknown type 'Evil'"),
    ({"format": FORMAT, "layers": [{"type": ["Dense"]}]}, r"layer 0 has unknown type \['Dense'\]"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": "2", "n_out": 8}]},
     r"layer 0 \(Dense\): bad configuration .*n_in must be a positive integer, got '2'"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2.0, "n_out": 8}]},
     r"n_in must be a positive integer, got 2\.0"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8, "init": "evil"}]},
     r"evil"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8, "extra": 1}]},
     r"extra"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8},
                                   {"type": "LeakyReLU", "alpha": "x"}]}, r"layer 1"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8},
                                   {"type": "Dropout", "p": 2}]}, r"layer 1"),
    ({"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8}],
      "input_shape": [0]}, r"input_shape must be a list of 1 to 32 positive integers"),
])
def test_a_malformed_architecture_is_a_parameter_file_error(tmp_path, record, message):
    path = forge(tmp_path / "bad.npz", None, small_arrays(), record=record)
    with pytest.raises(ParameterFileError, match=message):
        load_model(path)


@pytest.mark.parametrize("array, message", [
    (np.ones((2, 8), np.int64), r"parameter '0\.W' has dtype int64; parameters must be "
                                r"float32 or float64"),
    (np.ones((2, 8), np.complex64), r"has dtype complex64"),
    (np.ones((2, 8), np.float16), r"has dtype float16"),
    (np.full((2, 8), np.nan, np.float32), r"parameter '0\.W' contains NaN or infinity"),
    (np.full((2, 8), np.inf, np.float32), r"contains NaN or infinity"),
])
def test_non_float_and_non_finite_arrays_are_refused(tmp_path, array, message):
    arrays = {**small_arrays(), "0.W": array}
    path = forge(tmp_path / "bad.npz", [{"type": "Dense", "n_in": 2, "n_out": 8}], arrays)
    with pytest.raises(ParameterFileError, match=message):
        load_model(path)
    with pytest.raises(ParameterFileError, match=message):
        load_params(mlp([2, 8]), path)


def test_mixed_dtypes_and_stray_arrays_are_refused(tmp_path):
    layers = [{"type": "Dense", "n_in": 2, "n_out": 8}]
    mixed = forge(tmp_path / "mixed.npz", layers, {**small_arrays(), "0.b": np.zeros(8)})
    with pytest.raises(ParameterFileError, match=r"mixes dtypes \['float32', 'float64'\]"):
        load_model(mixed)
    stray = forge(tmp_path / "stray.npz", layers, {**small_arrays(), "7.W": np.zeros(2)})
    with pytest.raises(ParameterFileError, match=r"array '7\.W' belongs to no layer"):
        load_model(stray)


def test_a_compressed_archive_is_refused_before_it_is_decompressed(tmp_path):
    # A deflated member can expand a thousandfold: a zip bomb.  save_model never compresses.
    path = forge(tmp_path / "zipped.npz", [{"type": "Dense", "n_in": 2, "n_out": 8}],
                 small_arrays(), compress=True)
    with pytest.raises(ParameterFileError, match=r"array '.*' is compressed"):
        load_model(path)


def test_an_array_header_larger_than_its_data_is_refused(tmp_path):
    path = forge(tmp_path / "m.npz", [{"type": "Dense", "n_in": 2, "n_out": 8}], small_arrays())
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["0.W.npy"] = members["0.W.npy"].replace(b"(2, 8)", b"(9, 9)", 1)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ParameterFileError, match=r"array '0\.W' declares shape \(9, 9\)"):
        load_model(path)


def test_the_docs_say_what_the_checksum_does_not_protect_against():
    import dlfs.io

    doc = " ".join(dlfs.io.__doc__.split())
    assert "not a signature" in doc
    assert "anyone who edits a file on purpose can recompute it" in doc


# -- defect 8: full configuration and dtype -------------------------------------------------

@pytest.mark.parametrize("saved_layer, model_layer, message", [
    (LeakyReLU(0.3), LeakyReLU(0.01), r"layer 1 \(LeakyReLU\) is configured differently in "
                                      r".*m\.npz: alpha=0\.3 in the file, 0\.01 in the model"),
    (Dropout(0.5), Dropout(0.1), r"layer 1 \(Dropout\) .*: p=0\.5 in the file, 0\.1 in the model"),
])
def test_load_params_compares_the_full_configuration(tmp_path, saved_layer, model_layer, message):
    rng = np.random.default_rng(0)
    path = save_model(Sequential([Dense(2, 4, rng=rng), saved_layer, Dense(4, 3, rng=rng)]),
                      tmp_path / "m.npz")
    with pytest.raises(ParameterFileError, match=message):
        load_params(Sequential([Dense(2, 4), model_layer, Dense(4, 3)]), path)


def test_the_initialiser_name_does_not_matter_for_trained_parameters(tmp_path):
    saved = Sequential([Dense(2, 4, init="he", rng=np.random.default_rng(0))])
    path = save_model(saved, tmp_path / "m.npz")
    other = Sequential([Dense(2, 4, init="xavier_uniform", rng=np.random.default_rng(1))])
    assert not np.array_equal(other.layers[0].params["W"], saved.layers[0].params["W"])
    load_params(other, path)
    np.testing.assert_array_equal(other.layers[0].params["W"], saved.layers[0].params["W"])


def test_a_dtype_mismatch_is_refused_unless_cast_is_asked_for(tmp_path):
    model64 = mlp([2, 4, 3], dtype=np.float64, rng=np.random.default_rng(0))
    path = save_model(model64, tmp_path / "m64.npz")
    model32 = mlp([2, 4, 3])
    before = model32.layers[0].params["W"].copy()
    with pytest.raises(ParameterFileError, match=r"parameter '0\.W': file .*m64\.npz holds "
                                                 r"float64, the model is float32; pass "
                                                 r"cast=True to convert"):
        load_params(model32, path)
    np.testing.assert_array_equal(model32.layers[0].params["W"], before)
    load_params(model32, path, cast=True)
    assert model32.layers[0].params["W"].dtype == np.float32
    np.testing.assert_allclose(model32.layers[0].params["W"], model64.layers[0].params["W"],
                               rtol=1e-6)


# -- defect 17: a directory -------------------------------------------------------------------

def test_a_directory_is_not_reported_as_missing(tmp_path):
    with pytest.raises(ParameterFileError, match=r"is a directory, not a parameter file"):
        load_model(tmp_path)
    with pytest.raises(ParameterFileError, match=r"is a directory"):
        load_params(mlp([2, 3]), tmp_path)


# -- defect 2 (library side): where a model can be saved ---------------------------------------

def test_check_save_path_refuses_directories_and_paths_below_files(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"is a directory; give a file name such as"):
        check_save_path(tmp_path)
    with pytest.raises(ValueError, match=r"cannot save to .*file/m\.npz: .*file is a file, "
                                         r"not a directory"):
        check_save_path(tmp_path / "file" / "m.npz")
    with pytest.raises(ValueError, match=r"is a file, not a directory"):
        save_model(mlp([2, 3]), tmp_path / "file" / "sub" / "m.npz")
    assert check_save_path(tmp_path / "new" / "m.npz") == tmp_path / "new" / "m.npz"


# -- defects 20, 21: permissions and leftovers -------------------------------------------------

def test_a_saved_file_respects_the_umask_and_an_overwrite_keeps_its_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_model(mlp([2, 3]), tmp_path / "m.npz")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644        # readable by others
        os.chmod(path, 0o640)
        save_model(mlp([2, 3]), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_next_save_removes_what_a_killed_save_left_behind(tmp_path):
    stale = tmp_path / f".m.npz.{dead_pid()}.0a1b2c3d.tmp"
    stale.write_bytes(b"half a file")
    running = tmp_path / f".m.npz.{os.getppid()}.0a1b2c3d.tmp"       # a save in progress
    running.write_bytes(b"being written")
    other = tmp_path / f".other.npz.{dead_pid()}.0a1b2c3d.tmp"       # another target's
    other.write_bytes(b"x")
    save_model(mlp([2, 3]), tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["m.npz", running.name, other.name])


def test_ctrl_c_during_a_save_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(mlp([2, 3]), tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# -- the input shape ----------------------------------------------------------------------------

def test_the_file_records_the_input_shape(tmp_path):
    path = save_model(Sequential([Dense(784, 10)]), tmp_path / "m.npz", input_shape=(784,))
    assert load_model(path).input_shape == (784,)
    assert load_model(save_model(mlp([3, 4]), tmp_path / "mlp.npz")).input_shape == (3,)
    old_style = save_model(Sequential([Dense(2, 3)]), tmp_path / "old.npz")
    assert load_model(old_style).input_shape is None
    wrong = forge(tmp_path / "wrong.npz", None, small_arrays(),
                  record={"format": FORMAT, "layers": [{"type": "Dense", "n_in": 2, "n_out": 8}],
                          "input_shape": [5]})
    with pytest.raises(ParameterFileError, match=r"input_shape \(5,\) does not fit the layers"):
        load_model(wrong)
    with pytest.raises(ValueError, match="input_shape must be a list of 1 to 32 positive"):
        save_model(mlp([2, 3]), tmp_path / "bad.npz", input_shape=(0,))
    assert ReLU  # noqa: B018  (the import list stays the issue's vocabulary)


# -- any damage at all: a ParameterFileError, never another exception ---------------------------

@pytest.fixture(scope="module")
def valid_file_bytes(tmp_path_factory):
    rng = np.random.default_rng(0)
    model = Sequential([Dense(3, 4, rng=rng), LeakyReLU(0.2), Dense(4, 2, rng=rng)],
                       input_shape=(3,))
    return save_model(model, tmp_path_factory.mktemp("fuzz") / "m.npz").read_bytes()


def test_random_damage_gives_a_parameter_file_error_or_a_valid_model(valid_file_bytes, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "damaged.npz"
    for trial in range(400):
        data = bytearray(valid_file_bytes)
        for _ in range(rng.integers(1, 4)):
            position = int(rng.integers(len(data)))
            if trial % 4 == 0:
                del data[position:]                       # truncate
                break
            data[position] = int(rng.integers(256))     # flip a byte
        path.write_bytes(bytes(data))
        try:
            model = load_model(path)
        except ParameterFileError:
            continue
        assert model.input_shape == (3,)                # damage the checks cannot see
