"""Save and load trained models as ``.npz`` files, without pickle.

A file holds one array per parameter and buffer (``"0.W"``, ``"0.b"``,
``"1.running_mean"``...), the architecture as a JSON string (the layers'
types and configurations and, when known, the shape of one input sample), and
a SHA-256 checksum over both.  A training *checkpoint*
(:func:`save_checkpoint`, :func:`load_checkpoint`) is the same kind of file
with the optimiser's state arrays added (``"opt.0.W.m"``) and, in the JSON
record, what else resuming needs: the optimiser's type, hyperparameters, step
count and learning rate, the epoch, the history, the random generators'
states and what the run's code recorded about it (``info``); with early
stopping, also the best epoch's arrays (``"best.0.W"``).

**What protects you, and what does not.**  A model file is *untrusted
input*, and is read as such:

* Nothing is ever unpickled (``allow_pickle=False``), so a file cannot run
  code on your machine.
* Before anything is allocated, the architecture is checked (a list of known
  layer types with sane configurations) against the shapes of the arrays the
  file actually stores, and every array must be float32 or float64, finite,
  and stored uncompressed.  A small file therefore cannot make the loader
  allocate more memory than the file's own size (plus the same again for the
  model); every malformed file raises :class:`ParameterFileError`.  (This
  holds for every layer type whose parameter shapes follow from its
  configuration without building it: every layer of :mod:`dlfs.layers`, and
  any layer class that declares ``param_shapes(config)`` (see
  :meth:`dlfs.layers.Layer.param_shapes`).  Other layers are built first and
  compared after.)
* The SHA-256 checksum is **not a signature**.  It is unkeyed: it detects a
  file damaged in transit or on disk and an edit by a tool that does not know
  the format, but anyone who edits a file on purpose can recompute it.  It
  says nothing about who made the file.  A well-formed file from a stranger
  loads, and its weights are whatever that stranger chose: trust a model file
  as much as you trust where it came from.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import TEMP_NAME_EXTRA_BYTES, atomic_write, max_name_bytes
from .layers import Layer
from .model import Sequential
from .optim import Optimizer

FORMAT = "dlfs-params-1"
#: The format of a training checkpoint (:func:`save_checkpoint`).
CHECKPOINT_FORMAT = "dlfs-checkpoint-1"
#: Prefix of the optimiser's arrays in a checkpoint, as in ``"opt.0.W.m"``.
OPTIMIZER_PREFIX = "opt."
#: Prefix of the best epoch's parameters and buffers in a checkpoint (``"best.0.W"``).
BEST_PREFIX = "best."
_WRITER = {FORMAT: "train --save or save_model",
           CHECKPOINT_FORMAT: "save_checkpoint"}
_LOADER = {FORMAT: "load_model", CHECKPOINT_FORMAT: "load_checkpoint"}
_FORMAT_HINTS = {
    (CHECKPOINT_FORMAT, FORMAT): " (a training checkpoint: load it with "
                                 "load_checkpoint)",
    (FORMAT, CHECKPOINT_FORMAT): " (a model file from save_model: it holds "
                                 "no optimiser state to resume from)",
}

#: Layers and arrays a file may declare; far more than any model of the book.
MAX_LAYERS = 10_000
#: The most values one input sample may occupy at any layer of a loaded model
#: (256 MiB in float32): far above the book's models, far below what a forged
#: convolution geometry could ask for (see :func:`sample_size`).
MAX_SAMPLE_ELEMENTS = 2**26
#: dtypes a parameter file may hold.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Configuration keys that only say how a layer was initialised.  A trained
#: layer computes the same function whatever they are, so loading ignores them.
INIT_ONLY_KEYS = frozenset({"init"})


class ParameterFileError(ValueError):
    """A parameter file is unreadable, malformed, tampered with, or does not fit the model."""


def _checksum(architecture_json: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(architecture_json.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def check_save_path(path: str | os.PathLike) -> Path:
    """Check, before any work, that a model can be saved at ``path``; return where it goes.

    Refuses a directory, an existing file that is not a regular file (a
    device such as ``/dev/null``, a FIFO, a socket: saving would replace it
    by a regular file), a path below a regular file, a folder that is not
    writable, and a file name too long for the folder once the temporary
    name's ~25 extra bytes are added, with a message saying which.  A
    symbolic link is followed: the file it points to is replaced and the
    link kept (the returned path is the link's target).  The folders that do
    not exist yet are created by :func:`save_model`.

    Raises
    ------
    ValueError
        Naming the path and the problem (also for an unusable path such as
        one with a name too long for the file system).
    """
    path = Path(path)
    try:
        return _check_save_path(path)
    except OSError as err:
        raise ValueError(f"cannot save to {path}: {err.strerror or err}") from None


def _check_save_path(path: Path) -> Path:
    if path.is_symlink():
        path = path.resolve()                  # save where the link points; keep the link
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a file name such as {path / 'model.npz'}")
    if path.exists() and not path.is_file():
        raise ValueError(f"cannot save to {path}: it exists and is not a regular file "
                         f"({_file_kind(path)}); saving would replace it")
    parent = path.parent
    while not parent.exists():
        if parent.is_symlink():
            raise ValueError(f"cannot save to {path}: {parent} is a broken symbolic link")
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"cannot save to {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot save to {path}: the directory {parent} is not writable")
    longest = max_name_bytes(parent) - TEMP_NAME_EXTRA_BYTES
    if len(os.fsencode(path.name)) > longest:
        raise ValueError(f"cannot save to {path}: the file name is "
                         f"{len(os.fsencode(path.name))} bytes; at most {longest} fit in "
                         f"{parent} (the temporary name adds {TEMP_NAME_EXTRA_BYTES})")
    return path


def _file_kind(path: Path) -> str:
    mode = path.stat().st_mode
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


def save_model(model: Sequential, path: str | os.PathLike, *,
               input_shape: tuple[int, ...] | None = None) -> Path:
    """Write the model's parameters, buffers and architecture to ``path``.

    Everything ``load_model`` checks is checked first (the input shape
    fits the layers, at most ``MAX_LAYERS`` layers, finite float arrays
    of one dtype, the size bound of ``check_sample_size``), so a file
    that is written also loads.

    The file is written to a temporary name first and renamed, so a crash
    never leaves a half-written file under the final name (and the next
    save to the same place removes what a killed save left behind).  A new
    file gets the usual permissions (``0o666`` minus the umask); an
    overwritten one keeps its own.

    Parameters
    ----------
    model : Sequential
    path : str or path-like
        The ``.npz`` file; missing parent folders are created.
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(784,)`` or ``(1, 28, 28)``,
        recorded so that a program loading the file knows what to feed it.
        Defaults to ``model.input_shape`` (None: not recorded).

    Raises
    ------
    ValueError
        For a path ``check_save_path`` refuses, or a model the file
        could not be loaded as; nothing is written.
    TypeError
        If ``model`` is not a ``Sequential``.

    """
    path, record, arrays = _prepare(model, path, input_shape, FORMAT)
    _write(path, record, arrays)
    return path


def _prepare(model, path, input_shape, fmt: str) -> tuple[Path, dict, dict]:
    """Check that ``model`` can be saved at ``path``: the record and arrays."""
    writer, loader = _WRITER[fmt].split()[-1], _LOADER[fmt]
    if not isinstance(model, Sequential):
        raise TypeError(f"{writer} saves a Sequential model, got "
                        f"{type(model).__name__}; wrap a single layer as "
                        "Sequential([layer])")
    path = check_save_path(path)
    arrays = model.state()
    record = {"format": fmt, "layers": model.architecture()}
    if input_shape is None:
        input_shape = model.input_shape
    if input_shape is not None:
        record["input_shape"] = _check_input_shape(
            [int(d) if isinstance(d, np.integer) else d for d in input_shape],
            ValueError)
    try:                     # never write a file that the loader would refuse
        if input_shape is not None:
            model.output_shape(tuple(input_shape))
        _check_record(path, record, arrays)
        _check_shapes_before_building(path, record, arrays)
        if input_shape is not None:
            check_sample_size(model, tuple(input_shape), path)
    except ValueError as err:
        raise ValueError(f"cannot save to {path}: {loader} would refuse "
                         f"the file: {str(err).removeprefix(f'{path}: ')}"
                         ) from None
    return path, record, arrays


def _write(path: Path, record: dict, arrays: dict[str, np.ndarray]) -> None:
    """The arrays, the record as JSON and their checksum, written atomically."""
    text = json.dumps(record, sort_keys=True)
    meta = {"__architecture__": np.array(text),
            "__sha256__": np.array(_checksum(text, arrays))}
    with atomic_write(path, ".tmp") as f:
        np.savez(f, **arrays, **meta)


# -- reading an untrusted file --------------------------------------------------------------

def _check_input_shape(shape, error=ParameterFileError) -> list[int]:
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 32
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise error(f"input_shape must be a list of 1 to 32 positive integers, got {shape!r}")
    return shape


def _array_headers(path: Path, npz) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every member, read from the .npy headers alone."""
    headers = {}
    infos = npz.zip.infolist()
    if len(infos) > 4 * MAX_LAYERS:
        raise ParameterFileError(f"{path} holds {len(infos)} arrays, too many for a model")
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ParameterFileError(f"{path}: array {name!r} is compressed; dlfs parameter "
                                     "files store arrays uncompressed (as save_model does)")
        with npz.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ParameterFileError(f"{path}: array {name!r} has .npy format version "
                                         f"{version}; expected 1.0 or 2.0")
            shape, _, dtype = read_header(member)
        if math.prod(shape) * dtype.itemsize > info.file_size:
            raise ParameterFileError(f"{path}: array {name!r} declares shape {shape} "
                                     f"({dtype}), more than its {info.file_size} stored bytes")
        headers[name] = (shape, dtype)
    return headers


def _read(path: Path, fmt: str = FORMAT) -> tuple[str, dict, dict]:
    """The record's JSON, the parsed record and the arrays, all checked.

    The arrays are checked as a model's when ``fmt`` is a parameter file's.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ParameterFileError(f"{path} is a broken symbolic link"
                                     ) from None
        raise FileNotFoundError(f"parameter file {path} does not exist"
                                ) from None
    except OSError as err:               # a symlink loop, a name too long...
        raise ParameterFileError(f"cannot read parameter file {path}: "
                                 f"{err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ParameterFileError(f"{path} is a directory, not a parameter "
                                 f"file; give the .npz file {_WRITER[fmt]} "
                                 "wrote")
    if not stat.S_ISREG(info.st_mode):   # a FIFO would block reading forever
        raise ParameterFileError(f"{path} is not a regular file; give the "
                                 f".npz file {_WRITER[fmt]} wrote")
    if not os.access(path, os.R_OK):
        raise ParameterFileError(f"cannot read parameter file {path}: "
                                 "permission denied")
    try:
        # Our own handle: np.load(path) leaks the file when the zip is corrupt.
        with open(path, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):   # a bare .npy
                raise ValueError("not an .npz archive")
            with loaded as f:
                headers = _array_headers(path, f)
                for name in ("__architecture__", "__sha256__"):
                    if name in headers and (
                            headers[name][1].kind != "U"
                            or math.prod(headers[name][0]) != 1):
                        raise ParameterFileError(
                            f"{path} has no valid dlfs architecture record")
                contents = {name: f[name] for name in f.files}
    except (ParameterFileError, MemoryError):
        raise
    except PermissionError:
        raise ParameterFileError(f"cannot read parameter file {path}: "
                                 "permission denied") from None
    except Exception as err:  # noqa: BLE001  untrusted bytes: zip, header...
        raise ParameterFileError(
            f"{path} is not a readable dlfs parameter file (truncated or "
            f"corrupt?): {type(err).__name__}: {err}") from None
    try:
        arch_json = str(contents.pop("__architecture__"))
        stored_sum = str(contents.pop("__sha256__"))
        arch = json.loads(arch_json)
    except (KeyError, ValueError, RecursionError) as err:
        # ValueError: JSONDecodeError and the int-string limit (4300 digits).
        why = ("" if isinstance(err, KeyError)
               else f" ({type(err).__name__}: {str(err)[:80]})")
        raise ParameterFileError(f"{path} has no valid dlfs architecture "
                                 f"record{why}") from None
    if not isinstance(arch, dict):
        raise ParameterFileError(f"{path}: the architecture record must be a "
                                 f"JSON object, got {type(arch).__name__}")
    if arch.get("format") != fmt:
        raise ParameterFileError(
            f"{path} has format {_short(arch.get('format'))}, expected "
            f"{fmt!r}{_FORMAT_HINTS.get((arch.get('format'), fmt), '')}")
    if _checksum(arch_json, contents) != stored_sum:
        raise ParameterFileError(f"{path} fails its SHA-256 check: the file "
                                 "was modified or damaged after it was saved")
    if fmt == FORMAT:
        _check_record(path, arch, contents)
    return arch_json, arch, contents


def _check_record(path: Path, arch: dict, arrays: dict[str, np.ndarray]) -> None:
    """The architecture is a list of known layers, and the arrays are finite floats."""
    from .layers import LAYERS

    layers = arch.get("layers")
    if not isinstance(layers, list) or not 0 < len(layers) <= MAX_LAYERS:
        raise ParameterFileError(f"{path}: 'layers' must be a list of 1 to {MAX_LAYERS} layer "
                                 f"descriptions, got {_short(layers)}")
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise ParameterFileError(f"{path}: layer {i} must be a JSON object, "
                                     f"got {_short(spec)}")
        kind = spec.get("type")
        if not isinstance(kind, str) or kind not in LAYERS:
            raise ParameterFileError(f"{path}: layer {i} has unknown type {_short(kind)}; "
                                     f"known types: {', '.join(sorted(LAYERS))}")
    if "input_shape" in arch:
        _check_input_shape(arch["input_shape"])
    dtypes = set()
    for name, array in arrays.items():
        match = re.fullmatch(r"(\d+)\.(\w+)", name)
        if not match or int(match[1]) >= len(layers):
            raise ParameterFileError(f"{path}: array {name!r} belongs to no layer")
        if array.dtype not in FLOAT_DTYPES:
            raise ParameterFileError(f"{path}: parameter {name!r} has dtype {array.dtype}; "
                                     "parameters must be float32 or float64")
        if not np.all(np.isfinite(array)):
            raise ParameterFileError(f"{path}: parameter {name!r} contains NaN or infinity")
        dtypes.add(array.dtype)
    if len(dtypes) > 1:
        raise ParameterFileError(f"{path} mixes dtypes {sorted(map(str, dtypes))}; a model has "
                                 "one dtype")


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _expected_shapes(kind: str, config: dict) -> dict[str, tuple[int, ...]] | None:
    """Shapes of a layer's parameters and buffers from its configuration alone.

    Each layer class declares them (:meth:`dlfs.layers.Layer.param_shapes`),
    so a file declaring a huge layer is refused before anything is built.
    None for a layer class that does not declare them (it is then built and
    compared afterwards).
    """
    from .layers import LAYERS

    shapes = LAYERS[kind].param_shapes(config)
    return None if shapes is None else {k: tuple(v) for k, v in shapes.items()}


def _check_shapes_before_building(path: Path, arch: dict, arrays: dict[str, np.ndarray]):
    for i, spec in enumerate(arch["layers"]):
        config = {k: v for k, v in spec.items() if k != "type"}
        try:
            expected = _expected_shapes(spec["type"], config)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
            raise ParameterFileError(f"{path}: layer {i} ({spec['type']}): bad configuration "
                                     f"{_short(config)}: {err}") from None
        if expected is None:
            continue
        stored = {name.split(".", 1)[1]: a.shape for name, a in arrays.items()
                  if name.split(".", 1)[0] == str(i)}
        if stored != expected:
            raise ParameterFileError(
                f"{path}: layer {i} ({spec['type']}) declares arrays "
                f"{_describe_shapes(expected)} but the file stores {_describe_shapes(stored)}")


def _describe_shapes(shapes: dict) -> str:
    return "{" + ", ".join(f"{k}: {tuple(v)}" for k, v in sorted(shapes.items())) + "}"


def _comparable(spec: dict) -> dict:
    """A layer description as JSON would give it back, without init-only keys."""
    return {k: v for k, v in json.loads(json.dumps(spec)).items() if k not in INIT_ONLY_KEYS}


def sample_size(model: Sequential, input_shape: tuple[int, ...]) -> int:
    """The most values one sample of ``input_shape`` occupies at any layer of ``model``.

    For every layer its output, and for a convolution (a layer configured
    with ``kernel_size`` and ``padding``) also its zero-padded input and the
    unfolded patches that :func:`~dlfs.layers.im2col.im2col` builds, which is
    where a forged geometry (a padding of 13,500 around a 28x28 image) would
    make evaluation allocate terabytes.  Computed from shapes alone.
    """
    largest = math.prod(input_shape)
    for layer, shape, out in model.layer_shapes(tuple(input_shape)):
        config = layer.config()
        if "kernel_size" in config and "padding" in config and len(shape) == 3:
            kh, kw = _pair_of(config["kernel_size"])
            ph, pw = _pair_of(config["padding"])
            largest = max(largest, shape[0] * (shape[1] + 2 * ph) * (shape[2] + 2 * pw),
                          shape[0] * kh * kw * math.prod(out[1:]))
        largest = max(largest, math.prod(out))
    return largest


def _pair_of(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def check_sample_size(model: Sequential, input_shape: tuple[int, ...],
                      path: str | os.PathLike = "model") -> int:
    """:func:`sample_size`, refused above :data:`MAX_SAMPLE_ELEMENTS` with ParameterFileError."""
    size = sample_size(model, input_shape)
    if size > MAX_SAMPLE_ELEMENTS:
        raise ParameterFileError(
            f"{path}: one sample of shape {tuple(input_shape)} would occupy {size:,} values "
            f"in some layer (padding, kernel or width far larger than the input); a parameter "
            f"file may need at most {MAX_SAMPLE_ELEMENTS:,}")
    return size


def load_params(model: Sequential, path: str | os.PathLike, *,
                cast: bool = False) -> Sequential:
    """Load parameters from ``path`` into an existing ``model``, checked.

    The file's layers must have the model's types and configurations (all
    of them, e.g. a LeakyReLU's slope or a Dropout probability; only the
    initialiser's name is ignored) and its arrays the model's shapes.

    Parameters
    ----------
    model : Sequential
    path : str or path-like
    cast : bool
        Convert parameters of another dtype (float64 into a float32 model,
        or the reverse).  By default a dtype mismatch is refused, because
        the conversion loses precision or makes the model slower without a
        word.

    Raises
    ------
    ParameterFileError
        Naming the first layer or parameter that differs, with both values;
        the model is left untouched.
    FileNotFoundError
        If ``path`` does not exist.
    """
    if not isinstance(cast, (bool, np.bool_)):
        raise TypeError(f"cast must be True or False, got {cast!r}")
    path = Path(path)
    _, arch, arrays = _read(path)
    return _fill(model, path, arch, arrays, bool(cast))


def _fill(model: Sequential, path: Path, arch: dict, arrays: dict,
          cast: bool) -> Sequential:
    theirs_all, ours = arch["layers"], model.architecture()
    if len(theirs_all) != len(ours):
        raise ParameterFileError(f"{path} holds {len(theirs_all)} layers, "
                                 f"the model has {len(ours)}")
    for i, (theirs, mine) in enumerate(zip(theirs_all, ours)):
        if theirs["type"] != mine["type"]:
            raise ParameterFileError(f"layer {i} is {theirs['type']} in "
                                     f"{path} but {mine['type']} in the model")
    state = model.state()
    if set(arrays) != set(state):
        missing = sorted(set(state) - set(arrays))
        extra = sorted(set(arrays) - set(state))
        raise ParameterFileError(f"{path} does not match the model: "
                                 f"missing {missing}, unexpected {extra}")
    for name, target in state.items():
        if arrays[name].shape != target.shape:
            raise ParameterFileError(
                f"parameter {name!r}: file {path} has shape "
                f"{arrays[name].shape}, model expects {target.shape}")
    for i, (theirs, mine) in enumerate(zip(theirs_all, ours)):
        theirs, mine = _comparable(theirs), _comparable(mine)
        if theirs != mine:
            keys = sorted(k for k in set(theirs) | set(mine)
                          if theirs.get(k) != mine.get(k))
            diff = ", ".join(f"{k}={_short(theirs.get(k))} in the file, "
                             f"{_short(mine.get(k))} in the model"
                             for k in keys)
            raise ParameterFileError(f"layer {i} ({mine['type']}) is "
                                     f"configured differently in {path}: "
                                     f"{diff}")
    for name, target in state.items():
        theirs = arrays[name].dtype
        if theirs != target.dtype and not cast:
            raise ParameterFileError(
                f"parameter {name!r}: file {path} holds {theirs}, the model "
                f"is {target.dtype}; pass cast=True to convert, or build "
                f"the model in {theirs}")
    for name, target in state.items():
        if arrays[name].dtype != target.dtype:
            with np.errstate(over="ignore"):
                converted = arrays[name].astype(target.dtype)
            if not np.all(np.isfinite(converted)):
                raise ParameterFileError(
                    f"parameter {name!r}: file {path} holds values too "
                    f"large for {target.dtype} (they would become "
                    f"infinite); build the model in {arrays[name].dtype}")
    for name, target in state.items():
        target[...] = arrays[name]   # in place: optimisers keep their arrays
    return model


def load_model(path: str | os.PathLike) -> Sequential:
    """Rebuild a model from the architecture recorded in ``path`` and load its parameters.

    The model has the file's dtype.  ``model.input_shape`` is the shape of one
    input sample recorded by :func:`save_model`, or None for a file that does
    not say.  The file is treated as untrusted input (see :mod:`dlfs.io`).

    Raises
    ------
    ParameterFileError
        For any unreadable, malformed or tampered file, before allocating the
        model; and for a recorded input shape with which one sample would
        occupy more than :data:`MAX_SAMPLE_ELEMENTS` values in some layer
        (so that evaluating a forged file cannot exhaust memory either).
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    _, arch, arrays = _read(path)
    _check_shapes_before_building(path, arch, arrays)
    dtypes = {a.dtype for a in arrays.values()}
    dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
    rng = np.random.default_rng(0)       # the values are overwritten by the file's
    layers = []
    for i, spec in enumerate(arch["layers"]):
        try:
            layers.append(Layer.from_config(spec, dtype=dtype, rng=rng))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
            raise ParameterFileError(f"{path}: layer {i} ({spec['type']}): bad configuration "
                                     f"{_short(spec)}: {err}") from None
    shape = arch.get("input_shape")
    try:
        model = Sequential(layers, input_shape=None if shape is None else tuple(shape))
    except ValueError as err:
        raise ParameterFileError(f"{path}: input_shape {tuple(shape)} does not fit the "
                                 f"layers: {err}") from None
    if shape is not None:
        check_sample_size(model, tuple(shape), path)
    return _fill(model, path, arch, arrays, cast=False)


# -- training checkpoints ---------------------------------------------------------------------

@dataclass
class Checkpoint:
    """Where a training run stopped, as :func:`load_checkpoint` read it.

    Pass it to :func:`dlfs.train.fit` as ``resume=`` to continue the run.

    Attributes
    ----------
    epoch : int
        Epochs completed; training continues with the next one.
    history : dict or None
        The run's :class:`~dlfs.train.History` as a dict of its fields.
    seed : int or None
        The ``seed`` the run was started with.
    generators : dict or None
        The states of the run's random generators (shuffling, augmentation,
        dropout masks), see :func:`dlfs.train.generator_states`.
    best : dict or None
        The parameters and buffers of the best epoch so far, ``{"0.W":
        array, ...}``, when the run's :class:`~dlfs.train.EarlyStopping`
        keeps them to restore at the end (else None).
    info : dict or None
        What the code that started the run recorded about it
        (:class:`~dlfs.train.SaveCheckpoint`'s ``info``), to recognise the
        run before continuing it; ``dlfs train`` records its options.
    """

    epoch: int
    history: dict | None = None
    seed: int | None = None
    generators: dict | None = None
    best: dict | None = None
    info: dict | None = None


def save_checkpoint(path: str | os.PathLike, model: Sequential,
                    optimizer: Optimizer, *, epoch: int,
                    history=None, seed: int | None = None,
                    generators: dict | None = None, best: dict | None = None,
                    info: dict | None = None) -> Path:
    """Write what resuming training needs: model, optimiser, epoch, generators.

    The file is a parameter file (:func:`save_model`, same checks, same
    atomic write) with the format name :data:`CHECKPOINT_FORMAT`, one more
    array per parameter and optimiser slot (``"opt.0.W.m"``), and the
    optimiser's type, hyperparameters, learning rate and step count, the
    epoch, the history, the seed and the generators' states in its JSON
    record.  No pickle: every value is an array or JSON.
    :class:`dlfs.train.SaveCheckpoint` calls it after every epoch of
    :func:`~dlfs.train.fit`.

    Parameters
    ----------
    path : str or path-like
    model : Sequential
    optimizer : Optimizer
        Its state must be the one it keeps for ``model``'s parameters.
    epoch : int
        Epochs completed.
    history : dataclass, optional
        The run's :class:`~dlfs.train.History`; stored as JSON.
    seed : int, optional
    generators : dict, optional
        ``{"shuffle": state, "augment": state, "layers": {index: state}}``,
        states of ``Generator.bit_generator``
        (:func:`dlfs.train.generator_states`).
    best : dict of str to ndarray, optional
        The best epoch's parameters and buffers, named and shaped as
        ``model.state()`` (kept by :class:`~dlfs.train.EarlyStopping`);
        stored as the arrays ``"best.0.W"``, ...
    info : dict, optional
        A JSON object describing the run (its options), returned by
        :func:`load_checkpoint` and :func:`read_checkpoint` as it was given.

    Raises
    ------
    ValueError
        For a path or values that :func:`load_checkpoint` would refuse
        (nothing is written).
    TypeError
        If ``model`` or ``optimizer`` has the wrong type.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a dlfs.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    path, record, arrays = _prepare(model, path, None, CHECKPOINT_FORMAT)
    state = optimizer.state_dict()
    params = {name: param for name, param, _ in model.parameters()}
    if state["slots"] and any(optimizer._bound.get(name) is not param
                              for name, param in params.items()):
        raise ValueError(f"cannot save to {path}: the optimiser's state is "
                         "for another model's parameters")
    for name, slots in state["slots"].items():
        for slot, array in slots.items():
            arrays[f"{OPTIMIZER_PREFIX}{name}.{slot}"] = array
    record.update(
        optimizer={k: state[k] for k in ("type", "lr", "t", "config")},
        epoch=epoch, seed=seed, generators=generators, info=info,
        history=None if history is None else dataclasses.asdict(history))
    try:                     # never write a file that the loader would refuse
        if best is not None:
            _check_best(path, model.state(), best)
            arrays.update({BEST_PREFIX + k: v for k, v in best.items()})
        record = json.loads(json.dumps(record, sort_keys=True))
        _check_training_record(path, record)
        optimizer._check_state({**record["optimizer"], "slots": state["slots"]},
                               params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot save to {path}: load_checkpoint would "
                         f"refuse the file: "
                         f"{str(err).removeprefix(f'{path}: ')}") from None
    _write(path, record, arrays)
    return path


def load_checkpoint(path: str | os.PathLike, model: Sequential,
                    optimizer: Optimizer) -> Checkpoint:
    """Load a checkpoint into ``model`` and ``optimizer``; say where to resume.

    ``model`` and ``optimizer`` are built by the code that started the run
    (their initial values do not matter): the file's layers must have the
    model's types, configurations and shapes (as for ``load_params``),
    and its optimiser the type and hyperparameters of ``optimizer``.  The
    optimiser's state, learning rate and step count are then the file's,
    bound to the model's parameter arrays.  Continue with
    ``fit(model, loss, optimizer, X, y, epochs=..., resume=checkpoint)``.

    Raises
    ------
    ParameterFileError
        For an unreadable, damaged or malformed file, a parameter file
        without optimiser state, another model, another optimiser or other
        hyperparameters, a missing, unexpected, misshapen or non-finite
        array; nothing is changed.
    FileNotFoundError
        If ``path`` does not exist.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a dlfs.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    path = Path(path)
    _, record, contents = _read(path, CHECKPOINT_FORMAT)
    arrays, slots, best = _checkpoint_arrays(path, record, contents)
    history = _check_training_record(path, record)
    state = {**record["optimizer"], "slots": slots}
    ours = [name for name, _, _ in model.parameters()]
    try:                 # against the file's parameters: nothing changed yet
        optimizer._check_state(state, {name: arrays[name] for name in ours
                                       if name in arrays})
    except ValueError as err:
        raise ParameterFileError(f"{path}: {err}") from None
    _fill(model, path, record, arrays, cast=False)
    optimizer.load_state_dict(state, model.parameters())
    return Checkpoint(record["epoch"], history, record["seed"],
                      record["generators"], best, record.get("info"))


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """What a checkpoint says about its run, without loading it into a model.

    The file is read and checked as by :func:`load_checkpoint` (checksum,
    record, arrays), except against a model and an optimiser: to look at its
    epoch, seed, history and ``info`` before building what resumes it.
    ``fit(..., resume=path)`` reads a checkpoint this way before loading it.

    Raises
    ------
    ParameterFileError
        For an unreadable, damaged or malformed file, or a parameter file
        that is not a checkpoint.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    _, record, contents = _read(path, CHECKPOINT_FORMAT)
    _, _, best = _checkpoint_arrays(path, record, contents)
    history = _check_training_record(path, record)
    return Checkpoint(record["epoch"], history, record["seed"],
                      record["generators"], best, record.get("info"))


def _checkpoint_arrays(path: Path, record: dict, contents: dict) -> tuple:
    """A checkpoint's arrays, checked: the model's, the optimiser's slots
    ``{"0.W": {"m": ...}}`` and the best epoch's (None when it has none)."""
    arrays, slots, best = {}, {}, {}
    for key, array in contents.items():
        if key.startswith(OPTIMIZER_PREFIX):
            match = re.fullmatch(r"(\d+\.\w+)\.(\w+)",
                                 key.removeprefix(OPTIMIZER_PREFIX))
            if match is None:
                raise ParameterFileError(f"{path}: array {key!r} names no "
                                         "parameter and slot")
            slots.setdefault(match[1], {})[match[2]] = array
        elif key.startswith(BEST_PREFIX):
            best[key.removeprefix(BEST_PREFIX)] = array
        else:
            arrays[key] = array
    _check_record(path, record, arrays)
    if best:
        _check_best(path, arrays, best)
    return arrays, slots, best or None


def _check_best(path: Path, arrays: dict, best) -> None:
    """The best epoch's arrays have the model's names, shapes and dtypes, finite."""
    if not isinstance(best, dict) or set(best) != set(arrays):
        names = sorted(best) if isinstance(best, dict) else best
        raise ParameterFileError(
            f"{path}: the best epoch's arrays {_short(names)} are not "
            f"the model's {_short(sorted(arrays))}")
    for name, array in best.items():
        ours = arrays[name]
        if (not isinstance(array, np.ndarray) or array.shape != ours.shape
                or array.dtype != ours.dtype):
            raise ParameterFileError(
                f"{path}: the best epoch's {name!r} is "
                f"{getattr(array, 'dtype', type(array).__name__)} "
                f"{getattr(array, 'shape', '')}, the model's {ours.dtype} "
                f"{ours.shape}")
        if not np.all(np.isfinite(array)):
            raise ParameterFileError(f"{path}: the best epoch's {name!r} "
                                     "contains NaN or infinity")


def _check_training_record(path: Path, record: dict) -> dict | None:
    """The record's epoch, seed, generators, optimiser and history, checked;
    returns the history (lists of ``epoch`` numbers, numbers, booleans)."""
    def fail(message):
        raise ParameterFileError(f"{path}: {message}")

    epoch, seed = record.get("epoch"), record.get("seed")
    if not _is_count(epoch):
        fail(f"epoch must be an integer >= 0, got {_short(epoch)}")
    if seed is not None and not _is_count(seed):
        fail(f"seed must be an integer >= 0 or null, got {_short(seed)}")
    opt = record.get("optimizer")
    if (not isinstance(opt, dict)
            or set(opt) != {"type", "lr", "t", "config"}):
        fail("the optimiser record must hold type, lr, t and config, got "
             f"{_short(opt)}")
    info = record.get("info")
    if info is not None and not isinstance(info, dict):
        fail(f"info must be a JSON object or null, got {_short(info)}")
    generators = record.get("generators")
    if generators is not None:
        if (not isinstance(generators, dict)
                or set(generators) != {"shuffle", "augment", "layers"}
                or not isinstance(generators["layers"], dict)):
            fail("generators must hold shuffle, augment and layers, got "
                 f"{_short(generators)}")
        states = {"shuffle": generators["shuffle"],
                  "augment": generators["augment"],
                  **{f"layer {k}": v for k, v in generators["layers"].items()}}
        for name, state in states.items():
            try:
                np.random.default_rng().bit_generator.state = state
            except (TypeError, ValueError, KeyError) as err:
                fail(f"generator {name!r} has no valid PCG64 state ({err})")
    history = record.get("history")
    if history is None:
        return None
    if not isinstance(history, dict):
        fail(f"history must be a JSON object, got {_short(history)}")
    for name, value in history.items():
        if isinstance(value, list):       # one number per epoch, or none
            ok = (all(map(_is_number, value)) and len(value) in (0, epoch))
        else:
            ok = value is None or isinstance(value, bool) or _is_number(value)
        if not ok:
            fail(f"history field {name!r} is malformed for {epoch} epochs: "
                 f"{_short(value)}")
    return history


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
