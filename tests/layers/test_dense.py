"""dlfs.layers.Dense: Z = X @ W + b, its gradients, and its input checks."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs import Dense, gradcheck

TOL = 1e-7
GRADCHECK = settings(max_examples=25, deadline=None)


def dense64(n_in, n_out, seed=0):
    """A float64 Dense layer with random (not zero) biases."""
    layer = Dense(n_in, n_out, dtype=np.float64, rng=np.random.default_rng(seed))
    layer.params["b"][...] = np.random.default_rng(seed + 1).standard_normal(n_out)
    return layer


def test_forward_hand_computed():
    layer = Dense(2, 3, dtype=np.float64)
    layer.params["W"][...] = [[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]]
    layer.params["b"][...] = [0.5, -0.5, 0.0]
    out = layer.forward(np.array([[1.0, 2.0], [0.0, -1.0]]))
    np.testing.assert_array_equal(out, [[1.5, 1.5, 8.0], [0.5, -1.5, -3.0]])


@given(n=st.integers(1, 5), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_forward_equals_x_at_w_plus_b_summed_explicitly(n, n_in, n_out, seed):
    layer = dense64(n_in, n_out, seed)
    x = np.random.default_rng(seed).standard_normal((n, n_in))
    W, b = layer.params["W"], layer.params["b"]
    expected = np.array([[sum(x[i, k] * W[k, j] for k in range(n_in)) + b[j]
                          for j in range(n_out)] for i in range(n)])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_backward_hand_computed():
    layer = Dense(2, 1, dtype=np.float64)
    layer.params["W"][...] = [[2.0], [-1.0]]
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    layer.forward(x)
    dx = layer.backward(np.array([[1.0], [10.0]]))
    np.testing.assert_array_equal(layer.grads["W"], [[1 + 20], [3 + 0]])   # X^T g
    np.testing.assert_array_equal(layer.grads["b"], [11.0])                 # column sums of g
    np.testing.assert_array_equal(dx, [[2.0, -1.0], [20.0, -10.0]])          # g W^T


# Hypothesis draws the shape and a seed; the values are standard normal.  (Left to pick
# values itself, hypothesis finds inputs like x = [[-0.0003]], whose weight gradient is so
# small next to the bias term of the output that a finite difference only sees rounding.)
@GRADCHECK
@given(n=st.integers(1, 6), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_gradients_match_finite_differences(n, n_in, n_out, seed):
    x = np.random.default_rng([seed, 1]).standard_normal((n, n_in))
    errors = gradcheck(dense64(n_in, n_out, seed), x)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < TOL, errors


def test_parameter_shapes_and_initial_values():
    layer = Dense(4, 3, init="he", rng=np.random.default_rng(0))
    assert layer.params["W"].shape == (4, 3) and layer.params["b"].shape == (3,)
    assert not np.any(layer.params["b"])
    assert np.any(layer.params["W"])
    assert layer.output_shape((4,)) == (3,)
    assert layer.config() == {"n_in": 4, "n_out": 3, "init": "he"}


def test_same_rng_seed_gives_same_weights():
    a = Dense(3, 2, rng=np.random.default_rng(7)).params["W"]
    b = Dense(3, 2, rng=np.random.default_rng(7)).params["W"]
    np.testing.assert_array_equal(a, b)


def test_backward_writes_grads_in_place():
    """Optimisers may hold the grad arrays, so backward must not replace them."""
    layer = dense64(3, 2)
    grads_before = dict(layer.grads)
    for _ in range(2):
        layer.forward(np.ones((4, 3)))
        layer.backward(np.ones((4, 2)))
    assert all(layer.grads[k] is grads_before[k] for k in grads_before)
    np.testing.assert_array_equal(layer.grads["b"], [4.0, 4.0])      # overwritten, not summed


# -- bad input -------------------------------------------------------------------------

def test_feature_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match=r"Dense expects 3 input features per sample, "
                                         r"got sample shape \(4,\)"):
        Dense(3, 2).forward(np.zeros((2, 4), np.float32))


def test_1d_input_is_refused():
    with pytest.raises(ValueError, match=r"Dense input must have 2 dimensions, got shape \(3,\)"):
        Dense(3, 2).forward(np.zeros(3, np.float32))


def test_int_input_is_refused():
    with pytest.raises(TypeError, match="Dense input must have a floating-point dtype, got int64"):
        Dense(2, 2).forward(np.ones((1, 2), dtype=np.int64))


def test_float64_input_to_float32_layer_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"Dense has dtype float32 but its input has dtype "
                                        r"float64; convert with x.astype\(np.float32\)"):
        Dense(2, 2).forward(np.ones((1, 2)))


def test_list_input_is_refused():
    with pytest.raises(TypeError, match="Dense input must be a numpy.ndarray, got list"):
        Dense(2, 2).forward([[1.0, 2.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_inputs_are_refused(bad):
    with pytest.raises(ValueError, match="Dense input contains NaN or infinity"):
        Dense(2, 2).forward(np.array([[1.0, bad]], np.float32))


def test_grad_out_of_the_wrong_shape_is_refused():
    layer = Dense(2, 3)
    layer.forward(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"Dense grad_out must have the forward output's shape "
                                         r"\(4, 3\), got \(4, 2\)"):
        layer.backward(np.ones((4, 2), np.float32))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="Dense.backward called before forward"):
        Dense(2, 3).backward(np.ones((1, 3), np.float32))


@pytest.mark.parametrize("n_in, n_out, error, message", [
    (0, 2, ValueError, "n_in must be > 0, got 0"),
    (2, -1, ValueError, "n_out must be > 0, got -1"),
    (2.0, 2, TypeError, "n_in must be an integer, got 2.0"),
])
def test_bad_sizes_are_refused(n_in, n_out, error, message):
    with pytest.raises(error, match=message):
        Dense(n_in, n_out)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        Dense(2, 2, init="glorot")
