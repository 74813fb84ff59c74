"""dlfs.layers.Conv2D, MaxPool2D, AvgPool2D and dlfs.layers.im2col: values (by hand, by
explicit sums, against PyTorch), float64 gradient checks, bad input, save/load, summary."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfs import (AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, gradcheck,
                  load_model, save_model)
from dlfs.init import fan_in_fan_out, initialize
from dlfs.layers.im2col import col2im, conv_output_size, im2col

TOL = 1e-7
GRADCHECK = settings(max_examples=20, deadline=None)


def conv64(c_in, c_out, k, stride=1, padding=0, seed=0):
    layer = Conv2D(c_in, c_out, k, stride=stride, padding=padding, dtype=np.float64,
                   rng=np.random.default_rng(seed))
    layer.params["b"][...] = np.random.default_rng(seed + 1).standard_normal(c_out)
    return layer


def conv_by_sums(x, W, b, stride, padding):
    """The definition, with explicit loops (the reference for small shapes)."""
    n, c, h, w = x.shape
    c_out, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c_out, oh, ow))
    for i in range(n):
        for o in range(c_out):
            for p in range(oh):
                for q in range(ow):
                    patch = xp[i, :, p * stride:p * stride + kh, q * stride:q * stride + kw]
                    out[i, o, p, q] = np.sum(patch * W[o]) + b[o]
    return out


def test_forward_hand_computed():
    layer = Conv2D(1, 1, 2, dtype=np.float64)
    layer.params["W"][...] = [[[[1.0, 2.0], [0.0, -1.0]]]]
    layer.params["b"][...] = 0.5
    x = np.arange(9.0).reshape(1, 1, 3, 3)          # [[0 1 2] [3 4 5] [6 7 8]]
    # top-left: 0*1 + 1*2 + 3*0 + 4*(-1) + 0.5 = -1.5; the kernel sums to 2, so a step
    # right (every pixel + 1) adds 2 and a step down (every pixel + 3) adds 6
    np.testing.assert_array_equal(layer.forward(x), [[[[-1.5, 0.5], [4.5, 6.5]]]])


def random_geometry(draw_h, k, stride, padding):
    """An input size for which (h + 2p - k) / s is a non-negative integer."""
    return k - 2 * padding + stride * draw_h if k - 2 * padding + stride * draw_h > 0 else None


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
       steps=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_forward_equals_the_definition(n, c_in, c_out, k, stride, padding, steps, seed):
    h = k - 2 * padding + stride * steps
    if h < 1:
        h += stride * ((1 - h) // stride + 1)
    layer = conv64(c_in, c_out, k, stride, padding, seed)
    x = np.random.default_rng([seed, 1]).standard_normal((n, c_in, h, h + stride))
    expected = conv_by_sums(x, layer.params["W"], layer.params["b"], stride, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@GRADCHECK
@given(n=st.integers(1, 3), c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), steps=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_conv_gradients_match_finite_differences(n, c_in, c_out, kh, kw, stride, padding,
                                                steps, seed):
    h = max(kh, 1 + 2 * padding) - 2 * padding + stride * (steps + 1)
    w = max(kw, 1 + 2 * padding) - 2 * padding + stride * steps
    h += (kh - h - 2 * padding) % stride       # make (h + 2p - kh) divisible by the stride
    w += (kw - w - 2 * padding) % stride
    layer = Conv2D(c_in, c_out, (kh, kw), stride=stride, padding=padding, dtype=np.float64,
                   rng=np.random.default_rng(seed))
    x = np.random.default_rng([seed, 1]).standard_normal((n, c_in, h, w))
    errors = gradcheck(layer, x)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < TOL, errors


def distinct_values(shape, seed):
    """Inputs with all entries at least 1e-3 apart: max pooling has no ties, and a
    finite-difference step of 1e-6 never changes which entry is the maximum."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) * 1e-3 + rng.uniform(0, 1e-4)


@GRADCHECK
@given(n=st.integers(1, 3), c=st.integers(1, 3), k=st.integers(1, 3), stride=st.integers(1, 3),
       steps=st.integers(0, 3), seed=st.integers(0, 2**32 - 1), kind=st.sampled_from("ma"))
def test_pool_gradients_match_finite_differences(n, c, k, stride, steps, seed, kind):
    h = k + stride * steps
    layer = MaxPool2D(k, stride=stride) if kind == "m" else AvgPool2D(k, stride=stride)
    x = distinct_values((n, c, h, h + stride), seed)
    errors = gradcheck(layer, x)
    assert errors["x"] < TOL, errors


def test_maxpool_routes_the_gradient_to_the_argmax_and_avgpool_spreads_it():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0],
                    [3.0, 4.0, 7.0, 1.0]]]])
    mp, ap = MaxPool2D(2), AvgPool2D(2)
    np.testing.assert_array_equal(mp.forward(x), [[[[5.0, 7.0]]]])
    np.testing.assert_array_equal(ap.forward(x), [[[[13 / 4, 10 / 4]]]])
    g = np.array([[[[10.0, 20.0]]]])
    np.testing.assert_array_equal(mp.backward(g), [[[[0, 10, 0, 0], [0, 0, 20, 0]]]])
    np.testing.assert_array_equal(ap.backward(g), [[[[2.5, 2.5, 5, 5], [2.5, 2.5, 5, 5]]]])


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_only():
    mp = MaxPool2D(2)
    mp.forward(np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(mp.backward(np.ones((1, 1, 1, 1))), [[[[1, 0], [0, 0]]]])


def test_overlapping_maxpool_adds_gradients_of_shared_entries():
    mp = MaxPool2D(2, stride=1)
    x = np.array([[[[0.0, 0.1, 0.2], [0.3, 9.0, 0.4], [0.5, 0.6, 0.7]]]])
    np.testing.assert_array_equal(mp.forward(x), np.full((1, 1, 2, 2), 9.0))
    assert mp.backward(np.ones((1, 1, 2, 2)))[0, 0, 1, 1] == 4.0


@pytest.mark.parametrize("k,stride,padding,h", [(3, 1, 0, 7), (3, 2, 1, 9), (5, 1, 2, 8),
                                                (2, 2, 0, 6), (1, 3, 0, 7), (4, 3, 2, 9)])
def test_im2col_col2im_are_adjoint(k, stride, padding, h):
    """<im2col(x), c> = <x, col2im(c)> for random x and c: col2im is the transpose."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, h + stride))
    cols = im2col(x, k, k, stride, padding)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, k, k, stride, padding)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_output_size_formula():
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(28, 5, 1, 2) == 28
    assert conv_output_size(7, 3, 2, 1) == 4
    assert conv_output_size(3, 3, 5, 0) == 1
    # a remainder is dropped when the uncovered rows are padding only (as PyTorch floors)
    assert conv_output_size(16, 3, 2, 1) == 8       # 15 / 2: the last padded row is unused
    assert conv_output_size(11, 3, 3, 1) == 4       # remainder 1 <= padding 1
    assert conv_output_size(12, 3, 3, 2) == 5       # remainder 2 <= padding 2


def test_a_remainder_that_includes_input_rows_is_refused():
    with pytest.raises(ValueError, match=r"\(12 \+ 2\*1 - 3\) / 3 \+ 1 = 4.66667 is not an "
                                         r"integer, and the last 2 padded row\(s\), which no "
                                         r"kernel position covers, include 1 row\(s\) of the "
                                         r"input itself"):
        conv_output_size(12, 3, 3, 1)


@pytest.mark.parametrize("layer", [Conv2D(1, 2, 3), MaxPool2D(2), AvgPool2D(1)])
@pytest.mark.parametrize("shape", [(2, 1, 0, 4), (2, 1, 4, 0)])
def test_an_empty_spatial_axis_is_refused(layer, shape):
    with pytest.raises(ValueError, match=r"is empty \(0 rows\)"):
        layer.forward(np.zeros(shape, np.float32))


@pytest.mark.parametrize("k,stride,padding,h,w", [(3, 2, 1, 16, 16), (3, 3, 1, 11, 10),
                                                  (5, 2, 2, 8, 9), (1, 2, 1, 1, 4)])
def test_floored_geometries_match_the_definition_and_pass_the_gradient_check(
        k, stride, padding, h, w):
    """Geometries whose dropped rows are padding: forward by explicit sums, and every
    gradient (including the zero gradient of the uncovered padding) by finite differences."""
    layer = conv64(2, 3, k, stride, padding, seed=k + h)
    x = np.random.default_rng(h).standard_normal((2, 2, h, w))
    expected = conv_by_sums(x, layer.params["W"], layer.params["b"], stride, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    errors = gradcheck(layer, x)
    assert max(errors.values()) < TOL, errors


def test_weight_gradient_lands_in_a_non_contiguous_gradient_array():
    """backward writes dW in place even if grads["W"] is not C-contiguous (code review B18)."""
    reference, layer = conv64(2, 3, 3, 1, 1), conv64(2, 3, 3, 1, 1)
    layer.grads["W"] = np.asfortranarray(layer.grads["W"])
    assert not layer.grads["W"].flags.c_contiguous
    x = np.random.default_rng(5).standard_normal((2, 2, 5, 5))
    g = np.random.default_rng(6).standard_normal((2, 3, 5, 5))
    for lay in (reference, layer):
        lay.forward(x)
        lay.backward(g)
    np.testing.assert_array_equal(layer.grads["W"], reference.grads["W"])
    assert np.abs(layer.grads["W"]).max() > 0


# -- against PyTorch (in float64) -----------------------------------------------------------
# Only these tests need torch; they import it themselves, so the others run without it.
# In CI (CI=1) a missing torch is a failure, not a skip.

def import_torch():
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        import torch
        return torch
    return pytest.importorskip("torch", reason="the PyTorch comparisons need torch")


@settings(max_examples=15, deadline=None)
@given(c_in=st.integers(1, 4), c_out=st.integers(1, 4), k=st.integers(1, 5),
       stride=st.integers(1, 3), padding=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_conv_matches_pytorch_forward_and_backward(c_in, c_out, k, stride, padding, seed):
    torch = import_torch()
    F = torch.nn.functional
    h = k + stride * 3 - 2 * padding
    if h < 1:
        h += stride * ((1 - h) // stride + 1)
    rng = np.random.default_rng(seed)
    layer = conv64(c_in, c_out, k, stride, padding, seed)
    x = rng.standard_normal((3, c_in, h, h))
    out = layer.forward(x)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(layer.params["W"], requires_grad=True)
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    ot = F.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    ot.backward(torch.tensor(g))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,stride,padding,h", [(3, 1, 1, 6), (3, 2, 1, 7), (3, 2, 1, 8),
                                                (4, 2, 1, 8), (5, 3, 2, 12), (2, 3, 0, 8)])
def test_input_gradient_is_pytorchs_transposed_convolution(k, stride, padding, h):
    """dX = conv_transpose2d(G, W): the input gradient *is* the transposed convolution; for a
    floored geometry the dropped padding rows come back as PyTorch's output_padding."""
    torch = import_torch()
    F = torch.nn.functional
    layer = conv64(3, 4, k, stride, padding, seed=h)
    x = np.random.default_rng(h).standard_normal((2, 3, h, h + stride))
    out = layer.forward(x)
    g = np.random.default_rng(h + 1).standard_normal(out.shape)
    dx = layer.backward(g)
    extra = [(n + 2 * padding - k) % stride for n in x.shape[2:]]
    expected = F.conv_transpose2d(torch.tensor(g), torch.tensor(layer.params["W"]),
                                  stride=stride, padding=padding, output_padding=tuple(extra))
    np.testing.assert_allclose(dx, expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,stride,padding,h", [(3, 2, 1, 16), (3, 3, 1, 11), (1, 2, 1, 1)])
def test_floored_geometries_match_pytorch(k, stride, padding, h):
    torch = import_torch()
    F = torch.nn.functional
    layer = conv64(2, 3, k, stride, padding, seed=h)
    x = np.random.default_rng(h).standard_normal((2, 2, h, h + 2))
    out = layer.forward(x)
    ot = F.conv2d(torch.tensor(x), torch.tensor(layer.params["W"]),
                  torch.tensor(layer.params["b"]), stride=stride, padding=padding)
    np.testing.assert_allclose(out, ot.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,stride", [(2, 2), (3, 1), (3, 2)])
def test_pooling_matches_pytorch(kind, k, stride):
    torch = import_torch()
    F = torch.nn.functional
    x = distinct_values((2, 3, k + 3 * stride, k + 2 * stride), 0)
    layer = MaxPool2D(k, stride=stride) if kind == "max" else AvgPool2D(k, stride=stride)
    out = layer.forward(x)
    g = np.random.default_rng(1).standard_normal(out.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    ot = pool(xt, k, stride)
    ot.backward(torch.tensor(g))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_float32_fast_path_stays_float32_and_agrees_with_float64():
    layer64 = conv64(3, 4, 3, 1, 1)
    layer32 = Conv2D(3, 4, 3, padding=1, rng=np.random.default_rng(0))
    for key in ("W", "b"):
        layer32.params[key][...] = layer64.params[key]
    x = np.random.default_rng(2).standard_normal((4, 3, 6, 6))
    out32 = layer32.forward(x.astype(np.float32))
    dx32 = layer32.backward(np.ones_like(out32))
    assert out32.dtype == dx32.dtype == layer32.grads["W"].dtype == np.float32
    out64 = layer64.forward(x)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx32, layer64.backward(np.ones_like(out64)), rtol=1e-4, atol=1e-4)


# -- initialisation ----------------------------------------------------------------------------
def test_kernel_fans_follow_pytorch_and_keras():
    assert fan_in_fan_out((16, 3, 5, 5)) == (75, 400)
    assert fan_in_fan_out((784, 10)) == (784, 10)


def test_he_init_of_a_kernel_uses_fan_in_c_in_kh_kw():
    W = initialize("he", (64, 8, 5, 5), np.random.default_rng(0), np.float64)
    assert W.shape == (64, 8, 5, 5)
    assert abs(W.std() / np.sqrt(2 / 200) - 1) < 0.05
    W = initialize("xavier_uniform", (64, 8, 5, 5), np.random.default_rng(0))
    assert abs(W.max() / np.sqrt(6 / (200 + 1600)) - 1) < 0.01


# -- bad input ---------------------------------------------------------------------------------
def test_wrong_rank_is_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"Conv2D input must have 4 dimensions, got shape "
                                         r"\(2, 784\)"):
        Conv2D(1, 2, 3).forward(np.zeros((2, 784), np.float32))
    with pytest.raises(ValueError, match=r"MaxPool2D input must have 4 dimensions, got shape "
                                         r"\(2, 8, 8\)"):
        MaxPool2D(2).forward(np.zeros((2, 8, 8), np.float32))


def test_channel_mismatch_is_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"Conv2D expects samples of shape \(3, H, W\), "
                                         r"got \(1, 8, 8\)"):
        Conv2D(3, 2, 3).forward(np.zeros((2, 1, 8, 8), np.float32))


def test_kernel_larger_than_the_padded_input_is_refused():
    with pytest.raises(ValueError, match=r"kernel size 5 is larger than the padded input "
                                         r"height 4 \(2 \+ 2\*1\)"):
        Conv2D(1, 1, 5, padding=1).forward(np.zeros((1, 1, 2, 9), np.float32))
    with pytest.raises(ValueError, match=r"kernel size 3 is larger than the padded input "
                                         r"width 2"):
        MaxPool2D(3, stride=1).forward(np.zeros((1, 1, 4, 2), np.float32))


def test_non_integer_output_size_is_refused():
    with pytest.raises(ValueError, match=r"output size \(7 \+ 2\*0 - 2\) / 2 \+ 1 = 3.5 is not "
                                         r"an integer"):
        MaxPool2D(2).forward(np.zeros((1, 1, 7, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(8 \+ 2\*0 - 3\) / 2 \+ 1 = 3.5"):
        Conv2D(1, 1, 3, stride=2).forward(np.zeros((1, 1, 9, 8), np.float32))


@pytest.mark.parametrize("kwargs", [{"stride": 0}, {"padding": -1}, {"kernel_size": 0},
                                    {"kernel_size": (3, 3, 3)}, {"stride": 1.5}])
def test_bad_hyperparameters_are_refused(kwargs):
    args = {"in_channels": 1, "out_channels": 1, "kernel_size": 3, **kwargs}
    with pytest.raises((ValueError, TypeError)):
        Conv2D(**args)


def test_output_shape_checks_channels():
    with pytest.raises(ValueError, match=r"expects samples of shape \(2, H, W\), "
                                         r"got \(3, 8, 8\)"):
        Conv2D(2, 4, 3).output_shape((3, 8, 8))


# -- models: summary and save/load ---------------------------------------------------------------
def small_cnn(dtype=np.float32):
    rng = np.random.default_rng(0)
    return Sequential([Conv2D(1, 4, 3, padding=1, dtype=dtype, rng=rng), ReLU(), MaxPool2D(2),
                       Conv2D(4, 6, 4, stride=2, padding=1, dtype=dtype, rng=rng), ReLU(),
                       AvgPool2D(2), Flatten(), Dense(6, 3, dtype=dtype, rng=rng)])


def test_summary_lists_shapes_and_parameter_counts():
    text = small_cnn().summary((1, 8, 8))
    assert "(4, 8, 8)" in text and "(4, 4, 4)" in text and "(6, 2, 2)" in text
    assert "(6, 1, 1)" in text and "(6,)" in text
    total = (4 * 9 + 4) + (6 * 4 * 16 + 6) + (6 * 3 + 3)
    assert text.splitlines()[-1].split()[-1] == f"{total:,}"
    assert "Conv2D(1, 4, 3, padding=1)" in text and "Conv2D(4, 6, 4, stride=2, padding=1)" in text


def test_a_cnn_survives_save_and_load(tmp_path):
    model = small_cnn()
    x = np.random.default_rng(3).standard_normal((5, 1, 8, 8)).astype(np.float32)
    path = save_model(model, tmp_path / "cnn.npz")
    loaded = load_model(path)
    assert loaded.architecture() == model.architecture()
    np.testing.assert_array_equal(loaded.forward(x, training=False),
                                  model.forward(x, training=False))


def test_a_whole_cnn_passes_the_gradient_check():
    model = small_cnn(np.float64)
    x = np.random.default_rng(4).standard_normal((2, 1, 8, 8))
    errors = gradcheck(model, x)
    assert max(errors.values()) < TOL, errors
