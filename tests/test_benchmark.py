"""dlfs.benchmark: the functions behind `make bench` and the speed chapter."""
import sys

import numpy as np
import pytest

from dlfs import Adam, SoftmaxCrossEntropy, benchmark, mlp


def small_set(n=512, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def test_epoch_flops_counts_every_product():
    # forward + dW: 2 * 2 * (784*512 + 512*256 + 256*10) per sample; dX skips layer 0.
    macs = 784 * 512 + 512 * 256 + 256 * 10
    assert benchmark.epoch_flops(n_samples=1) == 3 * 2 * macs
    assert benchmark.epoch_flops(n_samples=2, input_grad=False) == 2 * (3 * 2 * macs
                                                                        - 2 * 784 * 512)


def test_profile_epoch_accounts_for_the_whole_epoch():
    X, y = small_set()
    model = mlp(list(benchmark.SIZES), rng=np.random.default_rng(0))
    before = model.layers[0].params["W"].copy()
    spent = benchmark.profile_epoch(model, SoftmaxCrossEntropy(), Adam(1e-3), X, y)
    assert {"batches", "0 Dense forward", "0 Dense backward", "1 ReLU forward", "loss",
            "optimizer", "other", "total"} <= set(spent)
    parts = sum(v for k, v in spent.items() if k != "total")
    assert parts == pytest.approx(spent["total"]) and all(v >= 0 for k, v in spent.items()
                                                          if k != "other")
    assert not np.array_equal(model.layers[0].params["W"], before)     # it trained


def test_compare_times_both_frameworks_alternately():
    X, y = small_set()
    result = benchmark.compare(X, y, repeats=2, warmup=0)
    assert len(result.dlfs) == 2 and all(t > 0 for t in result.dlfs)
    if result.torch is not None:
        assert len(result.torch) == 2
        ratios = sorted(a / b for a, b in zip(result.dlfs, result.torch))
        assert result.ratio == pytest.approx(sum(ratios) / 2)
    d = result.as_dict()
    assert d["dlfs_median"] == result.dlfs_median and d["machine"]["cpus"] >= 1


def test_compare_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch fails
    X, y = small_set(256)
    result = benchmark.compare(X, y, repeats=1, warmup=0)
    assert result.torch is None and result.ratio is None and result.torch_median is None
    assert benchmark.machine()["torch"] is None


def test_matmul_seconds_and_threads(monkeypatch):
    assert benchmark.matmul_seconds(n_samples=256) > 0
    from dlfs._blas import blas_threads

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")      # read from the BLAS, not the env
    with blas_threads(1):
        assert benchmark.n_threads() == 1
        assert benchmark.machine()["threads"] == 1


def test_peak_rss_is_the_child_process_own(monkeypatch):
    hog = np.ones(500 * 2**20 // 8)                         # 500 MiB in this process
    rss = benchmark.peak_rss_mib("dlfs", limit=1000, synthetic=True)
    assert 20 < rss < 300                       # interpreter and data, not the parent's hog
    assert hog[0] == 1
