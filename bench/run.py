"""The benchmark of the MNIST case study: one training epoch, dlfs against PyTorch.

    make bench                              # or: python bench/run.py
    python bench/run.py --repeats 5 --json bench.json

Trains 784-512-256-10 (ReLU, softmax cross-entropy, Adam 1e-3, batch 128,
float32, reshuffled every epoch) on the 60,000 real MNIST training images,
one epoch at a time, alternating dlfs and PyTorch (after one warm-up epoch
each), with the same number of threads for both.  Prints the seconds per
epoch, the median ratio dlfs / PyTorch and the peak resident memory of a
fresh process training one epoch.  Without PyTorch only dlfs is timed.

The code is :mod:`dlfs.benchmark`, which the speed chapter also runs.  The
data comes from the cache, ``$DLFS_DATA_MIRROR`` or a download (see
``datasets/README.md``).
"""
from __future__ import annotations

import sys

if __name__ == "__main__":
    from dlfs.benchmark import main

    sys.exit(main())
