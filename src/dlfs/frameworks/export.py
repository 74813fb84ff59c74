"""Production: export a trained CNN, reload it in a fresh process, compare and time it.

Formats (written by :func:`export_torch` and :func:`export_keras`, read back by
:func:`reload`):

- torch.export: written with ``torch.export.export`` and ``torch.export.save``,
  read back with ``torch.export.load``;
- onnx: written with ``torch.onnx.export(..., dynamo=True)``, read back with
  ``onnxruntime``;
- savedmodel: written with Keras's ``Model.export`` (a TF SavedModel), read back
  with ``tf.saved_model.load``;
- tflite: written with ``tf.lite.TFLiteConverter`` from the SavedModel, read back
  with ``tf.lite.Interpreter``.

Every reload runs in a fresh Python process that imports only the runtime it
needs (no model code, no ``dlfs`` model), with a timeout.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .. import interop
from . import _proc

FORMATS = ("torch.export", "onnx", "savedmodel", "tflite")
FILES = {"torch.export": "cnn.pt2", "onnx": "cnn.onnx", "savedmodel": "savedmodel",
         "tflite": "cnn.tflite"}


def export_torch(tmodel, outdir: Path) -> dict:
    """Write ``tmodel`` (NCHW float32 input, any batch size) as torch.export and ONNX files."""
    torch = interop.import_torch()
    tmodel = tmodel.eval().cpu()
    example = (torch.zeros(2, 1, 28, 28),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(tmodel, example, dynamic_shapes=({0: batch},))
    torch.export.save(program, outdir / FILES["torch.export"])
    with _quiet(), warnings.catch_warnings():
        # the exporter trips over deprecations inside PyTorch itself (FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(tmodel, example, outdir / FILES["onnx"], dynamo=True,
                          input_names=["images"], output_names=["logits"],
                          dynamic_shapes=({0: batch},), verbose=False)
    return {f: outdir / FILES[f] for f in ("torch.export", "onnx")}


def export_keras(kmodel, outdir: Path) -> dict:
    """Write ``kmodel`` (NHWC float32 input) as a TF SavedModel and a LiteRT (.tflite) file."""
    interop.import_keras()
    import tensorflow as tf

    saved = outdir / FILES["savedmodel"]
    with _quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)    # TensorFlow's own internals
        kmodel.export(str(saved), format="tf_saved_model", verbose=False)
        flat = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    (outdir / FILES["tflite"]).write_bytes(flat)
    return {"savedmodel": saved, "tflite": outdir / FILES["tflite"]}


class _quiet:
    """Silence the converters' chatter: on file descriptors 1 and 2 (C++ logging), and
    the warnings of the ``torch.onnx`` logger (optional torchvision operators)."""

    def __enter__(self):
        self.logger = logging.getLogger("torch.onnx")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.logger.setLevel(self.level)


def size_bytes(path: Path) -> int:
    """Size of a file with its external-data companions (``cnn.onnx.data``), or of
    all files under a directory."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")
               if p.is_file() and not p.name.endswith(".npy"))


# -- in the fresh process -----------------------------------------------------------------
def _import_runtime(fmt: str) -> None:
    """Import the runtime a format needs (timed apart from loading the model)."""
    if fmt in ("torch.export",):
        interop.import_torch()
    elif fmt == "onnx":
        import onnxruntime  # noqa: F401
    else:
        interop.import_keras()


def _load(fmt: str, path: str, threads: int):
    """Load ``path`` and return a function from an NCHW float32 batch to logits."""
    if fmt == "torch.export":
        torch = interop.import_torch()
        module = torch.export.load(path).module()

        def predict(x):
            with torch.inference_mode():
                return module(torch.from_numpy(x)).numpy()
    elif fmt == "onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

        def predict(x):
            return session.run(None, {"images": x})[0]
    elif fmt == "savedmodel":
        interop.import_keras()
        import tensorflow as tf

        loaded = tf.saved_model.load(path)      # keep it: it owns the variables

        def predict(x):
            return loaded.serve(tf.constant(x.transpose(0, 2, 3, 1))).numpy()
    elif fmt == "tflite":
        interop.import_keras()
        import tensorflow as tf

        with _quiet():
            interpreter = tf.lite.Interpreter(model_path=path, num_threads=threads)
        inp = interpreter.get_input_details()[0]["index"]
        out = interpreter.get_output_details()[0]["index"]
        shape = [None]

        def predict(x):
            if shape[0] != len(x):                     # the batch size is part of the plan
                interpreter.resize_tensor_input(inp, [len(x), 28, 28, 1])
                interpreter.allocate_tensors()
                shape[0] = len(x)
            interpreter.set_tensor(inp, np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
            interpreter.invoke()
            return interpreter.get_tensor(out).copy()
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return predict


def serve(fmt: str, path: str, inputs: str, output: str, threads: int,
          repeats: int = 30) -> dict:
    """Load, predict ``inputs`` (.npy, NCHW) into ``output`` (.npy), time batch 1 and 256."""
    start = time.perf_counter()
    _import_runtime(fmt)
    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predict = _load(fmt, path, threads)
    load_seconds = time.perf_counter() - start
    x = np.load(inputs)
    np.save(output, predict(x))
    one, batch = x[:1], np.resize(x, (256, *x.shape[1:]))
    predict(one)                                                     # warm-up
    latency = []
    for _ in range(repeats):
        t = time.perf_counter()
        predict(one)
        latency.append(time.perf_counter() - t)
    predict(batch)
    bulk = []
    for _ in range(max(3, repeats // 6)):
        t = time.perf_counter()
        predict(batch)
        bulk.append(time.perf_counter() - t)
    return {"import_seconds": import_seconds, "load_seconds": load_seconds, "latency_ms": 1e3 * float(np.median(latency)),
            "throughput": 256 / float(np.median(bulk))}


def reload(fmt: str, path: Path, x: np.ndarray, *, threads: int = 1,
           timeout: float = 300) -> dict:
    """:func:`serve` in a fresh process: the logits of ``x`` and the timings."""
    path = Path(path)
    inputs, output = path.parent / f"inputs-{fmt}.npy", path.parent / f"logits-{fmt}.npy"
    np.save(inputs, np.ascontiguousarray(x, dtype=np.float32))
    out = _proc.run_module("dlfs.frameworks.export", [fmt, path, inputs, output, threads],
                           timeout=timeout, threads=threads)
    out["logits"] = np.load(output)
    return out


def round_trips(tmodel, kmodel, x: np.ndarray, outdir: Path, *, threads: int = 1) -> dict:
    """Export both models, reload every format in a fresh process, compare with the
    in-memory models' logits on ``x`` (NCHW float32).

    Returns ``{format: {"max_diff", "size_bytes", "load_seconds", "latency_ms",
    "throughput"}}``.
    """
    torch = interop.import_torch()
    outdir = Path(outdir)
    paths = {**export_torch(tmodel, outdir), **export_keras(kmodel, outdir)}
    with torch.inference_mode():
        ref_torch = tmodel.eval().cpu()(torch.from_numpy(x)).numpy()
    ref_keras = kmodel.predict(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), verbose=0)
    out = {}
    for fmt in FORMATS:
        r = reload(fmt, paths[fmt], x, threads=threads)
        ref = ref_torch if fmt in ("torch.export", "onnx") else ref_keras
        out[fmt] = {"max_diff": float(np.max(np.abs(r.pop("logits") - ref))),
                    "size_bytes": size_bytes(paths[fmt]), **r}
    return out


def npz_round_trip(model, x: np.ndarray, outdir: Path) -> dict:
    """Save a ``dlfs`` CNN as ``.npz``, load it, copy it into PyTorch and Keras, compare
    their logits on ``x`` with ``dlfs``'s, and copy both back into ``dlfs`` models.

    Returns ``logits_torch`` and ``logits_keras`` (largest absolute difference from the loaded
    ``dlfs`` model's logits) and ``back_torch`` and ``back_keras`` (largest absolute difference
    between the parameters copied back and the file's).
    """
    from ..io import load_model, save_model

    torch = interop.import_torch()
    path = save_model(model, Path(outdir) / "cnn.npz", input_shape=(1, 28, 28))
    loaded = load_model(path)
    dtype = loaded.layers[0].params["W"].dtype
    ref = loaded.forward(x.astype(dtype))
    tmodel = interop.to_torch(loaded, dtype=getattr(torch, dtype.name))
    kmodel = interop.to_keras(loaded, dtype=dtype.name)
    with torch.inference_mode():
        logits_torch = tmodel(torch.from_numpy(x.astype(dtype))).numpy()
    logits_keras = kmodel.predict(np.ascontiguousarray(x.astype(dtype).transpose(0, 2, 3, 1)),
                                  verbose=0)
    back = {}
    for name, copy_back, source in (("torch", interop.from_torch, tmodel),
                                    ("keras", interop.from_keras, kmodel)):
        again = load_model(path)
        for _, p, _ in again.parameters():
            p[...] = 0
        copy_back(source, again)
        back[name] = max(float(np.max(np.abs(p - q))) for (_, p, _), (_, q, _)
                         in zip(again.parameters(), loaded.parameters()))
    return {"logits_torch": float(np.max(np.abs(logits_torch - ref))),
            "logits_keras": float(np.max(np.abs(logits_keras - ref))),
            "back_torch": back["torch"], "back_keras": back["keras"],
            "size_bytes": size_bytes(path)}


NAMES = {"torch.export": "torch.export", "onnx": "ONNX Runtime", "savedmodel": "SavedModel",
         "tflite": "LiteRT"}


def sentence(exported: dict, n_params: int) -> str:
    """What the timings of :func:`round_trips` show, in words (generated, so the text
    follows the measurements)."""
    lat = {f: r["latency_ms"] for f, r in exported.items()}
    thr = {f: r["throughput"] for f, r in exported.items()}
    size = {f: r["size_bytes"] for f, r in exported.items()}
    fast, slow = min(lat, key=lat.get), max(lat, key=lat.get)
    best, worst = max(thr, key=thr.get), min(thr, key=thr.get)
    small, big = min(size, key=size.get), max(size, key=size.get)
    return (f"For one image, {NAMES[fast]} answered fastest ({lat[fast]:.2f} ms) and "
            f"{NAMES[slow]} slowest ({lat[slow]:.2f} ms); for batches of 256, {NAMES[best]} "
            f"reached the highest throughput ({thr[best]:,.0f} images per second) and "
            f"{NAMES[worst]} the lowest ({thr[worst]:,.0f}). The files range from "
            f"{size[small] / 1e3:,.0f} kB ({NAMES[small]}) to {size[big] / 1e3:,.0f} kB "
            f"({NAMES[big]}); the model's own parameters take "
            f"{4 * n_params / 1e3:,.0f} kB in float32, the rest is the program and "
            f"its metadata.")


def _main(argv: list[str]) -> None:
    fmt, path, inputs, output, threads = argv
    interop.set_threads(int(threads))
    print(json.dumps(serve(fmt, path, inputs, output, int(threads))))


if __name__ == "__main__":
    _main(sys.argv[1:])
