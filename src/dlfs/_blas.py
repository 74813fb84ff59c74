"""Best-effort control of the number of BLAS threads NumPy's matrix products use.

Small networks multiply small matrices, for which a multi-threaded BLAS
spends more time starting and synchronising threads than computing; on a
busy machine, threads that wait for a core can make training many times
slower.  A different number of threads may also split a product differently
and change the rounding of its result.  :func:`blas_threads` therefore lets
code that trains small models run with a fixed, small number of threads.

Only NumPy's bundled OpenBLAS (the PyPI wheels) is handled; with any other
BLAS the context manager does nothing.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Iterator

import numpy as np

_FUNCS: list = []


def _openblas():
    """``(get_num_threads, set_num_threads)`` of NumPy's OpenBLAS, or None."""
    if not _FUNCS:
        found = None
        pattern = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                               "*openblas*")
        for path in sorted(glob.glob(pattern)):
            try:
                lib = ctypes.CDLL(path)            # the already loaded library
            except OSError:
                continue
            for name in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    get = getattr(lib, f"{name}_get_num_threads{suffix}", None)
                    set_ = getattr(lib, f"{name}_set_num_threads{suffix}", None)
                    if get is not None and set_ is not None and found is None:
                        found = (get, set_)
        _FUNCS.append(found)
    return _FUNCS[0]


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the ``with`` block with ``n`` BLAS threads, then restore the old number."""
    funcs = _openblas()
    if funcs is None:
        yield
        return
    get, set_ = funcs
    old = int(get())
    set_(int(n))
    try:
        yield
    finally:
        set_(old)


def current_blas_threads() -> int | None:
    """The number of BLAS threads, or None if it cannot be determined."""
    funcs = _openblas()
    return None if funcs is None else int(funcs[0]())
