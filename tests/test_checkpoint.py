"""Training checkpoints: optimiser state export/import, dlfs.io.save_checkpoint /
load_checkpoint, and fit(resume=...) continuing a run bit for bit."""
import json

import numpy as np
import pytest

from dlfs import BatchNorm, Dense, Dropout, ParameterFileError, ReLU, Sequential, load_model
from dlfs.io import (CHECKPOINT_FORMAT, _checksum, load_checkpoint, load_params,
                     read_checkpoint, save_checkpoint, save_model)
from dlfs.losses import SoftmaxCrossEntropy
from dlfs.optim import SGD, AdaGrad, Adam, AdamW, Momentum, RMSProp
from dlfs.train import Callback, EarlyStopping, SaveCheckpoint, fit

OPTIMIZERS = {
    "sgd": lambda: SGD(0.05),
    "momentum": lambda: Momentum(0.05),
    "nesterov": lambda: Momentum(0.05, nesterov=True),
    "rmsprop": lambda: RMSProp(0.01),
    "adam": lambda: Adam(0.01),
    "adamw": lambda: AdamW(0.01, weight_decay=0.1),
    "adagrad": lambda: AdaGrad(0.05),
    "adam+l2": lambda: Adam(0.01, weight_decay=0.01),
}


def build(seed=0, dtype=np.float64):
    """Dense, BatchNorm (buffers), Dropout (a generator): every kind of state."""
    rng = np.random.default_rng(seed)
    return Sequential([Dense(6, 12, dtype=dtype, rng=rng), BatchNorm(12, dtype=dtype), ReLU(),
                       Dropout(0.3, rng=np.random.default_rng(seed + 1)),
                       Dense(12, 3, dtype=dtype, rng=rng)])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X, Xv = rng.normal(size=(101, 6)), rng.normal(size=(40, 6))
    y, yv = (X[:, 0] > 0) + (X[:, 1] > 0.5), (Xv[:, 0] > 0) + (Xv[:, 1] > 0.5)
    return X, y.astype(int), Xv, yv.astype(int)


def jitter(X, rng):
    return X + 0.05 * rng.normal(size=X.shape)


def run_kwargs(data, epochs=6):
    X, y, Xv, yv = data
    return dict(X=X, y=y, epochs=epochs, batch_size=16, validation=(Xv, yv), seed=4,
                augment=jitter, schedule=lambda epoch: 1.0 / (1 + epoch) * 0.02)


def train(model, optimizer, data, **kwargs):
    args = {**run_kwargs(data), **kwargs}
    return fit(model, SoftmaxCrossEntropy(), optimizer, args.pop("X"), args.pop("y"), **args)


class StopAfter(Callback):
    """Ends the run after ``n`` epochs, as a crash or a time limit would."""

    def __init__(self, n):
        self.n = n

    def on_epoch_end(self, run):
        if run.epoch + 1 == self.n:
            run.stop = True


def assert_same_state(a, b):
    for name, array in a.state().items():
        assert np.array_equal(array, b.state()[name]), name


def some_steps(model, optimizer, n=3, seed=0):
    rng = np.random.default_rng(seed)
    model.layers[3].rng = np.random.default_rng([seed, 3])     # the same dropout masks
    loss = SoftmaxCrossEntropy()
    for _ in range(n):
        X, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        optimizer.step(model.parameters())


# ---------------------------------------------------------------------------------------
# the optimiser's state
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_every_optimiser_exactly(name):
    a, opt_a = build(), OPTIMIZERS[name]()
    some_steps(a, opt_a)
    b, opt_b = build(9), OPTIMIZERS[name]()
    for (_, pa, _), (_, pb, _) in zip(a.parameters(), b.parameters()):
        pb[...] = pa
    for key, buf in a.state().items():
        b.state()[key][...] = buf
    opt_b.load_state_dict(opt_a.state_dict(), b.parameters())
    assert opt_b.t == opt_a.t == 3
    some_steps(a, opt_a, seed=1)
    some_steps(b, opt_b, seed=1)
    assert_same_state(a, b)


def test_state_dict_is_a_copy_and_names_the_slots():
    model, opt = build(), Adam(0.01)
    some_steps(model, opt)
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["t"] == 3 and state["lr"] == 0.01
    assert state["config"] == {"weight_decay": 0.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert set(state["slots"]) == {name for name, _, _ in model.parameters()}
    assert all(set(s) == {"m", "v"} for s in state["slots"].values())   # no scratch
    state["slots"]["0.W"]["m"][...] = 7.0
    assert not np.any(opt.state["0.W"]["m"] == 7.0)


def test_loaded_state_is_bound_to_the_given_parameters_not_reset_by_the_next_step():
    a, opt_a = build(), Adam(0.01)
    some_steps(a, opt_a)
    opt_b = Adam(0.01)
    opt_b.load_state_dict(opt_a.state_dict(), a.parameters())
    some_steps(a, opt_b, n=1)
    assert opt_b.t == 4                       # a reset would have made it 1


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(type="SGD"), r"for the optimiser 'SGD', not Adam"),
    (lambda s: s["config"].update(beta1=0.8), r"beta1=0.8 in the state, 0.9 here"),
    (lambda s: s.update(lr=float("nan")), r"lr must be a positive number"),
    (lambda s: s.update(t=-1), r"t must be an integer >= 0"),
    (lambda s: s["slots"].pop("0.W"), r"missing \['0.W'\]"),
    (lambda s: s["slots"].update({"9.W": s["slots"]["0.W"]}), r"unexpected \['9.W'\]"),
    (lambda s: s["slots"]["0.W"].pop("v"), r"must hold \['m', 'v'\]"),
    (lambda s: s["slots"]["0.W"].update(m=np.zeros((2, 2))), r"shape \(2, 2\), the parameter"),
    (lambda s: s["slots"]["0.W"].update(m=s["slots"]["0.W"]["m"].astype(np.float32)),
     r"is float32, the parameter float64"),
    (lambda s: s["slots"]["0.W"]["v"].__setitem__((0, 0), np.nan), r"contains NaN"),
])
def test_a_mismatched_state_is_refused_and_the_optimiser_untouched(change, message):
    model, opt = build(), Adam(0.01)
    some_steps(model, opt)
    state = opt.state_dict()
    change(state)
    other = Adam(0.01)
    some_steps(build(3), other, n=1)
    before = other.state_dict()
    with pytest.raises(ValueError, match=message):
        other.load_state_dict(state, model.parameters())
    assert other.t == 1 and all(
        np.array_equal(before["slots"][k][s], other.state[k][s])
        for k in before["slots"] for s in ("m", "v"))


# ---------------------------------------------------------------------------------------
# the checkpoint file
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_checkpoint_round_trip_for_every_optimiser(tmp_path, name):
    a, opt_a = build(), OPTIMIZERS[name]()
    some_steps(a, opt_a)
    path = save_checkpoint(tmp_path / "ck.npz", a, opt_a, epoch=2, seed=1)
    b, opt_b = build(9), OPTIMIZERS[name]()
    ck = load_checkpoint(path, b, opt_b)
    assert (ck.epoch, ck.seed, ck.history, ck.generators) == (2, 1, None, None)
    assert_same_state(a, b)
    some_steps(a, opt_a, seed=1)
    some_steps(b, opt_b, seed=1)
    assert_same_state(a, b)


def test_a_checkpoint_stores_no_pickle_only_arrays_and_json(tmp_path, data):
    model, opt = build(), Adam(0.01)
    train(model, opt, data, epochs=2, callbacks=[SaveCheckpoint(tmp_path / "ck.npz")])
    with np.load(tmp_path / "ck.npz", allow_pickle=False) as f:
        record = json.loads(str(f["__architecture__"]))
        names = set(f.files)
        assert all(f[n].dtype != object for n in names)
    assert record["format"] == CHECKPOINT_FORMAT and record["epoch"] == 2
    assert record["optimizer"]["t"] == opt.t and record["seed"] == 4
    assert {"0.W", "opt.0.W.m", "opt.0.W.v", "1.running_mean"} <= names
    assert set(record["generators"]["layers"]) == {"3"}          # the Dropout layer


@pytest.fixture
def checkpoint(tmp_path, data):
    model, opt = build(), Adam(0.01)
    train(model, opt, data, epochs=2, callbacks=[SaveCheckpoint(tmp_path / "ck.npz")])
    return tmp_path / "ck.npz"


def rewrite(path, edit_record=None, edit_arrays=None):
    """Change a checkpoint and recompute its checksum: a well-formed but wrong file."""
    with np.load(path, allow_pickle=False) as f:
        contents = {n: f[n] for n in f.files}
    record = json.loads(str(contents.pop("__architecture__")))
    contents.pop("__sha256__")
    if edit_record:
        edit_record(record)
    if edit_arrays:
        edit_arrays(contents)
    text = json.dumps(record, sort_keys=True)
    np.savez(path, __architecture__=np.array(text),
             __sha256__=np.array(_checksum(text, contents)), **contents)


@pytest.mark.parametrize("edit_record, edit_arrays, message", [
    (lambda r: r["optimizer"].update(type="SGD"), None, r"for the optimiser 'SGD', not Adam"),
    (lambda r: r["optimizer"]["config"].update(eps=1e-6), None, r"eps=1e-06 in the state"),
    (None, lambda a: a.pop("opt.4.b.v"), r"must hold \['m', 'v'\], got \['m'\]"),
    (None, lambda a: [a.pop(k) for k in ("opt.4.b.m", "opt.4.b.v")], r"missing \['4.b'\]"),
    (None, lambda a: a.update({"opt.4.b.m": np.zeros(7)}), r"shape \(7,\), the parameter \(3,\)"),
    (None, lambda a: a["opt.0.W.m"].__setitem__((0, 0), np.inf), r"contains NaN or infinity"),
    (None, lambda a: a.update({"opt.x": np.zeros(1)}), r"names no parameter and slot"),
    (None, lambda a: a.pop("1.running_var"), r"missing \['1.running_var'\]"),
    (lambda r: r.update(epoch=-1), None, r"epoch must be an integer >= 0"),
    (lambda r: r["history"].update(loss=[1.0]), None, r"history field 'loss' is malformed"),
    (lambda r: r["generators"].update(shuffle={"bit_generator": "MT19937"}), None,
     r"generator 'shuffle' has no valid PCG64 state"),
    (lambda r: r.pop("optimizer"), None, r"optimiser record must hold"),
])
def test_a_wrong_checkpoint_is_refused_and_nothing_is_changed(checkpoint, edit_record,
                                                                edit_arrays, message):
    rewrite(checkpoint, edit_record, edit_arrays)
    model, opt = build(9), Adam(0.01)
    some_steps(model, opt, n=1)
    before = {k: v.copy() for k, v in model.state().items()}
    with pytest.raises(ParameterFileError, match=message):
        load_checkpoint(checkpoint, model, opt)
    assert opt.t == 1
    assert all(np.array_equal(v, before[k]) for k, v in model.state().items())


def test_a_damaged_checkpoint_fails_its_checksum(checkpoint):
    with np.load(checkpoint, allow_pickle=False) as f:
        contents = {n: f[n] for n in f.files}
    contents["opt.0.W.m"] = contents["opt.0.W.m"] + 1e-12
    np.savez(checkpoint, **contents)
    with pytest.raises(ParameterFileError, match="fails its SHA-256 check"):
        load_checkpoint(checkpoint, build(), Adam(0.01))


def test_another_model_or_optimiser_is_named(checkpoint):
    with pytest.raises(ParameterFileError, match=r"for the optimiser 'Adam', not RMSProp"):
        load_checkpoint(checkpoint, build(), RMSProp(0.01))
    wider = Sequential([Dense(6, 16), BatchNorm(16), ReLU(), Dropout(0.3), Dense(16, 3)])
    with pytest.raises(ParameterFileError, match=r"shape \(6, 12\), model expects \(6, 16\)"):
        load_checkpoint(checkpoint, wider, Adam(0.01))


def test_model_files_and_checkpoints_are_not_confused(tmp_path, checkpoint):
    with pytest.raises(ParameterFileError, match="a training checkpoint: load it with "
                                                 "load_checkpoint"):
        load_model(checkpoint)
    with pytest.raises(ParameterFileError, match="a training checkpoint"):
        load_params(build(), checkpoint)
    params = save_model(build(), tmp_path / "model.npz")
    with pytest.raises(ParameterFileError, match="holds no optimiser state"):
        load_checkpoint(params, build(), Adam(0.01))


def test_save_checkpoint_refuses_what_it_could_not_load(tmp_path):
    model, opt = build(), Adam(0.01)
    some_steps(build(2), opt)                 # the state of another model's arrays
    with pytest.raises(ValueError, match="the optimiser's state is for another model"):
        save_checkpoint(tmp_path / "ck.npz", model, opt, epoch=1)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0"):
        save_checkpoint(tmp_path / "ck.npz", model, Adam(0.01), epoch=-1)
    with pytest.raises(TypeError, match="optimizer must be a dlfs.optim.Optimizer"):
        save_checkpoint(tmp_path / "ck.npz", model, "adam", epoch=1)
    assert not (tmp_path / "ck.npz").exists()


# ---------------------------------------------------------------------------------------
# resuming fit
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adamw"])
def test_a_resumed_run_equals_the_uninterrupted_run_bit_for_bit(tmp_path, data, name):
    whole, opt_whole = build(), OPTIMIZERS[name]()
    h_whole = train(whole, opt_whole, data)
    path = tmp_path / "ck.npz"
    stopped = build()
    h_stop = train(stopped, OPTIMIZERS[name](), data,
                   callbacks=[SaveCheckpoint(path), StopAfter(3)])
    assert h_stop.epochs == 3
    resumed, opt = build(7), OPTIMIZERS[name]()      # other initial values: all overwritten
    ck = load_checkpoint(path, resumed, opt)
    assert ck.epoch == 3
    h = train(resumed, opt, data, resume=ck)
    assert_same_state(whole, resumed)
    assert opt.t == opt_whole.t and opt.lr == opt_whole.lr
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert getattr(h, field) == getattr(h_whole, field), field
    assert h.initial_loss == h_whole.initial_loss and len(h.seconds) == 6


def test_resuming_a_shorter_run_also_continues_it(tmp_path, data):
    whole = build()
    train(whole, Adam(0.01), data)
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=2, callbacks=[SaveCheckpoint(path)])
    resumed, opt = build(), Adam(0.01)
    train(resumed, opt, data, resume=load_checkpoint(path, resumed, opt))
    assert_same_state(whole, resumed)


def test_the_model_alone_is_not_enough(tmp_path, data):
    """Reloading only the parameters (fresh Adam, reseeded shuffling) gives another run."""
    whole = build()
    train(whole, Adam(0.01), data)
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, callbacks=[SaveCheckpoint(path), StopAfter(3)])
    restarted = build()
    load_checkpoint(path, restarted, Adam(0.01))
    train(restarted, Adam(0.01), data, epochs=3)
    assert not np.array_equal(whole.layers[0].params["W"], restarted.layers[0].params["W"])


def test_save_checkpoint_every_k_epochs_and_at_the_end(tmp_path, data):
    saved = []

    class Spy(SaveCheckpoint):
        def on_epoch_end(self, run):
            super().on_epoch_end(run)
            if self.path.exists():
                with np.load(self.path) as f:
                    saved.append(json.loads(str(f["__architecture__"]))["epoch"])
            else:
                saved.append(None)

    train(build(), Adam(0.01), data, epochs=5, callbacks=[Spy(tmp_path / "ck.npz", every=2)])
    assert saved == [None, 2, 2, 4, 5]


@pytest.mark.parametrize("change, error, message", [
    (dict(seed=5), ValueError, r"started with seed=4, not 5; pass seed=4"),
    (dict(epochs=2), ValueError, r"after epoch 3, beyond epochs=2"),
    (dict(patience=2), ValueError, r"holds no best epoch's parameters"),
    (dict(callbacks=[EarlyStopping()]), ValueError, r"holds no best epoch's parameters"),
])
def test_fit_refuses_a_checkpoint_it_cannot_continue(tmp_path, data, change, error, message):
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=3, callbacks=[SaveCheckpoint(path)])
    model, opt = build(), Adam(0.01)
    ck = load_checkpoint(path, model, opt)
    with pytest.raises(error, match=message):
        train(model, opt, data, resume=ck, **change)
    assert opt.t == len(ck.history["loss"]) * 7    # untouched: 7 batches per epoch


def test_fit_refuses_a_checkpoint_without_generators_or_of_another_type(tmp_path, data):
    model, opt = build(), Adam(0.01)
    some_steps(model, opt)
    path = save_checkpoint(tmp_path / "ck.npz", model, opt, epoch=1, seed=4)
    ck = load_checkpoint(path, model, opt)
    with pytest.raises(ValueError, match="no generator states"):
        train(model, opt, data, resume=ck)
    with pytest.raises(TypeError, match="resume must be a dlfs.io.Checkpoint"):
        train(model, opt, data, resume={"epoch": 1})


def test_fit_refuses_a_history_with_fields_history_has_not(tmp_path, data):
    from dlfs.io import Checkpoint

    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=1, callbacks=[SaveCheckpoint(path)])
    model, opt = build(), Adam(0.01)
    ck = load_checkpoint(path, model, opt)
    odd = Checkpoint(ck.epoch, {**ck.history, "bogus": [1.0]}, ck.seed, ck.generators)
    with pytest.raises(ValueError, match=r"fields \['bogus'\] that History has not"):
        train(model, opt, data, resume=odd)


# ---------------------------------------------------------------------------------------
# resuming from a path; early stopping's best epoch; the run's info
# ---------------------------------------------------------------------------------------
def test_resume_from_a_path_loads_the_checkpoint_and_continues_exactly(tmp_path, data):
    whole = build()
    h_whole = train(whole, Adam(0.01), data)
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, callbacks=[SaveCheckpoint(path), StopAfter(2)])
    resumed = build(7)
    h = train(resumed, Adam(0.01), data, resume=str(path))
    assert_same_state(whole, resumed)
    assert h.loss == h_whole.loss and h.val_loss == h_whole.val_loss


def test_a_refused_path_changes_nothing(tmp_path, data):
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=3, callbacks=[SaveCheckpoint(path)])
    model, opt = build(7), Adam(0.01)
    before = {k: v.copy() for k, v in model.state().items()}
    with pytest.raises(ValueError, match="started with seed=4, not 5"):
        train(model, opt, data, resume=path, seed=5)
    assert all(np.array_equal(v, before[k]) for k, v in model.state().items())
    assert opt.t == 0


def misleading(data):
    """Validation labels one class off: the validation loss rises as training fits, so
    the best epoch comes early and restoring it matters."""
    X, y, Xv, yv = data
    return (Xv, (yv + 1) % 3)


@pytest.mark.parametrize("patience, stop_after", [(None, 3), (None, 1), (3, 2)])
def test_early_stopping_resumes_with_its_best_epoch(tmp_path, data, patience, stop_after):
    """The checkpoint holds the best epoch's parameters, and the resumed run restores
    them as the uninterrupted one does."""
    def keeper():
        return [] if patience else [EarlyStopping(restore_best=True)]

    val = misleading(data)
    whole = build()
    h_whole = train(whole, Adam(0.01), data, patience=patience, validation=val,
                    callbacks=keeper())
    assert h_whole.best_epoch == 0
    path = tmp_path / "ck.npz"
    # SaveCheckpoint before EarlyStopping: the saved best epoch does not depend on the order
    train(build(), Adam(0.01), data, patience=patience, validation=val,
          callbacks=[SaveCheckpoint(path), *keeper(), StopAfter(stop_after)])
    ck = read_checkpoint(path)
    assert ck.epoch == stop_after and ck.best is not None
    resumed = build(7)
    h = train(resumed, Adam(0.01), data, patience=patience, validation=val,
              callbacks=keeper(), resume=path)
    assert_same_state(whole, resumed)
    assert h.val_loss == h_whole.val_loss and h.stopped_early == h_whole.stopped_early
    if patience:
        assert h.stopped_early and h.epochs == 4


def test_a_run_that_stopped_early_is_complete_when_resumed(tmp_path, data):
    val = misleading(data)
    whole = build()
    h_whole = train(whole, Adam(0.01), data, patience=1, validation=val)
    assert h_whole.stopped_early and h_whole.epochs == 2
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, patience=1, validation=val,
          callbacks=[SaveCheckpoint(path)])
    resumed, opt = build(7), Adam(0.01)
    h = train(resumed, opt, data, patience=1, validation=val, resume=path)
    assert h.epochs == 2 and h.stopped_early
    assert opt.t == 2 * 7                        # no further step
    assert_same_state(whole, resumed)            # the best epoch, restored


def test_a_best_epoch_checkpoint_needs_the_early_stopping_that_kept_it(tmp_path, data):
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=3,
          callbacks=[EarlyStopping(restore_best=True), SaveCheckpoint(path)])
    with pytest.raises(ValueError, match="continue it with that early stopping"):
        train(build(), Adam(0.01), data, resume=path)
    no_restore = tmp_path / "plain.npz"
    train(build(), Adam(0.01), data, epochs=3,
          callbacks=[EarlyStopping(2, restore_best=False), SaveCheckpoint(no_restore)])
    assert read_checkpoint(no_restore).best is None      # nothing to restore: nothing kept


def test_info_and_best_round_trip_and_are_checked(tmp_path, data):
    path = tmp_path / "ck.npz"
    info = {"dataset": "toy", "recipe": {"hidden": [12], "lr": 0.01}}
    train(build(), Adam(0.01), data, epochs=2,
          callbacks=[EarlyStopping(), SaveCheckpoint(path, info=info)])
    model, opt = build(), Adam(0.01)
    ck = load_checkpoint(path, model, opt)
    assert ck.info == info and read_checkpoint(path).info == info
    assert set(ck.best) == set(model.state())
    assert all(ck.best[k].shape == v.shape for k, v in model.state().items())
    with np.load(path) as f:
        assert "best.0.W" in f.files
    with pytest.raises(TypeError, match="info must be a dict"):
        SaveCheckpoint(path, info=["not", "a", "dict"])
    with pytest.raises(TypeError, match="info must be a JSON object"):
        SaveCheckpoint(path, info={"x": object()})
    wrong = {k: v for k, v in model.state().items() if k != "0.W"}
    with pytest.raises(ValueError, match="the best epoch's arrays"):
        save_checkpoint(tmp_path / "bad.npz", model, opt, epoch=2, best=wrong)
    bad = {k: v.astype(np.float32) for k, v in model.state().items()}
    with pytest.raises(ValueError, match="the best epoch's '0.W' is float32"):
        save_checkpoint(tmp_path / "bad.npz", model, opt, epoch=2, best=bad)
    assert not (tmp_path / "bad.npz").exists()


def test_a_forged_best_or_info_is_refused(tmp_path, data):
    path = tmp_path / "ck.npz"
    train(build(), Adam(0.01), data, epochs=2,
          callbacks=[EarlyStopping(), SaveCheckpoint(path)])
    with np.load(path) as f:
        contents = {k: f[k] for k in f.files}
    record = json.loads(str(contents.pop("__architecture__")))
    contents.pop("__sha256__")

    def write(record, arrays):
        text = json.dumps(record, sort_keys=True)
        forged = tmp_path / "forged.npz"
        np.savez(forged, **arrays, __architecture__=np.array(text),
                 __sha256__=np.array(_checksum(text, arrays)))
        return forged

    nan = {**contents, "best.0.W": np.full_like(contents["best.0.W"], np.nan)}
    with pytest.raises(ParameterFileError, match="best epoch's '0.W' contains NaN"):
        read_checkpoint(write(record, nan))
    short = {k: v for k, v in contents.items() if k != "best.0.b"}
    with pytest.raises(ParameterFileError, match="the best epoch's arrays"):
        load_checkpoint(write(record, short), build(), Adam(0.01))
    with pytest.raises(ParameterFileError, match="info must be a JSON object or null"):
        read_checkpoint(write({**record, "info": [1, 2]}, contents))


def test_read_checkpoint_refuses_a_model_file_and_a_missing_file(tmp_path):
    save_model(build(), tmp_path / "model.npz")
    with pytest.raises(ParameterFileError, match="a model file from save_model"):
        read_checkpoint(tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.npz")
