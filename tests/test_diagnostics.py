"""dlfs.diagnostics: layer outputs, weight-gradient norms, dead ReLU units."""
import numpy as np
import pytest

from dlfs import MSE, Dense, ReLU, Sequential, Sigmoid, Tanh
from dlfs.diagnostics import dead_units, layer_outputs, weight_gradient_norms


def small_model(rng):
    return Sequential([Dense(3, 4, dtype=np.float64, rng=rng), ReLU(),
                       Dense(4, 5, dtype=np.float64, rng=rng), Tanh(),
                       Dense(5, 2, dtype=np.float64, rng=rng)])


def test_layer_outputs_match_the_forward_pass():
    rng = np.random.default_rng(0)
    model, x = small_model(rng), rng.standard_normal((6, 3))
    outs = layer_outputs(model, x)
    assert [o.shape for o in outs] == [(6, 4), (6, 4), (6, 5), (6, 5), (6, 2)]
    np.testing.assert_array_equal(outs[-1], model.forward(x, training=False))
    np.testing.assert_array_equal(outs[1], np.maximum(outs[0], 0))


def test_weight_gradient_norms_are_the_norms_of_the_stored_gradients():
    rng = np.random.default_rng(1)
    model, x = small_model(rng), rng.standard_normal((6, 3))
    loss = MSE()
    loss.forward(model.forward(x), rng.standard_normal((6, 2)))
    model.backward(loss.backward())
    norms = weight_gradient_norms(model)
    assert norms.shape == (3,) and norms.dtype == np.float64
    for norm, layer in zip(norms, model.layers[::2]):
        assert norm == pytest.approx(np.sqrt(np.sum(layer.grads["W"] ** 2)))


def test_dead_units_finds_exactly_the_units_with_negative_preactivations():
    rng = np.random.default_rng(2)
    model, x = small_model(rng), rng.standard_normal((50, 3))
    first = model.layers[0]
    first.params["b"][[0, 2]] = -1e3        # kill units 0 and 2
    first.params["b"][[1, 3]] = 1e3         # keep units 1 and 3 alive
    dead = dead_units(model, x)
    assert list(dead) == [1]                # only layer 1 is a ReLU
    np.testing.assert_array_equal(dead[1], [True, False, True, False])
    assert dead[1].dtype == bool and int(dead[1].sum()) == 2


def test_dead_units_ignores_models_without_relu():
    rng = np.random.default_rng(3)
    model = Sequential([Dense(2, 3, dtype=np.float64, rng=rng), Sigmoid()])
    assert dead_units(model, rng.standard_normal((4, 2))) == {}


def test_bad_input():
    with pytest.raises(TypeError):
        layer_outputs([Dense(2, 2)], np.zeros((1, 2), np.float32))
    with pytest.raises(TypeError):
        weight_gradient_norms(Dense(2, 2))
    model = Sequential([Dense(2, 2), ReLU()])
    with pytest.raises(ValueError):
        dead_units(model, np.zeros((0, 2), np.float32))
