"""dlfs.layers.Dropout: inverted dropout keeps the expected value; identity in inference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlfs import Dropout, gradcheck

TOL = 1e-7
GRADCHECK = settings(max_examples=25, deadline=None)


@GRADCHECK
@given(x=arrays(np.float64, array_shapes(min_dims=2, max_dims=3, max_side=5),
                elements=st.floats(-3, 3, allow_subnormal=False)),
       p=st.floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_training_mode_gradient_matches_finite_differences(x, p, seed):
    # gradcheck rewinds the layer's generator, so every evaluation sees the same mask.
    assert gradcheck(Dropout(p, rng=np.random.default_rng(seed)), x)["x"] < TOL


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_survivors_are_scaled_by_one_over_keep_probability(p):
    out = Dropout(p, rng=np.random.default_rng(0)).forward(np.ones((200, 50)))
    survivors = out[out != 0]
    np.testing.assert_allclose(survivors, 1.0 / (1.0 - p), rtol=1e-15)
    assert abs(np.mean(out == 0) - p) < 0.02                    # 10,000 Bernoulli draws


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_expected_value_is_unchanged_in_training(p):
    x = np.random.default_rng(1).uniform(1, 2, size=(400, 100)).astype(np.float32)
    out = Dropout(p, rng=np.random.default_rng(2)).forward(x)
    np.testing.assert_allclose(out.astype(np.float64).mean(), x.astype(np.float64).mean(),
                               rtol=0.01)


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    out = layer.forward(np.ones((10, 10)))
    np.testing.assert_array_equal(layer.backward(np.ones((10, 10))), out)


def test_a_fresh_mask_is_drawn_on_every_forward():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.ones((10, 10))
    assert not np.array_equal(layer.forward(x), layer.forward(x))


def test_inference_mode_is_the_identity_for_values_and_gradients():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 4))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    g = np.random.default_rng(2).standard_normal((5, 4))
    np.testing.assert_array_equal(layer.backward(g), g)


def test_p_zero_is_the_identity_even_in_training():
    x = np.random.default_rng(1).standard_normal((5, 4))
    np.testing.assert_array_equal(Dropout(0.0).forward(x), x)


def test_same_seed_same_mask():
    x = np.ones((8, 8), np.float32)
    a = Dropout(0.3, rng=np.random.default_rng(5)).forward(x)
    np.testing.assert_array_equal(a, Dropout(0.3, rng=np.random.default_rng(5)).forward(x))


def test_numpy_scalar_probability_is_accepted():
    assert Dropout(np.float32(0.25)).p == 0.25


@pytest.mark.parametrize("p", [1, 1.0, -0.1, 1.5, True, "0.5", None])
def test_probability_outside_0_1_is_refused(p):
    with pytest.raises(ValueError, match=r"Dropout probability p must be in \[0, 1\), got "):
        Dropout(p)


def test_1d_input_is_refused():
    with pytest.raises(ValueError, match=r"Dropout input must have at least 2 dimensions, "
                                         r"got shape \(4,\)"):
        Dropout(0.5).forward(np.ones(4))
