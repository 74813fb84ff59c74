"""dlfs.layers.Flatten: (n, d1, d2, ...) -> (n, d1*d2*...) and back."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlfs import Flatten, gradcheck

TOL = 1e-7


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, array_shapes(min_dims=2, max_dims=4, max_side=4),
              elements=st.floats(-3, 3, allow_subnormal=False)))
def test_gradient_matches_finite_differences(x):
    assert gradcheck(Flatten(), x)["x"] < TOL


@given(array_shapes(min_dims=2, max_dims=5, max_side=4))
def test_forward_backward_round_trip(shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    layer = Flatten()
    flat = layer.forward(x)
    assert flat.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(flat, x.reshape(shape[0], -1))   # row-major, sample by sample
    back = layer.backward(flat)
    assert back.shape == shape
    np.testing.assert_array_equal(back, x)


def test_images_become_vectors_in_row_major_order():
    x = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3)
    np.testing.assert_array_equal(Flatten().forward(x), [[0, 1, 2, 3, 4, 5],
                                                         [6, 7, 8, 9, 10, 11]])


def test_output_shape_of_one_sample():
    assert Flatten().output_shape((28, 28)) == (784,)
    assert Flatten().output_shape((3, 4, 5)) == (60,)


def test_1d_input_is_refused():
    with pytest.raises(ValueError, match=r"Flatten input must have at least 2 dimensions"):
        Flatten().forward(np.ones(4))


@pytest.mark.parametrize("shape", [(0, 1, 28, 28), (0, 3), (0, 2, 0)])
def test_zero_samples_flatten_and_come_back(shape):
    """Issue 6, item 19: x.reshape(0, -1) cannot infer the -1; the layer must not use it."""
    layer = Flatten()
    out = layer.forward(np.zeros(shape, np.float32))
    assert out.shape == (0, int(np.prod(shape[1:])))
    assert layer.backward(out).shape == shape
