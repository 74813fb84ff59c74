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
def torch_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"`` (this book is built on a CPU)."""
    return "cuda" if import_torch().cuda.is_available() else "cpu"


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


# -- Keras --------------------------------------------------------------------------------
def keras_cnn(channels=(16, 32), hidden: int = 128):
    """The chapter's CNN as a ``keras.Sequential`` on NHWC input (28, 28, 1).

    Its float type is Keras's global one (float32 unless ``keras_float``
    says otherwise).
    """
    keras = import_keras()
    L = keras.layers
    c1, c2 = channels
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(c1, 5, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(c2, 5, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(hidden, activation="relu"),
        L.Dense(10),
    ])


@contextlib.contextmanager
def keras_float(dtype: str):
    """Build Keras models in ``dtype`` ("float32" or "float64") inside the block:
    Keras's global float type and dtype policy, restored afterwards."""
    keras = import_keras()
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def _dense_rows_to_keras(W: np.ndarray, c2: int) -> np.ndarray:
    """Rows of the first dense weight from dlfs's (C, H, W) flattening to Keras's (H, W, C)."""
    return W.reshape(c2, 4, 4, -1).transpose(1, 2, 0, 3).reshape(c2 * 16, -1)


def _dense_rows_from_keras(W: np.ndarray, c2: int) -> np.ndarray:
    return W.reshape(4, 4, c2, -1).transpose(2, 0, 1, 3).reshape(c2 * 16, -1)


def to_keras(model: Sequential, *, dtype="float64"):
    """A Keras copy of a ``dlfs`` CNN.

    Kernels go to (kh, kw, C_in, C_out), and the rows of the first dense
    weight are reordered from (C, H, W) to Keras's (H, W, C) flattening.
    """
    with keras_float(dtype):
        kmodel = keras_cnn(*_arch(model))
    ours = [layer for layer in model.layers
            if isinstance(layer, (Conv2D, Dense))]
    theirs = [layer for layer in kmodel.layers if layer.weights]
    c2 = ours[1].out_channels
    for k, (layer, klayer) in enumerate(zip(ours, theirs)):
        W = layer.params["W"]
        if isinstance(layer, Conv2D):
            W = W.transpose(2, 3, 1, 0)
        elif k == 2:                    # first dense layer, after Flatten
            W = _dense_rows_to_keras(W, c2)
        klayer.set_weights([W.astype(dtype), layer.params["b"].astype(dtype)])
    return kmodel


def from_torch(tmodel, model: Sequential) -> Sequential:
    """Copy a PyTorch CNN's parameters back into the ``dlfs`` CNN ``model`` (in place)."""
    torch = import_torch()
    ours = [layer for layer in model.layers if isinstance(layer, (Conv2D, Dense))]
    theirs = [m for m in tmodel if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for layer, module in zip(ours, theirs):
        W = module.weight.detach().cpu().numpy()
        layer.params["W"][...] = W if isinstance(layer, Conv2D) else W.T
        layer.params["b"][...] = module.bias.detach().cpu().numpy()
    return model


def from_keras(kmodel, model: Sequential) -> Sequential:
    """Copy a Keras CNN's parameters back into the ``dlfs`` CNN ``model`` (in place)."""
    ours = [layer for layer in model.layers if isinstance(layer, (Conv2D, Dense))]
    theirs = [layer for layer in kmodel.layers if layer.weights]
    c2 = ours[1].out_channels
    for k, (layer, klayer) in enumerate(zip(ours, theirs)):
        W, b = klayer.get_weights()
        if isinstance(layer, Conv2D):
            W = W.transpose(3, 2, 0, 1)
        elif k == 2:
            W = _dense_rows_from_keras(W, c2)
        layer.params["W"][...] = W
        layer.params["b"][...] = b
    return model


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
            W = _dense_rows_from_keras(W, c2)
        out += [W, b]
    return float(loss), out, logits.numpy()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest entry of ``a``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def cross_check(model: Sequential, X: np.ndarray, y: np.ndarray, loss: float,
                logits: np.ndarray) -> dict:
    """Compare a ``dlfs`` CNN (after its forward and backward on ``X, y``, which gave
    ``loss`` and ``logits``) with its PyTorch and Keras copies on the same batch.

    Returns ``{"rows": [(name, shape, (err_torch, err_keras)), ...], "worst": max}``
    with one row for the loss, one for the logits and one per parameter array; every
    error is relative to the largest entry of ``dlfs``'s array.
    """
    names = [name for name, _, _ in model.parameters()]
    ours = [g.copy() for _, _, g in model.parameters()]
    theirs = [torch_gradients(to_torch(model), X, y), keras_gradients(to_keras(model), X, y)]
    rows = [("loss", (), tuple(_rel(loss, t[0]) for t in theirs)),
            ("logits", logits.shape, tuple(_rel(logits, t[2]) for t in theirs))]
    rows += [(name, ours[k].shape, tuple(_rel(ours[k], t[1][k]) for t in theirs))
             for k, name in enumerate(names)]
    return {"rows": rows, "worst": max(e for _, _, errs in rows for e in errs)}


def time_conv(batch: int, c_in: int, size: int, c_out: int, k: int, *, repeats: int = 7,
              seed: int = 0, input_grad: bool = True) -> dict:
    """Median seconds of one Conv2D forward+backward (float32) in dlfs and in PyTorch, and
    their ratio (``bench/conv.py``; the chapters' timings, with TensorFlow and the spread,
    are in ``dlfs.frameworks.speed``).  ``input_grad=False`` skips the input gradient in
    both, as training does for the first layer."""
    import time

    torch = import_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
    layer = Conv2D(c_in, c_out, k, rng=rng)
    g = np.ones((batch, c_out, size - k + 1, size - k + 1), np.float32)
    conv = torch.nn.Conv2d(c_in, c_out, k)
    xt, gt = torch.from_numpy(x).requires_grad_(input_grad), torch.from_numpy(g)

    def ours():
        layer.forward(x)
        layer.backward(g, input_grad=input_grad)

    def theirs():
        xt.grad = None
        conv.zero_grad()
        conv(xt).backward(gt)

    def median(fn):
        fn()                                            # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    dlfs_s, torch_s = median(ours), median(theirs)
    return {"dlfs": dlfs_s, "torch": torch_s, "ratio": dlfs_s / torch_s}
