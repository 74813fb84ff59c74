"""Dense, BatchNorm, the losses and the optimisers against PyTorch, in float64.

Hand values and gradient checks cannot find a difference of *convention* (BatchNorm's
momentum and running variance, where epsilon goes in RMSProp and Adam, what AdamW
decays); a reference framework can.  Skipped with the reason when torch is missing,
except in CI (``CI=1``), where a missing torch fails.
"""
import os

import numpy as np
import pytest

from dlfs import (MSE, SGD, Adam, BatchNorm, BinaryCrossEntropy, Dense, Momentum, RMSProp,
                  SoftmaxCrossEntropy)
from dlfs.optim import AdamW

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(scope="module")
def torch():
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        import torch
    else:
        torch = pytest.importorskip("torch", reason="the PyTorch comparisons need torch")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)      # nn.Linear, nn.BatchNorm parameters
    yield torch
    torch.set_default_dtype(default)            # other test modules use torch too


def close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


# -- layers ---------------------------------------------------------------------------------

def test_dense_matches_linear_forward_and_backward(torch):
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, dtype=np.float64, rng=rng)
    x, g = rng.standard_normal((7, 5)), rng.standard_normal((7, 3))
    out = layer.forward(x)
    dx = layer.backward(g)
    linear = torch.nn.Linear(5, 3)
    with torch.no_grad():                    # PyTorch stores W as (out, in): Z = X W^T + b
        linear.weight.copy_(torch.tensor(layer.params["W"].T))
        linear.bias.copy_(torch.tensor(layer.params["b"]))
    xt = torch.tensor(x, requires_grad=True)
    ot = linear(xt)
    ot.backward(torch.tensor(g))
    close(out, ot)
    close(dx, xt.grad)
    close(layer.grads["W"], linear.weight.grad.T)
    close(layer.grads["b"], linear.bias.grad)


@pytest.mark.parametrize("shape", [(8, 4), (6, 4, 3, 5)])
def test_batchnorm_training_matches_and_running_stats_follow_the_documented_conventions(
        torch, shape):
    rng = np.random.default_rng(1)
    layer = BatchNorm(4, momentum=0.9, dtype=np.float64)
    layer.params["gamma"][...] = rng.uniform(0.5, 2, 4)
    layer.params["beta"][...] = rng.standard_normal(4)
    # dlfs momentum 0.9 weights the old statistic; PyTorch's 0.1 weights the new batch.
    bn = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(
        4, momentum=0.1, eps=layer.eps)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(layer.params["gamma"]))
        bn.bias.copy_(torch.tensor(layer.params["beta"]))
    m = int(np.prod(shape)) // 4                        # values per channel
    for step in range(3):
        x, g = 3 + 2 * rng.standard_normal(shape), rng.standard_normal(shape)
        out = layer.forward(x, training=True)
        dx = layer.backward(g)
        bn.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        ot = bn.train()(xt)
        ot.backward(torch.tensor(g))
        close(out, ot)
        close(dx, xt.grad)
        close(layer.grads["gamma"], bn.weight.grad)
        close(layer.grads["beta"], bn.bias.grad)
        close(layer.buffers["running_mean"], bn.running_mean)
    # Running variance: dlfs averages the biased batch variance, PyTorch the unbiased one.
    # From the same start (1) after the same batches, the two differ as follows.
    ours, theirs = layer.buffers["running_var"], bn.running_var.detach().numpy()
    np.testing.assert_allclose(theirs - 0.9 ** 3, (ours - 0.9 ** 3) * m / (m - 1), rtol=1e-10)
    # Prediction with the same running statistics is the same function.
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor(ours))
    x = rng.standard_normal(shape)
    close(layer.forward(x, training=False), bn.eval()(torch.tensor(x)))


# -- losses ---------------------------------------------------------------------------------

def _loss_and_grad(loss, pred, target):
    value = loss.forward(pred, target)
    return value, loss.backward()


def _torch_loss_and_grad(torch, fn, pred, target):
    pt = torch.tensor(pred, requires_grad=True)
    value = fn(pt, target)
    value.backward()
    return value, pt.grad


def test_mse_matches(torch):
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    value, grad = _loss_and_grad(MSE(), pred, target)
    tv, tg = _torch_loss_and_grad(torch, torch.nn.functional.mse_loss, pred,
                                  torch.tensor(target))
    close(value, tv)
    close(grad, tg)


@pytest.mark.parametrize("scale", [1.0, 40.0])              # 40: far into the saturated tails
def test_binary_cross_entropy_on_logits_and_probabilities_matches(torch, scale):
    rng = np.random.default_rng(3)
    logits = scale * rng.standard_normal((9, 1))
    target = rng.uniform(0, 1, (9, 1))                       # soft targets too
    value, grad = _loss_and_grad(BinaryCrossEntropy(from_logits=True), logits, target)
    tv, tg = _torch_loss_and_grad(torch, torch.nn.functional.binary_cross_entropy_with_logits,
                                  logits, torch.tensor(target))
    close(value, tv)
    close(grad, tg)
    if scale == 1.0:
        p = 1 / (1 + np.exp(-logits))
        value, grad = _loss_and_grad(BinaryCrossEntropy(), p, target)
        tv, tg = _torch_loss_and_grad(torch, torch.nn.functional.binary_cross_entropy, p,
                                      torch.tensor(target))
        close(value, tv)
        close(grad, tg)


@pytest.mark.parametrize("soft", [False, True])
def test_softmax_cross_entropy_matches_with_labels_and_with_probabilities(torch, soft):
    rng = np.random.default_rng(4)
    logits = 5 * rng.standard_normal((8, 4))
    labels = rng.integers(0, 4, 8)
    target = rng.dirichlet(np.ones(4), 8) if soft else labels
    value, grad = _loss_and_grad(SoftmaxCrossEntropy(), logits, target)
    tv, tg = _torch_loss_and_grad(torch, torch.nn.functional.cross_entropy, logits,
                                  torch.tensor(target))
    close(value, tv)
    close(grad, tg)


# -- optimisers: ten steps on the same gradients -------------------------------------------

OPTIMIZERS = {
    "sgd": (lambda: SGD(0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    "sgd+l2": (lambda: SGD(0.1, weight_decay=0.05),
               lambda t, p: t.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "momentum": (lambda: Momentum(0.1, 0.9), lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9)),
    "nesterov": (lambda: Momentum(0.1, 0.9, nesterov=True),
                 lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "rmsprop": (lambda: RMSProp(0.01, rho=0.9, eps=1e-8),
                lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    "adam": (lambda: Adam(0.01), lambda t, p: t.optim.Adam(p, lr=0.01)),
    "adam+l2": (lambda: Adam(0.01, weight_decay=0.1),
                lambda t, p: t.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1),
              lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_match_pytorch_step_for_step(torch, name):
    ours, theirs = OPTIMIZERS[name]
    rng = np.random.default_rng(5)
    # A weight matrix: the arrays dlfs's weight decay applies to (PyTorch decays every tensor).
    w = rng.standard_normal((4, 3))
    wt = torch.tensor(w.copy(), requires_grad=True)
    opt, topt = ours(), theirs(torch, [wt])
    for _ in range(10):
        g = rng.standard_normal((4, 3))
        opt.step([("w", w, g)])
        wt.grad = torch.tensor(g)
        topt.step()
        close(w, wt)
