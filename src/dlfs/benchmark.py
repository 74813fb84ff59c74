"""Measuring speed: one MNIST training epoch in dlfs and in PyTorch, and a profile.

The benchmark of the case study (``make bench`` runs ``bench/run.py``, the
speed chapter calls the same functions at build time):

* :func:`compare` trains the MLP 784-512-256-10 (ReLU, softmax
  cross-entropy, Adam with learning rate 1e-3, batches of 128, float32,
  reshuffled every epoch) for one epoch at a time in dlfs and in PyTorch,
  alternating, with the same number of threads, and reports the median time
  of each and the median of the per-repetition ratios dlfs / PyTorch;
* :func:`peak_rss_mib` measures the peak resident memory of a fresh process
  that loads MNIST and trains one epoch;
* :func:`profile_epoch` splits one dlfs epoch into its stages.

PyTorch is optional: without it, the PyTorch side is ``None``.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ._blas import current_blas_threads
from .losses import SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optim import Adam
from .train import fit

#: The benchmark's network, optimiser and batch size.
SIZES = (784, 512, 256, 10)
LR = 1e-3
BATCH_SIZE = 128


def n_threads() -> int:
    """Threads NumPy's BLAS uses, read from the BLAS itself
    (:func:`dlfs._blas.current_blas_threads`); the number of CPUs if no BLAS is found."""
    return current_blas_threads() or os.cpu_count() or 1


def machine() -> dict:
    """A short description of the machine and the software versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = {"cpu": cpu, "cpus": os.cpu_count(), "threads": n_threads(),
            "python": platform.python_version(), "numpy": np.__version__}
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def dlfs_trainer(X: np.ndarray, y: np.ndarray, *, seed: int = 0):
    """A function that trains a dlfs model for one epoch and returns the seconds.

    The model and the optimiser persist across calls, like consecutive epochs.
    """
    model = mlp(list(SIZES), rng=np.random.default_rng(seed))
    loss, optimizer = SoftmaxCrossEntropy(), Adam(LR)
    epoch = [0]

    def run() -> float:
        start = time.perf_counter()
        fit(model, loss, optimizer, X, y, epochs=1, batch_size=BATCH_SIZE,
            seed=seed + epoch[0], progress=False)
        epoch[0] += 1
        return time.perf_counter() - start
    return run


def torch_trainer(X: np.ndarray, y: np.ndarray, *, seed: int = 0):
    """The same epoch in PyTorch (CPU, ``n_threads()`` threads); ``None`` without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(n_threads())
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)

    def run() -> float:
        start = time.perf_counter()
        order = torch.randperm(len(Xt), generator=generator)
        for i in range(0, len(Xt), BATCH_SIZE):
            idx = order[i:i + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            optimizer.step()
        return time.perf_counter() - start
    return run


@dataclass
class Comparison:
    """Seconds per epoch of every repetition, and the summary numbers."""

    dlfs: list[float]
    torch: list[float] | None
    machine: dict = field(default_factory=dict)

    @property
    def dlfs_median(self) -> float:
        return statistics.median(self.dlfs)

    @property
    def torch_median(self) -> float | None:
        return None if self.torch is None else statistics.median(self.torch)

    @property
    def ratio(self) -> float | None:
        """Median over repetitions of (dlfs seconds / PyTorch seconds)."""
        if self.torch is None:
            return None
        return statistics.median(a / b for a, b in zip(self.dlfs, self.torch))

    def as_dict(self) -> dict:
        return {"dlfs_seconds": self.dlfs, "torch_seconds": self.torch,
                "dlfs_median": self.dlfs_median, "torch_median": self.torch_median,
                "ratio": self.ratio, "machine": self.machine}


def compare(X: np.ndarray, y: np.ndarray, *, repeats: int = 3, warmup: int = 1,
            seed: int = 0) -> Comparison:
    """Time one epoch of dlfs and of PyTorch, alternating, ``repeats`` times.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 784), float32
    y : ndarray of shape (n_samples,), int64
    repeats : int
        Timed epochs per framework.
    warmup : int
        Untimed epochs first (allocations, thread pools, caches).
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    runners = {"dlfs": dlfs_trainer(X, y, seed=seed),
               "torch": torch_trainer(X, y, seed=seed)}
    runners = {k: v for k, v in runners.items() if v is not None}
    times = {k: [] for k in runners}
    for i in range(warmup + repeats):
        for name, run in runners.items():   # alternate: the same conditions
            seconds = run()
            if i >= warmup:
                times[name].append(seconds)
    return Comparison(times["dlfs"], times.get("torch"), machine())


def peak_rss_mib(framework: str = "dlfs", *, limit: int | None = None,
                 synthetic: bool = False) -> float:
    """Peak resident memory (MiB) of a fresh process that loads MNIST and trains one epoch.

    ``framework`` is ``"dlfs"`` or ``"torch"``; ``limit`` keeps the first
    images only; ``synthetic`` uses random data of MNIST's shapes instead
    of the files (for tests).

    Measured by the operating system, so it counts everything: the
    interpreter, the libraries, the data, the model.  On Linux this is the
    process's high-water mark ``VmHWM`` (``getrusage``'s ``ru_maxrss`` would
    include the memory of the parent at the time of the fork).
    """
    code = ("from dlfs.benchmark import _train_once, _peak_rss_kib; "
            f"_train_once({framework!r}, {limit!r}, {synthetic!r}); print(_peak_rss_kib())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=os.environ.copy())
    return int(out.stdout.split()[-1]) / 1024


def _peak_rss_kib() -> int:
    """Peak resident memory of this process in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak     # macOS: bytes


def _train_once(framework: str, limit: int | None, synthetic: bool = False) -> None:
    if synthetic:
        rng = np.random.default_rng(0)
        n = 60_000 if limit is None else limit
        X, y = rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], n)
    else:
        X, y = mnist_training_set(limit)
    run = dlfs_trainer(X, y) if framework == "dlfs" else torch_trainer(X, y)
    run()


def mnist_training_set(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 MNIST training images as float32 rows in [0, 1], and their labels."""
    from .data import load_mnist, to_float

    x, y, _, _ = load_mnist()
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return to_float(x), y


def profile_epoch(model: Sequential, loss, optimizer, X: np.ndarray, y: np.ndarray, *,
                  batch_size: int = BATCH_SIZE, seed: int = 0) -> dict[str, float]:
    """Seconds spent in each stage of one training epoch.

    The epoch is :func:`dlfs.train.fit`'s loop written out, with a clock
    around every stage: ``"batches"`` (shuffled index copies), one entry per
    layer and direction (``"0 Dense forward"``, ...), ``"loss"`` (forward and
    backward), ``"optimizer"`` and ``"other"`` (the loop itself: the rest of
    the measured total, also reported as ``"total"``).
    """
    clock = time.perf_counter
    spent: dict[str, float] = defaultdict(float)
    names = [f"{i} {type(layer).__name__}" for i, layer in enumerate(model.layers)]
    # Like Sequential.backward: no input gradient below the lowest layer with parameters.
    first = next((i for i, layer in enumerate(model.layers) if layer.params),
                 len(model.layers))
    order = np.random.default_rng(seed).permutation(len(X))
    begin = clock()
    for start in range(0, len(X), batch_size):
        t = clock()
        idx = order[start:start + batch_size]
        out, yb = X[idx], y[idx]
        t, spent["batches"] = clock(), spent["batches"] + clock() - t
        for name, layer in zip(names, model.layers):
            out = layer.forward(out, True)
            spent[f"{name} forward"] += clock() - t
            t = clock()
        loss.forward(out, yb)
        grad = loss.backward()
        spent["loss"] += clock() - t
        t = clock()
        for i in reversed(range(first, len(model.layers))):
            grad = model.layers[i].backward(grad, input_grad=i > first)
            spent[f"{names[i]} backward"] += clock() - t
            t = clock()
        optimizer.step(model.parameters())
        spent["optimizer"] += clock() - t
    total = clock() - begin
    spent["other"] = total - sum(spent.values())
    spent["total"] = total
    return dict(spent)


def matmul_seconds(sizes=SIZES, *, n_samples: int = 60_000, batch_size: int = BATCH_SIZE,
                   input_grad: bool = True, dtype=np.float32, seed: int = 0) -> float:
    """Time of the matrix products alone of one epoch of an MLP, in the same shapes.

    Per batch: ``X @ W`` for every layer (forward), ``X.T @ G`` for every layer
    and ``G @ W.T`` for every layer but the first unless ``input_grad``
    (backward).  This is the floor that no implementation with the same
    products can go below.
    """
    rng = np.random.default_rng(seed)
    shapes = list(zip(sizes[:-1], sizes[1:]))
    Ws = [rng.standard_normal(s).astype(dtype) for s in shapes]
    Xs = [rng.standard_normal((batch_size, n_in)).astype(dtype) for n_in, _ in shapes]
    Gs = [rng.standard_normal((batch_size, n_out)).astype(dtype) for _, n_out in shapes]
    outs = [np.empty((batch_size, n_out), dtype) for _, n_out in shapes]
    dWs = [np.empty_like(W) for W in Ws]
    dXs = [np.empty_like(X) for X in Xs]
    n_batches = -(-n_samples // batch_size)
    start = time.perf_counter()
    for _ in range(n_batches):
        for i, W in enumerate(Ws):
            np.matmul(Xs[i], W, out=outs[i])
        for i, W in enumerate(Ws):
            np.matmul(Xs[i].T, Gs[i], out=dWs[i])
            if i > 0 or input_grad:
                np.matmul(Gs[i], W.T, out=dXs[i])
    return time.perf_counter() - start


def epoch_flops(sizes=SIZES, n_samples: int = 60_000, input_grad: bool = True) -> int:
    """Floating-point operations of the matrix products of one epoch (2 per multiply-add).

    Implements :eq:`eq-mnist-flops` (with ``input_grad=False``).
    """
    pairs = list(zip(sizes[:-1], sizes[1:]))
    per_sample = sum(2 * a * b for a, b in pairs)           # forward
    per_sample += sum(2 * a * b for a, b in pairs)          # dW
    per_sample += sum(2 * a * b for a, b in pairs[(0 if input_grad else 1):])   # dX
    return n_samples * per_sample


def main(argv: list[str] | None = None) -> int:
    """``python -m dlfs.benchmark [--repeats N] [--json PATH]``: the benchmark."""
    import argparse

    parser = argparse.ArgumentParser(description="dlfs vs PyTorch: one MNIST epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    X, y = mnist_training_set()
    result = compare(X, y, repeats=args.repeats)
    rss = {"dlfs": peak_rss_mib("dlfs")}
    if result.torch is not None:
        rss["torch"] = peak_rss_mib("torch")
    m = result.machine
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, {m['threads']} threads; "
          f"python {m['python']}, numpy {m['numpy']}, torch {m['torch']}")
    print("network 784-512-256-10 ReLU, Adam lr 1e-3, batch 128, float32, 60,000 images")
    print(f"dlfs   seconds per epoch: {' '.join(f'{t:.3f}' for t in result.dlfs)}"
          f"  median {result.dlfs_median:.3f}   peak RSS {rss['dlfs']:.0f} MiB")
    if result.torch is None:
        print("PyTorch is not installed: no comparison")
    else:
        print(f"torch  seconds per epoch: {' '.join(f'{t:.3f}' for t in result.torch)}"
              f"  median {result.torch_median:.3f}   peak RSS {rss['torch']:.0f} MiB")
        print(f"median ratio dlfs / torch: {result.ratio:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**result.as_dict(), "peak_rss_mib": rss}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
