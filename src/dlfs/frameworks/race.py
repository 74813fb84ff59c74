"""The fair race: one CNN recipe trained in dlfs, PyTorch and Keras under the same rules.

The same for all three libraries:

- the **initial weights**: the ``dlfs`` network built from the seed, copied with
  :func:`~dlfs.interop.to_torch` / :func:`~dlfs.interop.to_keras` (float32);
- the **mini-batches**: the permutation of each epoch is drawn as ``dlfs.fit``
  draws it (``np.random.default_rng(seed).permutation(n)``, once per epoch) and
  handed to the frameworks, so every step sees the same images;
- the **optimiser**: Adam with β = (0.9, 0.999), ε = 1e-8, the learning rate
  decayed by ``exp(-lr_decay)`` once per epoch (Keras adds its ε to √v rather
  than to the bias-corrected √v̂, a difference of order ε);
- the **epoch kept**: the first one with the lowest validation loss (the
  recipe's rule, as ``EarlyStopping(restore_best=True)`` in dlfs);
- **what is timed**: one pass of training steps over the training set, per
  epoch, without the validation pass (evaluated after the clock stops);
- the **test set**: read once per final model, after the epoch is chosen.

What remains different is the arithmetic (the order of float32 sums) and the
frameworks' execution model (PyTorch eager, Keras a compiled ``tf.function``).
"""
from __future__ import annotations

import time

import numpy as np

from .. import data as dlfs_data
from .. import interop
from ..data import to_float, train_val_split
from ..losses import SoftmaxCrossEntropy
from ..optim import Adam
from ..recipes import mnist_cnn as cnn
from ..schedules import ExponentialDecay
from ..train import EarlyStopping, fit

LIBRARIES = ("dlfs", "PyTorch", "Keras")


def load_data(limit: int | None = 12_000, *, seed: int = 0,
              val_fraction: float = cnn.RECIPE.val_fraction, dtype=np.float32):
    """MNIST as (n, 1, 28, 28) images in [0, 1]: ``((X_tr, y_tr), (X_val, y_val), (X_test,
    y_test))``, the validation set a stratified ``val_fraction`` of the first ``limit``
    training images (all 60,000 if None)."""
    x_train, y_train, x_test, y_test = dlfs_data.load_mnist()
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    X = to_float(x_train, dtype, flatten=False)[:, None]
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val), (to_float(x_test, dtype, flatten=False)[:, None],
                                          y_test)


def initial_model(seed: int, recipe=cnn.RECIPE, *, dtype=np.float32):
    """The recipe's CNN with the initial weights of ``seed`` (He / Glorot, zero biases)."""
    return cnn.mnist_cnn(recipe.channels, recipe.hidden, dtype=dtype,
                         rng=np.random.default_rng(seed))


def epoch_orders(n: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The order of the training samples in every epoch, as :func:`dlfs.train.fit` draws it."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def loss_and_accuracy(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy of ``logits`` (n, 10) and the share of correct argmaxes,
    computed the same way (float64) for every library."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean()), float((z.argmax(1) == y).mean())


def _summary(library, seed, seconds, val, logits_test, y_test, model) -> dict:
    val_loss = [v[0] for v in val]
    best = int(np.argmin(val_loss))                     # the first lowest, as dlfs
    test_loss, test_acc = loss_and_accuracy(logits_test, y_test)
    return {"library": library, "seed": seed, "seconds": seconds,
            "val_loss": val_loss, "val_accuracy": [v[1] for v in val],
            "best_epoch": best + 1, "test_loss": test_loss, "test_accuracy": test_acc,
            "model": model}


def train_dlfs(data, *, seed: int = 0, epochs: int = 3,
               recipe=cnn.RECIPE) -> dict:
    """Train the recipe's CNN with ``dlfs.fit``.

    See the module docstring for the rules.
    """
    (X, y), (X_val, y_val), (X_test, y_test) = data
    model = initial_model(seed, recipe)
    history = fit(model, SoftmaxCrossEntropy(), Adam(recipe.lr, eps=1e-8), X, y,
                  epochs=epochs, batch_size=recipe.batch_size,
                  validation=(X_val, y_val),
                  schedule=ExponentialDecay(recipe.lr, recipe.lr_decay),
                  callbacks=[EarlyStopping(restore_best=True)], seed=seed)
    logits = np.concatenate([model.forward(X_test[i:i + 1000])
                             for i in range(0, len(X_test), 1000)])
    return _summary("dlfs", seed, list(history.seconds),
                    list(zip(history.val_loss, history.val_accuracy)),
                    logits, y_test, model)


def train_torch(data, *, seed: int = 0, epochs: int = 3,
                recipe=cnn.RECIPE) -> dict:
    """Train the recipe's CNN in PyTorch.

    It starts from dlfs's initial weights and trains on dlfs's batches.
    """
    torch = interop.import_torch()
    (X, y), (X_val, y_val), (X_test, y_test) = data
    device = interop.torch_device()
    model = interop.to_torch(initial_model(seed, recipe),
                             dtype=torch.float32).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, eps=1e-8)
    sched = torch.optim.lr_scheduler.ExponentialLR(
        opt, gamma=float(np.exp(-recipe.lr_decay)))
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def logits_of(Xe):
        model.eval()
        with torch.inference_mode():
            out = torch.cat([model(torch.from_numpy(Xe[i:i + 1000]).to(device))
                             for i in range(0, len(Xe), 1000)])
        model.train()
        return out.cpu().numpy()

    seconds, val, best, best_state = [], [], np.inf, None
    for order in epoch_orders(len(X), epochs, seed):
        order = torch.from_numpy(order).to(device)
        start = time.perf_counter()
        for i in range(0, len(order), recipe.batch_size):
            idx = order[i:i + recipe.batch_size]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
        seconds.append(time.perf_counter() - start)
        val.append(loss_and_accuracy(logits_of(X_val), y_val))
        if val[-1][0] < best:                           # keep the first lowest
            best = val[-1][0]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return _summary("PyTorch", seed, seconds, val, logits_of(X_test), y_test,
                    model)


def train_keras(data, *, seed: int = 0, epochs: int = 3,
                recipe=cnn.RECIPE) -> dict:
    """Train the recipe's CNN in Keras, from dlfs's weights, on dlfs's batches.

    Each epoch is one ``Model.fit`` call on the epoch's permuted images with
    ``shuffle=False``; the learning-rate schedule counts optimiser steps
    across calls (a staircase of one epoch's steps).
    """
    keras = interop.import_keras()
    (X, y), (X_val, y_val), (X_test, y_test) = data
    nhwc = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))  # noqa: E731
    Xn, Xn_val, Xn_test = nhwc(X), nhwc(X_val), nhwc(X_test)
    model = interop.to_keras(initial_model(seed, recipe), dtype="float32")
    steps = -(-len(X) // recipe.batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        recipe.lr, steps, float(np.exp(-recipe.lr_decay)), staircase=True)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, epsilon=1e-8),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def logits_of(Xe):
        return model.predict(Xe, batch_size=1000, verbose=0)

    seconds, val, best, best_weights = [], [], np.inf, None
    for order in epoch_orders(len(X), epochs, seed):
        Xe, ye = Xn[order], y[order]
        start = time.perf_counter()
        model.fit(Xe, ye, batch_size=recipe.batch_size, epochs=1,
                  shuffle=False, verbose=0)
        seconds.append(time.perf_counter() - start)
        val.append(loss_and_accuracy(logits_of(Xn_val), y_val))
        if val[-1][0] < best:
            best, best_weights = val[-1][0], model.get_weights()
    model.set_weights(best_weights)
    return _summary("Keras", seed, seconds, val, logits_of(Xn_test), y_test,
                    model)


TRAINERS = {"dlfs": train_dlfs, "PyTorch": train_torch, "Keras": train_keras}


def race(data, *, seeds=(0, 1, 2), epochs: int = 3, recipe=cnn.RECIPE) -> dict:
    """Every library trained from every seed: ``{library: [run, ...]}`` (see ``train_*``)."""
    return {lib: [TRAINERS[lib](data, seed=s, epochs=epochs, recipe=recipe) for s in seeds]
            for lib in LIBRARIES}


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of at least two values."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1))


def summarise(runs: dict) -> dict:
    """Per library: test accuracy mean and sd over seeds, the epochs kept, and the
    median seconds per epoch over all epochs of all seeds."""
    out = {}
    for lib, rs in runs.items():
        m, sd = mean_sd([r["test_accuracy"] for r in rs])
        out[lib] = {"acc_mean": m, "acc_sd": sd, "best_epochs": [r["best_epoch"] for r in rs],
                    "seconds": float(np.median([t for r in rs for t in r["seconds"]]))}
    return out


def seed_vs_library_spread(runs: dict) -> dict:
    """The largest test-accuracy gap between libraries trained from the same seed
    (``"library"``) and between seeds within one library (``"seed"``)."""
    libs = list(runs)
    n = len(runs[libs[0]])
    acc = np.array([[runs[lib][k]["test_accuracy"] for k in range(n)] for lib in libs])
    return {"library": float((acc.max(0) - acc.min(0)).max()),
            "seed": float((acc.max(1) - acc.min(1)).max())}


def race_sentence(runs: dict) -> str:
    """One sentence comparing the two spreads of :func:`seed_vs_library_spread`."""
    gap = seed_vs_library_spread(runs)
    lib, seed = 100 * gap["library"], 100 * gap["seed"]
    first = np.array([[r["val_loss"][0] for r in rs] for rs in runs.values()])
    spread = float(((first.max(0) - first.min(0)) / first.min(0)).max())
    if lib <= seed:
        verdict = "no larger than"
    elif lib <= 2 * seed:
        verdict = "of the same order as"
    else:
        verdict = "larger than"
    return (f"after the first epoch their validation losses from the same seed already "
            f"differ by up to {100 * spread:.1f} %, and at the end their test accuracies "
            f"differ by up to {lib:.2f} percentage points, {verdict} the {seed:.2f} points "
            f"between seeds within one library")


def race_verdict(runs: dict) -> str:
    """What the accuracy column supports, from the two spreads."""
    gap = seed_vs_library_spread(runs)
    if gap["library"] <= 2 * gap["seed"]:
        return ("the three libraries train this recipe equally well: their differences "
                "are of the size of the differences between seeds")
    return ("the libraries differ by more than seeds do on this small run, a difference "
            "that more seeds and epochs would have to confirm")
