"""The number of threads NumPy's BLAS uses, read and set through threadpoolctl.

Small networks multiply small matrices, for which a multi-threaded BLAS
spends more time starting and synchronising threads than computing; on a
busy machine, threads that wait for a core can make training many times
slower.  A different number of threads may also split a product differently
and change the rounding of its result, so the same seed gives the same
training run only at the same number of BLAS threads.

This is the package's one place for thread control: the recipes, the
benchmark and :mod:`dlfs.interop` all use it.  It relies on threadpoolctl
(the library scikit-learn uses), which finds the BLAS NumPy is linked to
(OpenBLAS, MKL, BLIS...) whatever its file or symbol names.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from ._checks import check_positive


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the ``with`` block with ``n`` BLAS threads, then restore the old number."""
    check_positive(n, "n", integer=True)
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def set_blas_threads(n: int) -> int | None:
    """Give the BLAS ``n`` threads from now on; returns the number it then uses."""
    check_positive(n, "n", integer=True)
    threadpool_limits(limits=int(n), user_api="blas")
    return current_blas_threads()


def current_blas_threads() -> int | None:
    """The number of threads NumPy's BLAS uses, or None if no BLAS was found.

    When other libraries (a framework) loaded a BLAS of their own and NumPy's
    cannot be told apart by its path, the largest number among them.
    """
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    numpy_home = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    own = [pool for pool in pools if os.path.abspath(pool["filepath"]).startswith(numpy_home)
           and "numpy" in pool["filepath"]]
    counts = [pool["num_threads"] for pool in (own or pools)]
    return max(counts) if counts else None


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in this process, as threadpoolctl reports them:
    name (``internal_api``: openblas, mkl, blis...), version, threads, file name."""
    return [{"library": pool.get("internal_api"), "version": pool.get("version"),
             "threads": pool.get("num_threads"),
             "file": os.path.basename(pool.get("filepath", ""))}
            for pool in threadpool_info() if pool["user_api"] == "blas"]
