"""A model is a list of layers applied one after the other."""
from __future__ import annotations

import inspect
from collections.abc import Iterator

import numpy as np

from ._checks import check_positive
from ._docs import implements
from .layers import Layer


class Sequential:
    """Chain of layers: ``forward`` runs them in order, ``backward`` in reverse.

    Parameters
    ----------
    layers : list of Layer
        Each layer object at most once.
    input_shape : tuple of int, optional
        The shape of one sample, e.g. ``(784,)`` or ``(1, 28, 28)`` (NCHW
        images without the batch axis).  When given, it is checked against
        every layer now (:meth:`output_shape`), ``forward`` refuses inputs of
        another sample shape, and :meth:`summary` needs no argument.  Saved
        with the model, so a loaded model knows what it takes.

    Parameters of layer ``i`` are named ``"{i}.{name}"`` (``"0.W"``, ``"0.b"``,
    ``"2.gamma"``...): those names key optimiser state and saved files.
    """

    def __init__(self, layers: list[Layer], input_shape: tuple[int, ...] | None = None) -> None:
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a dlfs Layer")
            for j in range(i):
                if layers[j] is layer:
                    # It would keep only its last input and collect two optimiser steps.
                    raise ValueError(f"layer {i} is the same {type(layer).__name__} object as "
                                     f"layer {j}; a layer can appear once in a model (create "
                                     f"a new layer for each position)")
        self.layers = layers
        self.input_shape: tuple[int, ...] | None = None
        if input_shape is not None:
            shape = tuple(input_shape)
            if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                       for d in shape):
                raise ValueError(f"input_shape must be a tuple of positive integers, "
                                 f"got {input_shape!r}")
            self.input_shape = tuple(int(d) for d in shape)
            self.output_shape(self.input_shape)            # every layer accepts it

    def output_shape(self, input_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input shape (default: ``input_shape``).

        Raises ValueError naming the first layer that cannot take its input.
        """
        shape = self._sample_shape(input_shape)
        for _, _, shape in self.layer_shapes(input_shape):
            pass
        return shape

    def layer_shapes(self, input_shape: tuple[int, ...] | None = None):
        """Yield ``(layer, its input shape, its output shape)`` for one sample, layer by layer.

        Raises ValueError naming the first layer that cannot take its input.
        """
        shape = self._sample_shape(input_shape)
        for i, layer in enumerate(self.layers):
            try:
                out = layer.output_shape(shape)
            except ValueError as err:
                raise ValueError(f"layer {i}: {err}") from None
            yield layer, shape, out
            shape = out

    def _sample_shape(self, input_shape):
        if input_shape is None:
            if self.input_shape is None:
                raise ValueError("give the shape of one input sample, e.g. (784,): "
                                 "this model has no input_shape")
            return self.input_shape
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Output of the last layer for x of shape ``(n_samples, *input_shape)``."""
        if (self.input_shape is not None and isinstance(x, np.ndarray)
                and x.shape[1:] != self.input_shape):
            raise ValueError(f"the model takes samples of shape "
                             f"{self.input_shape}, got a batch of shape "
                             f"{x.shape}")
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)        # looked up at call time: subclasses override forward

    def backward(self, grad_out: np.ndarray,
                 input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate dL/d(output) and fill every layer's ``grads``.

        Parameters
        ----------
        grad_out : ndarray with the shape of the last forward output
        input_grad : bool
            Return dL/dX, shape of the forward input.  By default (False)
            the gradient below the lowest layer with parameters is not
            computed, and None is returned: training does not need it.
        """
        first = 0 if input_grad else next(
            (i for i, layer in enumerate(self.layers) if layer.params),
            len(self.layers))
        for i in reversed(range(first, len(self.layers))):
            grad_out = self.layers[i].backward(
                grad_out, input_grad=input_grad or i > first)
        return grad_out if input_grad else None

    def predict(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Forward pass in inference mode (no dropout, running BatchNorm statistics).

        Large inputs go through in batches so memory stays bounded.
        """
        check_positive(batch_size, "batch_size", integer=True)
        if len(x) <= batch_size:
            return self.forward(x, training=False)
        return np.concatenate([self.forward(x[i:i + batch_size], training=False)
                               for i in range(0, len(x), batch_size)])

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, param, grad)`` for every trainable array."""
        for i, layer in enumerate(self.layers):
            for name, param in layer.params.items():
                yield f"{i}.{name}", param, layer.grads[name]

    def state(self) -> dict[str, np.ndarray]:
        """Every array that defines the trained model: parameters and buffers."""
        out = {}
        for i, layer in enumerate(self.layers):
            for name, array in {**layer.params, **layer.buffers}.items():
                out[f"{i}.{name}"] = array
        return out

    def n_params(self) -> int:
        return sum(p.size for _, p, _ in self.parameters())

    def architecture(self) -> list[dict]:
        """JSON-serialisable description: one ``{"type": ..., **config}`` per layer."""
        return [{"type": type(layer).__name__, **layer.config()} for layer in self.layers]

    @classmethod
    def from_architecture(cls, architecture: list[dict], *, dtype=np.float32,
                          rng: np.random.Generator | None = None,
                          input_shape: tuple[int, ...] | None = None) -> "Sequential":
        """Rebuild a model (freshly initialised) from :meth:`architecture` output.

        Each entry is built by :meth:`Layer.from_config <dlfs.layers.Layer.from_config>`.
        """
        # One generator for all layers: a fresh default_rng(0) per layer would give
        # every Dense layer of the same shape identical initial weights.
        rng = np.random.default_rng(0) if rng is None else rng
        if not isinstance(architecture, list):
            raise ValueError(f"an architecture is a list of layer configs, "
                             f"got {type(architecture).__name__}")
        layers = []
        for i, config in enumerate(architecture):
            try:
                layers.append(Layer.from_config(config, dtype=dtype, rng=rng))
            except ValueError as err:
                raise ValueError(f"layer {i}: {err}") from None
        return cls(layers, input_shape=input_shape)

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of layers (as written in code, :func:`as_written`), output shapes
        (per sample) and parameter counts.

        ``input_shape`` is the shape of one sample, e.g. ``(784,)`` or
        ``(1, 28, 28)``; by default the model's own ``input_shape``.
        """
        rows = [("#", "layer", "output shape", "params")]
        for i, (layer, _, shape) in enumerate(list(self.layer_shapes(input_shape))):
            n = sum(p.size for p in layer.params.values())
            rows.append((str(i), as_written(layer), str(shape), f"{n:,}"))
        rows.append(("", "total", "", f"{self.n_params():,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        line = "  ".join("-" * w for w in widths)
        fmt = lambda r: "  ".join(c.ljust(w) if j < 3 else c.rjust(w)  # noqa: E731
                                  for j, (c, w) in enumerate(zip(r, widths)))
        return "\n".join([fmt(rows[0]), line, *map(fmt, rows[1:-1]), line, fmt(rows[-1])])

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"


def as_written(layer: Layer) -> str:
    """The layer as one would write it in code: required arguments by position, the
    others by keyword only where they differ from their defaults, a square size as one
    number, e.g. ``Conv2D(1, 16, 5)``, ``MaxPool2D(2)``, ``Dense(512, 128, init='he')``.

    The column of :meth:`Sequential.summary` (``repr`` spells out every argument).
    """
    def one_if_square(value):
        if isinstance(value, (list, tuple)):    # sizes are lists in the config (JSON)
            return value[0] if len(set(value)) == 1 else tuple(value)
        return value

    config = {k: one_if_square(v) for k, v in layer.config().items()}
    signature = inspect.signature(type(layer)).parameters
    required = [k for k, p in signature.items() if p.default is p.empty and k in config]
    defaults = {k: p.default for k, p in signature.items() if p.default is not p.empty}
    if not layer.params:
        # defaults that follow from other arguments (a pooling's stride is its size);
        # building such a layer again is cheap, it has no weights
        built = type(layer)(*(config[k] for k in required)).config()
        defaults.update({k: one_if_square(v) for k, v in built.items()})
    missing = object()
    args = [repr(config[k]) for k in required]
    args += [f"{k}={v!r}" for k, v in config.items()
             if k not in required and defaults.get(k, missing) != v]
    return f"{type(layer).__name__}({', '.join(args)})"


implements(Sequential.forward, "eq-net-forward")
implements(Sequential.backward, "eq-bp-recursion")


def mlp(sizes: list[int], *, activation: str = "relu", init: str | None = None,
        dropout: float = 0.0, batchnorm: bool = False, dtype=np.float32,
        rng: np.random.Generator | None = None) -> Sequential:
    """Multilayer perceptron ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    The last layer is a bare Dense layer producing logits (pair it with
    :class:`~dlfs.losses.SoftmaxCrossEntropy` or ``BinaryCrossEntropy(from_logits=True)``).
    Hidden layers are Dense [-> BatchNorm] -> activation [-> Dropout].

    ``init`` is the initialiser of the *hidden* layers' weights; it defaults to
    He for ReLU-type activations and Xavier otherwise.  The output layer is
    always initialised with ``"xavier_uniform"``: no activation follows it, so
    He's factor 2 (which makes up for ReLU zeroing half its inputs' variance)
    does not apply, and Xavier keeps the initial logits at about unit variance.
    ``rng`` (default: a generator seeded with 0) draws every initial weight and
    seeds the Dropout layers, so two calls with equal arguments build equal
    models; inside :func:`dlfs.train.fit` the masks come from ``fit``'s ``seed``.
    """
    from .layers import ACTIVATION_LAYERS, BatchNorm, Dense, Dropout
    from ._checks import check_choice

    check_choice(activation, "activation", set(ACTIVATION_LAYERS) - {"softmax"})
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least input and output sizes, got {sizes}")
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "xavier_uniform"
    rng = np.random.default_rng(0) if rng is None else rng
    layers: list[Layer] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(Dense(n_in, n_out, init=init, dtype=dtype, rng=rng))
        if batchnorm:
            layers.append(BatchNorm(n_out, dtype=dtype))
        layers.append(ACTIVATION_LAYERS[activation]())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    layers.append(Dense(sizes[-2], sizes[-1], init="xavier_uniform", dtype=dtype, rng=rng))
    return Sequential(layers, input_shape=(sizes[0],))
