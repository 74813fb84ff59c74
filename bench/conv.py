"""Benchmark of Part 3: dlfs convolutions and one CNN epoch against PyTorch on the CPU.

    python bench/conv.py                 # a table on stdout
    python bench/conv.py --json out.json # also write the numbers

Same shapes, same process, same number of threads for NumPy's BLAS and for
PyTorch (:func:`dlfs.recipes.frameworks.threads`: ``$OMP_NUM_THREADS`` if set,
else every CPU).  Timings are medians after a warm-up; the data is random with
MNIST's shapes, so nothing is downloaded.  The target is a ratio dlfs/PyTorch
of at most 2.0.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from dlfs import Adam, SoftmaxCrossEntropy, fit
from dlfs.recipes import frameworks as fw
from dlfs.recipes.mnist_cnn import CNN_DEFAULTS, mnist_cnn

BATCH = CNN_DEFAULTS["batch_size"]
# (C_in, H=W, C_out, k) of the chapter's two convolutions
CONVS = {"conv1": (1, 28, 16, 5), "conv2": (16, 12, 32, 5)}


def epoch_times(n_samples: int, repeats: int = 2) -> dict:
    """Seconds for one training epoch of the chapter's CNN (Adam, batch size BATCH)."""
    torch = fw.import_torch()
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n_samples)

    model = mnist_cnn(rng=rng)
    loss, opt = SoftmaxCrossEntropy(), Adam(1e-3)
    ours = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        fit(model, loss, opt, X, y, epochs=1, batch_size=BATCH, progress=False)
        ours.append(time.perf_counter() - start)

    tmodel = fw.torch_cnn()
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    theirs = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        perm = torch.randperm(n_samples)
        for i in range(0, n_samples, BATCH):
            idx = perm[i:i + BATCH]
            topt.zero_grad()
            loss_fn(tmodel(Xt[idx]), yt[idx]).backward()
            topt.step()
        theirs.append(time.perf_counter() - start)
    d, t = float(np.median(ours[1:])), float(np.median(theirs[1:]))
    return {"dlfs": d, "torch": t, "ratio": d / t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--samples", type=int, default=55_000,
                        help="samples per epoch (55,000: the chapter's training set)")
    args = parser.parse_args()

    torch = fw.import_torch()
    rows = []
    for name, (c_in, size, c_out, k) in CONVS.items():
        r = fw.time_conv(BATCH, c_in, size, c_out, k)
        rows.append({"name": f"Conv2D fwd+bwd {name} ({BATCH},{c_in},{size},{size})->{c_out}",
                     **r})
    rows.append({"name": f"CNN epoch ({args.samples} samples)", **epoch_times(args.samples)})
    for row in rows:
        print(f"{row['name']:<46} dlfs {row['dlfs']:.4g} s  torch {row['torch']:.4g} s  "
              f"ratio {row['ratio']:.2f}")
    if args.json:
        meta = {"python": platform.python_version(), "numpy": np.__version__,
                "torch": torch.__version__, "threads": fw.threads(),
                "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                "machine": platform.machine()}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
