"""dlfs.init: each initialiser has the documented distribution, shape and dtype."""
import numpy as np
import pytest

from dlfs import init

N_IN, N_OUT = 400, 300            # 120,000 draws: sample moments within ~1% of the truth


def draw(name, seed=0, shape=(N_IN, N_OUT), dtype=np.float32):
    return init.initialize(name, shape, np.random.default_rng(seed), dtype)


def test_he_has_variance_2_over_fan_in():
    w = draw("he").astype(np.float64)
    assert abs(w.mean()) < 0.01 * w.std()
    np.testing.assert_allclose(w.var(), 2.0 / N_IN, rtol=0.02)


def test_xavier_normal_has_variance_2_over_fan_in_plus_fan_out():
    w = draw("xavier_normal").astype(np.float64)
    assert abs(w.mean()) < 0.01 * w.std()
    np.testing.assert_allclose(w.var(), 2.0 / (N_IN + N_OUT), rtol=0.02)


def test_xavier_uniform_stays_within_its_bound_and_fills_it():
    limit = np.sqrt(6.0 / (N_IN + N_OUT))
    w = draw("xavier_uniform").astype(np.float64)
    assert np.all(np.abs(w) <= limit)
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit
    # U(-a, a) has variance a^2 / 3 = 2 / (fan_in + fan_out), like xavier_normal.
    np.testing.assert_allclose(w.var(), 2.0 / (N_IN + N_OUT), rtol=0.02)


def test_normal_has_std_0_01():
    w = draw("normal").astype(np.float64)
    np.testing.assert_allclose(w.std(), 0.01, rtol=0.01)


def test_zeros_is_all_zeros():
    w = draw("zeros", shape=(3, 4))
    assert w.shape == (3, 4)
    assert not np.any(w)


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_follow_the_request(name, dtype):
    w = draw(name, shape=(5, 7), dtype=dtype)
    assert w.shape == (5, 7)
    assert w.dtype == dtype


@pytest.mark.parametrize("name", sorted(set(init.INITIALIZERS) - {"zeros"}))
def test_same_seed_same_weights_different_seed_different_weights(name):
    np.testing.assert_array_equal(draw(name, seed=3, shape=(6, 5)),
                                  draw(name, seed=3, shape=(6, 5)))
    assert not np.array_equal(draw(name, seed=3, shape=(6, 5)), draw(name, seed=4, shape=(6, 5)))


def test_he_uses_the_fan_in_not_the_fan_out():
    wide, tall = draw("he", shape=(50, 2000)), draw("he", shape=(2000, 50))
    np.testing.assert_allclose(wide.astype(np.float64).var(), 2 / 50, rtol=0.03)
    np.testing.assert_allclose(tall.astype(np.float64).var(), 2 / 2000, rtol=0.03)


def test_unknown_initializer_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown initializer 'glorot'; choose one of: he, "):
        draw("glorot")


@pytest.mark.parametrize("bad_rng", [0, np.random.RandomState(0), None])
def test_rng_must_be_a_generator(bad_rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.initialize("he", (2, 2), bad_rng)


# -- fans for dense and convolution weights (issue 6: ready for convolutions) ------------

@pytest.mark.parametrize("shape, fans", [
    ((784, 128), (784, 128)),            # Dense (n_in, n_out)
    ((8, 3, 5, 5), (75, 200)),           # Conv2D (C_out, C_in, kh, kw): C_in*25, C_out*25
    ((16, 8, 3, 3), (72, 144)),          # values PyTorch's _calculate_fan_in_and_fan_out gives
    ((4, 2, 3), (6, 12)),                # 1-D convolution
    ((6, 1, 1, 1), (1, 6)),
])
def test_fan_in_and_fan_out_of_dense_and_kernel_shapes(shape, fans):
    assert init.fan_in_fan_out(shape) == fans


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_at_least_two_dimensions(shape):
    with pytest.raises(ValueError, match="fan-in and fan-out need a weight of at least 2 "
                                         "dimensions"):
        init.fan_in_fan_out(shape)


KERNEL = (40, 30, 5, 5)                  # fan_in 750, fan_out 1000; 30,000 draws


def test_he_on_a_4d_kernel_uses_channels_times_receptive_field():
    w = draw("he", shape=KERNEL).astype(np.float64)
    assert w.shape == KERNEL
    np.testing.assert_allclose(w.var(), 2.0 / (30 * 25), rtol=0.03)


@pytest.mark.parametrize("name", ["xavier_normal", "xavier_uniform"])
def test_xavier_on_a_4d_kernel_uses_both_fans(name):
    w = draw(name, shape=KERNEL).astype(np.float64)
    np.testing.assert_allclose(w.var(), 2.0 / (30 * 25 + 40 * 25), rtol=0.03)
