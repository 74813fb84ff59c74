"""Flexibility: what each framework lets a researcher change, each with a check.

- a **custom layer with a hand-written backward**: ``dlfs``'s convolution (its
  forward and its derived backward pass, in NumPy) as a
  ``torch.autograd.Function`` and as a ``tf.custom_gradient`` function,
  checked by finite differences and against each framework's own autograd;
- **inspecting and changing gradients**: the gradient at every layer's output
  (tensor hooks in PyTorch, a ``GradientTape`` over the intermediate outputs in
  TensorFlow) against ``dlfs``'s backward pass, and a hook that scales the
  gradient flowing through one layer;
- **data-dependent control flow**: a loop whose trip count depends on the data,
  run eagerly, traced by ``tf.function`` (AutoGraph) and by ``torch.compile``;
- **compilation**: one training step eager and compiled (``torch.compile``;
  ``tf.function`` with and without XLA), with the first call's cost.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .. import interop
from ..layers import Conv2D
from ..losses import SoftmaxCrossEntropy
from . import _proc
from .race import initial_model


def _dlfs_conv(W: np.ndarray, b: np.ndarray) -> Conv2D:
    """A ``dlfs`` Conv2D holding the given kernel (C_out, C_in, kh, kw) and bias."""
    layer = Conv2D(W.shape[1], W.shape[0], W.shape[2:], dtype=W.dtype,
                   rng=np.random.default_rng(0))
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    return layer


# -- a custom layer in PyTorch ------------------------------------------------------------
def torch_dlfs_conv():
    """``dlfs``'s Conv2D as a ``torch.autograd.Function`` (NCHW, CPU tensors):
    ``DlfsConv2d.apply(x, W, b)``."""
    torch = interop.import_torch()

    class DlfsConv2d(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, W, b):
            layer = _dlfs_conv(W.detach().numpy(), b.detach().numpy())
            ctx.layer = layer               # keeps the patches for backward
            out = layer.forward(x.detach().numpy())
            return torch.from_numpy(np.ascontiguousarray(out))

        @staticmethod
        def backward(ctx, grad_out):
            layer = ctx.layer
            dx = layer.backward(np.ascontiguousarray(grad_out.numpy()),
                                input_grad=ctx.needs_input_grad[0])
            return (None if dx is None else torch.from_numpy(dx),
                    torch.from_numpy(layer.grads["W"].copy()),
                    torch.from_numpy(layer.grads["b"].copy()))

    return DlfsConv2d


# -- the same layer in TensorFlow ---------------------------------------------------------
def tf_dlfs_conv():
    """``dlfs``'s Conv2D as a ``tf.custom_gradient`` function of (x, W, b) in dlfs's
    layouts (eager only: it calls NumPy)."""
    interop.import_keras()
    import tensorflow as tf

    @tf.custom_gradient
    def dlfs_conv(x, W, b):
        layer = _dlfs_conv(W.numpy(), b.numpy())
        out = layer.forward(x.numpy())

        def grad(g):
            dx = layer.backward(np.ascontiguousarray(g.numpy()))
            return (tf.constant(dx), tf.constant(layer.grads["W"].copy()),
                    tf.constant(layer.grads["b"].copy()))
        return tf.constant(np.ascontiguousarray(out)), grad

    return dlfs_conv


def custom_layer_checks(seed: int = 0) -> dict:
    """Finite-difference checks and autograd comparisons of the two custom layers (float64).

    Returns ``torch_gradcheck`` (bool, ``torch.autograd.gradcheck``),
    ``tf_numeric`` (largest absolute difference between the analytic and numeric Jacobians, from
    ``tf.test.compute_gradient``), ``torch_vs_autograd`` and ``tf_vs_autograd``
    (largest absolute difference of the three gradients from those of the frameworks'
    own convolution, ``F.conv2d`` and ``tf.nn.conv2d``, for one upstream gradient).
    """
    torch = interop.import_torch()
    interop.import_keras()
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 6, 6))
    W = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    g = rng.standard_normal((2, 3, 4, 4))
    out = {}

    DlfsConv2d = torch_dlfs_conv()
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out["torch_gradcheck"] = bool(torch.autograd.gradcheck(DlfsConv2d.apply, (xt, Wt, bt),
                                                           eps=1e-6, atol=1e-7))
    DlfsConv2d.apply(xt, Wt, bt).backward(torch.from_numpy(g))
    ours = [t.grad.clone() for t in (xt, Wt, bt)]
    for t in (xt, Wt, bt):
        t.grad = None
    torch.nn.functional.conv2d(xt, Wt, bt).backward(torch.from_numpy(g))
    out["torch_vs_autograd"] = max(float((a - t.grad).abs().max())
                                   for a, t in zip(ours, (xt, Wt, bt)))

    dlfs_conv = tf_dlfs_conv()
    args = [tf.constant(a) for a in (x, W, b)]
    analytic, numeric = tf.test.compute_gradient(dlfs_conv, args, delta=1e-6)
    out["tf_numeric"] = max(float(np.max(np.abs(a - n))) for a, n in zip(analytic, numeric))
    gt = tf.constant(g)
    with tf.GradientTape() as tape:
        tape.watch(args)
        mine = dlfs_conv(*args)
    ours = tape.gradient(mine, args, output_gradients=gt)
    with tf.GradientTape() as tape:
        tape.watch(args)
        xs, Ws, bs = args
        theirs = tf.transpose(tf.nn.bias_add(tf.nn.conv2d(
            tf.transpose(xs, (0, 2, 3, 1)), tf.transpose(Ws, (2, 3, 1, 0)), 1, "VALID"), bs),
            (0, 3, 1, 2))
    ref = tape.gradient(theirs, args, output_gradients=gt)
    out["tf_vs_autograd"] = max(float(np.max(np.abs(a.numpy() - r.numpy())))
                                for a, r in zip(ours, ref))
    with torch.no_grad():
        torch_diff = float((DlfsConv2d.apply(xt, Wt, bt)
                            - torch.nn.functional.conv2d(xt, Wt, bt)).abs().max())
    out["forward_diff"] = max(float(np.max(np.abs(mine.numpy() - theirs.numpy()))), torch_diff)
    return out


# -- inspecting and changing gradients ----------------------------------------------------
def _dlfs_output_grads(net, X, y) -> list[np.ndarray]:
    """dL/d(output of every layer), from dlfs's backward pass layer by layer."""
    loss = SoftmaxCrossEntropy()
    loss.forward(net.forward(X), y)
    g, grads = loss.backward(), []
    for layer in reversed(net.layers):
        grads.append(g)
        g = layer.backward(g)
    return grads[::-1]


def torch_output_grads(tmodel, X, y, *, scale_after: int | None = None,
                       scale: float = 1.0):
    """dL/d(output of every module) of a PyTorch CNN, caught by tensor hooks.

    The tensor hooks are registered from forward hooks.  With
    ``scale_after=k`` the hook of module k also multiplies the gradient
    flowing back through it by ``scale``.  Returns (output grads, parameter
    grads).
    """
    torch = interop.import_torch()
    caught, handles = {}, []

    def watch(k):
        def forward_hook(module, inputs, output):
            def tensor_hook(grad):
                caught[k] = grad.detach().clone()
                # returning None leaves the gradient unchanged
                return grad * scale if k == scale_after else None
            output.register_hook(tensor_hook)
        return forward_hook

    for k, module in enumerate(tmodel):
        handles.append(module.register_forward_hook(watch(k)))
    try:
        tmodel.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(X)),
                                          torch.from_numpy(y)).backward()
    finally:
        for h in handles:
            h.remove()
    return ([caught[k].numpy() for k in range(len(tmodel))],
            [p.grad.numpy().copy() for p in tmodel.parameters()])


def keras_output_grads(kmodel, X, y) -> list[np.ndarray]:
    """dL/d(output of every layer) of a Keras CNN: the layers called one by one under a
    ``GradientTape``, which is asked for the gradient of every intermediate output
    (returned in dlfs's NCHW / (C, H, W)-flattened layouts)."""
    interop.import_keras()
    import tensorflow as tf

    h = tf.constant(X.transpose(0, 2, 3, 1))
    outs = []
    with tf.GradientTape() as tape:
        for layer in kmodel.layers:
            h = layer(h)
            outs.append(h)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, h))
    grads = tape.gradient(loss, outs)
    out = []
    for g in grads:
        g = g.numpy()
        out.append(g.transpose(0, 3, 1, 2) if g.ndim == 4 else g)
    return out


def gradient_inspection(seed: int = 0) -> dict:
    """The gradient at every layer's output in dlfs, PyTorch (hooks) and Keras (tape), on
    the same float64 weights and batch, and a hook that halves the gradient flowing back
    through the ReLU after conv2 (module 4).

    Returns ``torch_vs_dlfs`` and ``keras_vs_dlfs`` (largest relative differences over the
    layer outputs both have), ``scaled_below`` and ``scaled_above`` (the ratio of the
    parameter gradients with and without the halving hook, below and above module 4).
    """
    torch = interop.import_torch()
    rng = np.random.default_rng(seed)
    net = initial_model(seed, dtype=np.float64)
    X, y = rng.random((8, 1, 28, 28)), rng.integers(0, 10, 8)
    ours = _dlfs_output_grads(net, X, y)
    tmodel = interop.to_torch(net, dtype=torch.float64)
    theirs, params = torch_output_grads(tmodel, X, y)
    _, halved = torch_output_grads(tmodel, X, y, scale_after=4, scale=0.5)

    def rel(a, b):
        return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))

    out = {"torch_vs_dlfs": max(rel(a, b) for a, b in zip(ours, theirs))}
    # Keras fuses each ReLU into its Conv2D/Dense layer: compare the outputs it has
    # (dlfs layers 1, 2, 4, 5, 6, 8, 9: ReLU, pool, ReLU, pool, flatten, ReLU, logits).
    keras_grads = keras_output_grads(interop.to_keras(net), X, y)
    pairs = list(zip([1, 2, 4, 5, 6, 8, 9], keras_grads))
    c2 = net.layers[3].out_channels
    diffs = []
    for k, g in pairs:
        if k == 6:                                        # flattened (H, W, C) -> (C, H, W)
            g = g.reshape(len(g), 4, 4, c2).transpose(0, 3, 1, 2).reshape(len(g), -1)
        diffs.append(rel(ours[k], g))
    out["keras_vs_dlfs"] = max(diffs)
    ratios = [float(np.max(np.abs(h)) / np.max(np.abs(p))) for h, p in zip(halved, params)]
    out["scaled_below"] = ratios[:4]                     # conv1 W, b; conv2 W, b
    out["scaled_above"] = ratios[4:]                     # dense layers
    return out


# -- data-dependent control flow ----------------------------------------------------------
def halvings(x):
    """Halve ``x`` until its largest entry is at most 1; return it and the number of
    halvings (a loop whose trip count depends on the data), in PyTorch or TensorFlow."""
    n = 0
    while abs(x).max() > 1:
        x = x / 2
        n += 1
    return x, n


def control_flow(values=(0.5, 3.0, 40.0, 900.0)) -> dict:
    """:func:`halvings` eager, under ``tf.function`` and under ``torch.compile``.

    Returns the eager trip counts, whether ``tf.function`` gives the same results,
    how many times it traced :func:`halvings` for tensors of one shape, how many
    times a function traced for a new *Python* number argument each call, and
    ``torch._dynamo.explain``'s graph and graph-break counts for one input.
    """
    torch = interop.import_torch()
    interop.import_keras()
    import tensorflow as tf

    out = {"eager_trips": [halvings(torch.tensor([v]))[1] for v in values]}
    traces = []

    def tf_halvings(x):
        traces.append(1)                                     # runs only while tracing
        n = tf.constant(0)
        while tf.reduce_max(tf.abs(x)) > 1:                  # AutoGraph: a tf.while_loop
            x, n = x / 2, n + 1
        return x, n

    graph = tf.function(tf_halvings)
    trips = [int(graph(tf.constant([v]))[1]) for v in values]
    out["tf_trips"], out["tf_traces"] = trips, len(traces)

    py_traces = []

    @tf.function
    def scale(x, k):
        py_traces.append(1)
        return x * k

    for k in range(1, len(values) + 1):
        scale(tf.constant([1.0]), k)                         # a Python int: a new trace each
    out["tf_traces_python_arg"] = len(py_traces)
    py_traces.clear()
    for k in range(1, len(values) + 1):
        scale(tf.constant([1.0]), tf.constant(float(k)))     # a tensor: one trace
    out["tf_traces_tensor_arg"] = len(py_traces)

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(lambda x: halvings(x)[0])(torch.tensor([40.0]))
    out["torch_graphs"] = int(explanation.graph_count)
    out["torch_graph_breaks"] = int(explanation.graph_break_count)
    torch._dynamo.reset()
    return out


# -- compilation --------------------------------------------------------------------------
def time_compiled_step(framework: str, batch: int = 128, steps: int = 20,
                       seed: int = 0) -> dict:
    """Seconds of one CNN training step (forward, loss, backward, Adam) eager and compiled.

    ``framework`` "torch": eager and ``torch.compile(model)``; "tf": the step eager, in
    ``tf.function`` and in ``tf.function(jit_compile=True)`` (XLA).  Returns, per variant,
    the first call (tracing and compiling included), the median of ``steps`` later calls,
    and the first step's loss (the same, up to rounding, in every variant).
    """
    rng = np.random.default_rng(seed)
    X = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    net = initial_model(seed)
    out = {}

    def timed(step):
        start = time.perf_counter()
        loss = float(step())                       # the first step's loss, for the check
        first = time.perf_counter() - start
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return {"first": first, "step": float(np.median(times)), "loss": loss}

    if framework == "torch":
        torch = interop.import_torch()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        for name in ("eager", "compiled"):
            model = interop.to_torch(net, dtype=torch.float32)
            run = torch.compile(model) if name == "compiled" else model
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)

            def step():
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(run(Xt), yt)
                loss.backward()
                opt.step()
                return loss.detach()
            out[name] = timed(step)
    elif framework == "tf":
        keras = interop.import_keras()
        import tensorflow as tf
        Xn, yn = tf.constant(X.transpose(0, 2, 3, 1)), tf.constant(y)
        for name, wrap in (("eager", lambda f: f), ("graph", tf.function),
                           ("xla", lambda f: tf.function(f, jit_compile=True))):
            model = interop.to_keras(net, dtype="float32")
            opt = keras.optimizers.Adam(1e-4, epsilon=1e-8)

            def raw_step():
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                        yn, model(Xn, training=True)))
                opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                        model.trainable_variables))
                return loss
            compiled = wrap(raw_step)
            out[name] = timed(lambda: compiled().numpy())
    else:
        raise ValueError(f"framework must be 'torch' or 'tf', got {framework!r}")
    return out


def compiled_steps(framework: str, *, threads: int = 1, batch: int = 128, steps: int = 20,
                   timeout: float = 600) -> dict:
    """:func:`time_compiled_step` in a fresh process (compilation caches and compiler
    worker threads die with it)."""
    env = _proc.child_env(threads, TORCHINDUCTOR_COMPILE_THREADS="1")
    return _proc.run_module("dlfs.frameworks.flex", [framework, batch, steps],
                            timeout=timeout, env=env)


def _main(argv: list[str]) -> None:
    framework, batch, steps = argv[0], int(argv[1]), int(argv[2])
    interop.set_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(json.dumps(time_compiled_step(framework, batch, steps)))


if __name__ == "__main__":
    _main(sys.argv[1:])
