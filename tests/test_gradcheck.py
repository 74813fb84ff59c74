"""dlfs.gradcheck: the checker itself - it passes correct gradients and catches wrong ones."""
import numpy as np
import pytest

from dlfs import (BatchNorm, Dense, Dropout, Sequential, Sigmoid, SoftmaxCrossEntropy, Tanh,
                  gradcheck, numerical_gradient, relative_error)
from dlfs.losses import MSE


class DenseWithWrongWeightGradient(Dense, register=False):
    """A classic bug: dW off by a constant factor (a mis-applied 1/N, say)."""

    def _backward(self, grad_out, input_grad):
        dx = super()._backward(grad_out, input_grad)
        self.grads["W"] *= 1.5
        return dx


class SigmoidMissingOneMinusS(Sigmoid, register=False):
    """Another classic: sigma' written as sigma instead of sigma (1 - sigma)."""

    def _backward(self, grad_out, input_grad):
        return grad_out * self.f(self.z)


class MSEWithoutTheTwo(MSE):
    """d/dp (p - y)^2 forgetting its factor 2."""

    def _backward(self):
        return super()._backward() / 2


def x64(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_relative_error_values():
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(2**0.5)
    assert relative_error(np.array([2.0]), np.array([1.0])) == pytest.approx(0.5)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # Below atol both gradients count as zero; above it the ratio is taken as usual.
    assert relative_error(np.array([1e-10]), np.array([-1e-10]), atol=1e-8) == 0.0
    assert relative_error(np.array([1e-10]), np.array([-1e-10])) == pytest.approx(2.0)


def test_numerical_gradient_of_a_cubic_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_correct_layer_gradients_pass_with_every_array_reported():
    errors = gradcheck(Dense(3, 2, dtype=np.float64, rng=np.random.default_rng(0)), x64(4, 3))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-7


def test_a_wrong_parameter_gradient_is_detected():
    layer = DenseWithWrongWeightGradient(3, 2, dtype=np.float64, rng=np.random.default_rng(0))
    errors = gradcheck(layer, x64(4, 3))
    assert errors["W"] > 1e-2                        # |1.5a - a| / 1.5|a| = 1/3
    assert errors["W"] == pytest.approx(1 / 3, rel=1e-6)
    assert errors["x"] < 1e-7 and errors["b"] < 1e-7  # and only W is blamed


def test_a_wrong_input_gradient_is_detected():
    assert gradcheck(SigmoidMissingOneMinusS(), x64(4, 3))["x"] > 1e-2


def test_a_wrong_gradient_inside_a_model_is_detected_and_located():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(3, 4, dtype=np.float64, rng=rng), SigmoidMissingOneMinusS(),
                        Dense(4, 2, dtype=np.float64, rng=rng)])
    errors = gradcheck(model, x64(5, 3), np.array([0, 1, 1, 0, 1]), loss=SoftmaxCrossEntropy())
    assert errors["x"] > 1e-2 and errors["0.W"] > 1e-2          # below the bug: wrong
    assert errors["2.W"] < 1e-7 and errors["2.b"] < 1e-7        # above the bug: still right


def test_a_wrong_loss_gradient_is_detected():
    assert gradcheck(MSEWithoutTheTwo(), x64(4, 2), x64(4, 2, seed=1))["prediction"] > 1e-2


def test_model_gradcheck_reports_every_parameter_by_name():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(3, 4, dtype=np.float64, rng=rng), Tanh(),
                        Dense(4, 2, dtype=np.float64, rng=rng)])
    errors = gradcheck(model, x64(5, 3), x64(5, 2, seed=1), loss=MSE())
    assert set(errors) == {"x", "0.W", "0.b", "2.W", "2.b"}
    assert max(errors.values()) < 1e-7


def test_dropout_masks_are_replayed_so_a_random_layer_passes():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    assert gradcheck(layer, x64(6, 4))["x"] < 1e-7


def test_gradcheck_input_must_be_float64():
    with pytest.raises(TypeError, match="gradcheck input must have dtype float64, got float32"):
        gradcheck(Tanh(), np.ones((2, 2), np.float32))


def test_gradcheck_refuses_other_objects():
    with pytest.raises(TypeError, match="gradcheck takes a Layer, Sequential or Loss, got "
                                        "function"):
        gradcheck(lambda x: x, np.ones((2, 2)))


def test_gradcheck_leaves_the_input_array_alone():
    x = x64(3, 2)
    before = x.copy()
    gradcheck(Tanh(), x)
    np.testing.assert_array_equal(x, before)


# -- issue 6, item 5: non-contiguous arrays ---------------------------------------------

@pytest.mark.parametrize("view", [lambda a: a.T, lambda a: a[:, :3], lambda a: a[::2]],
                         ids=["transpose", "column_slice", "row_step"])
def test_numerical_gradient_perturbs_non_contiguous_views(view):
    base = np.random.default_rng(0).standard_normal((4, 5))
    x = view(base)
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_refuses_arrays_it_cannot_perturb():
    with pytest.raises(TypeError, match="x must be a floating-point numpy.ndarray, got int64"):
        numerical_gradient(lambda: 0.0, np.arange(3))
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        numerical_gradient(lambda: 0.0, frozen)


# -- issue 6, item 9: gradcheck leaves buffers and generators as they were --------------

@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_restores_batchnorm_running_statistics(training):
    bn = BatchNorm(3, dtype=np.float64)
    bn.buffers["running_mean"][...] = [0.5, -1.0, 2.0]
    before = {k: v.copy() for k, v in bn.buffers.items()}
    model = Sequential([Dense(2, 3, dtype=np.float64, rng=np.random.default_rng(0)), bn])
    for obj in (bn, model):
        x = x64(6, 3, seed=3) if obj is bn else x64(6, 2, seed=3)
        assert max(gradcheck(obj, x, training=training).values()) < 1e-6
        for key, value in bn.buffers.items():
            np.testing.assert_array_equal(value, before[key])


def test_gradcheck_restores_the_dropout_generator():
    rng = np.random.default_rng(5)
    layer = Dropout(0.5, rng=rng)
    state = rng.bit_generator.state
    gradcheck(layer, x64(4, 3))
    assert rng.bit_generator.state == state
