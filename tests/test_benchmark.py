"""dlfs.benchmark: the functions behind `make bench` and the speed chapter."""
import sys
import time

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
    assert len(result.bare) == 2 and all(t > 0 for t in result.bare)
    if result.torch is not None:
        assert len(result.torch) == 2
        ratios = sorted(a / b for a, b in zip(result.dlfs, result.torch))
        assert result.ratio == pytest.approx(sum(ratios) / 2)
        assert result.ratios == [a / b for a, b in zip(result.dlfs, result.torch)]
        # the thread counts were read from both libraries, and agree
        assert result.threads["torch"] == result.threads["numpy"] >= 1
    d = result.as_dict()
    assert d["dlfs_median"] == result.dlfs_median and d["machine"]["cpus"] >= 1
    assert d["bare_median"] == result.bare_median


def test_timing_summaries_and_repeat_skips_the_warmup():
    t = benchmark.Timing([3.0, 1.0, 2.0, 10.0, 4.0])
    assert (t.median, t.min, t.max) == (3.0, 1.0, 10.0)
    assert t.sd == pytest.approx(np.std([3, 1, 2, 10, 4], ddof=1))
    assert str(t) == "3 s (1 to 10, 5 runs)"                  # median (min to max, runs)
    calls = []
    timing = benchmark.repeat(lambda: calls.append(time.sleep(0.01)), repeats=3, warmup=2)
    assert len(calls) == 5 and len(timing.seconds) == 3       # the warm-ups are left out
    assert timing.min >= 0.01                                  # the wall clock of each call
    with pytest.raises(ValueError, match="repeats"):
        benchmark.repeat(lambda: None, repeats=0)


def test_alternate_interleaves_the_runs():
    order = []
    times = benchmark.alternate({"a": lambda: order.append("a"),
                                 "b": lambda: order.append("b") or 7.0}, repeats=2, warmup=1)
    assert order == ["a", "b"] * 3
    assert len(times["a"].seconds) == len(times["b"].seconds) == 2
    assert max(times["b"].seconds) < 7.0                       # return values are ignored


def test_batch_intensity_counts_operands_once():
    # one layer 4 -> 3, batch 2, no input gradient: X W and X^T G, 2*2*4*3 flops each,
    # each moving 4 bytes * (2*4 + 4*3 + 2*3) = 104 bytes
    assert benchmark.batch_intensity((4, 3), 2) == pytest.approx(2 * 48 / (2 * 104))
    with_dx = benchmark.batch_intensity((4, 3), 2, input_grad=True)
    assert with_dx == pytest.approx(3 * 48 / (3 * 104))
    # the matrix-vector product of the chapter's exercise: about 0.5 flop per byte
    assert benchmark.batch_intensity((784, 512), 1) == pytest.approx(
        2 * 784 * 512 / (4 * (784 + 784 * 512 + 512)))
    assert benchmark.batch_intensity(batch_size=128) > 50 * benchmark.batch_intensity(
        batch_size=1)


def test_cpu_count_is_the_affinity():
    import os

    if hasattr(os, "sched_getaffinity"):
        assert benchmark.cpu_count() == len(os.sched_getaffinity(0))
    assert 1 <= benchmark.cpu_count() <= (os.cpu_count() or 1)


def test_blas_of_both_libraries_is_named():
    info = benchmark.numpy_blas()
    assert info is not None and info["library"] and info["threads"] >= 1
    assert benchmark.describe_blas(info).endswith(f"{info['threads']} threads")
    assert benchmark.describe_blas(None) == "none"
    assert "threads" not in benchmark.describe_blas(info, threads=False)
    m = benchmark.machine()
    assert m["numpy_blas"] == benchmark.describe_blas(info)
    torch = pytest.importorskip("torch")
    tinfo = benchmark.torch_blas()
    assert tinfo["threads"] == torch.get_num_threads()
    assert tinfo["library"] and tinfo["library"] in torch.__config__.show()


def test_matmul_seconds_in_torch_and_bad_framework():
    with pytest.raises(ValueError, match="framework"):
        benchmark.matmul_seconds(n_samples=128, framework="jax")
    pytest.importorskip("torch")
    assert benchmark.matmul_seconds(n_samples=256, framework="torch") > 0
    assert benchmark.peak_gflops(64, repeats=2, framework="torch").min > 0


def test_peak_and_bandwidth_are_positive():
    t = benchmark.peak_gflops(64, repeats=3)
    assert len(t.seconds) == 3 and t.min > 0
    assert benchmark.copy_gbps(2**20, repeats=2) > 0


def test_scaling_sets_and_reads_the_threads():
    X, y = small_set(256)
    rows = benchmark.scaling(X, y, threads=(1,), batch_sizes=(64, 128), repeats=2, warmup=0)
    assert [(r["threads"], r["batch_size"]) for r in rows] == [(1, 64), (1, 128)]
    for r in rows:
        assert r["threads_read"]["numpy"] == 1 and r["samples"] == 256
        assert len(r["dlfs"].seconds) == 2 and len(r["numpy GEMMs"].seconds) == 2
        if r["torch"] is not None:
            assert r["threads_read"]["torch"] == 1 and len(r["torch GEMMs"].seconds) == 2
    from dlfs._blas import current_blas_threads

    assert current_blas_threads() == benchmark.n_threads()      # restored afterwards


def test_bare_loop_trains():
    X, y = small_set(256)
    run = benchmark.dlfs_bare_trainer(X, y, batch_size=64)
    before = run.model.layers[0].params["W"].copy()
    assert run() > 0
    assert not np.array_equal(run.model.layers[0].params["W"], before)


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


def test_main_prints_every_part_and_writes_json(monkeypatch, tmp_path, capsys):
    import json

    monkeypatch.setattr(benchmark, "mnist_training_set", lambda limit=None: small_set(256))
    monkeypatch.setattr(benchmark, "peak_rss_mib", lambda framework="dlfs", **kw: 100.0)
    monkeypatch.setattr(benchmark, "matmul_seconds", lambda *a, **kw: 0.01)
    path = tmp_path / "bench.json"
    assert benchmark.main(["--repeats", "2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "threads read from the libraries" in out and "BLAS" in out
    assert "median" in out and "copy bandwidth" in out and "threads  batch" in out
    saved = json.loads(path.read_text())
    assert len(saved["dlfs_seconds"]) == len(saved["bare_seconds"]) == 2
    assert len(saved["floor_seconds"]) == 2 and saved["copy_gbps"] > 0
    assert {row["batch_size"] for row in saved["scaling"]} == {32, 128, 512}
    assert benchmark.main(["--repeats", "1", "--no-scaling"]) == 0
    assert "threads  batch" not in capsys.readouterr().out
