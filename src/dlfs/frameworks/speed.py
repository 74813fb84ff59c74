"""Timings of dlfs, PyTorch and TensorFlow: convolution layers and whole training steps.

:func:`measure` runs every timing in *this* process with the thread count it
was started with; :func:`measure_with_threads` starts a fresh process per
thread count, because TensorFlow fixes its thread pools at first use.  Every
timing is the median of ``repeats`` runs after one warm-up run, in float32,
with the minimum and maximum kept for the whiskers of a plot.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from .. import interop
from ..layers import Conv2D
from ..losses import SoftmaxCrossEntropy
from ..optim import Adam
from . import _proc
from ..recipes import mnist_cnn as cnn
from .race import initial_model

#: (name, batch, C_in, size, C_out, k, input gradient wanted): the CNN's two convolutions
#: as training runs them (conv1's input gradient is never needed), and one larger layer
#: of the kind found in image classifiers (64 -> 128 channels, 3x3, 56x56).
_B, (_C1, _C2) = cnn.RECIPE.batch_size, cnn.RECIPE.channels
LAYERS = (("conv1", _B, 1, 28, _C1, 5, False),
          ("conv2", _B, _C1, 12, _C2, 5, True),
          ("large", 8, 64, 56, 128, 3, True))
BATCHES = (32, 128, 512)


def _timed(fn, repeats: int) -> dict:
    fn()                                                # warm-up (and tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median": float(np.median(times)), "min": float(min(times)),
            "max": float(max(times))}


def time_conv(library: str, batch: int, c_in: int, size: int, c_out: int, k: int,
              input_grad: bool = True, *, repeats: int = 5, seed: int = 0) -> dict:
    """Seconds of one convolution forward + backward (weight, bias and, if
    ``input_grad``, input gradients) in ``library``: "dlfs", "PyTorch" or "TensorFlow"."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
    layer = Conv2D(c_in, c_out, k, rng=rng)
    g = rng.standard_normal((batch, c_out, size - k + 1, size - k + 1), dtype=np.float32)
    if library == "dlfs":
        def run():
            layer.forward(x)
            layer.backward(g, input_grad=input_grad)
    elif library == "PyTorch":
        torch = interop.import_torch()
        conv = torch.nn.Conv2d(c_in, c_out, k)
        xt, gt = torch.from_numpy(x).requires_grad_(input_grad), torch.from_numpy(g)

        def run():
            xt.grad = None
            conv.zero_grad()
            conv(xt).backward(gt)
    elif library == "TensorFlow":
        interop.import_keras()
        import tensorflow as tf
        xt = tf.constant(x.transpose(0, 2, 3, 1))
        gt = tf.constant(g.transpose(0, 2, 3, 1))
        w = tf.Variable(layer.params["W"].transpose(2, 3, 1, 0))
        b = tf.Variable(layer.params["b"])
        targets = [w, b, xt] if input_grad else [w, b]

        def run():
            with tf.GradientTape() as tape:
                if input_grad:
                    tape.watch(xt)
                z = tf.nn.bias_add(tf.nn.conv2d(xt, w, 1, "VALID"), b)
            grads = tape.gradient(z, targets, output_gradients=gt)
            _ = [t.numpy() for t in grads]                    # wait for the result
    else:
        raise ValueError(f"unknown library {library!r}")
    return _timed(run, repeats)


def time_step(library: str, batch: int, *, repeats: int = 5, seed: int = 0) -> dict:
    """Seconds of one training step (forward, loss, backward, Adam update) of the
    chapter's CNN on ``batch`` images in ``library``: "dlfs", "PyTorch" or "Keras"
    (``Model.train_on_batch``, a compiled ``tf.function``)."""
    rng = np.random.default_rng(seed)
    X = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    net = initial_model(seed)
    if library == "dlfs":
        loss, opt = SoftmaxCrossEntropy(), Adam(1e-4)

        def run():
            loss.forward(net.forward(X, training=True), y)
            net.backward(loss.backward())
            opt.step(net.parameters())
    elif library == "PyTorch":
        torch = interop.import_torch()
        model = interop.to_torch(net, dtype=torch.float32)
        opt_t = torch.optim.Adam(model.parameters(), lr=1e-4)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()

        def run():
            opt_t.zero_grad()
            loss_fn(model(Xt), yt).backward()
            opt_t.step()
    elif library == "Keras":
        keras = interop.import_keras()
        model = interop.to_keras(net, dtype="float32")
        model.compile(optimizer=keras.optimizers.Adam(1e-4, epsilon=1e-8),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        Xn = np.ascontiguousarray(X.transpose(0, 2, 3, 1))

        def run():
            model.train_on_batch(Xn, y)
    else:
        raise ValueError(f"unknown library {library!r}")
    return _timed(run, repeats)


def measure(*, layers=LAYERS, batches=BATCHES, repeats: int = 5) -> dict:
    """All the timings in this process: ``{"threads", "layers": {name: {library: t}},
    "steps": {batch: {library: t}}}`` with ``t`` the median/min/max dict of seconds."""
    interop.import_torch()
    interop.import_keras()
    out = {"threads": interop.threads(), "layers": {}, "steps": {}}
    for name, *shape, input_grad in layers:
        out["layers"][name] = {lib: time_conv(lib, *shape, input_grad, repeats=repeats)
                               for lib in ("dlfs", "PyTorch", "TensorFlow")}
    for batch in batches:
        out["steps"][str(batch)] = {lib: time_step(lib, batch, repeats=repeats)
                                    for lib in ("dlfs", "PyTorch", "Keras")}
    return out


def measure_with_threads(threads: int, *, small: bool = False, timeout: float = 900) -> dict:
    """:func:`measure` in a fresh process whose libraries all get ``threads`` threads.
    ``small`` times tiny shapes only (for tests)."""
    return _proc.run_module("dlfs.frameworks.speed", [threads, int(small)],
                            timeout=timeout, threads=threads)


def ratios(timing: dict) -> dict:
    """dlfs / PyTorch ratios of the median times: ``{"<layer>_<threads>": r,
    "step<batch>_<threads>": r}`` for every thread count of ``timing``."""
    out = {}
    for n, t in timing.items():
        for name, by_lib in t["layers"].items():
            out[f"{name}_{n}"] = by_lib["dlfs"]["median"] / by_lib["PyTorch"]["median"]
        for batch, by_lib in t["steps"].items():
            out[f"step{batch}_{n}"] = by_lib["dlfs"]["median"] / by_lib["PyTorch"]["median"]
    return out


def speed_sentence(timing: dict, summary: dict | None = None, *, goal: float = 2.0) -> str:
    """Sentences that state what ``timing`` (``{threads: measure()}``, with 1 and 2)
    shows about the goal, the larger layer and the second thread."""
    r = ratios(timing)
    parts = []
    for n in sorted(timing):
        own = [r[f"conv1_{n}"], r[f"conv2_{n}"], r[f"step128_{n}"]]
        met = ("all within" if max(own) <= goal else "some within, some beyond"
               if min(own) <= goal else "all beyond")
        parts.append(f"at {n} thread{'s' if n > 1 else ''} the ratio of `dlfs` to PyTorch is "
                     f"{own[0]:.2f} for conv1, {own[1]:.2f} for conv2 and {own[2]:.2f} for a "
                     f"training step at batch 128, {met} the goal of {goal:.1f}")
    text = "In this build, " + "; ".join(parts) + ". "
    large = [r[f"large_{n}"] for n in sorted(timing)]
    small = [max(r[f"conv1_{n}"], r[f"conv2_{n}"]) for n in sorted(timing)]
    if all(lg > sm for lg, sm in zip(large, small)):
        text += (f"On the larger layer the ratio grows to {large[0]:.2f} (one thread): the "
                 "tuned kernels do pull further ahead as layers grow. ")
    else:
        text += (f"On the larger layer the ratio is {large[0]:.2f} (one thread), not larger "
                 "than on the CNN's own layers at every thread count, so this measurement "
                 "does not show the tuned kernels pulling further ahead as layers grow. ")
    if 1 in timing and 2 in timing:
        gains = {lib: timing[1]["steps"]["128"][lib]["median"]
                 / timing[2]["steps"]["128"][lib]["median"] for lib in ("dlfs", "PyTorch", "Keras")}
        text += ("The time of a training step at batch 128 with one thread divided by that "
                 "with two is " + ", ".join(f"{g:.2f} for {lib}" for lib, g in gains.items())
                 + " (2 would be perfect; below 1 the second thread slowed the step down)")
        if min(gains, key=gains.get) == "dlfs":
            text += ("; `dlfs` gains least, plausibly because much of its time goes to single-threaded "
                     "NumPy work (patch copies, pooling, the element-wise update) rather "
                     "than to the BLAS")
        text += "."
    if summary:
        order = sorted(summary, key=lambda k: summary[k]["seconds"])
        text += (f" In the race, {order[0]} trained fastest, at "
                 f"{summary[order[0]]['seconds']:.2f} s per epoch, followed by {order[1]} "
                 f"({summary[order[1]]['seconds']:.2f} s) and {order[2]} "
                 f"({summary[order[2]]['seconds']:.2f} s), one thread each.")
    return text


def plot(timing: dict):
    """Layer times (bars with min-max whiskers, log scale) and training-step throughput
    (images per second against the batch size) for every library and thread count."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.4, 2.8),
                                   gridspec_kw={"width_ratios": [1.3, 1]})
    threads = sorted(timing)
    layer_names = list(timing[threads[0]]["layers"])
    libs = ("dlfs", "PyTorch", "TensorFlow")
    width = 0.8 / (len(libs) * len(threads))
    for i, lib in enumerate(libs):
        for j, n in enumerate(threads):
            t = [timing[n]["layers"][name][lib] for name in layer_names]
            med = np.array([1e3 * v["median"] for v in t])
            err = np.array([[1e3 * (v["median"] - v["min"]) for v in t],
                            [1e3 * (v["max"] - v["median"]) for v in t]])
            xs = np.arange(len(layer_names)) - 0.4 + width * (0.5 + i * len(threads) + j)
            ax1.bar(xs, med, width, yerr=err, color=f"C{i}", hatch="//" if j else None,
                    edgecolor="white" if j else None, capsize=1.5, error_kw={"lw": 0.6},
                    label=f"{lib}, {n} thr.")
    ax1.set(xticks=np.arange(len(layer_names)), xticklabels=layer_names, yscale="log",
            ylabel="ms per forward + backward")
    ax1.legend(frameon=False, fontsize=6, ncol=2, loc="upper left")
    ax1.set_ylim(top=ax1.get_ylim()[1] * 30)            # room for the legend above the bars
    for i, lib in enumerate(("dlfs", "PyTorch", "Keras")):
        for j, n in enumerate(threads):
            batches = sorted(timing[n]["steps"], key=int)
            ips = [int(b) / timing[n]["steps"][b][lib]["median"] for b in batches]
            ax2.plot([int(b) for b in batches], ips, "o-" if j == 0 else "s--", color=f"C{i}",
                     ms=3, lw=1, label=f"{lib}, {n} thr.")
    ax2.set(xscale="log", xlabel="batch size", ylabel="images per second (training)")
    ax2.set_xticks([int(b) for b in timing[threads[0]]["steps"]],
                   labels=list(timing[threads[0]]["steps"]))
    ax2.minorticks_off()
    ax2.legend(frameon=False, fontsize=6)
    for ax in (ax1, ax2):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _main(argv: list[str]) -> None:
    threads, small = int(argv[0]), bool(int(argv[1]))
    interop.set_threads(threads)
    if small:
        result = measure(layers=(("tiny", 2, 1, 8, 2, 3, True),), batches=(4,), repeats=1)
    else:
        result = measure()
    print(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1:])
