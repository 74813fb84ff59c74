"""dlfs.gradcheck.kink_margin: distance of the nearest ReLU pre-activation from its kink."""
import numpy as np
import pytest

from dlfs import Dense, LeakyReLU, ReLU, Sequential, Tanh, gradcheck
from dlfs.gradcheck import kink_margin
from dlfs.losses import MSE


def _net(act, rng):
    return Sequential([Dense(3, 4, dtype=np.float64, rng=rng), act(),
                       Dense(4, 2, dtype=np.float64, rng=rng)])


@pytest.mark.parametrize("act", [ReLU, LeakyReLU])
def test_margin_is_the_smallest_pre_activation(act):
    rng = np.random.default_rng(0)
    net = _net(act, rng)
    x = rng.standard_normal((5, 3))
    z = x @ net.layers[0].params["W"] + net.layers[0].params["b"]
    assert kink_margin(net, x) == pytest.approx(np.min(np.abs(z)), rel=0, abs=0)


def test_no_kinks_gives_infinity():
    rng = np.random.default_rng(1)
    assert kink_margin(_net(Tanh, rng), rng.standard_normal((2, 3))) == np.inf


def test_zero_margin_predicts_a_false_alarm():
    """At margin 0 the centred difference straddles the kink: the check fails on b."""
    rng = np.random.default_rng(2)
    net = _net(ReLU, rng)
    x = np.zeros((1, 3))                      # z = b = 0 for every hidden unit
    target = rng.standard_normal((1, 2))
    assert kink_margin(net, x) == 0.0
    errors = gradcheck(net, x, target, loss=MSE())
    assert errors["0.b"] > 0.1
    x_far = rng.standard_normal((1, 3))       # away from the kinks: passes
    assert kink_margin(net, x_far) > 1e-3
    assert max(gradcheck(net, x_far, target, loss=MSE()).values()) < 1e-6


def test_rejects_a_single_layer():
    with pytest.raises(TypeError, match="Sequential"):
        kink_margin(ReLU(), np.ones((1, 2)))
