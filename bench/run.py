"""The benchmark of the MNIST case study: training 784-512-256-10, dlfs against PyTorch.

    make bench                              # or: python bench/run.py
    python bench/run.py --repeats 5 --json bench.json
    python bench/run.py --no-scaling        # only the epoch comparison

What the speed chapter (book/mnist_speed.md) measures, printed as a table:

* one epoch on the 60,000 MNIST training images (ReLU, softmax
  cross-entropy, Adam 1e-3, batch 128, float32, reshuffled every epoch) with
  ``dlfs.fit``, with a bare dlfs loop doing the PyTorch loop's work, and with
  PyTorch, alternating, 5 timed epochs each after one warm-up; PyTorch gets
  as many threads as NumPy's BLAS, and both counts are read back from the
  libraries (threadpoolctl, ``torch.get_num_threads()``) and must agree.
  Every repetition is printed, with the median, minimum and maximum, the
  ratio dlfs / PyTorch and the peak resident memory of a fresh process
  training one epoch;
* the BLAS of each library (threadpoolctl for NumPy,
  ``torch.__config__.show()`` for PyTorch);
* the matrix products alone of one epoch (the floor), the rate of one
  1024 x 1024 product and the copy bandwidth (the roofs of a roofline);
* unless ``--no-scaling``: throughput for 1 to the number of CPUs (at most 4)
  threads and batches of 32, 128 and 512, on 4,096 training images, of the
  bare dlfs loop, PyTorch and each library's products alone.

Without PyTorch only dlfs is timed.  The code is :mod:`dlfs.benchmark`.  The
data comes from the cache, ``$DLFS_DATA_MIRROR`` or a download (see
``datasets/README.md``); only the training files are read.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":
    from dlfs.benchmark import main

    sys.exit(main())
