"""dlfs.optim: each optimiser minimises a convex quadratic; Adam follows its textbook
formulas step by step; weight decay; state; bad hyperparameters."""
import numpy as np
import pytest

from dlfs import SGD, Adam, Dense, Momentum, RMSProp, Sequential, SoftmaxCrossEntropy, fit
from dlfs.optim import make_optimizer

# f(w) = 1/2 (w - c)^T A (w - c) with A symmetric positive definite, eigenvalues 1..10.
_Q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
A = _Q @ np.diag([1.0, 4.0, 10.0]) @ _Q.T
C = np.array([1.0, -2.0, 0.5])


def minimise(optimizer, steps):
    """Run ``steps`` optimiser steps on the quadratic from w = 0; return the final w."""
    w, grad = np.zeros(3), np.zeros(3)
    for _ in range(steps):
        grad[...] = A @ (w - C)                      # in place, like a layer's grads
        optimizer.step([("w", w, grad)])
    return w


@pytest.mark.parametrize("optimizer, steps, tol", [
    (SGD(0.15), 200, 1e-8),                          # lr < 2 / lambda_max = 0.2
    (Momentum(0.05, momentum=0.8), 200, 1e-8),
    (Momentum(0.05, momentum=0.8, nesterov=True), 200, 1e-8),
    # RMSProp divides by sqrt(s) ~ |g| near the minimum, so its steps stay ~lr long and it
    # hovers within ~lr of the minimum (|w0 - c| = 2.3); Adam's momentum damps that out.
    (RMSProp(0.01), 1000, 2e-2),
    (Adam(0.05), 1000, 1e-8),
], ids=["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_optimizer_reaches_the_minimum_of_a_convex_quadratic(optimizer, steps, tol):
    w = minimise(optimizer, steps)
    assert np.linalg.norm(w - C) < tol


def test_sgd_diverges_above_two_over_the_largest_curvature():
    """The other side of the step-size rule the SGD case above relies on."""
    w = minimise(SGD(0.25), 100)
    assert np.linalg.norm(w - C) > 1e3


def test_sgd_step_is_minus_lr_times_gradient():
    w, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    SGD(0.1).step([("w", w, g)])
    np.testing.assert_allclose(w, [0.95, 2.1], rtol=1e-15)


def test_momentum_and_nesterov_first_two_steps_by_hand():
    g = np.array([1.0])
    w = np.array([0.0])
    heavy = Momentum(0.1, momentum=0.5)
    heavy.step([("w", w, g)])                    # v = -0.1,              w = -0.1
    heavy.step([("w", w, g)])                    # v = -0.05 - 0.1,       w = -0.25
    np.testing.assert_allclose(w, [-0.25])
    w = np.array([0.0])
    nesterov = Momentum(0.1, momentum=0.5, nesterov=True)
    nesterov.step([("w", w, g)])                 # v = -0.1, w += 0.5 v - 0.1 = -0.15
    nesterov.step([("w", w, g)])                 # v = -0.15, w += -0.075 - 0.1
    np.testing.assert_allclose(w, [-0.325])


def test_rmsprop_first_step_by_hand():
    w, g = np.array([0.0, 0.0]), np.array([2.0, -0.5])
    RMSProp(0.01, rho=0.9, eps=0.0 + 1e-8).step([("w", w, g)])
    # s = 0.1 g^2, so the step is lr * g / sqrt(0.1 g^2) = lr * sign(g) / sqrt(0.1)
    np.testing.assert_allclose(w, -0.01 * np.sign(g) / np.sqrt(0.1), rtol=1e-6)


# -- Adam against the textbook -------------------------------------------------------

def textbook_adam(w, grads, lr, b1, b2, eps):
    """Kingma & Ba (2015), Algorithm 1, written out literally. Yields w after each step."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        yield w, m, v


@pytest.mark.parametrize("eps", [1e-8, 0.1])          # a large eps tests where eps enters
def test_adam_matches_the_textbook_formulas_step_by_step(eps):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) * 10.0 ** rng.uniform(-3, 1) for _ in range(8)]
    lr, b1, b2 = 0.01, 0.8, 0.95
    opt = Adam(lr, beta1=b1, beta2=b2, eps=eps)
    w = w0.copy()
    for t, (g, (w_ref, m_ref, v_ref)) in enumerate(
            zip(grads, textbook_adam(w0, grads, lr, b1, b2, eps)), start=1):
        opt.step([("w", w, g.copy())])
        assert opt.t == t
        np.testing.assert_allclose(opt.state["w"]["m"], m_ref, rtol=1e-13)
        np.testing.assert_allclose(opt.state["w"]["v"], v_ref, rtol=1e-13)
        np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-15)


def test_adam_first_step_has_size_lr_in_every_coordinate():
    """Bias correction makes m_hat / sqrt(v_hat) = g / |g| on the first step."""
    w, g = np.zeros(4), np.array([1e-4, -3.0, 50.0, -0.2])
    Adam(0.01).step([("w", w, g)])
    np.testing.assert_allclose(w, -0.01 * np.sign(g), rtol=1e-3)


def test_adam_step_counter_keeps_counting_across_epochs_of_fit(blobs):
    X, y = blobs
    model = Sequential([Dense(2, 3, rng=np.random.default_rng(0))])
    opt = Adam(0.01)
    fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=2, batch_size=32)
    batches_per_epoch = -(-len(X) // 32)             # ceil: 150 samples -> 5 batches
    assert opt.t == 2 * batches_per_epoch == 10
    fit(model, SoftmaxCrossEntropy(), opt, X, y, epochs=1, batch_size=32)
    assert opt.t == 15                               # a second fit call continues too


def test_state_is_kept_per_parameter_name():
    opt = Momentum(0.1)
    a, b = np.zeros(2), np.zeros(3)
    opt.step([("a", a, np.ones(2)), ("b", b, np.ones(3))])
    assert set(opt.state) == {"a", "b"}
    assert opt.state["a"]["velocity"].shape == (2,)
    assert opt.state["b"]["velocity"].shape == (3,)


# -- weight decay --------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda wd: SGD(0.1, weight_decay=wd),
                                  lambda wd: Momentum(0.1, weight_decay=wd),
                                  lambda wd: Adam(0.1, weight_decay=wd)],
                         ids=["sgd", "momentum", "adam"])
def test_weight_decay_shrinks_matrices_but_not_biases(make):
    W, b = np.full((2, 2), 3.0), np.full(2, 3.0)
    gW, gb = np.zeros((2, 2)), np.zeros(2)
    make(0.5).step([("W", W, gW), ("b", b, gb)])
    assert np.all(W < 3.0)                      # pulled towards 0 by the L2 penalty alone
    np.testing.assert_array_equal(b, 3.0)       # biases have no penalty
    assert not np.any(gW)                       # the gradient arrays are left untouched


def test_sgd_weight_decay_adds_lambda_w_to_the_gradient():
    W, g = np.array([[2.0, -4.0]]), np.array([[1.0, 1.0]])
    SGD(0.1, weight_decay=0.5).step([("W", W, g)])
    np.testing.assert_allclose(W, [[2.0 - 0.1 * (1 + 1.0), -4.0 - 0.1 * (1 - 2.0)]])


def test_float32_parameters_stay_float32():
    for opt in (SGD(0.1), Momentum(0.1, nesterov=True), RMSProp(0.1), Adam(0.1)):
        w, g = np.ones(3, np.float32), np.full(3, 0.5, np.float32)
        opt.step([("w", w, g)])
        assert w.dtype == np.float32
        assert all(s.dtype == np.float32 for s in opt.state.get("w", {}).values())


# -- construction --------------------------------------------------------------------

def test_make_optimizer_builds_each_kind():
    assert type(make_optimizer("sgd", 0.1)) is SGD
    assert type(make_optimizer("adam", 0.1)) is Adam
    assert type(make_optimizer("rmsprop", 0.1)) is RMSProp
    assert not make_optimizer("momentum", 0.1).nesterov
    assert make_optimizer("nesterov", 0.1).nesterov
    opt = make_optimizer("adam", 0.02, weight_decay=1e-4)
    assert (opt.lr, opt.weight_decay) == (0.02, 1e-4)


def test_make_optimizer_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adagrad'; choose one of: adam, adamw, "
                                         r"momentum, nesterov, rmsprop, sgd"):
        make_optimizer("adagrad", 0.1)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam])
def test_non_positive_learning_rate_is_refused(cls, lr):
    with pytest.raises(ValueError, match=r"lr must be > 0"):
        cls(lr)


@pytest.mark.parametrize("make, error, message", [
    (lambda: SGD("0.1"), TypeError, r"lr must be a number, got '0.1'"),
    (lambda: SGD(0.1, weight_decay=-1), ValueError, r"weight_decay must be >= 0, got -1"),
    (lambda: Momentum(0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    (lambda: RMSProp(0.1, rho=1.2), ValueError, r"rho must be in \[0, 1\), got 1.2"),
    (lambda: RMSProp(0.1, eps=0), ValueError, r"eps must be > 0, got 0"),
    (lambda: Adam(0.1, beta1=1.0), ValueError, r"beta1 must be in \[0, 1\), got 1.0"),
    (lambda: Adam(0.1, beta2=-0.1), ValueError, r"beta2 must be in \[0, 1\), got -0.1"),
    (lambda: make_optimizer("sgd", 0.0), ValueError, r"lr must be > 0, got 0.0"),
])
def test_bad_hyperparameters_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


# -- B4: optimiser state is bound to the arrays it was made for -------------------------------

def _one_step(model, opt, seed=0):
    X = np.random.default_rng(seed).standard_normal((8, 4)).astype(np.float32)
    y = np.arange(8) % 3
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    opt.step(model.parameters())


def test_a_fresh_model_gets_fresh_optimizer_state():
    from dlfs import mlp

    used = Adam(0.01)
    old = mlp([4, 5, 3], rng=np.random.default_rng(0))
    for _ in range(12):
        _one_step(old, used)
    assert used.t == 12
    fresh_a, fresh_b = (mlp([4, 5, 3], rng=np.random.default_rng(1)) for _ in range(2))
    new_opt = Adam(0.01)
    for _ in range(4):
        _one_step(fresh_a, used)                   # the reused optimiser...
        _one_step(fresh_b, new_opt)                # ...behaves as a new one
    assert used.t == new_opt.t == 4
    for (_, a, _), (_, b, _) in zip(fresh_a.parameters(), fresh_b.parameters()):
        np.testing.assert_array_equal(a, b)


def test_the_same_model_keeps_its_state_across_calls_and_reset_forgets_it():
    from dlfs import mlp

    model, opt = mlp([4, 5, 3]), Momentum(0.1)
    _one_step(model, opt)
    velocity = opt.state["0.W"]["velocity"].copy()
    _one_step(model, opt)
    assert opt.t == 2 and not np.array_equal(opt.state["0.W"]["velocity"], velocity)
    opt.reset()
    assert opt.t == 0 and opt.state == {}


# -- B5 and the decay questionables -----------------------------------------------------------

def test_make_optimizer_adamw_keeps_its_default_decay_unless_given():
    from dlfs.optim import AdamW, make_optimizer

    assert make_optimizer("adamw", 1e-3).weight_decay == AdamW().weight_decay == 0.01
    assert make_optimizer("adamw", 1e-3, weight_decay=0.1).weight_decay == 0.1
    assert make_optimizer("adam", 1e-3).weight_decay == 0.0
    assert make_optimizer("nesterov", 1e-3, weight_decay=0.5).nesterov


@pytest.mark.parametrize("make", [lambda: SGD(0.1, weight_decay=10),
                                  lambda: Adam(1e-3, weight_decay=1e30),
                                  lambda: __import__("dlfs").optim.AdamW(1, weight_decay=1000)])
def test_a_decay_that_would_zero_or_flip_every_weight_is_refused(make):
    with pytest.raises(ValueError, match=r"lr \* weight_decay must be < 1, got .* each step "
                                         r"would shrink the weights by 100 % or more"):
        make()


def test_the_decay_rule_is_checked_again_when_a_schedule_raises_the_rate():
    opt = SGD(0.1, weight_decay=5)
    w, g = np.ones((2, 2)), np.ones((2, 2))
    opt.step([("w", w, g)])
    opt.lr = 0.5
    with pytest.raises(ValueError, match=r"lr \* weight_decay must be < 1, got 0.5 \* 5"):
        opt.step([("w", w, g)])
