"""Sigmoid, Tanh, ReLU, LeakyReLU and Softmax layers: values, gradients, stability."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlfs import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, gradcheck
from dlfs import activations as F

TOL = 1e-7
GRADCHECK = settings(max_examples=25, deadline=None)
STRICT = dict(over="raise", divide="raise", invalid="raise")   # see test_activations.py


def batches_of(min_dims=2, max_dims=3, lo=-2.5, hi=2.5):
    """Float64 batches (n_samples, ...) with values in [lo, hi]."""
    return arrays(np.float64, array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=5),
                  elements=st.floats(lo, hi, allow_subnormal=False))


def away_from_kink(x, margin=1e-3):
    """Move values within ``margin`` (1000x the finite-difference step) of 0 to +-0.5."""
    return np.where(np.abs(x) < margin, np.copysign(0.5, x), x)


# -- gradients against finite differences ------------------------------------------

@GRADCHECK
@pytest.mark.parametrize("layer_cls", [Sigmoid, Tanh], ids=lambda c: c.__name__)
@given(x=batches_of(min_dims=1))
def test_smooth_activation_layer_gradient_matches_finite_differences(layer_cls, x):
    assert gradcheck(layer_cls(), x)["x"] < TOL


@GRADCHECK
@given(x=batches_of(min_dims=1).map(away_from_kink))
def test_relu_layer_gradient_matches_finite_differences_away_from_the_kink(x):
    assert gradcheck(ReLU(), x)["x"] < TOL


@GRADCHECK
@given(x=batches_of(min_dims=1).map(away_from_kink), alpha=st.floats(0.001, 0.5))
def test_leaky_relu_layer_gradient_matches_finite_differences_away_from_the_kink(x, alpha):
    assert gradcheck(LeakyReLU(alpha), x)["x"] < TOL


# Saturation is avoided on purpose: at logits +-a the gradient shrinks like e^(-2a) while
# rounding stays ~eps * a, so beyond |a| ~ 3 a finite difference cannot resolve it.
# (Saturated softmax is covered by the stability test below.)
@GRADCHECK
@given(x=batches_of(max_dims=2, lo=-2, hi=2))
def test_softmax_layer_gradient_matches_finite_differences(x):
    assert gradcheck(Softmax(), x)["x"] < TOL


# -- values ---------------------------------------------------------------------------

LAYER_AND_FUNCTION = [(Sigmoid(), F.sigmoid), (Tanh(), F.tanh), (ReLU(), F.relu),
                      (LeakyReLU(0.2), lambda z: F.leaky_relu(z, 0.2)),
                      (Softmax(), lambda z: F.softmax(z, axis=1))]


@pytest.mark.parametrize("layer, fn", LAYER_AND_FUNCTION, ids=lambda v: repr(v)[:12])
def test_layer_forward_equals_its_function(layer, fn):
    z = np.linspace(-4, 4, 12).reshape(3, 4)
    np.testing.assert_array_equal(layer.forward(z), fn(z))


def test_sigmoid_layer_at_zero_is_half_with_slope_quarter():
    layer = Sigmoid()
    np.testing.assert_array_equal(layer.forward(np.zeros((1, 2))), [[0.5, 0.5]])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2))), [[0.25, 0.25]])


def test_relu_layer_passes_gradient_only_where_input_was_positive():
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0, 0, 5.0]])


def test_leaky_relu_layer_scales_negative_side_by_alpha():
    layer = LeakyReLU(alpha=0.1)
    np.testing.assert_allclose(layer.forward(np.array([[-2.0, 3.0]])), [[-0.2, 3.0]])
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 1.0]])), [[0.1, 1.0]])
    assert layer.config() == {"alpha": 0.1}


@given(batches_of(max_dims=2, lo=-50, hi=50))
def test_softmax_layer_rows_sum_to_one(x):
    np.testing.assert_allclose(Softmax().forward(x).sum(axis=1), 1.0, rtol=1e-12)


@given(batches_of(max_dims=2), st.integers(0, 2**32 - 1))
def test_softmax_backward_equals_the_explicit_jacobian_product(x, seed):
    """Reference: dL/dz_j = sum_i g_i * s_i * (delta_ij - s_j), one Jacobian per row."""
    g = np.random.default_rng(seed).standard_normal(x.shape)
    layer = Softmax()
    s = layer.forward(x)
    expected = np.stack([g[n] @ (np.diag(s[n]) - np.outer(s[n], s[n])) for n in range(len(x))])
    np.testing.assert_allclose(layer.backward(g), expected, atol=1e-14)


# -- stability ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_layer_is_finite_at_1e3(dtype):
    layer = Sigmoid()
    with np.errstate(**STRICT):
        out = layer.forward(np.array([[-1e3, 1e3]], dtype))
        grad = layer.backward(np.ones((1, 2), dtype))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])
    np.testing.assert_array_equal(grad, [[0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_layer_is_finite_at_logits_1e4(dtype):
    layer = Softmax()
    with np.errstate(**STRICT):
        out = layer.forward(np.array([[1e4, -1e4, 0.0]], dtype))
        grad = layer.backward(np.array([[1.0, 2.0, 3.0]], dtype))
    np.testing.assert_array_equal(out, [[1.0, 0.0, 0.0]])
    assert np.all(np.isfinite(grad))


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("alpha, error, message", [
    (0.0, ValueError, "alpha must be > 0, got 0.0"),
    (-0.1, ValueError, "alpha must be > 0, got -0.1"),
    ("0.1", TypeError, "alpha must be a number"),
    (1.5, ValueError, r"alpha must be < 1 \(the slope for negative inputs\), got 1.5"),
])
def test_leaky_relu_refuses_bad_alpha(alpha, error, message):
    with pytest.raises(error, match=message):
        LeakyReLU(alpha)


def test_softmax_layer_needs_2d_input():
    with pytest.raises(ValueError, match=r"Softmax input must have 2 dimensions, got shape \(3,\)"):
        Softmax().forward(np.zeros(3))
