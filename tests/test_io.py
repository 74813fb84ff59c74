"""dlfs.io: save/load round trips, and every way a parameter file can be wrong."""
import json
import os

import numpy as np
import pytest

from dlfs import (Adam, BatchNorm, Dense, Dropout, LeakyReLU, ParameterFileError, ReLU,
                  Sequential, SoftmaxCrossEntropy, fit, load_model, load_params, mlp, save_model)

UNPICKLED = []


def _record(tag):
    UNPICKLED.append(tag)
    return tag


class Booby:
    """Unpickling this object leaves a trace in UNPICKLED: proof that pickle ran."""

    def __reduce__(self):
        return _record, ("unpickled!",)


def trained_model(blobs, dtype=np.float32):
    """A model whose parameters and BatchNorm buffers are far from their initial values."""
    X, y = blobs
    model = Sequential([Dense(2, 8, dtype=dtype, rng=np.random.default_rng(0)),
                        BatchNorm(8, dtype=dtype), LeakyReLU(0.05), Dropout(0.2),
                        Dense(8, 3, dtype=dtype, rng=np.random.default_rng(1))])
    fit(model, SoftmaxCrossEntropy(), Adam(0.01), X.astype(dtype), y, epochs=2)
    return model


@pytest.fixture
def saved(tmp_path, blobs):
    model = trained_model(blobs)
    return model, save_model(model, tmp_path / "model.npz")


def assert_same_state(a, b):
    assert a.state().keys() == b.state().keys()
    for name, array in a.state().items():
        other = b.state()[name]
        assert other.dtype == array.dtype, name
        assert np.array_equal(other, array), name


# -- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_model_rebuilds_architecture_parameters_buffers_and_predictions(
        tmp_path, blobs, dtype):
    model = trained_model(blobs, dtype)
    path = save_model(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.is_file()
    loaded = load_model(path)
    assert loaded.architecture() == model.architecture()
    assert_same_state(model, loaded)
    X = blobs[0].astype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_load_params_fills_an_existing_model_in_place(saved):
    model, path = saved
    fresh = Sequential.from_architecture(model.architecture())
    W = fresh.layers[0].params["W"]
    running_var = fresh.layers[1].buffers["running_var"]
    assert load_params(fresh, path) is fresh
    assert_same_state(model, fresh)
    assert fresh.layers[0].params["W"] is W                     # optimiser references survive
    assert fresh.layers[1].buffers["running_var"] is running_var


def test_save_creates_folders_and_leaves_no_temporary_files(tmp_path, blobs):
    path = save_model(trained_model(blobs), tmp_path / "a" / "b" / "model.npz")
    assert os.listdir(tmp_path / "a" / "b") == ["model.npz"]
    assert path.is_file()


def test_saved_file_is_plain_arrays_that_load_without_pickle(saved):
    model, path = saved
    with np.load(path, allow_pickle=False) as f:
        contents = {k: f[k] for k in f.files}
    assert set(contents) == set(model.state()) | {"__architecture__", "__sha256__"}
    arch = json.loads(str(contents["__architecture__"]))
    assert arch["layers"] == model.architecture()


# -- files that do not fit the model -----------------------------------------------------

def test_loading_into_a_model_with_other_sizes_names_the_parameter_and_both_shapes(tmp_path):
    path = save_model(mlp([2, 8, 3]), tmp_path / "small.npz")
    with pytest.raises(ParameterFileError, match=r"parameter '0\.W': file .*small\.npz has "
                                                 r"shape \(2, 8\), model expects \(2, 16\)"):
        load_params(mlp([2, 16, 3]), path)


def test_loading_into_a_model_with_other_layer_types_names_the_layer(tmp_path):
    path = save_model(mlp([2, 8, 3], activation="relu"), tmp_path / "relu.npz")
    with pytest.raises(ParameterFileError, match=r"layer 1 is ReLU in .*relu\.npz but Tanh "
                                                 r"in the model"):
        load_params(mlp([2, 8, 3], activation="tanh"), path)


def test_loading_into_a_deeper_model_gives_both_depths(tmp_path):
    path = save_model(mlp([2, 8, 3]), tmp_path / "m.npz")
    with pytest.raises(ParameterFileError, match=r"m\.npz holds 3 layers, the model has 5"):
        load_params(mlp([2, 8, 8, 3]), path)


def test_a_failed_load_leaves_the_model_untouched(tmp_path):
    path = save_model(mlp([2, 8, 3], rng=np.random.default_rng(1)), tmp_path / "m.npz")
    target = Sequential([Dense(2, 8), ReLU(), Dense(8, 4)])     # last layer differs
    before = {k: v.copy() for k, v in target.state().items()}
    with pytest.raises(ParameterFileError, match=r"parameter '2\.W'"):
        load_params(target, path)
    for name, array in target.state().items():
        assert np.array_equal(array, before[name]), name


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterFileError, ValueError)


# -- damaged and hostile files ------------------------------------------------------------

def rewrite(path, change):
    """Rewrite an .npz after applying ``change`` to its dict of arrays (checksum kept)."""
    with np.load(path, allow_pickle=False) as f:
        contents = {k: f[k] for k in f.files}
    change(contents)
    with open(path, "wb") as out:
        np.savez(out, **contents)


def test_a_tampered_value_fails_the_checksum_and_names_the_file(saved):
    _, path = saved

    def nudge(contents):
        contents["0.W"].flat[0] += 1e-3
    rewrite(path, nudge)
    with pytest.raises(ParameterFileError, match=rf"{path.name} fails its SHA-256 check"):
        load_model(path)


def test_a_tampered_architecture_fails_the_checksum(saved):
    _, path = saved

    def change_dropout(contents):
        contents["__architecture__"] = np.array(
            str(contents["__architecture__"]).replace('"p": 0.2', '"p": 0.5'))
    rewrite(path, change_dropout)
    with pytest.raises(ParameterFileError, match="fails its SHA-256 check"):
        load_model(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_a_truncated_file_is_refused_naming_the_file(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ParameterFileError, match=rf"{path.name} is not a readable dlfs "
                                                 r"parameter file \(truncated or corrupt\?\)"):
        load_model(path)


def test_an_object_array_is_refused_without_being_unpickled(saved):
    _, path = saved

    def plant(contents):
        contents["0.W"] = np.array([Booby()], dtype=object)
    rewrite(path, plant)                                  # savez pickles object arrays
    UNPICKLED.clear()
    with pytest.raises(ParameterFileError, match=r"not a readable dlfs parameter file.*"
                                                 r"allow_pickle=False"):
        load_model(path)
    assert UNPICKLED == []
    # Control: the planted payload really would run if the file were unpickled.
    with np.load(path, allow_pickle=True) as f:
        _ = f["0.W"]
    assert UNPICKLED == ["unpickled!"]


def test_a_bare_npy_array_is_refused(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros((2, 8), np.float32))
    with pytest.raises(ParameterFileError, match=r"weights\.npy is not a readable dlfs "
                                                 r"parameter file"):
        load_model(path)


def test_an_npz_without_architecture_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros(3))
    with pytest.raises(ParameterFileError, match=r"plain\.npz has no valid dlfs architecture "
                                                 r"record"):
        load_model(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"parameter file .*nope\.npz does not exist"):
        load_model(tmp_path / "nope.npz")
