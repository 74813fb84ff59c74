"""Build-time data and static images of the interactive figures.

Used by :mod:`dlfs_interactive` (the Sphinx extension) and by the browser test
``tests/book/test_book_interactive.py``, which recomputes what the page shows
with the same functions.  Everything is computed by ``dlfs``:

- ``backprop``: one forward and backward pass of the backpropagation chapter's
  2-2-1 network, layer by layer (``Dense``, ``Sigmoid``, ``BinaryCrossEntropy``).
- ``optimisers``: the optimisers chapter's quadratic (condition number 25) and a
  non-convex double well; contour lines (matplotlib's contour generator) and
  trajectories of ``SGD``, ``Momentum`` (classic and Nesterov), ``RMSProp`` and
  ``Adam``.  The page recomputes trajectories live with the same update rules;
  :func:`trajectory` is the reference.
- ``neuron``: the single-neuron chapter's training set (its generator, seed 7)
  and the step size ``1/beta`` of its gradient descent.
- ``convolution``: the convolution chapter's example (X[p, q] = W p + q, kernel
  with 1 top-left and -1 bottom-right, bias 1); :func:`conv_reference` runs
  ``Conv2D`` forward and backward (col2im) for any geometry.
- ``mnist-run``: a small MLP trained on a subset of MNIST for a few epochs,
  with the validation curves, confusion matrices and mistakes of every epoch.
- ``init-depth``: per-layer sizes of the activations and weight gradients of a
  deep ReLU or tanh network for a range of weight scales.

The static images (SVG for the site without JavaScript, PDF for the book) show
each figure's default state.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path

import numpy as np

#: Bump to invalidate the cached data and images.
VERSION = "1"

# ---------------------------------------------------------------------------
# 1. backpropagation: the 2-2-1 worked example
# ---------------------------------------------------------------------------
BP_X = [[1.0, 2.0]]
BP_Y = [[1.0]]
BP_W1 = [[0.5, -0.3], [0.2, 0.4]]
BP_B1 = [0.1, -0.1]
BP_W2 = [[0.7], [-0.5]]
BP_B2 = [0.2]


def backprop_data() -> dict:
    """Every node value and adjoint of the 2-2-1 network, from dlfs's layers."""
    from dlfs.layers import Dense, Sigmoid
    from dlfs.losses import BinaryCrossEntropy

    x, y = np.array(BP_X), np.array(BP_Y)
    dense1, act, dense2 = Dense(2, 2, dtype=np.float64), Sigmoid(), Dense(2, 1, dtype=np.float64)
    for dense, W, b in [(dense1, BP_W1, BP_B1), (dense2, BP_W2, BP_B2)]:
        dense.params["W"][...] = W
        dense.params["b"][...] = b
    loss = BinaryCrossEntropy(from_logits=True)
    z1 = dense1.forward(x)
    a1 = act.forward(z1)
    z2 = dense2.forward(a1)
    L = float(loss.forward(z2, y))
    from dlfs.activations import sigmoid
    p = float(sigmoid(z2).item())
    g2 = loss.backward()
    da1 = dense2.backward(g2)
    g1 = act.backward(da1)
    dx = dense1.backward(g1)
    row = lambda a: [float(v) for v in np.ravel(a)]      # noqa: E731
    return {
        "x": row(x), "y": float(y.item()), "W1": BP_W1, "b1": BP_B1,
        "W2": row(BP_W2), "b2": BP_B2[0],
        "z1": row(z1), "a1": row(a1), "z2": float(z2.item()), "p": p, "L": L,
        "dz2": float(g2.item()), "da1": row(da1), "dz1": row(g1), "dx": row(dx),
        "dW2": row(dense2.grads["W"]), "db2": float(dense2.grads["b"].item()),
        "dW1": [row(r) for r in dense1.grads["W"]], "db1": row(dense1.grads["b"]),
        "sigma_prime": row(a1 * (1 - a1)),
    }


# ---------------------------------------------------------------------------
# 2. optimisers: two surfaces, the trajectories of five methods
# ---------------------------------------------------------------------------
def quadratic() -> dict:
    """The optimisers chapter's quadratic: eigenvalues 1 and 25, axes rotated by 30 degrees."""
    theta = np.deg2rad(30)
    Q = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    H = Q @ np.diag([1.0, 25.0]) @ Q.T
    return {"H": H.tolist(), "w_star": [1.0, 0.5], "start": [-4.0, -1.5],
            "view": [-5.0, 3.0, -3.0, 3.0], "f_min": 0.0}


#: Non-convex surface: f(w) = (w1^2 - 1)^2 + TILT w1 + 2 (w2 - w1/2)^2, two valleys,
#: the left one deeper.
TILT = 0.3
WELL_START = [1.9, 2.2]


def surface_value(name: str, surf: dict, w) -> float:
    w1, w2 = float(w[0]), float(w[1])
    if name == "quadratic":
        H, s = surf["H"], surf["w_star"]
        e1, e2 = w1 - s[0], w2 - s[1]
        return 0.5 * (e1 * (H[0][0] * e1 + H[0][1] * e2) + e2 * (H[1][0] * e1 + H[1][1] * e2))
    u = w2 - 0.5 * w1
    return (w1 * w1 - 1) ** 2 + TILT * w1 + 2 * u * u


def surface_grad(name: str, surf: dict, w) -> list[float]:
    """The gradient, written out scalar by scalar exactly as the page's script does."""
    w1, w2 = float(w[0]), float(w[1])
    if name == "quadratic":
        H, s = surf["H"], surf["w_star"]
        e1, e2 = w1 - s[0], w2 - s[1]
        return [H[0][0] * e1 + H[0][1] * e2, H[1][0] * e1 + H[1][1] * e2]
    u = w2 - 0.5 * w1
    return [4 * w1 * (w1 * w1 - 1) + TILT - 2 * u, 4 * u]


def double_well() -> dict:
    surf = {"start": WELL_START, "view": [-2.2, 2.2, -2.0, 2.6], "tilt": TILT}
    w = np.array([-1.0, -0.5])                       # Newton's method to the deeper minimum
    for _ in range(50):
        g = np.array(surface_grad("well", surf, w))
        w1 = w[0]
        H = np.array([[12 * w1 * w1 - 4 + 1.0, -2.0], [-2.0, 4.0]])
        w = w - np.linalg.solve(H, g)
    surf["w_star"] = w.tolist()
    surf["f_min"] = surface_value("well", surf, w)
    return surf


#: Default settings of the playground (the chapter keeps mu = 0.8; eta just below
#: Nesterov's stability limit on this quadratic, 2 (1 + mu) / (25 (1 + 2 mu)) = 0.0554).
OPT_DEFAULTS = {"surface": "quadratic", "lr": 0.05, "mu": 0.8, "lr_adaptive": 0.2,
                "beta1": 0.9, "beta2": 0.999, "rho": 0.9, "eps": 1e-8, "steps": 40}
METHODS = ("gd", "momentum", "nesterov", "rmsprop", "adam")
METHOD_NAMES = {"gd": "gradient descent", "momentum": "momentum", "nesterov": "Nesterov",
                "rmsprop": "RMSProp", "adam": "Adam"}


def make_optimizer(method: str, s: dict):
    from dlfs.optim import SGD, Adam, Momentum, RMSProp

    if method == "gd":
        return SGD(s["lr"])
    if method in ("momentum", "nesterov"):
        return Momentum(s["lr"], momentum=s["mu"], nesterov=method == "nesterov")
    if method == "rmsprop":
        return RMSProp(s["lr_adaptive"], rho=s["rho"], eps=s["eps"])
    return Adam(s["lr_adaptive"], beta1=s["beta1"], beta2=s["beta2"], eps=s["eps"])


#: Iterates beyond this distance count as diverged (the page stops drawing them).
DIVERGED = 1e6


def trajectory(method: str, settings: dict, surface: str, surf: dict) -> np.ndarray:
    """Iterates of a dlfs optimiser on a surface, float64: shape (steps + 1, 2)."""
    opt = make_optimizer(method, settings)
    w = np.array(surf["start"], dtype=np.float64)
    path = [w.copy()]
    for _ in range(settings["steps"]):
        g = np.array(surface_grad(surface, surf, w))
        opt.step([("w", w, g)])
        path.append(w.copy())
        if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > DIVERGED:
            break
    return np.array(path)


def _contours(surface: str, surf: dict, n_levels: int = 12) -> list[dict]:
    """Contour lines as SVG path strings in data coordinates."""
    import contourpy

    x0, x1, y0, y1 = surf["view"]
    gx, gy = np.meshgrid(np.linspace(x0, x1, 161), np.linspace(y0, y1, 121))
    f = np.vectorize(lambda a, b: surface_value(surface, surf, (a, b)))(gx, gy)
    f = f - surf["f_min"]
    levels = np.geomspace(0.05, 200, n_levels) if surface == "quadratic" \
        else np.geomspace(0.02, 40, n_levels)
    gen = contourpy.contour_generator(gx, gy, f)
    out = []
    for level in levels:
        d = []
        for line in gen.lines(level):
            d.append("M" + " L".join(f"{a:.3f},{b:.3f}" for a, b in line))
        if d:
            out.append({"level": float(level), "d": " ".join(d)})
    return out


def optimiser_data() -> dict:
    surfaces = {"quadratic": quadratic(), "well": double_well()}
    for name, surf in surfaces.items():
        surf["contours"] = _contours(name, surf)
    return {"defaults": OPT_DEFAULTS, "methods": list(METHODS), "names": METHOD_NAMES,
            "surfaces": surfaces, "diverged": DIVERGED}


# ---------------------------------------------------------------------------
# 3. one neuron: the single-neuron chapter's data
# ---------------------------------------------------------------------------
#: The chapter's generator ("A toy problem"): same means, spread and seed.
MU = {0: np.array([-1.0, -0.6]), 1: np.array([1.0, 0.8])}
SPREAD = 0.9
NEURON_DEFAULTS = {"w1": 1.0, "w2": -0.5, "b": 0.5}


def neuron_training_set() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, size=200)
    means = np.where(y[:, np.newaxis] == 1, MU[1], MU[0])
    X = means + SPREAD * rng.standard_normal((200, 2))
    return X, y.astype(np.float64).reshape(-1, 1)


def neuron_reference(X, y, w1, w2, b) -> dict:
    """Loss and gradient from dlfs's Dense layer and BinaryCrossEntropy (from logits)."""
    from dlfs.layers import Dense
    from dlfs.losses import BinaryCrossEntropy

    dense = Dense(2, 1, dtype=np.float64)
    dense.params["W"][...] = [[w1], [w2]]
    dense.params["b"][...] = b
    loss = BinaryCrossEntropy(from_logits=True)
    z = dense.forward(X)
    L = float(loss.forward(z, y))
    dense.backward(loss.backward())
    acc = float(np.mean((z > 0) == (y == 1)))
    return {"loss": L, "dw1": float(dense.grads["W"][0, 0]), "dw2": float(dense.grads["W"][1, 0]),
            "db": float(dense.grads["b"][0]), "accuracy": acc}


def neuron_data() -> dict:
    X, y = neuron_training_set()
    X1 = np.hstack([X, np.ones((len(X), 1))])
    beta = np.linalg.eigvalsh(X1.T @ X1).max() / (4 * len(X))
    ref = neuron_reference(X, y, **NEURON_DEFAULTS)
    return {"X": X.tolist(), "y": y.ravel().astype(int).tolist(), "lr": float(1 / beta),
            "defaults": NEURON_DEFAULTS, "reference": ref, "view": [-4.0, 4.0, -4.0, 4.0]}


# ---------------------------------------------------------------------------
# 4. convolution
# ---------------------------------------------------------------------------
CONV_DEFAULTS = {"size": 4, "kernel": 2, "stride": 2, "padding": 0}
CONV_LIMITS = {"size": (3, 9), "kernel": (1, 5), "stride": (1, 3), "padding": (0, 2)}


def conv_example(size: int, kernel: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The chapter's example, any size: X[p, q] = size p + q; kernel 1 top-left, -1 bottom-right."""
    X = np.arange(float(size * size)).reshape(size, size)
    K = np.zeros((kernel, kernel))
    K[0, 0] = 1.0
    if kernel > 1:
        K[-1, -1] = -1.0
    return X, K, 1.0


def conv_reference(size, kernel, stride, padding, selected=None) -> dict:
    """Conv2D forward, and backward with dL/dZ = 1 everywhere (or only at ``selected``)."""
    from dlfs.layers import Conv2D
    from dlfs.layers.im2col import conv_output_size

    try:
        out = conv_output_size(size, kernel, stride, padding, what="input height")
    except ValueError as err:
        return {"error": str(err)}
    X, K, bias = conv_example(size, kernel)
    layer = Conv2D(1, 1, kernel, stride=stride, padding=padding, dtype=np.float64)
    layer.params["W"][...] = K
    layer.params["b"][...] = bias
    Z = layer.forward(X[None, None])
    G = np.zeros_like(Z) if selected is not None else np.ones_like(Z)
    if selected is not None:
        G[0, 0, selected[0], selected[1]] = 1.0
    dX = layer.backward(G)
    return {"out": out, "Z": Z[0, 0].tolist(), "dX": dX[0, 0].tolist()}


def conv_data() -> dict:
    return {"defaults": CONV_DEFAULTS, "limits": CONV_LIMITS, "bias": 1.0,
            "reference": conv_reference(**CONV_DEFAULTS)}


# ---------------------------------------------------------------------------
# 5. a training run of an MLP on MNIST, recorded epoch by epoch
# ---------------------------------------------------------------------------
MNIST_RUN = {"limit": 12000, "hidden": [128], "epochs": 10, "batch_size": 128, "lr": 1e-3,
             "mistakes": 8}


def mnist_run() -> dict:
    """Train 784-128-10 (ReLU, Adam) on the first 12,000 training images (10% held out
    for validation, stratified), one epoch at a time, and record each epoch."""
    from dlfs.losses import SoftmaxCrossEntropy
    from dlfs.metrics import confusion_matrix
    from dlfs.model import mlp
    from dlfs.optim import Adam
    from dlfs.recipes import mnist
    from dlfs.train import fit

    cfg = MNIST_RUN
    data = mnist.load_data(limit=cfg["limit"])
    model = mlp([784, *cfg["hidden"], 10], rng=np.random.default_rng(0))
    loss, opt = SoftmaxCrossEntropy(), Adam(cfg["lr"])
    epochs, pool, pool_index = [], [], {}
    for epoch in range(cfg["epochs"]):
        h = fit(model, loss, opt, data.X_train, data.y_train, epochs=1,
                batch_size=cfg["batch_size"], validation=(data.X_val, data.y_val),
                seed=epoch, progress=False)
        pred = np.argmax(model.predict(data.X_val), axis=1)
        wrong = np.flatnonzero(pred != data.y_val)[:cfg["mistakes"]]
        mistakes = []
        for i in wrong:
            if int(i) not in pool_index:
                pool_index[int(i)] = len(pool)
                img = np.round(data.X_val[i] * 255).astype(np.uint8)
                pool.append(base64.b64encode(img.tobytes()).decode("ascii"))
            mistakes.append({"image": pool_index[int(i)], "index": int(i),
                             "true": int(data.y_val[i]), "pred": int(pred[i])})
        epochs.append({"loss": float(h.loss[0]), "accuracy": float(h.accuracy[0]),
                       "val_loss": float(h.val_loss[0]), "val_accuracy": float(h.val_accuracy[0]),
                       "confusion": confusion_matrix(data.y_val, pred, 10).tolist(),
                       "mistakes": mistakes})
    return {"config": cfg, "n_train": int(len(data.X_train)), "n_val": int(len(data.X_val)),
            "epochs": epochs, "images": pool}


# ---------------------------------------------------------------------------
# 6. initialisation: activation and gradient sizes through 20 layers
# ---------------------------------------------------------------------------
INIT_DEPTH = {"depth": 20, "width": 128, "batch": 100,
              "gains": [0.25, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0],
              "default": {"activation": "relu", "gain": 1.0}}
#: Weight variance = gain x the scale that suits the activation: He (2/n) for ReLU,
#: Xavier (2 / (n + n) = 1/n for square layers) for tanh.
INIT_SCHEME = {"relu": "he", "tanh": "xavier_normal"}


def init_depth_run(activation: str, gain: float) -> dict:
    """Per-layer std of the activations and of dL/dW in a deep dlfs MLP (float64)."""
    from dlfs.layers import Dense, ReLU, Tanh
    from dlfs.model import Sequential

    cfg = INIT_DEPTH
    rng = np.random.default_rng(3)
    layers = []
    for _ in range(cfg["depth"]):
        dense = Dense(cfg["width"], cfg["width"], init=INIT_SCHEME[activation],
                      dtype=np.float64, rng=rng)
        dense.params["W"] *= np.sqrt(gain)
        layers += [dense, ReLU() if activation == "relu" else Tanh()]
    net = Sequential(layers)
    out = np.random.default_rng(2).standard_normal((cfg["batch"], cfg["width"]))
    fwd = []
    for layer in net.layers:
        out = layer.forward(out)
        if not layer.params:
            fwd.append(float(out.std()))
    net.backward(np.random.default_rng(4).standard_normal(out.shape))
    bwd = [float(np.std(d.grads["W"])) for d in net.layers[::2]]
    return {"forward": fwd, "backward": bwd}


def init_depth_data() -> dict:
    runs = {act: [init_depth_run(act, g) for g in INIT_DEPTH["gains"]] for act in INIT_SCHEME}
    return {**INIT_DEPTH, "schemes": INIT_SCHEME, "runs": runs}


def static_init_depth(d):
    fig = _figure(6.4, 2.8)
    axes = fig.subplots(1, 2, sharex=True)
    act = d["default"]["activation"]
    layers = np.arange(1, d["depth"] + 1)
    for gain, run in zip(d["gains"], d["runs"][act]):
        strong = gain == d["default"]["gain"]
        for ax, key in zip(axes, ("forward", "backward")):
            ax.semilogy(layers, np.maximum(run[key], 1e-300), lw=1.6 if strong else 0.6,
                        color="k" if strong else "0.7", marker="." if strong else None)
    axes[0].set(xlabel="layer", ylabel="std of activations", xticks=[1, 5, 10, 15, 20])
    axes[1].set(xlabel="layer", ylabel="std of ∂L/∂W")
    axes[0].set_title("ReLU, weight variance = g × He's (g = 1 in black)", fontsize=8)
    for ax in axes:
        ax.tick_params(labelsize=7)
        ax.xaxis.label.set_size(8)
        ax.yaxis.label.set_size(8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# static images of the default states
# ---------------------------------------------------------------------------
BLUE, RED = "#1f77b4", "#d62728"
COLORS = {"gd": "#1f77b4", "momentum": "#ff7f0e", "nesterov": "#2ca02c",
          "rmsprop": "#d62728", "adam": "#9467bd"}


def _figure(w, h):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h))


def static_backprop(d):
    fig = _figure(6.4, 3.0)
    ax = fig.add_subplot()
    pos = {"x1": (0, 1), "x2": (0, -1), "z11": (1.6, 1), "z12": (1.6, -1),
           "a11": (3.0, 1), "a12": (3.0, -1), "z2": (4.4, 0), "L": (5.8, 0)}
    names = {"x1": "$x_1$", "x2": "$x_2$", "z11": "$z_{1,1}$", "z12": "$z_{1,2}$",
             "a11": "$a_{1,1}$", "a12": "$a_{1,2}$", "z2": "$z_2$", "L": "$L$"}
    vals = {"x1": d["x"][0], "x2": d["x"][1], "z11": d["z1"][0], "z12": d["z1"][1],
            "a11": d["a1"][0], "a12": d["a1"][1], "z2": d["z2"], "L": d["L"]}
    adj = {"x1": d["dx"][0], "x2": d["dx"][1], "z11": d["dz1"][0], "z12": d["dz1"][1],
           "a11": d["da1"][0], "a12": d["da1"][1], "z2": d["dz2"], "L": 1.0}
    for a, b in [("x1", "z11"), ("x1", "z12"), ("x2", "z11"), ("x2", "z12"), ("z11", "a11"),
                 ("z12", "a12"), ("a11", "z2"), ("a12", "z2"), ("z2", "L")]:
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops=dict(arrowstyle="-|>", color="0.4", lw=0.8, shrinkA=13, shrinkB=13))
    for k, (x0, y0) in pos.items():
        ax.text(x0, y0, names[k], ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.3", fc="#dce9f5", ec="0.3"))
        ax.text(x0, y0 + 0.42, f"{vals[k]:.4f}", ha="center", fontsize=8)
        ax.text(x0, y0 - 0.45, f"{adj[k]:.4f}", ha="center", fontsize=8, color=RED)
    ax.text(2.9, -1.75, "after the last step: every value (black) and adjoint (red) known",
            ha="center", fontsize=8, color="0.3")
    ax.set(xlim=(-0.5, 6.3), ylim=(-1.9, 1.7))
    ax.axis("off")
    return fig


def static_optimisers(d):
    fig = _figure(6.4, 3.0)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    s = d["defaults"]
    surf = d["surfaces"][s["surface"]]
    for c in surf["contours"]:
        for part in c["d"].split("M")[1:]:
            pts = np.array([[float(v) for v in p.split(",")] for p in part.split(" L")])
            ax.plot(pts[:, 0], pts[:, 1], color="0.8", lw=0.6)
    for m in METHODS:
        p = trajectory(m, s, s["surface"], surf)
        ax.plot(p[:, 0], p[:, 1], ".-", ms=2.5, lw=0.9, color=COLORS[m], label=METHOD_NAMES[m])
        f = [max(surface_value(s["surface"], surf, w) - surf["f_min"], 1e-16) for w in p]
        ax2.semilogy(f, lw=1, color=COLORS[m])
    ax.plot(*surf["w_star"], "k*", ms=7)
    x0, x1, y0, y1 = surf["view"]
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[], aspect="equal")
    ax.legend(fontsize=6, loc="lower right", framealpha=0.9)
    ax2.set(xlabel="step", ylabel="loss − minimum")
    ax2.tick_params(labelsize=7)
    ax2.xaxis.label.set_size(8)
    ax2.yaxis.label.set_size(8)
    fig.tight_layout()
    return fig


def static_neuron(d):
    fig = _figure(6.4, 3.2)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    X, y = np.array(d["X"]), np.array(d["y"])
    w1, w2, b = (d["defaults"][k] for k in ("w1", "w2", "b"))
    from dlfs.activations import sigmoid

    g1, g2 = np.meshgrid(np.linspace(-4, 4, 81), np.linspace(-4, 4, 81))
    p = sigmoid(w1 * g1 + w2 * g2 + b)
    ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(g1, g2, p, levels=[0.5], colors="k", linewidths=1.4)
    for label, marker, color in [(0, "o", BLUE), (1, "^", RED)]:
        sel = y == label
        ax.scatter(X[sel, 0], X[sel, 1], s=10, marker=marker, color=color,
                   edgecolor="k", linewidth=0.3)
    ax.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
    z = X @ np.array([w1, w2]) + b
    zz = np.linspace(-8, 8, 200)
    ax2.plot(zz, sigmoid(zz), "k-", lw=1)
    ax2.scatter(z, y + np.where(y == 1, -0.04, 0.04), s=8, c=np.where(y == 1, RED, BLUE))
    ref = d["reference"]
    ax2.set(xlabel="logit $z = w_1x_1 + w_2x_2 + b$", ylabel=r"$p = \sigma(z)$", xlim=(-8, 8))
    ax2.set_title(f"$L$ = {ref['loss']:.4f}, ∇L = ({ref['dw1']:.3f}, {ref['dw2']:.3f}, "
                  f"{ref['db']:.3f})", fontsize=8)
    for a in (ax, ax2):
        a.tick_params(labelsize=7)
        a.xaxis.label.set_size(8)
        a.yaxis.label.set_size(8)
    fig.tight_layout()
    return fig


def static_convolution(d):
    s = d["defaults"]
    n, k, st, pad = s["size"], s["kernel"], s["stride"], s["padding"]
    X, K, _ = conv_example(n, k)
    ref = d["reference"]
    Z, dX = np.array(ref["Z"]), np.array(ref["dX"])
    fig = _figure(6.4, 2.4)
    axes = fig.subplots(1, 3)

    def grid(ax, A, title, hi=None, offset=0):
        m = A.shape[0]
        for i in range(m):
            for j in range(m):
                inside = hi is not None and hi[0] <= i < hi[0] + k and hi[1] <= j < hi[1] + k
                ax.add_patch(__import__("matplotlib.patches").patches.Rectangle(
                    (j, m - 1 - i), 1, 1, fc="#fde0a6" if inside else "white", ec="0.4", lw=0.6))
                ax.text(j + 0.5, m - 0.5 - i, f"{A[i, j]:g}", ha="center", va="center", fontsize=8)
        ax.set(xlim=(-0.1, m + 0.1), ylim=(-0.1, m + 0.1), aspect="equal")
        ax.set_title(title, fontsize=8)
        ax.axis("off")

    grid(axes[0], X, f"input {n}×{n} (padding {pad}); window of Z[0,0]", hi=(0, 0))
    grid(axes[1], Z, f"output: ({n} + 2·{pad} − {k})/{st} + 1 = {ref['out']}")
    grid(axes[2], dX, "backward, dL/dZ = 1: col2im sums")
    fig.tight_layout()
    return fig


def static_mnist(d):
    fig = _figure(6.4, 2.6)
    gs = fig.add_gridspec(2, 3, width_ratios=[1.2, 1, 1.1])
    ax = fig.add_subplot(gs[:, 0])
    ep = d["epochs"]
    t = np.arange(1, len(ep) + 1)
    ax.plot(t, [100 * (1 - e["accuracy"]) for e in ep], "o-", ms=3, label="training")
    ax.plot(t, [100 * (1 - e["val_accuracy"]) for e in ep], "s-", ms=3, label="validation")
    ax.set(xlabel="epoch", ylabel="error (%)")
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    axc = fig.add_subplot(gs[:, 1])
    C = np.array(ep[-1]["confusion"], dtype=float)
    off = C.copy()
    np.fill_diagonal(off, 0)
    axc.imshow(off, cmap="Reds", interpolation="none")
    axc.set_title(f"epoch {len(ep)}: confusions", fontsize=8)
    axc.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10))
    axc.tick_params(labelsize=6)
    axc.xaxis.label.set_size(8)
    axc.yaxis.label.set_size(8)
    sub = gs[:, 2].subgridspec(2, 4, wspace=0.1, hspace=0.5)
    for i, m in enumerate(ep[-1]["mistakes"][:8]):
        a = fig.add_subplot(sub[i // 4, i % 4])
        img = np.frombuffer(base64.b64decode(d["images"][m["image"]]), np.uint8).reshape(28, 28)
        a.imshow(img, cmap="gray_r", interpolation="none")
        a.set_title(f"{m['true']}→{m['pred']}", fontsize=7)
        a.axis("off")
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.17, top=0.9, wspace=0.35)
    return fig


FIGURES = {
    "backprop": (backprop_data, static_backprop),
    "optimisers": (optimiser_data, static_optimisers),
    "neuron": (neuron_data, static_neuron),
    "convolution": (conv_data, static_convolution),
    "mnist-run": (mnist_run, static_mnist),
    "init-depth": (init_depth_data, static_init_depth),
}


def caption_values(name: str, data: dict) -> dict[str, str]:
    """Numbers a caption may quote as ``[[key]]`` (so that no number is typed by hand)."""
    if name == "optimisers":
        dft = data["defaults"]
        return {"tilt": f"{TILT:g}", "lr": f"{dft['lr']:g}", "mu": f"{dft['mu']:g}",
                "lr_adaptive": f"{dft['lr_adaptive']:g}", "steps": str(dft["steps"]),
                "beta1": f"{dft['beta1']:g}", "beta2": f"{dft['beta2']:g}"}
    if name == "neuron":
        return {"lr": f"{data['lr']:.2f}"}
    if name == "mnist-run":
        cfg = data["config"]
        return {"hidden": "–".join(map(str, cfg["hidden"])), "lr": f"{cfg['lr']:g}",
                "batch_size": str(cfg["batch_size"]), "epochs": str(cfg["epochs"]),
                "limit": f"{cfg['limit']:,}", "n_train": f"{data['n_train']:,}",
                "n_val": f"{data['n_val']:,}", "mistakes": str(cfg["mistakes"])}
    if name == "init-depth":
        return {"depth": str(data["depth"]), "width": str(data["width"]),
                "batch": str(data["batch"]), "gain_min": f"{min(data['gains']):g}",
                "gain_max": f"{max(data['gains']):g}"}
    return {}


def cache_key(extra: str = "") -> str:
    h = hashlib.sha256((VERSION + extra).encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def build(name: str, out_dir: Path, env_key: str = "") -> tuple[dict, Path]:
    """Data of figure ``name`` and the stem of its static images (``.svg``, ``.pdf``),
    cached in ``out_dir`` under a key of this file's source and ``env_key``."""
    if name not in FIGURES:
        raise KeyError(f"unknown interactive figure {name!r}; known: {', '.join(FIGURES)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    key = cache_key(env_key)
    stem = out_dir / f"{name}-{key}"
    data_path = stem.with_suffix(".json")
    if data_path.is_file() and stem.with_suffix(".svg").is_file() \
            and stem.with_suffix(".pdf").is_file():
        return json.loads(data_path.read_text()), stem
    for old in out_dir.glob(f"{name}-*"):
        old.unlink()
    make_data, make_static = FIGURES[name]
    data = make_data()
    import matplotlib

    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.hashsalt": "dlfs",
                                "svg.fonttype": "path", "figure.dpi": 100}):
        fig = make_static(data)
        fig.savefig(stem.with_suffix(".svg"), metadata={"Date": None})
        fig.savefig(stem.with_suffix(".pdf"), metadata={"CreationDate": None})
    data_path.write_text(json.dumps(data, separators=(",", ":")))
    return data, stem


def finite_json(data) -> str:
    """JSON for a <script> element (no '</' sequences)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")


if __name__ == "__main__":        # python book/_ext/dlfs_interactive_data.py: all, into /tmp
    import sys
    import time

    for fig_name in sys.argv[1:] or FIGURES:
        t = time.perf_counter()
        d, st = build(fig_name, Path("/tmp/dlfs_interactive"))
        print(fig_name, st, f"{time.perf_counter() - t:.1f} s", len(json.dumps(d)), "bytes")
    _ = math
