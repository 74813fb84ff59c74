"""Measuring speed: MNIST training in dlfs and in PyTorch, the matrix-product floor, a profile.

The benchmark of the case study (``make bench`` runs ``bench/run.py``, the
speed chapter calls the same functions at build time):

* :func:`compare` trains the MLP 784-512-256-10 (ReLU, softmax
  cross-entropy, Adam with learning rate 1e-3, batches of 128, float32,
  reshuffled every epoch) for one epoch at a time with :func:`dlfs.train.fit`,
  with a bare dlfs loop (:func:`dlfs_bare_trainer`, the same work as the
  PyTorch loop) and with PyTorch, alternating, with the same number of
  threads, read back from both libraries; it reports every repetition;
* :func:`scaling` does the same for several thread counts and batch sizes,
  next to the time of the matrix products alone (:func:`matmul_seconds`) in
  NumPy and in PyTorch: the floor of each;
* :func:`peak_gflops` and :func:`copy_gbps` measure the two roofs of a
  roofline: the rate of a large matrix product and the memory bandwidth;
* :func:`peak_rss_mib` measures the peak resident memory of a fresh process
  that loads MNIST and trains one epoch;
* :func:`profile_epoch` splits one dlfs epoch into its stages.

Every timing is repeated (:class:`Timing` keeps all repetitions: median,
minimum, maximum, standard deviation).  Only the MNIST *training* images
are used.  PyTorch is optional: without it, the PyTorch side is ``None``.
"""
from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._blas import blas_threads, current_blas_threads
from .losses import SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optim import Adam
from .train import fit

#: The benchmark's network, optimiser and batch size.
SIZES = (784, 512, 256, 10)
LR = 1e-3
BATCH_SIZE = 128


@dataclass
class Timing:
    """Seconds of every repetition of one measurement, and their summary."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.seconds) if len(self.seconds) > 1 else 0.0

    def __str__(self) -> str:
        # "median s (min to max, runs)": short enough to sit inside a printed line;
        # "to", not a dash, which would read as a minus next to 1e-05
        return (f"{self.median:.3g} s ({self.min:.3g} to {self.max:.3g}, "
                f"{len(self.seconds)} runs)")


def repeat(run: Callable[[], object], repeats: int = 5, warmup: int = 1) -> Timing:
    """Call ``run()`` ``warmup`` times untimed, then ``repeats`` times timed
    (the whole call, by the wall clock; what it returns is ignored)."""
    return alternate({"run": run}, repeats, warmup)["run"]


def alternate(runners: dict[object, Callable[[], object]], repeats: int = 5,
              warmup: int = 1) -> dict[object, Timing]:
    """Like :func:`repeat` for several runs, called in turn (A, B, A, B, ...),
    so that all of them see the same conditions of a machine that changes."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    times: dict[object, list[float]] = {name: [] for name in runners}
    for i in range(warmup + repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: Timing(t) for name, t in times.items()}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def cpu_count() -> int:
    """CPUs this process may run on: its affinity mask, not the machine's count.

    ``os.cpu_count()`` counts every CPU of the machine, also those the process
    is not allowed to use.  (A cgroup CPU quota is not seen by either.)
    """
    if hasattr(os, "process_cpu_count"):                    # Python >= 3.13
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def n_threads() -> int:
    """Threads NumPy's BLAS uses, read from the BLAS itself
    (:func:`dlfs._blas.current_blas_threads`); :func:`cpu_count` if no BLAS is found."""
    return current_blas_threads() or cpu_count()


def numpy_blas() -> dict | None:
    """NumPy's BLAS as threadpoolctl finds it loaded: library, version, threads."""
    from threadpoolctl import threadpool_info

    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    home = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    own = [p for p in pools if os.path.abspath(p["filepath"]).startswith(home)
           and "numpy" in p["filepath"]] or pools
    if not own:
        return None
    pool = own[0]
    return {"library": pool.get("internal_api"), "version": pool.get("version"),
            "threads": pool.get("num_threads")}


def torch_blas() -> dict | None:
    """PyTorch's BLAS as its build reports it (``torch.__config__.show()``:
    ``BLAS_INFO`` and, for MKL, its version) and its threads
    (``torch.get_num_threads()``); None without PyTorch."""
    torch = _torch()
    if torch is None:
        return None
    config = torch.__config__.show()
    name = re.search(r"BLAS_INFO=([\w.-]+)", config)
    version = re.search(r"Math Kernel Library Version ([\w.]+)", config)
    return {"library": name.group(1) if name else None,
            "version": version.group(1) if version else None,
            "threads": torch.get_num_threads()}


def describe_blas(info: dict | None, *, threads: bool = True) -> str:
    """``"openblas 0.3.27, 2 threads"`` (without ``, 2 threads`` if not
    ``threads``) from :func:`numpy_blas` or :func:`torch_blas`."""
    if info is None:
        return "none"
    version = f" {info['version']}" if info.get("version") else ""
    return f"{info['library']}{version}" + (f", {info['threads']} threads" if threads else "")


def machine() -> dict:
    """The machine, the software versions, and both libraries' BLAS and thread counts
    (read from the libraries, not from environment variables)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    torch = _torch()
    numpy_side, torch_side = numpy_blas(), torch_blas()
    return {"cpu": cpu, "cpus": cpu_count(), "threads": n_threads(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numpy_blas": describe_blas(numpy_side),
            "torch": None if torch is None else torch.__version__,
            "torch_blas": None if torch_side is None else describe_blas(torch_side),
            "torch_threads": None if torch_side is None else torch_side["threads"]}


def dlfs_trainer(X: np.ndarray, y: np.ndarray, *, seed: int = 0,
                 batch_size: int = BATCH_SIZE):
    """A function that trains a dlfs model for one epoch with :func:`dlfs.train.fit`
    and returns the seconds.

    The model and the optimiser persist across calls, like consecutive
    epochs.  ``fit`` does a little more than the step itself: it checks its
    arguments and the data once per call, checks every batch loss for
    divergence, counts the correct predictions and keeps a history.
    """
    model = mlp(list(SIZES), rng=np.random.default_rng(seed))
    loss, optimizer = SoftmaxCrossEntropy(), Adam(LR)
    epoch = [0]

    def run() -> float:
        start = time.perf_counter()
        fit(model, loss, optimizer, X, y, epochs=1, batch_size=batch_size,
            seed=seed + epoch[0], progress=False)
        epoch[0] += 1
        return time.perf_counter() - start
    return run


def dlfs_bare_trainer(X: np.ndarray, y: np.ndarray, *, seed: int = 0,
                      batch_size: int = BATCH_SIZE):
    """The same epoch as a bare dlfs loop: shuffle, then forward, loss,
    backward and step per batch, nothing else, like torch_trainer."""
    model = mlp(list(SIZES), rng=np.random.default_rng(seed))
    loss, optimizer = SoftmaxCrossEntropy(), Adam(LR)
    rng = np.random.default_rng(seed)

    def run() -> float:
        start = time.perf_counter()
        order = rng.permutation(len(X))
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss.forward(model.forward(X[idx], training=True), y[idx])
            model.backward(loss.backward())
            optimizer.step(model.parameters())
        return time.perf_counter() - start
    run.model = model
    return run


def torch_trainer(X: np.ndarray, y: np.ndarray, *, seed: int = 0,
                  batch_size: int = BATCH_SIZE):
    """The same epoch in PyTorch on the CPU, with as many threads as NumPy's
    BLAS (n_threads()); None without PyTorch."""
    torch = _torch()
    if torch is None:
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
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            optimizer.step()
        return time.perf_counter() - start
    return run


def thread_counts() -> dict[str, int | None]:
    """Threads NumPy's BLAS and PyTorch use now, read from the libraries."""
    torch = _torch()
    return {"numpy": current_blas_threads(),
            "torch": None if torch is None else torch.get_num_threads()}


@dataclass
class Comparison:
    """Seconds per epoch of every repetition (:func:`dlfs.train.fit`, the bare dlfs
    loop and PyTorch), the thread counts read from both libraries, the machine."""

    dlfs: list[float]
    torch: list[float] | None
    bare: list[float] = field(default_factory=list)
    threads: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)

    @property
    def dlfs_median(self) -> float:
        return statistics.median(self.dlfs)

    @property
    def bare_median(self) -> float | None:
        return statistics.median(self.bare) if self.bare else None

    @property
    def torch_median(self) -> float | None:
        return None if self.torch is None else statistics.median(self.torch)

    @property
    def ratios(self) -> list[float] | None:
        """dlfs seconds / PyTorch seconds of every repetition."""
        if self.torch is None:
            return None
        return [a / b for a, b in zip(self.dlfs, self.torch)]

    @property
    def ratio(self) -> float | None:
        """Median over repetitions of (dlfs seconds / PyTorch seconds)."""
        return None if self.torch is None else statistics.median(self.ratios)

    @property
    def bare_ratio(self) -> float | None:
        """Median over repetitions of (bare dlfs loop seconds / PyTorch seconds)."""
        if self.torch is None or not self.bare:
            return None
        return statistics.median(a / b for a, b in zip(self.bare, self.torch))

    def as_dict(self) -> dict:
        return {"dlfs_seconds": self.dlfs, "bare_seconds": self.bare,
                "torch_seconds": self.torch, "dlfs_median": self.dlfs_median,
                "bare_median": self.bare_median, "torch_median": self.torch_median,
                "ratio": self.ratio, "bare_ratio": self.bare_ratio,
                "threads": self.threads, "machine": self.machine}


def compare(X: np.ndarray, y: np.ndarray, *, repeats: int = 5, warmup: int = 1,
            seed: int = 0, bare: bool = True) -> Comparison:
    """Time one epoch of dlfs (``fit``, and the bare loop unless ``bare=False``)
    and of PyTorch, alternating, ``repeats`` times each.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 784), float32
    y : ndarray of shape (n_samples,), int64
    repeats : int
        Timed epochs per framework.
    warmup : int
        Untimed epochs first (allocations, thread pools, caches).

    Raises
    ------
    RuntimeError
        If PyTorch does not use as many threads as NumPy's BLAS.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    runners = {"dlfs": dlfs_trainer(X, y, seed=seed)}
    if bare:
        runners["bare"] = dlfs_bare_trainer(X, y, seed=seed)
    runners["torch"] = torch_trainer(X, y, seed=seed)
    runners = {k: v for k, v in runners.items() if v is not None}
    threads = _checked_threads()
    times = alternate(runners, repeats, warmup)
    return Comparison(times["dlfs"].seconds,
                      times["torch"].seconds if "torch" in times else None,
                      times["bare"].seconds if "bare" in times else [],
                      threads, machine())


def _checked_threads() -> dict[str, int | None]:
    threads = thread_counts()
    if threads["torch"] is not None and threads["torch"] != threads["numpy"]:
        raise RuntimeError(f"PyTorch uses {threads['torch']} threads but NumPy's BLAS "
                           f"{threads['numpy']}: the comparison would not be fair")
    return threads


def scaling(X: np.ndarray, y: np.ndarray, *, threads=(1, 2), batch_sizes=(32, 128, 512),
            repeats: int = 5, warmup: int = 1, seed: int = 0) -> list[dict]:
    """Throughput at every thread count and batch size: a bare dlfs loop,
    PyTorch, and the matrix products alone in NumPy and in PyTorch.

    Thread counts are set with :func:`dlfs._blas.blas_threads` and
    ``torch.set_num_threads`` and read back from both libraries.  One row
    per (threads, batch size): ``{"threads", "batch_size", "threads_read",
    "samples", "dlfs", "torch", "numpy GEMMs", "torch GEMMs"}``, the last four
    :class:`Timing` of one pass over ``X`` (``torch`` ones None without PyTorch).
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    torch = _torch()
    before = None if torch is None else torch.get_num_threads()
    rows = []
    try:
        for n in threads:
            with blas_threads(n):
                for B in batch_sizes:
                    runners = {"dlfs": dlfs_bare_trainer(X, y, seed=seed, batch_size=B),
                               "numpy GEMMs": lambda B=B: matmul_seconds(
                                   n_samples=len(X), batch_size=B, input_grad=False)}
                    if torch is not None:
                        runners["torch"] = torch_trainer(X, y, seed=seed, batch_size=B)
                        runners["torch GEMMs"] = lambda B=B: matmul_seconds(
                            n_samples=len(X), batch_size=B, input_grad=False,
                            framework="torch")
                    read = _checked_threads()
                    if read["numpy"] != n:
                        raise RuntimeError(f"asked NumPy's BLAS for {n} threads, "
                                           f"it uses {read['numpy']}")
                    times = alternate(runners, repeats, warmup)
                    rows.append({"threads": n, "batch_size": B, "threads_read": read,
                                 "samples": len(X), "dlfs": times["dlfs"],
                                 "numpy GEMMs": times["numpy GEMMs"],
                                 "torch": times.get("torch"),
                                 "torch GEMMs": times.get("torch GEMMs")})
    finally:
        if torch is not None:
            torch.set_num_threads(before)
    return rows


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


def mnist_training_set(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 MNIST training images as float32 rows in [0, 1], and their labels.

    Only the training files are read: timing needs no test images.
    """
    from .data import to_float
    from .data.mnist import load_split

    x, y = load_split("train")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return to_float(x), y


def matmul_seconds(sizes=SIZES, *, n_samples: int = 60_000, batch_size: int = BATCH_SIZE,
                   input_grad: bool = True, dtype=np.float32, seed: int = 0,
                   framework: str = "numpy") -> float:
    """Time of the matrix products alone of one epoch of an MLP, in the same shapes.

    Per batch: ``X @ W`` for every layer (forward), ``X.T @ G`` for every layer
    and ``G @ W.T`` for every layer but the first unless ``input_grad``
    (backward).  This is the floor that no implementation with the same
    products and the same library can go below.  ``framework`` is
    ``"numpy"`` (NumPy's BLAS) or ``"torch"`` (``torch.mm`` on the CPU, with
    the threads PyTorch has).  The last batch is full-size: at most
    ``batch_size - 1`` samples more than ``n_samples``.
    """
    if framework not in ("numpy", "torch"):
        raise ValueError(f"framework must be 'numpy' or 'torch', got {framework!r}")
    rng = np.random.default_rng(seed)
    shapes = list(zip(sizes[:-1], sizes[1:]))
    Ws = [rng.standard_normal(s).astype(dtype) for s in shapes]
    Xs = [rng.standard_normal((batch_size, n_in)).astype(dtype) for n_in, _ in shapes]
    Gs = [rng.standard_normal((batch_size, n_out)).astype(dtype) for _, n_out in shapes]
    outs = [np.empty((batch_size, n_out), dtype) for _, n_out in shapes]
    dWs = [np.empty_like(W) for W in Ws]
    dXs = [np.empty_like(X) for X in Xs]
    matmul = np.matmul
    if framework == "torch":
        torch = _torch()
        if torch is None:
            raise ImportError("framework='torch' needs PyTorch")
        Ws, Xs, Gs, outs, dWs, dXs = ([torch.from_numpy(a) for a in arrays]
                                      for arrays in (Ws, Xs, Gs, outs, dWs, dXs))
        matmul = torch.mm
    n_batches = -(-n_samples // batch_size)
    start = time.perf_counter()
    for _ in range(n_batches):
        for i, W in enumerate(Ws):
            matmul(Xs[i], W, out=outs[i])
        for i, W in enumerate(Ws):
            matmul(Xs[i].T, Gs[i], out=dWs[i])
            if i > 0 or input_grad:
                matmul(Gs[i], W.T, out=dXs[i])
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


def batch_intensity(sizes=SIZES, batch_size: int = BATCH_SIZE, input_grad: bool = False,
                    itemsize: int = 4) -> float:
    """Arithmetic intensity (flops per byte) of one batch's matrix products.

    Each product of an ``(m, k)`` and a ``(k, n)`` matrix does ``2mkn`` flops
    and, counting both operands read once and the result written once, moves
    ``itemsize * (mk + kn + mn)`` bytes.  The three products of a layer
    (``X W``, ``X^T G``, ``G W^T``) all involve the batch ``B``, the weights
    ``n_in * n_out`` and the two activations, so each moves
    ``itemsize * (B n_in + n_in n_out + B n_out)`` bytes.
    """
    flops = epoch_flops(sizes, batch_size, input_grad)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    n_products = [3] * len(pairs)
    if not input_grad:
        n_products[0] = 2
    moved = sum(k * itemsize * (batch_size * a + a * b + batch_size * b)
                for k, (a, b) in zip(n_products, pairs))
    return flops / moved


def peak_gflops(n: int = 1024, *, repeats: int = 5, dtype=np.float32,
                framework: str = "numpy") -> Timing:
    """Times of one large ``n x n`` matrix product (``2 n^3`` flops): the
    arithmetic roof of a roofline, as this BLAS reaches it (not the CPU's
    theoretical peak).  Divide ``2 * n**3`` by a time for GFLOP/s * 1e9."""
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    C = np.empty((n, n), dtype)
    matmul = np.matmul
    if framework == "torch":
        torch = _torch()
        if torch is None:
            raise ImportError("framework='torch' needs PyTorch")
        A, B, C = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
        matmul = torch.mm

    def run() -> None:
        matmul(A, B, out=C)
    return repeat(run, repeats)


def copy_gbps(n_bytes: int = 2**27, *, repeats: int = 5) -> float:
    """Memory bandwidth in GB/s: the median rate of copying ``n_bytes`` into
    another array (one read and one write of every byte), the memory roof of
    a roofline.  One thread, like NumPy's element-wise operations."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    def run() -> None:
        np.copyto(dst, src)
    timing = repeat(run, repeats)
    return 2 * src.nbytes / timing.median / 1e9


def main(argv: list[str] | None = None) -> int:
    """``python -m dlfs.benchmark [--repeats N] [--no-scaling] [--json PATH]``: the benchmark."""
    import argparse

    parser = argparse.ArgumentParser(description="dlfs vs PyTorch: one MNIST epoch")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-scaling", dest="scaling", action="store_false",
                        help="skip the thread and batch-size scaling (1..CPUs threads, "
                             "batches of 32, 128, 512 on 4,096 images, with the "
                             "matrix-product floors)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    X, y = mnist_training_set()
    result = compare(X, y, repeats=args.repeats)
    rss = {"dlfs": peak_rss_mib("dlfs")}
    if result.torch is not None:
        rss["torch"] = peak_rss_mib("torch")
    m = result.machine
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs; python {m['python']}, "
          f"numpy {m['numpy']} (BLAS {m['numpy_blas']}), "
          f"torch {m['torch']} (BLAS {m['torch_blas']})")
    print(f"threads read from the libraries: {result.threads}")
    print("network 784-512-256-10 ReLU, Adam lr 1e-3, batch 128, float32, "
          f"{len(X):,} training images, {args.repeats} repetitions after a warm-up")

    def line(name, seconds):
        t = Timing(seconds)
        return (f"{name:11s} s/epoch: {' '.join(f'{s:.3f}' for s in seconds)}  "
                f"median {t.median:.3f} (min {t.min:.3f}, max {t.max:.3f})")
    print(line("dlfs fit", result.dlfs) + f"   peak RSS {rss['dlfs']:.0f} MiB")
    print(line("dlfs bare", result.bare))
    if result.torch is None:
        print("PyTorch is not installed: no comparison")
    else:
        print(line("torch", result.torch) + f"   peak RSS {rss['torch']:.0f} MiB")
        print(f"median ratio dlfs fit / torch: {result.ratio:.3f} "
              f"(min {min(result.ratios):.3f}, max {max(result.ratios):.3f}); "
              f"bare loop / torch: {result.bare_ratio:.3f}")
    floor = repeat(lambda: matmul_seconds(input_grad=False), args.repeats)
    peak = peak_gflops(1024, repeats=args.repeats)
    gbps = copy_gbps(repeats=args.repeats)
    flops = epoch_flops(input_grad=False)
    print(f"matrix products alone of one epoch ({flops / 1e9:.0f} GFLOP): {floor}, "
          f"{flops / floor.median / 1e9:.0f} GFLOP/s; one 1024 x 1024 product: "
          f"{2 * 1024**3 / peak.median / 1e9:.0f} GFLOP/s; copy bandwidth {gbps:.1f} GB/s")
    out = {**result.as_dict(), "peak_rss_mib": rss, "floor_seconds": floor.seconds,
           "peak_1024_seconds": peak.seconds, "copy_gbps": gbps}
    if args.scaling:
        rows = scaling(X[:4096], y[:4096], threads=range(1, min(cpu_count(), 4) + 1),
                       repeats=args.repeats)
        print("threads  batch   images/s: dlfs   torch   numpy GEMMs  torch GEMMs (medians)")
        for r in rows:
            rates = [r["samples"] / r[k].median if r[k] is not None else float("nan")
                     for k in ("dlfs", "torch", "numpy GEMMs", "torch GEMMs")]
            print(f"{r['threads']:7d} {r['batch_size']:6d}  "
                  + "  ".join(f"{v:10,.0f}" for v in rates))
        out["scaling"] = [{k: (v.seconds if isinstance(v, Timing) else v)
                           for k, v in r.items()} for r in rows]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
