"""The layer protocol, checked once for every layer: dtypes, params/grads, shape checks,
description (config/output_shape/repr) and the errors every layer shares."""
import numpy as np
import pytest

from dlfs import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Layer, LeakyReLU,
                  MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from dlfs.layers import LAYERS as REGISTRY

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
    assert set(LAYERS) == {name for name, cls in REGISTRY.items()
                           if cls.__module__.startswith("dlfs.")}


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
    rebuilt = REGISTRY[name](**layer.config())
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


@pytest.mark.parametrize("name", ["Dense", "BatchNorm"])
def test_layers_with_parameters_refuse_inputs_of_another_float_dtype(name):
    layer, x = make(name, np.float32)
    with pytest.raises(TypeError, match=rf"{name} has dtype float32 but its input has dtype "
                                        r"float64"):
        layer.forward(x.astype(np.float64))


def test_base_layer_computation_is_abstract():
    with pytest.raises(NotImplementedError, match="Layer does not implement _forward"):
        Layer().forward(np.ones((1, 1)))
    with pytest.raises(RuntimeError, match=r"Layer\.backward called before forward"):
        Layer().backward(np.ones((1, 1)))


@ALL
def test_a_gradient_of_another_dtype_is_refused(name):
    layer, x = make(name, np.float32)
    out = layer.forward(x)
    with pytest.raises(TypeError, match=r"grad_out must have the output's dtype float32, "
                                        r"got float64"):
        layer.backward(np.ones(out.shape, dtype=np.float64))


# -- the checks live in the base class; subclasses implement _forward/_backward only --

class Double(Layer, register=False):
    """A minimal layer: y = 2x, written against the protocol."""

    input_ndim = range(1, 33)

    def _forward(self, x, training):
        return 2 * x

    def _backward(self, grad_out, input_grad):
        return 2 * grad_out


def test_a_new_layer_gets_every_check_from_the_base_class():
    layer = Double()
    x = np.ones((2, 3))
    np.testing.assert_array_equal(layer.forward(x), 2 * x)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), 2 * np.ones((2, 3)))
    with pytest.raises(ValueError, match="Double input contains NaN or infinity"):
        layer.forward(np.array([[np.nan]]))
    with pytest.raises(ValueError, match=r"Double input must have at least 1 dimensions, "
                                         r"got shape \(\)"):
        layer.forward(np.array(1.0))
    with pytest.raises(ValueError, match=r"Double grad_out must have the forward output's "
                                         r"shape \(2, 3\), got \(2, 1\)"):
        layer.backward(np.ones((2, 1)))


@ALL
def test_backward_without_input_grad_returns_none_and_still_fills_grads(name):
    layer, x = make(name, np.float64)
    g = np.random.default_rng(3).standard_normal(layer.forward(x).shape)
    dx = layer.backward(g)
    expected = {k: v.copy() for k, v in layer.grads.items()}
    for v in layer.grads.values():
        v[...] = 0
    assert layer.backward(g, input_grad=False) is None
    assert dx is not None
    for key in expected:
        np.testing.assert_array_equal(layer.grads[key], expected[key])


def test_parameter_layers_skip_the_input_gradient_computation():
    calls = []

    class Spy(Dense, register=False):
        def _backward(self, grad_out, input_grad):
            calls.append(input_grad)
            return super()._backward(grad_out, input_grad)

    layer = Spy(3, 2, dtype=np.float64)
    layer.forward(np.ones((4, 3)))
    assert layer.backward(np.ones((4, 2)), input_grad=False) is None
    assert calls == [False]


# -- the registry and from_config -------------------------------------------------------

def test_subclassing_registers_a_layer_by_name_unless_told_not_to():
    class Registered(Layer):
        pass

    class NotRegistered(Layer, register=False):
        pass

    try:
        assert REGISTRY["Registered"] is Registered
        assert "NotRegistered" not in REGISTRY
        assert "Elementwise" not in REGISTRY and "Double" not in REGISTRY
    finally:
        del REGISTRY["Registered"]


def test_another_class_cannot_take_a_registered_name():
    with pytest.raises(TypeError, match=r"a layer type named 'Dense' is already registered "
                                        r"\(dlfs\.layers\.dense\.Dense\); rename the class"):
        class Dense(Layer):
            pass
    assert REGISTRY["Dense"].__module__ == "dlfs.layers.dense"


@ALL
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_config_rebuilds_every_layer_with_dtype_and_rng(name, dtype):
    layer, x = make(name, dtype)
    config = {"type": name, **layer.config()}
    rebuilt = Layer.from_config(config, dtype=dtype, rng=np.random.default_rng(0))
    assert type(rebuilt) is type(layer) and rebuilt.config() == layer.config()
    for key, param in layer.params.items():
        np.testing.assert_array_equal(rebuilt.params[key], param)    # same seed, same init
        assert rebuilt.params[key].dtype == dtype
    assert rebuilt.forward(x).shape == layer.forward(x).shape


def test_from_config_gives_random_layers_the_shared_generator():
    a = Layer.from_config({"type": "Dropout", "p": 0.5}, rng=np.random.default_rng(7))
    b = Layer.from_config({"type": "Dropout", "p": 0.5}, rng=np.random.default_rng(7))
    x = np.ones((4, 5), np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


@pytest.mark.parametrize("config, message", [
    ([("type", "Dense")], "a layer config must be a dict, got list"),
    ({"n_in": 2}, "unknown layer type None; known: .*Dense"),
    ({"type": "Conv9D"}, "unknown layer type 'Conv9D'"),
    ({"type": "Dense", "n_in": 2, "units": 3},
     r"bad arguments for Dense .*unexpected keyword argument 'units'"),
])
def test_from_config_refuses_bad_configs(config, message):
    with pytest.raises(ValueError, match=message):
        Layer.from_config(config)


# -- dtypes of layers with parameters (issue 6, item 10) --------------------------------

@pytest.mark.parametrize("make_layer", [lambda dt: Dense(2, 3, dtype=dt),
                                        lambda dt: BatchNorm(3, dtype=dt)],
                         ids=["Dense", "BatchNorm"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.complex128, np.bool_, "float128x"])
def test_layers_with_parameters_refuse_non_float_dtypes(make_layer, dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        make_layer(dtype)


@pytest.mark.parametrize("make_layer", [lambda dt: Dense(2, 3, dtype=dt),
                                        lambda dt: BatchNorm(3, dtype=dt)],
                         ids=["Dense", "BatchNorm"])
def test_float16_is_refused_with_the_reason(make_layer):
    with pytest.raises(TypeError, match=r"got float16 \(float16 underflows: Adam's eps=1e-8"):
        make_layer(np.float16)


@ALL
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_param_shapes_declares_the_arrays_a_layer_holds(name, dtype):
    layer, _ = make(name, dtype)
    declared = type(layer).param_shapes(layer.config())
    assert declared is not None, f"{name} must declare param_shapes"
    held = {**layer.params, **layer.buffers}
    assert declared == {k: a.shape for k, a in held.items()}


@pytest.mark.parametrize("name, config, message", [
    ("Dense", {"n_in": 0, "n_out": 3}, "n_in must be a positive integer, got 0"),
    ("Dense", {"n_in": 2, "n_out": "3"}, "n_out must be a positive integer, got '3'"),
    ("Dense", {"n_in": 2}, "n_out must be a positive integer, got None"),
    ("BatchNorm", {"n_features": True}, "n_features must be a positive integer, got True"),
])
def test_param_shapes_refuses_configurations_no_layer_is_built_from(name, config, message):
    with pytest.raises(ValueError, match=message):
        REGISTRY[name].param_shapes(config)
