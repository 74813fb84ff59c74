"""dlfs.layers.BatchNorm: normalisation, running statistics, gradients in both modes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs import BatchNorm, gradcheck

TOL = 1e-7
GRADCHECK = settings(max_examples=25, deadline=None)


def random_batchnorm(n_features, seed):
    """A float64 BatchNorm with random gamma, beta and running statistics."""
    rng = np.random.default_rng(seed)
    bn = BatchNorm(n_features, dtype=np.float64)
    bn.params["gamma"][...] = rng.uniform(0.5, 2.0, n_features) * rng.choice([-1, 1], n_features)
    bn.params["beta"][...] = rng.standard_normal(n_features)
    bn.buffers["running_mean"][...] = rng.standard_normal(n_features)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, n_features)
    return bn


# The shape is drawn by hypothesis; the values come from a seeded normal generator.  A
# feature whose batch variance is ~0 makes the normalisation ill-conditioned at the scale
# sqrt(eps) ~ 3e-3, which is a property of finite differences, not of the layer.
# Batches start at 4 samples.  Per feature, dL/dx is confined to the directions orthogonal
# to both (1, ..., 1) and x_hat: n - 2 of them.  With 2 samples there are none (the output
# is +-gamma + beta whatever x is, see the test below); with 3 there is one, and a random
# projection lands nearly orthogonal to it often enough that a *relative* error would
# measure rounding noise rather than the gradient.  Likewise at least 2 features: with one,
# gamma's gradient is a single sum, sum_n g_n x_hat_n, which can cancel to ~0 by chance.
samples = st.tuples(st.integers(4, 8), st.integers(2, 4), st.integers(0, 2**32 - 1))


def batch(n, d, seed):
    # Not default_rng(seed): for seed 0 its normals would be gradcheck's own random
    # projection, to which a batch-normalised x is then (almost exactly) orthogonal.
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d)


@GRADCHECK
@given(samples)
def test_training_mode_gradients_match_finite_differences(sample):
    n, d, seed = sample
    errors = gradcheck(random_batchnorm(d, seed), batch(n, d, seed))
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < TOL, errors


@GRADCHECK
@given(samples)
def test_inference_mode_gradients_match_finite_differences(sample):
    n, d, seed = sample
    bn = random_batchnorm(d, seed)
    errors = gradcheck(bn, batch(n, d, seed), training=False)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < TOL, errors


def test_with_two_samples_the_training_output_barely_depends_on_x():
    bn = random_batchnorm(3, seed=0)
    y = bn.forward(np.array([[0.0, 10.0, -3.0], [1.0, 20.0, 5.0]]))
    expected = bn.params["beta"] + np.array([[-1.0], [1.0]]) * bn.params["gamma"]
    np.testing.assert_allclose(y, expected, rtol=1e-4)
    np.testing.assert_allclose(bn.forward(np.array([[5.0, -7.0, 0.0], [9.0, 8.0, 0.5]])),
                               expected, rtol=1e-3)
    dx = bn.backward(np.random.default_rng(2).standard_normal((2, 3)))
    assert np.max(np.abs(dx)) < 1e-3


def test_training_output_has_per_feature_mean_beta_and_std_gamma():
    bn = BatchNorm(3, dtype=np.float64)
    bn.params["gamma"][...] = [1.0, 2.0, 0.5]
    bn.params["beta"][...] = [0.0, -1.0, 3.0]
    x = batch(500, 3, seed=0) * 10                       # variance >> eps
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=0), [0.0, -1.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), [1.0, 2.0, 0.5], rtol=1e-6)


def test_running_statistics_are_exponential_averages_of_batch_statistics():
    bn = BatchNorm(2, momentum=0.8, dtype=np.float64)
    x1, x2 = batch(10, 2, seed=1), batch(10, 2, seed=2)
    bn.forward(x1)
    bn.forward(x2)
    mean = 0.8 * (0.8 * 0 + 0.2 * x1.mean(0)) + 0.2 * x2.mean(0)
    var = 0.8 * (0.8 * 1 + 0.2 * x1.var(0)) + 0.2 * x2.var(0)
    np.testing.assert_allclose(bn.buffers["running_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_var"], var, rtol=1e-12)


def test_inference_uses_running_statistics_and_leaves_them_alone():
    bn = random_batchnorm(3, seed=4)
    before = {k: v.copy() for k, v in bn.buffers.items()}
    x = batch(5, 3, seed=5)
    out = bn.forward(x, training=False)
    expected = ((x - before["running_mean"]) / np.sqrt(before["running_var"] + bn.eps)
                * bn.params["gamma"] + bn.params["beta"])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    for k in before:
        np.testing.assert_array_equal(bn.buffers[k], before[k])


def test_inference_mode_works_on_a_single_sample():
    bn = random_batchnorm(2, seed=0)
    assert bn.forward(np.ones((1, 2)), training=False).shape == (1, 2)


def test_parameter_gradients_hand_computed():
    bn = BatchNorm(1, dtype=np.float64, eps=1e-12)
    x = np.array([[1.0], [3.0]])                          # mean 2, std 1 -> x_hat = -1, 1
    bn.forward(x)
    bn.backward(np.array([[2.0], [5.0]]))
    np.testing.assert_allclose(bn.grads["beta"], [7.0])
    np.testing.assert_allclose(bn.grads["gamma"], [-2.0 + 5.0])


# -- bad input ------------------------------------------------------------------------

def test_a_single_sample_is_refused_in_training():
    with pytest.raises(ValueError, match="BatchNorm needs at least 2 values per feature in "
                                         "training mode"):
        BatchNorm(2).forward(np.ones((1, 2), np.float32))


def test_feature_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"BatchNorm expects 3 features \(channels, axis 1\), "
                                         r"got sample shape \(2,\)"):
        BatchNorm(3).forward(np.ones((4, 2), np.float32))


def test_dtype_mismatch_is_refused():
    with pytest.raises(TypeError, match="BatchNorm has dtype float32 but its input has dtype "
                                        "float64"):
        BatchNorm(2).forward(np.ones((4, 2)))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    ({"momentum": -0.5}, ValueError, r"momentum must be in \[0, 1\), got -0.5"),
    ({"eps": 0.0}, ValueError, "eps must be > 0, got 0.0"),
])
def test_bad_hyperparameters_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        BatchNorm(2, **kwargs)


def test_zero_features_is_refused():
    with pytest.raises(ValueError, match="n_features must be > 0, got 0"):
        BatchNorm(0)


# -- images: statistics per channel over samples and pixels (NCHW) ----------------------

def image_batch(n, c, h, w, seed):
    rng = np.random.default_rng([seed, 2])
    return (rng.standard_normal((n, c, h, w)) * rng.uniform(0.5, 3, (1, c, 1, 1))
            + rng.uniform(-2, 2, (1, c, 1, 1)))


images = st.tuples(st.integers(1, 3), st.integers(2, 3), st.integers(2, 3), st.integers(2, 3),
                   st.integers(0, 2**32 - 1))


@GRADCHECK
@given(images)
@pytest.mark.parametrize("training", [True, False])
def test_4d_gradients_match_finite_differences(training, sample):
    n, c, h, w, seed = sample                # h, w >= 2: >= 4 values per channel, see above
    errors = gradcheck(random_batchnorm(c, seed), image_batch(n, c, h, w, seed),
                       training=training)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("training", [True, False])
def test_4d_input_is_normalised_like_its_pixels_as_rows(training):
    """NCHW BatchNorm == 2-D BatchNorm on the (N*H*W, C) matrix of pixels."""
    x = image_batch(3, 4, 5, 2, seed=0)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 4)
    bn4, bn2 = random_batchnorm(4, 1), random_batchnorm(4, 1)
    y4, y2 = bn4.forward(x, training), bn2.forward(rows, training)
    np.testing.assert_allclose(y4.transpose(0, 2, 3, 1).reshape(-1, 4), y2, rtol=1e-12)
    g = image_batch(3, 4, 5, 2, seed=1)
    dx4 = bn4.backward(g)
    dx2 = bn2.backward(g.transpose(0, 2, 3, 1).reshape(-1, 4))
    np.testing.assert_allclose(dx4.transpose(0, 2, 3, 1).reshape(-1, 4), dx2, atol=1e-12)
    for key in ("gamma", "beta"):
        np.testing.assert_allclose(bn4.grads[key], bn2.grads[key], rtol=1e-12)
    for key in ("running_mean", "running_var"):
        np.testing.assert_allclose(bn4.buffers[key], bn2.buffers[key], rtol=1e-12)
    if training:
        np.testing.assert_allclose(y4.mean(axis=(0, 2, 3)), bn4.params["beta"], atol=1e-12)


def test_one_image_with_several_pixels_is_enough_in_training():
    bn = BatchNorm(2, dtype=np.float64)
    out = bn.forward(image_batch(1, 2, 2, 2, seed=0))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_channel_mismatch_in_images_is_refused():
    with pytest.raises(ValueError, match=r"BatchNorm expects 3 features \(channels, axis 1\), "
                                         r"got sample shape \(2, 4, 4\)"):
        BatchNorm(3, dtype=np.float64).forward(np.zeros((5, 2, 4, 4)))
