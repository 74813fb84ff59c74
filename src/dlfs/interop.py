"""Bridges to PyTorch and Keras: the chapter's CNN in each, and the glue to compare them.

Nothing here is needed to use ``dlfs``; it needs the ``frameworks`` extra
(``pip install -e '.[frameworks]'``).  The frameworks are imported lazily, and
TensorFlow's start-up notices are silenced *before* its first import
(``TF_CPP_MIN_LOG_LEVEL``), so that importing this module costs nothing and
prints nothing.

Layouts differ between the three libraries, and :func:`to_torch` /
:func:`to_keras` translate a trained ``dlfs`` model exactly:

============  ======================  ======================  ===================
array         dlfs                    PyTorch                 Keras
============  ======================  ======================  ===================
images        (N, C, H, W)            (N, C, H, W)            (N, H, W, C)
conv kernel   (C_out, C_in, kh, kw)   (C_out, C_in, kh, kw)   (kh, kw, C_in, C_out)
dense weight  (n_in, n_out)           (n_out, n_in)           (n_in, n_out)
flatten       C, H, W order           C, H, W order           H, W, C order
============  ======================  ======================  ===================

All three compute a cross-correlation (no kernel flip), so kernels carry over
without flipping.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

from ._blas import current_blas_threads, set_blas_threads
from .layers import Conv2D, Dense
from .model import Sequential


def threads() -> int:
    """The number of threads every library gets: NumPy's BLAS threads (read from the BLAS
    by :func:`dlfs._blas.current_blas_threads`), or the number of CPUs if no BLAS is found."""
    return current_blas_threads() or os.cpu_count() or 1


def set_threads(n: int) -> int:
    """Give NumPy's BLAS, PyTorch and TensorFlow ``n`` threads each (call it first).

    TensorFlow fixes its thread pools on first use, so call this before
    :func:`import_keras`; PyTorch can change at any time.
    """
    set_blas_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    return threads()


def import_torch():
    """PyTorch, with :func:`threads` threads and passive waiting.

    ``OMP_WAIT_POLICY=PASSIVE`` (set before the first import) stops PyTorch's
    OpenMP threads from spinning after each operation, which would otherwise
    steal the CPU from NumPy's BLAS threads when both run in one process.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads())
    return torch


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up notices (the
    oneDNN note) are written there before ``TF_CPP_MIN_LOG_LEVEL`` takes effect."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Keras on TensorFlow, quiet, with :func:`threads` threads."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")      # no start-up notices
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _quiet_stderr():
        import tensorflow as tf
        import keras

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads())
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:                       # already initialised: keep its setting
        pass
    tf.get_logger().setLevel("ERROR")
    return keras


def _arch(model: Sequential) -> tuple[tuple[int, int], int]:
    convs = [layer for layer in model.layers if isinstance(layer, Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    return (convs[0].out_channels, convs[1].out_channels), dense[0].n_out


# -- PyTorch ------------------------------------------------------------------------------
def torch_cnn(channels=(16, 32), hidden: int = 128, *, dtype=None):
    """The chapter's CNN as a ``torch.nn.Sequential`` (NCHW input)."""
    torch = import_torch()
    nn = torch.nn
    c1, c2 = channels
    model = nn.Sequential(
        nn.Conv2d(1, c1, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * 16, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )
    return model.to(dtype) if dtype is not None else model


def to_torch(model: Sequential, *, dtype=None):
    """A PyTorch copy of a ``dlfs`` CNN built by :func:`~dlfs.recipes.mnist_cnn.mnist_cnn`."""
    torch = import_torch()
    dtype = torch.float64 if dtype is None else dtype
    tmodel = torch_cnn(*_arch(model), dtype=dtype)
    ours = [layer for layer in model.layers if isinstance(layer, (Conv2D, Dense))]
    theirs = [m for m in tmodel if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        for layer, module in zip(ours, theirs):
            W = layer.params["W"] if isinstance(layer, Conv2D) else layer.params["W"].T
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            module.bias.copy_(torch.from_numpy(layer.params["b"]))
    return tmodel


def torch_gradients(tmodel, X: np.ndarray, y: np.ndarray) -> tuple[float, list, list]:
    """Loss, parameter gradients (in dlfs layouts) and logits of a PyTorch CNN on one batch."""
    torch = import_torch()
    tmodel.zero_grad()
    dtype = next(tmodel.parameters()).dtype
    logits = tmodel(torch.from_numpy(X).to(dtype))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    grads = []
    for m in tmodel:
        if isinstance(m, torch.nn.Conv2d):
            grads += [m.weight.grad.numpy(), m.bias.grad.numpy()]
        elif isinstance(m, torch.nn.Linear):
            grads += [m.weight.grad.numpy().T, m.bias.grad.numpy()]
    return float(loss.detach()), grads, logits.detach().numpy()


def train_torch(data, *, channels=(16, 32), hidden=128, epochs=2, batch_size=128, lr=3e-3,
                decay=0.5, seed=0) -> dict:
    """Train :func:`torch_cnn` with the recipe of :func:`~dlfs.recipes.mnist_cnn.train`.

    ``data`` is ``((X_train, y_train), (X_val, y_val), (X_test, y_test))`` with NCHW
    float32 images.  Returns test accuracy, seconds per epoch and the validation
    accuracy of every epoch.
    """
    torch = import_torch()
    torch.manual_seed(seed)
    (X, y), (X_val, y_val), (X_test, y_test) = data
    model = torch_cnn(channels, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=float(np.exp(-decay)))
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)

    def accuracy(Xe, ye):
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(torch.from_numpy(Xe[i:i + 1000])).argmax(1)
                              for i in range(0, len(Xe), 1000)])
        model.train()
        return float((pred.numpy() == ye).mean())

    seconds, val_acc = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
        seconds.append(time.perf_counter() - start)
        val_acc.append(accuracy(X_val, y_val))
    return {"test_accuracy": accuracy(X_test, y_test), "val_accuracy": val_acc,
            "seconds_per_epoch": float(np.median(seconds)), "model": model}


# -- Keras --------------------------------------------------------------------------------
def keras_cnn(channels=(16, 32), hidden: int = 128, *, dtype="float32"):
    """The chapter's CNN as a ``keras.Sequential`` (NHWC input of shape (28, 28, 1))."""
    keras = import_keras()
    L = keras.layers
    c1, c2 = channels
    return keras.Sequential([
        keras.Input((28, 28, 1), dtype=dtype),
        L.Conv2D(c1, 5, activation="relu", dtype=dtype), L.MaxPooling2D(2, dtype=dtype),
        L.Conv2D(c2, 5, activation="relu", dtype=dtype), L.MaxPooling2D(2, dtype=dtype),
        L.Flatten(dtype=dtype),
        L.Dense(hidden, activation="relu", dtype=dtype),
        L.Dense(10, dtype=dtype),
    ])


def to_keras(model: Sequential, *, dtype="float64"):
    """A Keras copy of a ``dlfs`` CNN: kernels to (kh, kw, C_in, C_out), and the rows
    of the first dense weight reordered from (C, H, W) to Keras's (H, W, C) flattening."""
    kmodel = keras_cnn(*_arch(model), dtype=dtype)
    ours = [layer for layer in model.layers if isinstance(layer, (Conv2D, Dense))]
    theirs = [layer for layer in kmodel.layers if layer.weights]
    c2 = ours[1].out_channels
    for k, (layer, klayer) in enumerate(zip(ours, theirs)):
        W = layer.params["W"]
        if isinstance(layer, Conv2D):
            W = W.transpose(2, 3, 1, 0)
        elif k == 2:                                   # first dense layer, after Flatten
            W = W.reshape(c2, 4, 4, -1).transpose(1, 2, 0, 3).reshape(c2 * 16, -1)
        klayer.set_weights([W.astype(dtype), layer.params["b"].astype(dtype)])
    return kmodel


def keras_gradients(kmodel, X: np.ndarray, y: np.ndarray) -> tuple[float, list, list]:
    """Loss, parameter gradients (in dlfs layouts) and logits of a Keras CNN on one batch."""
    import_keras()
    import tensorflow as tf

    dtype = kmodel.layers[0].dtype
    x = tf.constant(X.transpose(0, 2, 3, 1), dtype=dtype)           # NCHW -> NHWC
    with tf.GradientTape() as tape:
        logits = kmodel(x, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    grads = [g.numpy() for g in tape.gradient(loss, kmodel.trainable_weights)]
    c2 = grads[2].shape[-1]
    out = []
    for k in range(0, len(grads), 2):
        W, b = grads[k], grads[k + 1]
        if W.ndim == 4:
            W = W.transpose(3, 2, 0, 1)                # (kh, kw, C_in, C_out) -> dlfs
        elif k == 4:                                   # first dense: (H, W, C) rows -> (C, H, W)
            W = W.reshape(4, 4, c2, -1).transpose(2, 0, 1, 3).reshape(c2 * 16, -1)
        out += [W, b]
    return float(loss), out, logits.numpy()


def train_keras(data, *, channels=(16, 32), hidden=128, epochs=2, batch_size=128, lr=3e-3,
                decay=0.5, seed=0) -> dict:
    """Train :func:`keras_cnn` with the same recipe as :func:`train_torch`."""
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    (X, y), (X_val, y_val), (X_test, y_test) = data
    nhwc = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))   # noqa: E731
    model = keras_cnn(channels, hidden)
    steps = int(np.ceil(len(X) / batch_size))
    schedule = keras.optimizers.schedules.ExponentialDecay(lr, steps, float(np.exp(-decay)),
                                                           staircase=True)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    hist = model.fit(nhwc(X), y, batch_size=batch_size, epochs=epochs, shuffle=True,
                     validation_data=(nhwc(X_val), y_val), verbose=0, callbacks=[Timer()])
    _, test_acc = model.evaluate(nhwc(X_test), y_test, batch_size=1000, verbose=0)
    return {"test_accuracy": float(test_acc), "val_accuracy": hist.history["val_accuracy"],
            "seconds_per_epoch": float(np.median(seconds)), "model": model}


# -- timing -------------------------------------------------------------------------------
def _median_seconds(fn, repeats: int) -> float:
    fn()                                                # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_conv(batch: int, c_in: int, size: int, c_out: int, k: int, *, repeats: int = 7,
              seed: int = 0) -> dict:
    """Median seconds of one Conv2D forward+backward (float32) in dlfs and in PyTorch.

    Both compute the input gradient as well as the weight and bias gradients.
    """
    torch = import_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
    layer = Conv2D(c_in, c_out, k, rng=rng)
    g = np.ones((batch, c_out, size - k + 1, size - k + 1), np.float32)
    dlfs_s = _median_seconds(lambda: layer.backward(g) if layer.forward(x) is not None
                             else None, repeats)
    conv = torch.nn.Conv2d(c_in, c_out, k)
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(g)

    def torch_step():
        xt.grad = None
        conv.zero_grad()
        conv(xt).backward(gt)

    torch_s = _median_seconds(torch_step, repeats)
    return {"dlfs": dlfs_s, "torch": torch_s, "ratio": dlfs_s / torch_s}
