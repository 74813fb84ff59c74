r"""Optimisers: turn gradients into parameter updates, in place.

Usage, once per mini-batch::

    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    optimizer.step(model.parameters())

``step`` takes ``(name, param, grad)`` triples; per-parameter state (velocity,
moment estimates) is kept under the parameter's name, so it follows the
parameter across epochs.  The state is bound to the arrays it was made for:
given another model's parameters (a freshly built model under the same names),
the optimiser starts afresh, as a new optimiser would, instead of carrying
old moments and step counts into the new model.  ``weight_decay`` adds the L2
penalty gradient :math:`\lambda w` to every *weight matrix* (arrays with
``ndim >= 2``); biases and BatchNorm's scale and shift are left alone, as usual.

:meth:`Optimizer.state_dict` and :meth:`Optimizer.load_state_dict` export and
import that state as plain arrays and numbers, for a training checkpoint
(:func:`dlfs.io.save_checkpoint`).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._checks import check_choice, check_positive
from ._docs import implements

ParamTriples = Iterable[tuple[str, np.ndarray, np.ndarray]]


class Optimizer:
    """Base class: learning rate, L2 weight decay and per-parameter state."""

    #: Names of the per-parameter state arrays a subclass keeps (and a
    #: checkpoint stores); ``"scratch"`` is working memory, not state.
    SLOTS: tuple[str, ...] = ()
    #: Constructor arguments besides ``lr`` and ``weight_decay``.
    HYPERPARAMETERS: tuple[str, ...] = ()

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        self.lr = float(check_positive(lr, "lr"))
        self.weight_decay = float(check_positive(weight_decay, "weight_decay", allow_zero=True))
        _check_decay(self.lr, self.weight_decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0                                  # steps taken (Adam's bias correction)
        self._bound: dict[str, np.ndarray] = {}     # name -> the array its state is for

    def step(self, params: ParamTriples) -> None:
        """Update every parameter in place from its gradient.

        With ``weight_decay`` λ, weight matrices get the L2 gradient λw
        added first.
        """
        for name, param, grad in self._begin_step(params):
            if self.weight_decay and param.ndim >= 2:
                # a new array: the layer's gradient stays as it is
                grad = grad + self.weight_decay * param
            self.update(name, param, grad)

    def update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        """Change ``param`` in place, one step against ``grad``.

        Parameters
        ----------
        name : str
            Key of the parameter's state (``"0.W"``).
        param, grad : ndarray of the same shape (any) and dtype
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every parameter's state and the step count, as a new optimiser."""
        self.state.clear()
        self._bound.clear()
        self.t = 0

    def _begin_step(self, params: ParamTriples) -> list:
        """The triples of this step; starts afresh if they are another model's arrays."""
        params = list(params)
        if any(self._bound.get(name, param) is not param for name, param, _ in params):
            self.reset()                            # a new model under the same names
        for name, param, _ in params:
            self._bound[name] = param
        _check_decay(self.lr, self.weight_decay)    # the lr may have changed (schedules)
        self.t += 1
        return params

    def _slots(self, name: str, param: np.ndarray, *slots: str) -> list[np.ndarray]:
        """Per-parameter state arrays, created as zeros on first use.

        ``"scratch"`` is working memory for one update (reused every step, so
        updates allocate no temporaries), not state.
        """
        entry = self.state.get(name)
        if entry is None or len(entry) < len(slots):   # new, or loaded (no scratch)
            entry = self.state.setdefault(name, {})
            for s in slots:
                if s not in entry:
                    entry[s] = np.zeros_like(param)
        return [entry[s] for s in slots]

    def config(self) -> dict:
        """The hyperparameters other than ``lr``, as JSON-ready numbers."""
        names = ("weight_decay", *self.HYPERPARAMETERS)
        return {name: getattr(self, name) for name in names}

    def state_dict(self) -> dict:
        """Everything the next steps depend on, as plain data (copies).

        ``{"type": class name, "lr": float, "t": steps taken, "config":
        config(), "slots": {parameter name: {slot: array}}}``: the state a
        checkpoint must store to resume training exactly.
        """
        slots = {name: {s: entry[s].copy() for s in self.SLOTS}
                 for name, entry in self.state.items() if self.SLOTS}
        return {"type": type(self).__name__, "lr": self.lr, "t": self.t,
                "config": self.config(), "slots": slots}

    def load_state_dict(self, state: dict, params) -> None:
        """Continue from ``state`` (see :meth:`state_dict`) for ``params``.

        ``params`` are the ``(name, param, grad)`` triples (or ``(name,
        param)`` pairs) of the model the state was saved with, typically
        ``model.parameters()`` after loading its parameters: the state is
        bound to these arrays.  The learning rate and the step count are
        taken from ``state``; every other hyperparameter must already agree.

        Raises
        ------
        ValueError
            Naming the first difference (another optimiser, another
            hyperparameter, a missing, unexpected, misshapen or non-finite
            state array); the optimiser is then left untouched.
        """
        arrays = {entry[0]: entry[1] for entry in params}
        slots = self._check_state(state, arrays)
        self.reset()
        self.lr, self.t = float(state["lr"]), int(state["t"])
        for name, entry in slots.items():
            self.state[name] = {s: np.array(a, dtype=arrays[name].dtype)
                                for s, a in entry.items()}
        self._bound.update(arrays)

    def _check_state(self, state: dict, arrays: dict) -> dict:
        """The ``slots`` of ``state`` after checking them against ``arrays``."""
        kind = type(self).__name__
        if not isinstance(state, dict) or state.get("type") != kind:
            got = state.get("type") if isinstance(state, dict) else state
            raise ValueError(f"the state is for the optimiser {got!r}, "
                             f"not {kind}")
        if state.get("config") != self.config():
            theirs, ours = state.get("config") or {}, self.config()
            diff = sorted(k for k in set(theirs) | set(ours)
                          if theirs.get(k) != ours.get(k))
            raise ValueError(
                f"{kind} is configured differently: " + ", ".join(
                    f"{k}={theirs.get(k)!r} in the state, {ours.get(k)!r} "
                    "here" for k in diff))
        lr, t = state.get("lr"), state.get("t")
        if (not isinstance(lr, (int, float)) or isinstance(lr, bool)
                or not np.isfinite(lr) or lr <= 0):
            raise ValueError(f"the state's lr must be a positive number, "
                             f"got {lr!r}")
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            raise ValueError(f"the state's step count t must be an integer "
                             f">= 0, got {t!r}")
        slots = state.get("slots")
        if not isinstance(slots, dict):
            raise ValueError("the state has no 'slots' dictionary")
        expected = set(arrays) if t > 0 and self.SLOTS else set()
        if set(slots) != expected:
            missing = sorted(expected - set(slots))
            extra = sorted(set(slots) - expected)
            raise ValueError(f"{kind} state after {t} steps does not match "
                             f"the parameters: missing {missing}, "
                             f"unexpected {extra}")
        for name, entry in slots.items():
            param = arrays[name]
            if not isinstance(entry, dict) or set(entry) != set(self.SLOTS):
                got = sorted(entry) if isinstance(entry, dict) else entry
                raise ValueError(f"state of {name!r} must hold "
                                 f"{list(self.SLOTS)}, got {got}")
            for s, a in entry.items():
                if not isinstance(a, np.ndarray) or a.shape != param.shape:
                    raise ValueError(
                        f"state {s!r} of {name!r} has shape "
                        f"{getattr(a, 'shape', type(a).__name__)}, the "
                        f"parameter {param.shape}")
                if a.dtype != param.dtype:
                    raise ValueError(f"state {s!r} of {name!r} is {a.dtype},"
                                     f" the parameter {param.dtype}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"state {s!r} of {name!r} contains NaN "
                                     "or infinity")
        return slots

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr:g})"


class SGD(Optimizer):
    r"""Plain gradient descent: :math:`w \leftarrow w - \eta\, g`.

    Implements :eq:`eq-gd`.
    """

    def update(self, name, param, grad):
        """One step for ``param`` from ``grad`` (same shape, any), in place."""
        (scratch,) = self._slots(name, param, "scratch")
        np.multiply(grad, self.lr, out=scratch)   # in place: no new array
        param -= scratch


class Momentum(Optimizer):
    r"""Heavy-ball momentum, optionally Nesterov's variant.

    :math:`v \leftarrow \mu v - \eta g`, then :math:`w \leftarrow w + v`
    (classic) or :math:`w \leftarrow w + \mu v - \eta g` (Nesterov, in the
    form of Bengio et al. (2013), which only needs the gradient at :math:`w`).

    Implements :eq:`eq-opt-momentum` and :eq:`eq-opt-nesterov`.
    """

    SLOTS = ("velocity",)
    HYPERPARAMETERS = ("momentum", "nesterov")

    def __init__(self, lr: float, momentum: float = 0.9, *, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def update(self, name, param, grad):
        """One step for ``param`` from ``grad`` (same shape, any), in place."""
        v, scratch = self._slots(name, param, "velocity", "scratch")
        np.multiply(grad, self.lr, out=scratch)     # scratch = lr g
        v *= self.momentum
        v -= scratch
        if self.nesterov:                           # w += mu v - lr g
            param -= scratch
            np.multiply(v, self.momentum, out=scratch)
            param += scratch
        else:
            param += v


class RMSProp(Optimizer):
    r""":math:`s \leftarrow \rho s + (1-\rho) g^2`, :math:`w \leftarrow w - \eta\, g / (\sqrt{s} + \epsilon)`.

    Implements :eq:`eq-opt-rmsprop`.
    """

    SLOTS = ("sq_avg",)
    HYPERPARAMETERS = ("rho", "eps")

    def __init__(self, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-8, *,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        if not 0 <= rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {rho!r}")
        self.rho, self.eps = float(rho), float(check_positive(eps, "eps"))

    def update(self, name, param, grad):
        """One step for ``param`` from ``grad`` (same shape, any), in place."""
        s, scratch = self._slots(name, param, "sq_avg", "scratch")
        s *= self.rho
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.rho
        s += scratch
        np.sqrt(s, out=scratch)           # scratch = lr g / (sqrt(s) + eps)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)
        scratch *= self.lr
        param -= scratch


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) with bias correction.

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \\
        w &\leftarrow w - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    ``t`` counts calls to ``step`` over the optimiser's whole life (not per
    epoch), so the bias correction fades out once and for all; it starts
    again at 0 for another model's parameters.

    Implements :eq:`eq-opt-adam`, in the folded form :eq:`eq-opt-adam-folded`.
    """

    SLOTS = ("m", "v")
    HYPERPARAMETERS = ("beta1", "beta2", "eps")

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = float(check_positive(eps, "eps"))

    def update(self, name, param, grad):
        """One step for ``param`` from ``grad`` (same shape, any), in place."""
        # Every operation writes into an existing array (out=, *=, +=): a step
        # allocates nothing, and each pass over the parameter is a plain loop.
        m, v, scratch = self._slots(name, param, "m", "v", "scratch")
        b1, b2 = self.beta1, self.beta2
        m *= b1                                     # m = b1 m + (1 - b1) g
        np.multiply(grad, 1 - b1, out=scratch)
        m += scratch
        v *= b2                                     # v = b2 v + (1 - b2) g^2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - b2
        v += scratch
        # Fold both bias corrections into the step size and epsilon.
        step_size = float(self.lr * np.sqrt(1 - b2 ** self.t)
                          / (1 - b1 ** self.t))
        eps_hat = float(self.eps * np.sqrt(1 - b2 ** self.t))
        np.sqrt(v, out=scratch)     # w -= step m / (sqrt(v) + eps_hat)
        scratch += eps_hat
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        param -= scratch


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Momentum,
              "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name: str, lr: float, *, weight_decay: float | None = None) -> Optimizer:
    """Build an optimiser from its option name (``"sgd"``, ``"adam"``, ``"adamw"``...).

    ``weight_decay`` None keeps the optimiser's own default: 0 (no decay) for
    all but ``"adamw"``, whose decoupled decay defaults to 0.01.
    """
    check_choice(name, "optimizer", OPTIMIZERS)
    decay = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "nesterov":
        return Momentum(lr, nesterov=True, **decay)
    return OPTIMIZERS[name](lr, **decay)


def _check_decay(lr: float, weight_decay: float) -> None:
    # With lr * weight_decay >= 1 a step shrinks a weight by 100 % or more: every weight is
    # zeroed or flips sign each step (decoupled decay), or the L2 gradient swamps the loss's.
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be < 1, got {lr:g} * {weight_decay:g} = "
                         f"{lr * weight_decay:g}: each step would shrink the weights by "
                         "100 % or more")


class AdamW(Adam):
    r"""Adam with *decoupled* weight decay (Loshchilov & Hutter, 2019).

    The decay shrinks the weights directly instead of entering the gradient,
    so Adam's per-coordinate scaling never touches it:

    .. math::
        w \leftarrow (1 - \eta\lambda)\, w
        - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon} .

    As in :class:`Optimizer`, only weight matrices (``ndim >= 2``) decay.
    With ``weight_decay=0`` this is exactly :class:`Adam`.

    Implements :eq:`eq-reg-adamw`.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta`.
    beta1, beta2 : float in [0, 1)
        Decay rates of the first and second moment estimates.
    eps : float
        Added to :math:`\sqrt{\hat v}` for numerical safety.
    weight_decay : float
        Decay rate :math:`\lambda` per unit learning rate (PyTorch's convention).
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, weight_decay: float = 0.01) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay)

    def step(self, params: ParamTriples) -> None:
        for name, param, grad in self._begin_step(params):
            if self.weight_decay and param.ndim >= 2:
                param *= param.dtype.type(1.0 - self.lr * self.weight_decay)
            self.update(name, param, grad)

    def __repr__(self):
        return f"AdamW(lr={self.lr:g}, weight_decay={self.weight_decay:g})"


OPTIMIZERS["adamw"] = AdamW


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi, Hazan & Singer, 2011): RMSProp's ancestor.

    The squared gradients are *summed*, not averaged, so every coordinate's
    step :math:`\eta / \sqrt{s}` can only shrink:

    .. math::
        s \leftarrow s + g^2, \qquad
        w \leftarrow w - \eta\, \frac{g}{\sqrt{s} + \epsilon} .

    Implements :eq:`eq-opt-adagrad`.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta` (PyTorch's default, 0.01).
    eps : float
        Added to :math:`\sqrt{s}` against division by zero (PyTorch's default).
    weight_decay : float
        L2 penalty :math:`\lambda`, added to the gradient of weight matrices.
    """

    SLOTS = ("sum_sq",)
    HYPERPARAMETERS = ("eps",)

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, *,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        self.eps = float(check_positive(eps, "eps"))

    def update(self, name, param, grad):
        """One step for ``param`` from ``grad`` (same shape, any), in place."""
        s, scratch = self._slots(name, param, "sum_sq", "scratch")
        np.multiply(grad, grad, out=scratch)        # s += g^2
        s += scratch
        np.sqrt(s, out=scratch)           # scratch = lr g / (sqrt(s) + eps)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)
        scratch *= self.lr
        param -= scratch



def clip_grad_norm(params: ParamTriples, max_norm: float) -> float:
    """Rescale all gradients together so that their joint norm is at most c.

    With ‖g‖ the Euclidean norm of all gradients stacked into one vector,
    every gradient is multiplied by min(1, c / ‖g‖): the direction of the
    step is kept, only its length is capped.  Call it between
    ``model.backward`` and ``optimizer.step``.

    Parameters
    ----------
    params : iterable of ``(name, param, grad)``
        As yielded by ``model.parameters()``; the ``grad`` arrays (any
        shapes) are scaled in place.
    max_norm : float
        The cap c > 0.

    Returns
    -------
    float
        The norm ‖g‖ before clipping (useful to log).
    """
    max_norm = float(check_positive(max_norm, "max_norm"))
    grads = [grad for _, _, grad in params]
    total = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if not np.isfinite(total):
        raise FloatingPointError(f"gradient norm is {total}: cannot clip a "
                                 "non-finite gradient")
    if total > max_norm:
        scale = max_norm / total
        for g in grads:
            g *= g.dtype.type(scale)
    return total


implements(Optimizer.step, "eq-reg-l2")
implements(clip_grad_norm, "eq-opt-clip")
