"""Benchmarks: how fast is dlfs, and how does it compare with PyTorch on the CPU?

    python bench/run.py                 # all benchmarks, a table on stdout
    python bench/run.py --json out.json # also write the numbers

Timings are the median of several repeats after a warm-up.  The data is
random (shapes of MNIST), so the benchmark needs no download; what is
measured is arithmetic, not learning.  PyTorch is compared only if it is
installed (``pip install -e '.[frameworks]'``), with the same number of
threads as NumPy's BLAS gets, so the comparison is fair.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

import dlfs

SIZES = [784, 256, 128, 10]          # an MNIST MLP
BATCH, N_SAMPLES = 128, 60_000 // 4  # a quarter epoch keeps the run short


def _median_time(fn, repeats: int = 5) -> float:
    fn()                                         # warm-up: allocations, BLAS threads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_dlfs_epoch(X, y) -> dict:
    model = dlfs.mlp(SIZES, rng=np.random.default_rng(0))
    loss, opt = dlfs.SoftmaxCrossEntropy(), dlfs.Adam(1e-3)
    t = _median_time(lambda: dlfs.fit(model, loss, opt, X, y, epochs=1, batch_size=BATCH,
                                      progress=False), repeats=3)
    return {"name": "dlfs MLP train", "seconds": t, "samples_per_s": len(X) / t}


def bench_dlfs_memory(X, y) -> dict:
    """Peak extra memory (Python-visible NumPy allocations) during one epoch."""
    model = dlfs.mlp(SIZES, rng=np.random.default_rng(0))
    loss, opt = dlfs.SoftmaxCrossEntropy(), dlfs.Adam(1e-3)
    dlfs.fit(model, loss, opt, X[:BATCH * 2], y[:BATCH * 2], epochs=1, batch_size=BATCH,
             progress=False)
    tracemalloc.start()
    dlfs.fit(model, loss, opt, X, y, epochs=1, batch_size=BATCH, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"name": "dlfs MLP train peak memory", "MiB": peak / 2**20}


def bench_layers() -> list[dict]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 784), dtype=np.float32)
    rows = []
    for layer in (dlfs.Dense(784, 256, rng=rng), dlfs.ReLU(), dlfs.Sigmoid(),
                  dlfs.BatchNorm(784), dlfs.Dropout(0.5, rng=rng)):
        g = np.ones_like(layer.forward(x))
        t = _median_time(lambda: layer.backward(g) if layer.forward(x) is not None else None,
                         repeats=50)
        rows.append({"name": f"{type(layer).__name__} fwd+bwd (128x784)", "seconds": t})
    return rows


def bench_torch_epoch(X, y) -> dict | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    t = _median_time(epoch, repeats=3)
    return {"name": f"torch {torch.__version__} MLP train", "seconds": t,
            "samples_per_s": len(X) / t, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.random((N_SAMPLES, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], N_SAMPLES)
    rows = [bench_dlfs_epoch(X, y), bench_dlfs_memory(X, y), *bench_layers()]
    torch_row = bench_torch_epoch(X, y)
    if torch_row:
        rows.append(torch_row)
        rows.append({"name": "dlfs / torch time ratio",
                     "ratio": rows[0]["seconds"] / torch_row["seconds"]})
    for row in rows:
        values = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in row.items() if k != "name")
        print(f"{row['name']:<40} {values}")
    if args.json:
        meta = {"python": platform.python_version(), "numpy": np.__version__,
                "machine": platform.machine(), "cpus": os.cpu_count(),
                "samples": N_SAMPLES, "batch_size": BATCH, "sizes": SIZES}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
