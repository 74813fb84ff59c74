"""dlfs._blas: the one place that reads and sets the BLAS thread count (threadpoolctl)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from dlfs._blas import blas_threads, current_blas_threads, set_blas_threads


def blas_pools():
    return [p for p in threadpool_info() if p["user_api"] == "blas"]


def test_numpy_has_a_blas_that_threadpoolctl_finds():
    assert blas_pools(), "NumPy's BLAS was not found"
    assert current_blas_threads() in {p["num_threads"] for p in blas_pools()}


def test_blas_threads_sets_the_count_inside_and_restores_it_after():
    before = current_blas_threads()
    with blas_threads(1):
        assert current_blas_threads() == 1
        assert all(p["num_threads"] == 1 for p in blas_pools())
        a = np.ones((64, 64))
        np.testing.assert_array_equal(a @ a, 64.0)
    assert current_blas_threads() == before


def test_the_count_is_restored_after_an_exception():
    before = current_blas_threads()
    with pytest.raises(RuntimeError):
        with blas_threads(1):
            raise RuntimeError
    assert current_blas_threads() == before


def test_set_blas_threads_lasts_until_changed_again():
    before = current_blas_threads()
    try:
        assert set_blas_threads(1) == 1
        assert current_blas_threads() == 1
    finally:
        set_blas_threads(before)
    assert current_blas_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises((TypeError, ValueError), match="n must be"):
        set_blas_threads(bad)
    with pytest.raises((TypeError, ValueError), match="n must be"):
        with blas_threads(bad):
            pass
