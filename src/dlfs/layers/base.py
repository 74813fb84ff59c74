"""The one protocol every layer follows.

A layer is a function ``y = f(x; params)`` that can also run backwards:

* ``forward(x, training=True)`` checks ``x`` (a NumPy array of the rank in
  ``input_ndim``, of the layer's dtype if it has parameters, finite, of a
  shape the layer accepts) and calls the subclass's ``_forward(x, training)``,
  which computes the output and keeps whatever ``_backward`` will need.
* ``backward(grad_out, input_grad=True)`` checks ``dL/dy`` (called after
  ``forward``, with the output's shape and dtype, finite) and calls the
  subclass's ``_backward(grad_out, input_grad)``, which fills ``self.grads``
  with ``dL/dparam`` for every entry of ``self.params`` and returns ``dL/dx``
  for the layer below, or None when ``input_grad`` is False (the first layer
  of a model: nobody needs its input gradient).

So a subclass's ``_forward`` and ``_backward`` are the mathematics alone; the
checks are written once, here.

``params`` and ``grads`` are dicts with the same keys (``"W"``, ``"b"``,
``"gamma"``...).  Optimisers update ``params`` in place, so the arrays keep
their identity for the whole life of the layer.  ``buffers`` hold state that
is saved with the model but not trained (BatchNorm's running statistics).

Every subclass is registered by its class name in :data:`dlfs.layers.LAYERS`
(pass ``register=False`` in the class statement to opt out), so that a saved
description ``{"type": "Dense", "n_in": 784, ...}`` rebuilds the layer with
:meth:`dlfs.layers.Layer.from_config`.

Image layout: batches of images are NCHW, ``(n_samples, channels, height,
width)``, as in PyTorch; a convolution kernel is ``(C_out, C_in, kh, kw)``.
"""
from __future__ import annotations

import inspect

import numpy as np

from .._checks import check_array

#: Layer type name -> class, filled by subclassing :class:`Layer`.
LAYERS: dict[str, type[Layer]] = {}


class Layer:
    """Base class: holds ``params``, ``grads`` and ``buffers``; checks inputs and gradients.

    Class attributes a subclass may set
    -----------------------------------
    input_ndim : int, tuple of int or range
        Allowed ranks of the input batch, counting the sample axis: 2 for
        ``(n_samples, n_features)``, 4 for NCHW images, ``range(1, 33)`` for any.
    dtype : numpy dtype or None
        Layers with parameters set ``self.dtype``; their input must have it.
    """

    input_ndim: int | tuple[int, ...] | range = 2
    dtype: np.dtype | None = None

    def __init_subclass__(cls, register: bool = True, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not register:
            return
        old = LAYERS.get(cls.__name__)
        # Redefining the same class (a re-run notebook cell) replaces it; another class of
        # the same name would silently change what saved models load as.
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__,
                                                                     cls.__qualname__):
            raise TypeError(f"a layer type named {cls.__name__!r} is already registered "
                            f"({old.__module__}.{old.__qualname__}); rename the class or "
                            f"pass register=False")
        LAYERS[cls.__name__] = cls

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._out_shape: tuple[int, ...] | None = None
        self._out_dtype: np.dtype | None = None

    # -- the protocol ----------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Check ``x`` and return the layer's output.

        Parameters
        ----------
        x : ndarray of shape (n_samples, ...)
            A batch; the rank, dtype and per-sample shape the layer accepts.
        training : bool
            Training mode (dropout active, batch statistics) or inference.

        Returns
        -------
        ndarray of shape ``(n_samples, *output_shape(x.shape[1:]))``
        """
        name = type(self).__name__
        check_array(x, f"{name} input", ndim=self.input_ndim)
        if self.dtype is not None and x.dtype != self.dtype:
            raise TypeError(f"{name} has dtype {self.dtype} but its input has dtype {x.dtype}; "
                            f"convert with x.astype(np.{self.dtype})")
        self._validate(x, training)
        out = self._forward(x, training)
        self._out_shape, self._out_dtype = out.shape, out.dtype
        return out

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Check ``grad_out``, fill ``self.grads`` and return ``dL/dx``.

        Parameters
        ----------
        grad_out : ndarray, the shape and dtype of the last forward output
            :math:`\\partial L/\\partial y`.
        input_grad : bool
            Whether to compute :math:`\\partial L/\\partial x`.  False skips the
            work (returns None): the first layer's input gradient is unused.

        Returns
        -------
        ndarray with the shape of the last forward input, or None
        """
        name = type(self).__name__
        if self._out_shape is None:
            raise RuntimeError(f"{name}.backward called before forward")
        check_array(grad_out, f"{name} grad_out")
        if grad_out.shape != self._out_shape:
            raise ValueError(f"{name} grad_out must have the forward output's shape "
                             f"{self._out_shape}, got {grad_out.shape}")
        if grad_out.dtype != self._out_dtype:
            # A float64 gradient would silently upcast everything below this layer.
            raise TypeError(f"{name} grad_out must have the output's dtype {self._out_dtype}, "
                            f"got {grad_out.dtype}")
        if not input_grad and not self.params:
            return None                         # nothing to compute
        dx = self._backward(grad_out, input_grad)
        return dx if input_grad else None

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)

    # -- what a subclass implements --------------------------------------------
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """The computation of ``forward`` on a checked input."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _forward")

    def _backward(self, grad_out: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """The computation of ``backward`` on a checked gradient."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _backward")

    def _validate(self, x: np.ndarray, training: bool) -> None:
        """Layer-specific input checks; by default the per-sample shape (see output_shape)."""
        self.output_shape(x.shape[1:])

    # -- description, used by Sequential.summary and by saved parameter files --
    def config(self) -> dict:
        """Constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input shape.

        Raises ValueError when the layer cannot take inputs of that shape.
        """
        return tuple(input_shape)

    @classmethod
    def param_shapes(cls, config: dict) -> dict[str, tuple[int, ...]] | None:
        """Shapes of the params and buffers a layer built from ``config`` holds.

        Computed from the configuration alone, without building the layer, so
        that :func:`dlfs.io.load_model` can compare an untrusted file's arrays
        with its declared architecture before allocating anything.  ``{}``
        for a layer without arrays; None (the default) when a layer class
        does not say, and loading then builds it first and compares after.
        Raises ValueError for a configuration no layer could be built from.
        """
        return None

    @classmethod
    def from_config(cls, config: dict, *, dtype=np.float32,
                    rng: np.random.Generator | None = None) -> Layer:
        """Build a fresh layer from ``{"type": name, **constructor arguments}``.

        ``dtype`` and ``rng`` are passed to the constructors that take them
        (layers with parameters, random layers).
        """
        if not isinstance(config, dict):
            raise ValueError(f"a layer config must be a dict, got {type(config).__name__}")
        args = dict(config)
        kind = args.pop("type", None)
        if kind not in LAYERS:
            raise ValueError(f"unknown layer type {kind!r}; known: {', '.join(sorted(LAYERS))}")
        layer_cls = LAYERS[kind]
        accepted = inspect.signature(layer_cls.__init__).parameters
        for key, value in (("dtype", dtype), ("rng", rng)):
            if key in accepted and key not in args:
                args[key] = value
        try:
            return layer_cls(**args)
        except TypeError as err:
            raise ValueError(f"bad arguments for {kind} {config}: {err}") from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def config_size(config: dict, key: str) -> int:
    """``config[key]``, checked to be a positive integer (for :meth:`Layer.param_shapes`)."""
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        text = repr(value)
        raise ValueError(f"{key} must be a positive integer, got "
                         f"{text if len(text) <= 60 else text[:60] + '...'}")
    return int(value)
