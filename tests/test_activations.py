"""dlfs.activations: closed-form values, derivatives against finite differences, stability."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlfs import activations as F
from dlfs.gradcheck import relative_error

H = 1e-6                       # finite-difference step
TOL = 1e-7                     # bound on the relative error of a correct derivative
GRADCHECK = settings(max_examples=25, deadline=None)
# Overflow, division by zero and invalid operations must never happen.  Underflow
# is left alone on purpose: exp(-1000) -> 0 is exactly what the stable formulas rely on.
STRICT = dict(over="raise", divide="raise", invalid="raise")


def float64_arrays(lo=-3.0, hi=3.0):
    """Arrays of 1 to 3 dimensions with float64 values in [lo, hi]."""
    return arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.floats(lo, hi, allow_subnormal=False))


def away_from_kink(z, margin=1e-3):
    """Move values within ``margin`` of 0 (where ReLU has no derivative) to +-0.5.

    ``margin`` is 1000 * H, so a finite difference never straddles the kink.
    """
    return np.where(np.abs(z) < margin, np.copysign(0.5, z), z)


def central_difference(f, z, h=H):
    """Elementwise numerical derivative of an elementwise function."""
    return (f(z + h) - f(z - h)) / (2 * h)


# -- values -------------------------------------------------------------------------

def test_sigmoid_closed_form_values():
    z = np.array([0.0, np.log(3.0), -np.log(3.0)])
    np.testing.assert_allclose(F.sigmoid(z), [0.5, 0.75, 0.25], rtol=1e-15)


@given(float64_arrays(-30, 30))
def test_sigmoid_is_point_symmetric(z):
    np.testing.assert_allclose(F.sigmoid(-z), 1 - F.sigmoid(z), atol=1e-15)


def test_tanh_closed_form_values():
    z = np.array([0.0, np.arctanh(0.5)])
    np.testing.assert_allclose(F.tanh(z), [0.0, 0.5], atol=1e-15)


def test_relu_and_leaky_relu_hand_values():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(F.relu(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(z, alpha=0.1), [-0.2, 0.0, 3.0])
    np.testing.assert_array_equal(F.relu_grad(z), [0.0, 0.0, 1.0])     # 0 at the kink
    np.testing.assert_allclose(F.leaky_relu_grad(z, alpha=0.1), [0.1, 0.1, 1.0])


def test_softmax_hand_values():
    z = np.array([[0.0, np.log(3.0)], [5.0, 5.0]])
    np.testing.assert_allclose(F.softmax(z), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


@given(arrays(np.float64, array_shapes(min_dims=2, max_dims=2, max_side=6),
              elements=st.floats(-50, 50)))
def test_softmax_rows_are_distributions_and_shift_invariant(z):
    s = F.softmax(z, axis=1)
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(z + 7.0, axis=1), s, atol=1e-12)


@given(arrays(np.float64, array_shapes(min_dims=2, max_dims=2, max_side=6),
              elements=st.floats(-20, 20)))
def test_logsumexp_and_log_softmax_match_naive_formulas_for_moderate_inputs(z):
    naive_lse = np.log(np.sum(np.exp(z), axis=1))
    np.testing.assert_allclose(F.logsumexp(z, axis=1), naive_lse, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.log_softmax(z, axis=1), np.log(F.softmax(z, axis=1)),
                               rtol=1e-10, atol=1e-12)


def test_logsumexp_keepdims_shape():
    z = np.zeros((3, 4))
    assert F.logsumexp(z, axis=1).shape == (3,)
    assert F.logsumexp(z, axis=1, keepdims=True).shape == (3, 1)
    np.testing.assert_allclose(F.logsumexp(z, axis=1), np.log(4.0))


# -- derivatives against finite differences -----------------------------------------

SMOOTH = {"sigmoid": (F.sigmoid, F.sigmoid_grad), "tanh": (F.tanh, F.tanh_grad)}


@GRADCHECK
@pytest.mark.parametrize("name", sorted(SMOOTH))
@given(z=float64_arrays())
def test_smooth_activation_derivative_matches_finite_differences(name, z):
    f, df = SMOOTH[name]
    assert relative_error(df(z), central_difference(f, z)) < TOL


@GRADCHECK
@given(z=float64_arrays().map(away_from_kink))
def test_relu_derivative_matches_finite_differences_away_from_the_kink(z):
    assert relative_error(F.relu_grad(z), central_difference(F.relu, z)) < TOL


@GRADCHECK
@given(z=float64_arrays().map(away_from_kink), alpha=st.floats(0.001, 0.5))
def test_leaky_relu_derivative_matches_finite_differences_away_from_the_kink(z, alpha):
    def f(v):
        return F.leaky_relu(v, alpha)
    assert relative_error(F.leaky_relu_grad(z, alpha), central_difference(f, z)) < TOL


# -- dtypes ---------------------------------------------------------------------------

ELEMENTWISE = [F.sigmoid, F.sigmoid_grad, F.tanh, F.tanh_grad, F.relu, F.relu_grad,
               F.leaky_relu, F.leaky_relu_grad, F.softmax, F.log_softmax]


@pytest.mark.parametrize("fn", ELEMENTWISE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_functions_preserve_shape_and_dtype(fn, dtype):
    z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    out = fn(z)
    assert out.dtype == dtype
    assert out.shape == z.shape


def test_activation_table_pairs_each_function_with_its_derivative():
    z = np.array([-1.5, -0.3, 0.4, 2.0])
    for name, (f, df) in F.ACTIVATIONS.items():
        assert relative_error(df(z), central_difference(f, z)) < TOL, name


# -- numerical stability -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_overflow_at_1e3(dtype):
    z = np.array([-1e3, 1e3], dtype=dtype)
    with np.errstate(**STRICT):
        s, ds = F.sigmoid(z), F.sigmoid_grad(z)
    np.testing.assert_array_equal(s, [0.0, 1.0])
    np.testing.assert_array_equal(ds, [0.0, 0.0])
    assert s.dtype == ds.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_are_finite_at_logits_1e4(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    with np.errstate(**STRICT):
        s, log_s, lse = F.softmax(z), F.log_softmax(z), F.logsumexp(z)
    # Numbers near 1e4 are only resolved to 1e4 * eps of the dtype (1e-3 in float32),
    # so that is the absolute accuracy to expect from anything computed through them.
    atol = 2 * 1e4 * np.finfo(dtype).eps
    np.testing.assert_allclose(s, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    np.testing.assert_allclose(log_s, [[0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6, atol=atol)
    np.testing.assert_allclose(lse, [1e4, -1e4 + np.log(3)], rtol=1e-6)
    assert np.all(np.isfinite(log_s))


def test_naive_softmax_would_overflow_which_is_why_the_shift_exists():
    z = np.array([1e4, 0.0])
    with pytest.raises(FloatingPointError), np.errstate(**STRICT):
        np.exp(z) / np.sum(np.exp(z))
