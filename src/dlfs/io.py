"""Save and load trained models as ``.npz`` files, without pickle.

A file holds one array per parameter and buffer (``"0.W"``, ``"0.b"``,
``"1.running_mean"``...), the architecture as a JSON string, and a SHA-256
checksum over both.  Loading never unpickles anything (``allow_pickle=False``),
so a parameter file from a stranger cannot run code on your machine, and the
checksum catches a file that was edited or damaged after saving.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .model import Sequential

FORMAT = "dlfs-params-1"


class ParameterFileError(ValueError):
    """A parameter file is unreadable, tampered with, or does not fit the model."""


def _checksum(architecture_json: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(architecture_json.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def save_model(model: Sequential, path: str | os.PathLike) -> Path:
    """Write the model's parameters, buffers and architecture to ``path`` (.npz).

    The file is written to a temporary name first and renamed, so a crash
    never leaves a half-written file under the final name.
    """
    path = Path(path)
    arrays = model.state()
    arch = json.dumps({"format": FORMAT, "layers": model.architecture()}, sort_keys=True)
    meta = {"__architecture__": np.array(arch), "__sha256__": np.array(_checksum(arch, arrays))}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **meta)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    if not path.is_file():
        raise FileNotFoundError(f"parameter file {path} does not exist")
    try:
        # Our own handle: np.load(path) leaks the file it opened when the zip is corrupt.
        with open(path, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):   # a bare .npy array
                raise ValueError("not an .npz archive")
            with loaded as f:
                contents = {name: f[name] for name in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ParameterFileError(f"{path} is not a readable dlfs parameter file "
                                 f"(truncated or corrupt?): {err}") from None
    try:
        arch_json = str(contents.pop("__architecture__"))
        stored_sum = str(contents.pop("__sha256__"))
        arch = json.loads(arch_json)
    except (KeyError, json.JSONDecodeError):
        raise ParameterFileError(f"{path} has no valid dlfs architecture record") from None
    if arch.get("format") != FORMAT:
        raise ParameterFileError(f"{path} has format {arch.get('format')!r}, expected {FORMAT!r}")
    if _checksum(arch_json, contents) != stored_sum:
        raise ParameterFileError(f"{path} fails its SHA-256 check: the file was modified "
                                 "or damaged after it was saved")
    return arch, contents


def load_params(model: Sequential, path: str | os.PathLike) -> Sequential:
    """Load parameters from ``path`` into an existing ``model``, checking they fit.

    Raises :class:`ParameterFileError` naming the first parameter whose shape
    (or the layer whose type) differs, with both shapes.  Values are converted
    to the model's dtype, so float64 checkpoints load into a float32 model
    (and the reverse) on purpose.
    """
    path = Path(path)
    arch, arrays = _read(path)
    ours = model.architecture()
    if len(arch["layers"]) != len(ours):
        raise ParameterFileError(f"{path} holds {len(arch['layers'])} layers, "
                                 f"the model has {len(ours)}")
    for i, (theirs, mine) in enumerate(zip(arch["layers"], ours)):
        if theirs["type"] != mine["type"]:
            raise ParameterFileError(f"layer {i} is {theirs['type']} in {path} "
                                     f"but {mine['type']} in the model")
    state = model.state()
    if set(arrays) != set(state):
        missing, extra = sorted(set(state) - set(arrays)), sorted(set(arrays) - set(state))
        raise ParameterFileError(f"{path} does not match the model: missing {missing}, "
                                 f"unexpected {extra}")
    for name, target in state.items():
        if arrays[name].shape != target.shape:
            raise ParameterFileError(f"parameter {name!r}: file {path} has shape "
                                     f"{arrays[name].shape}, model expects {target.shape}")
    for name, target in state.items():
        target[...] = arrays[name]                 # in place: keeps optimiser references valid
    return model


def load_model(path: str | os.PathLike) -> Sequential:
    """Rebuild a model from the architecture recorded in ``path`` and load its parameters."""
    path = Path(path)
    arch, arrays = _read(path)
    dtypes = {a.dtype for a in arrays.values()}
    dtype = dtypes.pop() if len(dtypes) == 1 else np.float32
    try:
        model = Sequential.from_architecture(arch["layers"], dtype=dtype)
    except ValueError as err:
        raise ParameterFileError(f"{path}: {err}") from None
    return load_params(model, path)
