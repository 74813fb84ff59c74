"""Benchmark of Part 3: dlfs convolutions and one CNN epoch against PyTorch on the CPU.

    python bench/conv.py                 # a table on stdout
    python bench/conv.py --json out.json # also write the numbers

Same shapes, same process, same number of threads for NumPy's BLAS and for
PyTorch (:func:`dlfs.interop.threads`: what NumPy's BLAS uses, read from the
BLAS; PyTorch's is read back with ``torch.get_num_threads()`` and must
agree).  Batches of the CNN recipe's size (``mnist_cnn.RECIPE.batch_size``,
128).  Timings are medians after a warm-up: the convolutions over 7 calls
each, the epochs over 5 (``--repeats``), dlfs and PyTorch alternating, with
the minimum and maximum of the ratio; the data is random with MNIST's
shapes, so nothing is downloaded.  The target is a ratio dlfs/PyTorch of at
most 2.0.  ``make bench`` runs it after the MLP benchmark (``make bench-conv``
alone).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from dlfs import Adam, SoftmaxCrossEntropy, benchmark, fit
from dlfs import interop as fw
from dlfs.recipes.mnist_cnn import RECIPE, mnist_cnn

BATCH = RECIPE.batch_size
# (C_in, H=W, C_out, k) of the chapter's two convolutions
CONVS = {"conv1": (1, 28, 16, 5), "conv2": (16, 12, 32, 5)}


def epoch_times(n_samples: int, repeats: int = 5) -> dict:
    """Seconds for one training epoch of the chapter's CNN (Adam, batches of ``BATCH``):
    dlfs and PyTorch alternating, ``repeats`` timed epochs each after one warm-up."""
    torch = fw.import_torch()
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n_samples)

    model = mnist_cnn(rng=rng)
    loss, opt = SoftmaxCrossEntropy(), Adam(1e-3)

    def ours():
        fit(model, loss, opt, X, y, epochs=1, batch_size=BATCH, progress=False)

    tmodel = fw.torch_cnn()
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def theirs():
        perm = torch.randperm(n_samples)
        for i in range(0, n_samples, BATCH):
            idx = perm[i:i + BATCH]
            topt.zero_grad()
            loss_fn(tmodel(Xt[idx]), yt[idx]).backward()
            topt.step()

    times = benchmark.alternate({"dlfs": ours, "torch": theirs}, repeats=repeats)
    d, t = times["dlfs"], times["torch"]
    return {"dlfs": d.median, "torch": t.median, "ratio": d.median / t.median,
            "dlfs_seconds": d.seconds, "torch_seconds": t.seconds,
            "ratios": [a / b for a, b in zip(d.seconds, t.seconds)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--samples", type=int, default=55_000,
                        help="samples per epoch (55,000: the chapter's training set)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed epochs per framework, after one warm-up each")
    args = parser.parse_args()

    torch = fw.import_torch()
    rows = []
    for name, (c_in, size, c_out, k) in CONVS.items():
        r = fw.time_conv(BATCH, c_in, size, c_out, k)
        rows.append({"name": f"Conv2D fwd+bwd {name} ({BATCH},{c_in},{size},{size})->{c_out}",
                     **r})
    rows.append({"name": f"CNN epoch ({args.samples} samples)", **epoch_times(args.samples, args.repeats)})
    m = benchmark.machine()
    threads = benchmark.thread_counts()             # read from NumPy's BLAS and PyTorch
    print(f"{m['cpu']}, {m['cpus']} CPUs; NumPy BLAS {m['numpy_blas']}; "
          f"PyTorch {m['torch']} BLAS {m['torch_blas']}; threads read back: {threads}")
    if threads["torch"] != threads["numpy"]:
        raise SystemExit(f"unequal threads {threads}: the comparison would not be fair")
    for row in rows:
        spread = (f" (min {min(row['ratios']):.2f}, max {max(row['ratios']):.2f})"
                  if "ratios" in row else "")
        print(f"{row['name']:<46} dlfs {row['dlfs']:.4g} s  torch {row['torch']:.4g} s  "
              f"ratio {row['ratio']:.2f}{spread}  (medians)")
    if args.json:
        meta = {"python": platform.python_version(), "numpy": np.__version__,
                "torch": torch.__version__, "threads": threads["numpy"],
                "torch_threads": threads["torch"], "cpus": m["cpus"],
                "numpy_blas": m["numpy_blas"], "torch_blas": m["torch_blas"],
                "machine": platform.machine()}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
