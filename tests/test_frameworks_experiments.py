"""The experiments of the frameworks chapter (dlfs.frameworks), on tiny inputs: the fair
race's shared start and batch order, custom gradients, gradient hooks, control flow,
export round-trips and two-process data-parallel training."""
import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the frameworks extra (PyTorch)")
pytest.importorskip("tensorflow", reason="needs the frameworks extra (TensorFlow)")

from dlfs import Adam, Dense, ReLU, Sequential, SoftmaxCrossEntropy, fit  # noqa: E402
from dlfs import interop  # noqa: E402
from dlfs.frameworks import distributed, export, flex, race, speed, verdict  # noqa: E402
from dlfs.recipes import mnist_cnn as cnn  # noqa: E402

TINY = cnn.RECIPE.with_(channels=(2, 3), hidden=8, batch_size=32)


def tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return (X[:64], y[:64]), (X[64:80], y[64:80]), (X[80:], y[80:])


def test_epoch_orders_are_the_batches_fit_draws():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)

    def model():
        return Sequential([Dense(4, 5, dtype=np.float64, rng=np.random.default_rng(2)), ReLU(),
                           Dense(5, 3, dtype=np.float64, rng=np.random.default_rng(3))])

    by_fit = model()
    fit(by_fit, SoftmaxCrossEntropy(), Adam(1e-2), X, y, epochs=2, batch_size=16, seed=7)
    by_hand, loss, opt = model(), SoftmaxCrossEntropy(), Adam(1e-2)
    for order in race.epoch_orders(len(X), 2, 7):
        for i in range(0, len(X), 16):
            idx = order[i:i + 16]
            loss.forward(by_hand.forward(X[idx], training=True), y[idx])
            by_hand.backward(loss.backward())
            opt.step(by_hand.parameters())
    for (_, a, _), (_, b, _) in zip(by_fit.parameters(), by_hand.parameters()):
        np.testing.assert_array_equal(a, b)


def test_the_three_trainers_start_alike_and_stay_close():
    data = tiny_data()
    runs = {lib: fn(data, seed=0, epochs=2, recipe=TINY) for lib, fn in race.TRAINERS.items()}
    losses = np.array([r["val_loss"] for r in runs.values()])
    assert losses.shape == (3, 2)
    # same start, same batches: after two epochs only float32 rounding separates them
    for row in losses[1:]:
        np.testing.assert_allclose(row, losses[0], rtol=1e-3)
    for r in runs.values():
        assert r["best_epoch"] == int(np.argmin(r["val_loss"])) + 1
        assert 0 <= r["test_accuracy"] <= 1 and len(r["seconds"]) == 2
    summary = race.summarise({k: [v, v] for k, v in runs.items()})
    assert summary["dlfs"]["acc_sd"] == 0.0
    assert "percentage points" in race.race_sentence({k: [v, v] for k, v in runs.items()})


def test_loss_and_accuracy_is_stable_cross_entropy():
    logits = np.array([[1000.0, 0.0], [0.0, 0.0]])
    loss, acc = race.loss_and_accuracy(logits, np.array([0, 1]))
    assert loss == pytest.approx(np.log(2) / 2) and acc == 0.5


def test_copies_back_from_torch_and_keras_are_exact():
    torch = interop.import_torch()
    net = race.initial_model(0, TINY, dtype=np.float64)
    for back, made in ((interop.from_torch, interop.to_torch(net, dtype=torch.float64)),
                       (interop.from_keras, interop.to_keras(net))):
        other = race.initial_model(1, TINY, dtype=np.float64)
        back(made, other)
        for (_, a, _), (_, b, _) in zip(net.parameters(), other.parameters()):
            np.testing.assert_array_equal(a, b)


def test_cross_check_covers_loss_logits_and_every_gradient():
    net = race.initial_model(0, TINY, dtype=np.float64)
    X, y = np.random.default_rng(0).random((3, 1, 28, 28)), np.array([1, 2, 3])
    loss = SoftmaxCrossEntropy()
    logits = net.forward(X)
    value = loss.forward(logits, y)
    net.backward(loss.backward())
    check = interop.cross_check(net, X, y, value, logits)
    assert [r[0] for r in check["rows"][:2]] == ["loss", "logits"]
    assert len(check["rows"]) == 2 + 8
    assert check["worst"] < 1e-10


def test_custom_backward_passes_finite_differences_in_both_frameworks():
    r = flex.custom_layer_checks()
    assert r["torch_gradcheck"]
    assert r["tf_numeric"] < 1e-6
    assert max(r["torch_vs_autograd"], r["tf_vs_autograd"], r["forward_diff"]) < 1e-12


def test_hooks_and_tape_see_dlfs_gradients_and_a_hook_can_scale_them():
    r = flex.gradient_inspection()
    assert r["torch_vs_dlfs"] < 1e-12 and r["keras_vs_dlfs"] < 1e-12
    np.testing.assert_allclose(r["scaled_below"], 0.5, rtol=1e-12)
    np.testing.assert_allclose(r["scaled_above"], 1.0, rtol=1e-12)


def test_control_flow_traces_once_and_graph_breaks():
    r = flex.control_flow(values=(0.5, 40.0, 900.0))
    assert r["eager_trips"] == r["tf_trips"] == [0, 6, 10]
    assert r["tf_traces"] == 1 and r["tf_traces_tensor_arg"] == 1
    assert r["tf_traces_python_arg"] == 3
    assert r["torch_graph_breaks"] >= 1


def test_tf_compiled_steps_compute_the_eager_loss():
    r = flex.time_compiled_step("tf", batch=4, steps=1)
    assert set(r) == {"eager", "graph", "xla"}
    for v in r.values():
        assert v["loss"] == pytest.approx(r["eager"]["loss"], abs=1e-4) and v["step"] > 0


def test_exports_reload_in_a_fresh_process_with_the_same_logits(tmp_path):
    torch = interop.import_torch()
    net = race.initial_model(0)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    r = export.round_trips(interop.to_torch(net, dtype=torch.float32),
                           interop.to_keras(net, dtype="float32"), x, tmp_path)
    assert set(r) == set(export.FORMATS)
    for v in r.values():
        assert v["max_diff"] < 1e-4 and v["size_bytes"] > 4 * 80_000
        assert v["latency_ms"] > 0 and v["throughput"] > 0
    assert "fastest" in export.sentence(r, 80_202)
    npz = export.npz_round_trip(net, x, tmp_path)
    assert npz["back_torch"] == npz["back_keras"] == 0.0
    assert max(npz["logits_torch"], npz["logits_keras"]) < 1e-4


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_two_processes_train_like_one(framework):
    r = distributed.run(framework, world=2, n_train=400, epochs=1, timeout=240)
    assert r["step_vs_single"] < 1e-10
    assert r["workers_differ"] == 0.0
    assert r["seconds_per_epoch"] > 0


def test_distributed_rejects_an_unknown_framework():
    with pytest.raises(ValueError, match="'torch' or 'tf'"):
        distributed.run("jax")


def test_speed_measures_every_library_in_a_fresh_process():
    r = speed.measure_with_threads(1, small=True, timeout=300)
    assert r["threads"] == 1
    assert set(r["layers"]["tiny"]) == {"dlfs", "PyTorch", "TensorFlow"}
    assert set(r["steps"]["4"]) == {"dlfs", "PyTorch", "Keras"}
    t = r["layers"]["tiny"]["dlfs"]
    assert 0 < t["min"] <= t["median"] <= t["max"]


def test_speed_rejects_an_unknown_library():
    with pytest.raises(ValueError, match="unknown library"):
        speed.time_step("jax", 4)


def test_code_lines_skip_docstring_comments_and_blanks():
    def f(x):
        """Doc.

        More doc.
        """
        # a comment

        return x
    assert verdict.code_lines(f) == 2


def fake_timing():
    t = {"median": 0.1, "min": 0.09, "max": 0.12}
    libs = {"dlfs": t, "PyTorch": {**t, "median": 0.05}, "TensorFlow": t}
    steps = {"dlfs": t, "PyTorch": {**t, "median": 0.08}, "Keras": t}
    one = {"threads": 1, "layers": {n: libs for n in ("conv1", "conv2", "large")},
           "steps": {"128": steps}}
    return {1: one, 2: one}


def test_speed_sentence_follows_the_numbers():
    timing = fake_timing()
    r = speed.ratios(timing)
    assert r["conv1_1"] == pytest.approx(2.0) and r["step128_2"] == pytest.approx(1.25)
    text = speed.speed_sentence(timing)
    assert "all within the goal of 2.0" in text
    assert "does not show the tuned kernels pulling further ahead" in text


def test_verdict_cells_are_plain_text_from_the_measurements():
    summary = {lib: {"acc_mean": 0.97, "acc_sd": 0.001, "seconds": 2.0, "best_epochs": [3]}
               for lib in ("dlfs", "PyTorch", "Keras")}
    cells = verdict.race_cells(summary, fake_timing())
    assert repr(cells["acc_dlfs"]) == "97.00 ± 0.10 %"
    assert cells["step_pytorch"] == "80 / 80"
    assert int(cells["lines_keras"]) > 5


def test_distributed_sentence_compares_processes_with_threads():
    dp = {(fw, w, t): {"seconds_per_epoch": s} for fw in ("torch", "tf")
          for (w, t), s in {(1, 1): 2.0, (1, 2): 1.0, (2, 1): 1.5}.items()}
    text = distributed.sentence(dp)
    assert text.count("slower than two threads") == 2 and "PyTorch" in text
