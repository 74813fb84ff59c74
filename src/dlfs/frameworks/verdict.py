"""The verdict of the frameworks chapter: line counts and sentences generated from the
measurements, so that the text cannot contradict them."""
from __future__ import annotations

import inspect

from .. import interop
from ..recipes import mnist_cnn as cnn
from .race import race_verdict


def code_lines(fn) -> int:
    """Lines of a function without its docstring, comments and blank lines."""
    source = inspect.getsource(fn)
    doc = inspect.getdoc(fn)
    if doc:
        parts = source.split('"""')
        source = parts[0] + '"""'.join(parts[2:]) if len(parts) >= 3 else source
    return sum(1 for line in source.splitlines()
               if line.strip() and not line.strip().startswith("#"))


def model_lines() -> dict:
    """Lines of the three model definitions of the chapter."""
    return {"dlfs": code_lines(cnn.mnist_cnn), "PyTorch": code_lines(interop.torch_cnn),
            "Keras": code_lines(interop.keras_cnn)}


def _sci(x: float) -> str:
    """An upper bound of ``x`` in TeX (one significant digit, rounded up), or 0."""
    import math

    if x == 0:
        return "$0$"
    exponent = math.floor(math.log10(x))
    mantissa = math.ceil(round(x / 10 ** exponent, 9))
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    power = f"10^{{{exponent}}}"
    return f"${power}$" if mantissa == 1 else rf"${mantissa} \times {power}$"


class Text(str):
    """A string glued as text: its repr is the text itself, without quotes."""

    def __repr__(self) -> str:
        return str(self)


def race_cells(summary: dict, timing: dict) -> dict:
    """The verdict table's cells measured by the race and the timings (plain text, keyed
    ``<row>_<library>``): accuracy, seconds per epoch, ms per step at 1 / 2 threads, and
    the lines of the model definitions."""
    cells = {}
    for lib in ("dlfs", "PyTorch", "Keras"):
        key, s = lib.lower(), summary[lib]
        cells[f"acc_{key}"] = Text(f"{100 * s['acc_mean']:.2f} ± {100 * s['acc_sd']:.2f} %")
        cells[f"epoch_{key}"] = Text(f"{s['seconds']:.2f}")
        steps = [1e3 * timing[n]["steps"]["128"][lib]["median"] for n in sorted(timing)]
        cells[f"step_{key}"] = Text(" / ".join(f"{v:.0f}" for v in steps))
    for lib, n in model_lines().items():
        cells[f"lines_{lib.lower()}"] = Text(str(n))
    return cells


def table(*, compiled, exported, npz, dp, custom) -> dict:
    """The verdict table's cells measured in the practice chapter, as Markdown strings."""
    cells = {}
    t, k = compiled["PyTorch"], compiled["TensorFlow"]
    cells["compile_pytorch"] = (f"`torch.compile` {t['eager']['step'] / t['compiled']['step']:.2f}"
                                f" ({t['compiled']['first']:.1f} s)")
    cells["compile_keras"] = (f"XLA {k['eager']['step'] / k['xla']['step']:.2f} "
                              f"({k['xla']['first']:.1f} s)")
    names = {"torch.export": "torch.export", "onnx": "ONNX", "savedmodel": "SavedModel",
             "tflite": "LiteRT"}
    cells["export_dlfs"] = (".npz into both: " + _sci(max(npz["logits_torch"],
                                                             npz["logits_keras"])))
    for col, fmts in (("pytorch", ("torch.export", "onnx")), ("keras", ("savedmodel", "tflite"))):
        cells[f"export_{col}"] = ", ".join(f"{names[f]} {_sci(exported[f]['max_diff'])}"
                                           for f in fmts)
        best_lat = min(fmts, key=lambda f: exported[f]["latency_ms"])
        best_thr = max(fmts, key=lambda f: exported[f]["throughput"])
        cells[f"serve_{col}"] = (f"{exported[best_lat]['latency_ms']:.2f} ({names[best_lat]}) / "
                                 f"{exported[best_thr]['throughput']:,.0f} ({names[best_thr]})")
    for col, fw in (("pytorch", "torch"), ("keras", "tf")):
        r = dp[(fw, 2, 1)]
        same = "identical" if r["workers_differ"] == 0 else f"differ by {_sci(r['workers_differ'])}"
        cells[f"dp_{col}"] = f"{_sci(r['step_vs_single'])}; {same}"
    cells["custom_pytorch"] = "`gradcheck` " + ("passed" if custom["torch_gradcheck"] else "FAILED")
    cells["custom_keras"] = f"`compute_gradient`: {_sci(custom['tf_numeric'])}"
    return cells


def paragraph(*, compiled, exported, dp) -> str:
    """The measured part of the verdict paragraph, generated from the numbers."""
    t, k = compiled["PyTorch"], compiled["TensorFlow"]
    sp_t = t["eager"]["step"] / t["compiled"]["step"]
    sp_k = k["eager"]["step"] / k["xla"]["step"]
    sp_g = k["eager"]["step"] / k["graph"]["step"]
    lat = {f: r["latency_ms"] for f, r in exported.items()}
    fast_fmt = min(lat, key=lat.get)
    served = {"torch.export": "PyTorch's own `torch.export` file",
              "onnx": "PyTorch's ONNX export, run by ONNX Runtime",
              "savedmodel": "TensorFlow's SavedModel",
              "tflite": "TensorFlow's LiteRT conversion"}[fast_fmt]
    dp_ok = all(r["workers_differ"] == 0 and r["step_vs_single"] < 1e-10 for r in dp.values())
    return (f"Compiling the training step changed its time by a factor of {sp_t:.2f} with "
            f"`torch.compile`, {sp_g:.2f} with a TensorFlow graph and {sp_k:.2f} with XLA "
            f"(above 1 is faster). Every export format reloaded with the same logits, and the "
            f"fastest single-image answer came from {served}. "
            "Data-parallel training "
            + ("was exact in both frameworks" if dp_ok else "was NOT exact in every run")
            + ". On this evidence, the two frameworks differ less in what they can do than "
            "in how they do it: the same model, custom gradients, exports and distributed "
            "training are available in both.")
