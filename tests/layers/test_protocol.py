"""The layer protocol, checked once for every layer: dtypes, params/grads, shape checks,
description (config/output_shape/repr) and the errors every layer shares."""
import numpy as np
import pytest

from dlfs import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Layer, LeakyReLU,
                  MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from dlfs.layers import LAYER_TYPES

# name -> (factory taking a dtype, one batch's input shape)
LAYERS = {
    "Dense": (lambda dt: Dense(4, 3, dtype=dt, rng=np.random.default_rng(0)), (5, 4)),
    "Dropout": (lambda dt: Dropout(0.5, rng=np.random.default_rng(0)), (5, 4)),
    "BatchNorm": (lambda dt: BatchNorm(4, dtype=dt), (5, 4)),
    "Flatten": (lambda dt: Flatten(), (5, 2, 3)),
    "Sigmoid": (lambda dt: Sigmoid(), (5, 4)),
    "Tanh": (lambda dt: Tanh(), (5, 4)),
    "ReLU": (lambda dt: ReLU(), (5, 4)),
    "LeakyReLU": (lambda dt: LeakyReLU(0.1), (5, 4)),
    "Softmax": (lambda dt: Softmax(), (5, 4)),
    "Conv2D": (lambda dt: Conv2D(2, 3, 3, padding=1, dtype=dt, rng=np.random.default_rng(0)),
               (5, 2, 4, 4)),
    "MaxPool2D": (lambda dt: MaxPool2D(2), (5, 2, 4, 4)),
    "AvgPool2D": (lambda dt: AvgPool2D(2), (5, 2, 4, 4)),
}
ALL = pytest.mark.parametrize("name", sorted(LAYERS))


def make(name, dtype=np.float32):
    factory, shape = LAYERS[name]
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    return factory(dtype), x


def test_every_layer_type_is_covered_here():
    assert set(LAYERS) == set(LAYER_TYPES)


@ALL
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_through_forward_backward_and_grads(name, dtype):
    layer, x = make(name, dtype)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dtype
    assert dx.dtype == dtype
    assert dx.shape == x.shape
    for key, grad in layer.grads.items():
        assert grad.dtype == dtype, key
    for key, param in layer.params.items():
        assert param.dtype == dtype, key


@ALL
def test_params_and_grads_have_matching_keys_and_shapes(name):
    layer, x = make(name)
    layer.backward(np.ones_like(layer.forward(x)))
    assert set(layer.params) == set(layer.grads)
    for key in layer.params:
        assert layer.params[key].shape == layer.grads[key].shape


@ALL
def test_output_shape_predicts_the_forward_shape(name):
    layer, x = make(name)
    assert layer.forward(x).shape == (x.shape[0], *layer.output_shape(x.shape[1:]))


@ALL
def test_config_rebuilds_an_equivalent_layer(name):
    layer, _ = make(name)
    rebuilt = LAYER_TYPES[name](**layer.config())
    assert rebuilt.config() == layer.config()
    assert repr(rebuilt) == repr(layer)
    assert repr(layer).startswith(name + "(")


@ALL
def test_layers_follow_the_protocol_base_class(name):
    layer, _ = make(name)
    assert isinstance(layer, Layer)
    assert isinstance(layer.params, dict) and isinstance(layer.buffers, dict)


@ALL
def test_call_is_forward(name):
    layer, x = make(name)
    np.testing.assert_array_equal(layer(x, training=False), layer.forward(x, training=False))


@ALL
def test_backward_before_forward_is_an_error(name):
    layer, x = make(name)
    with pytest.raises(RuntimeError, match=rf"{name}\.backward called before forward"):
        layer.backward(np.ones((5, 4), np.float32))


@ALL
def test_grad_out_of_the_wrong_shape_is_refused(name):
    layer, x = make(name)
    out = layer.forward(x)
    bad = np.ones((out.shape[0] + 1, *out.shape[1:]), np.float32)
    with pytest.raises(ValueError, match=rf"{name} grad_out must have the forward output's "
                                         rf"shape \({', '.join(map(str, out.shape))}\)"):
        layer.backward(bad)


@ALL
def test_nan_grad_out_is_refused(name):
    layer, x = make(name)
    g = np.ones_like(layer.forward(x))
    g[0, 0] = np.nan
    with pytest.raises(ValueError, match=rf"{name} grad_out contains NaN or infinity"):
        layer.backward(g)


@ALL
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_inputs_are_refused(name, bad):
    layer, x = make(name)
    x.flat[3] = bad
    with pytest.raises(ValueError, match=rf"{name} input contains NaN or infinity"):
        layer.forward(x)


@ALL
def test_int_inputs_are_refused(name):
    layer, x = make(name)
    with pytest.raises(TypeError, match=rf"{name} input must have a floating-point dtype, "
                                        r"got int64"):
        layer.forward(x.astype(np.int64))


@ALL
def test_list_inputs_are_refused(name):
    layer, x = make(name)
    with pytest.raises(TypeError, match=rf"{name} input must be a numpy.ndarray, got list"):
        layer.forward(x.tolist())


@pytest.mark.parametrize("name", ["Dense", "BatchNorm", "Conv2D"])
def test_layers_with_parameters_refuse_inputs_of_another_float_dtype(name):
    layer, x = make(name, np.float32)
    with pytest.raises(TypeError, match=rf"{name} has dtype float32 but its input has dtype "
                                        r"float64"):
        layer.forward(x.astype(np.float64))


def test_base_layer_forward_and_backward_are_abstract():
    with pytest.raises(NotImplementedError):
        Layer().forward(np.ones((1, 1)))
    with pytest.raises(NotImplementedError):
        Layer().backward(np.ones((1, 1)))


@ALL
def test_a_gradient_of_another_dtype_is_refused(name):
    layer, x = make(name, np.float32)
    out = layer.forward(x)
    with pytest.raises(TypeError, match=r"grad_out must have the output's dtype float32, "
                                        r"got float64"):
        layer.backward(np.ones(out.shape, dtype=np.float64))
