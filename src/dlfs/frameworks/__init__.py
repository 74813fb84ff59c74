"""PyTorch and TensorFlow beside ``dlfs``: the experiments of the frameworks chapters.

Each module holds one experiment; none imports a framework until it is called,
so ``import dlfs.frameworks`` costs nothing.  They need the ``frameworks``
extra (``pip install -e '.[frameworks]'``).

- :mod:`dlfs.frameworks.race`: the fair race, one CNN recipe trained in three
  libraries from the same initial weights, on the same mini-batches.
- :mod:`dlfs.frameworks.speed`: layer, training-step, thread and batch-size timings.
- :mod:`dlfs.frameworks.flex`: custom gradients, hooks, control flow, compilation.
- :mod:`dlfs.frameworks.export`: export, reload in a fresh process, serve.
- :mod:`dlfs.frameworks.distributed`: data-parallel training with two processes on
  localhost (PyTorch DDP and TensorFlow's MultiWorkerMirroredStrategy).

The bridges between the libraries (layouts, weight copies) are in :mod:`dlfs.interop`.
"""
