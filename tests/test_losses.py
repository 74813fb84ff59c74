"""dlfs.losses: values against direct formulas, gradients against finite differences,
stability at extreme inputs, and clear errors for bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlfs import activations as F
from dlfs import gradcheck
from dlfs.losses import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy

TOL = 1e-7
GRADCHECK = settings(max_examples=25, deadline=None)
STRICT = dict(over="raise", divide="raise", invalid="raise")   # see test_activations.py


def floats_in(lo, hi):
    return st.floats(lo, hi, allow_subnormal=False)


@st.composite
def regression_pairs(draw):
    """(prediction, target) of equal shape (n,) or (n, k), float64."""
    shape = draw(st.sampled_from([(draw(st.integers(1, 6)),),
                                  (draw(st.integers(1, 6)), draw(st.integers(1, 4)))]))
    pred = draw(arrays(np.float64, shape, elements=floats_in(-5, 5)))
    return pred, draw(arrays(np.float64, shape, elements=floats_in(-5, 5)))


@st.composite
def binary_pairs(draw, lo, hi, soft=True):
    """(prediction in [lo, hi], target) of shape (n,) or (n, 1), float64; targets in [0, 1]
    (soft) or in {0, 1}."""
    n = draw(st.integers(1, 8))
    shape = draw(st.sampled_from([(n,), (n, 1)]))
    pred = draw(arrays(np.float64, shape, elements=floats_in(lo, hi)))
    targets = floats_in(0, 1) if soft else st.sampled_from([0.0, 1.0])
    return pred, draw(arrays(np.float64, shape, elements=targets))


@st.composite
def logits_and_labels(draw, lo=-5.0, hi=5.0):
    """Float64 logits of shape (n, k) in [lo, hi] and int labels of shape (n,)."""
    n, k = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    z = draw(arrays(np.float64, (n, k), elements=floats_in(lo, hi)))
    return z, draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))


def one_hot(labels, k, dtype=np.float64):
    return np.eye(k, dtype=dtype)[labels]


def bce_reference(p, y):
    """-mean(y log p + (1 - y) log(1 - p)), straight from the definition."""
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


# -- values ----------------------------------------------------------------------------

def test_mse_hand_value_and_gradient():
    pred, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])
    loss = MSE()
    assert loss(pred, target) == pytest.approx((0 + 4 + 9 + 16) / 4)
    np.testing.assert_allclose(loss.backward(), 2 * (pred - target) / 4)


@given(regression_pairs())
def test_mse_equals_mean_squared_difference(pair):
    pred, target = pair
    assert MSE().forward(pred, target) == pytest.approx(np.mean((pred - target) ** 2),
                                                        rel=1e-12)


def test_bce_hand_value():
    p, y = np.array([0.8, 0.4]), np.array([1.0, 0.0])
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    assert BinaryCrossEntropy().forward(p, y) == pytest.approx(expected, rel=1e-14)


@given(binary_pairs(0.01, 0.99))
def test_bce_from_probabilities_equals_the_definition(pair):
    p, y = pair
    assert BinaryCrossEntropy().forward(p, y) == pytest.approx(bce_reference(p, y), rel=1e-12)


@given(binary_pairs(-15, 15))
def test_bce_from_logits_equals_bce_of_sigmoid_probabilities_for_moderate_logits(pair):
    z, y = pair
    from_logits = BinaryCrossEntropy(from_logits=True).forward(z, y)
    via_probs = bce_reference(1 / (1 + np.exp(-z)), y)
    assert from_logits == pytest.approx(via_probs, rel=1e-9, abs=1e-12)


@given(logits_and_labels())
def test_softmax_cross_entropy_equals_minus_mean_log_softmax_of_true_class(pair):
    z, y = pair
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)                 # naive is fine here
    expected = -np.mean(np.log(p[np.arange(len(y)), y]))
    assert SoftmaxCrossEntropy().forward(z, y) == pytest.approx(expected, rel=1e-10)


@given(logits_and_labels())
def test_softmax_cross_entropy_int_labels_and_one_hot_agree(pair):
    z, y = pair
    by_label, by_one_hot = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert by_label.forward(z, y) == pytest.approx(by_one_hot.forward(z, one_hot(y, z.shape[1])),
                                                   rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(by_label.backward(), by_one_hot.backward(), atol=1e-15)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    z, y = np.array([[0.0, np.log(3.0)], [0.0, 0.0]]), np.array([1, 0])
    loss = SoftmaxCrossEntropy()
    loss.forward(z, y)
    np.testing.assert_allclose(loss.backward(), [[0.25 / 2, -0.25 / 2], [-0.5 / 2, 0.5 / 2]])


def test_soft_labels_are_accepted_by_softmax_cross_entropy():
    z, soft = np.array([[1.0, 2.0, 3.0]]), np.array([[0.2, 0.3, 0.5]])
    expected = -np.sum(soft * F.log_softmax(z))
    assert SoftmaxCrossEntropy().forward(z, soft) == pytest.approx(expected, rel=1e-14)


def test_predict_labels():
    np.testing.assert_array_equal(
        SoftmaxCrossEntropy.predict_labels(np.array([[0.1, 2.0], [3.0, -1.0]])), [1, 0])
    np.testing.assert_array_equal(
        BinaryCrossEntropy().predict_labels(np.array([[0.7], [0.2], [0.5]])), [1, 0, 0])
    labels = BinaryCrossEntropy(from_logits=True).predict_labels(np.array([0.3, -2.0]))
    np.testing.assert_array_equal(labels, [1, 0])
    assert labels.dtype == np.int64


# -- gradients against finite differences (float64) ----------------------------------
#
# What a finite difference can confirm is limited by rounding: with h = 1e-6 its error is
# about 1e-10 times the size of the numbers the loss adds up.  Two kinds of input make the
# true gradient that small, and are kept out of the random draws below:
# * soft targets equal to the prediction (BCE's gradient is p - y): the gradchecks use hard
#   labels, and soft labels get a fixed example where p and y are far apart;
# * logits beyond ~+-3, where softmax saturates: the gradient of a confidently right row
#   shrinks like e^(-2|z|) while log_softmax = z - logsumexp(z) loses ~eps * |z|.

@GRADCHECK
@given(regression_pairs())
def test_mse_gradient_matches_finite_differences(pair):
    pred, target = pair
    assert gradcheck(MSE(), pred, target)["prediction"] < TOL


@GRADCHECK
@given(binary_pairs(0.05, 0.95, soft=False))
def test_bce_from_probabilities_gradient_matches_finite_differences(pair):
    p, y = pair
    assert gradcheck(BinaryCrossEntropy(), p, y)["prediction"] < TOL


@GRADCHECK
@given(binary_pairs(-6, 6, soft=False))
def test_bce_from_logits_gradient_matches_finite_differences(pair):
    z, y = pair
    assert gradcheck(BinaryCrossEntropy(from_logits=True), z, y)["prediction"] < TOL


@pytest.mark.parametrize("from_logits, pred", [(False, np.array([[0.1], [0.8], [0.45]])),
                                               (True, np.array([[-2.0], [1.5], [0.3]]))])
def test_bce_gradient_with_soft_targets_matches_finite_differences(from_logits, pred):
    soft = np.array([[0.7], [0.2], [0.9]])
    loss = BinaryCrossEntropy(from_logits=from_logits)
    assert gradcheck(loss, pred, soft)["prediction"] < TOL


@GRADCHECK
@given(logits_and_labels(-2, 2))
def test_softmax_cross_entropy_int_labels_gradient_matches_finite_differences(pair):
    z, y = pair
    assert gradcheck(SoftmaxCrossEntropy(), z, y)["prediction"] < TOL


@GRADCHECK
@given(logits_and_labels(-2, 2))
def test_softmax_cross_entropy_one_hot_gradient_matches_finite_differences(pair):
    z, y = pair
    assert gradcheck(SoftmaxCrossEntropy(), z, one_hot(y, z.shape[1]))["prediction"] < TOL


def test_softmax_cross_entropy_gradient_with_soft_targets_matches_finite_differences():
    z = np.array([[1.0, -0.5, 0.2], [0.3, 0.3, -1.0]])
    soft = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    assert gradcheck(SoftmaxCrossEntropy(), z, soft)["prediction"] < TOL


# -- dtypes ----------------------------------------------------------------------------

CASES = {
    "mse": (MSE, np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])),
    "bce": (BinaryCrossEntropy, np.array([[0.2], [0.9]]), np.array([[0.0], [1.0]])),
    "bce_logits": (lambda: BinaryCrossEntropy(from_logits=True), np.array([-1.0, 3.0]),
                   np.array([0.0, 1.0])),
    "softmax_ce_labels": (SoftmaxCrossEntropy, np.array([[1.0, 2.0], [0.5, -1.0]]),
                          np.array([1, 0])),
    "softmax_ce_one_hot": (SoftmaxCrossEntropy, np.array([[1.0, 2.0], [0.5, -1.0]]),
                           np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_prediction_gives_python_float_loss_and_float32_gradient(case):
    make, pred, target = CASES[case]
    loss = make()
    value = loss.forward(pred.astype(np.float32), target)
    assert type(value) is float and np.isfinite(value)
    grad = loss.backward()
    assert grad.dtype == np.float32
    assert grad.shape == pred.shape


# -- numerical stability ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_exact_and_finite_at_logits_1e4(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    loss = SoftmaxCrossEntropy()
    with np.errstate(**STRICT):
        value = loss.forward(z, np.array([0, 0]))       # right, then confidently wrong
        grad = loss.backward()
    assert value == pytest.approx((0.0 + 2e4) / 2)
    np.testing.assert_allclose(grad, [[0.0, 0.0], [-0.5, 0.5]], atol=1e-7)
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_from_logits_is_exact_and_finite_at_logits_1e4(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0])                  # two wrong, two right
    loss = BinaryCrossEntropy(from_logits=True)
    with np.errstate(**STRICT):
        value = loss.forward(z, y)
        grad = loss.backward()
    assert value == pytest.approx((1e4 + 1e4 + 0 + 0) / 4)
    np.testing.assert_array_equal(grad, np.array([1, -1, 0, 0], dtype=dtype) / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_from_probabilities_clips_p_0_and_1_to_a_large_finite_loss(dtype):
    p = np.array([0.0, 1.0], dtype=dtype)
    loss = BinaryCrossEntropy()
    with np.errstate(**STRICT):
        wrong = loss.forward(p, np.array([1.0, 0.0]))
        wrong_grad = loss.backward()
        right = loss.forward(p, np.array([0.0, 1.0]))
        right_grad = loss.backward()
    eps = np.finfo(dtype).eps
    assert wrong == pytest.approx(-np.log(eps), rel=1e-6)          # 36.0 in float64
    assert 0 <= right < 10 * eps
    assert np.all(np.isfinite(wrong_grad)) and np.all(np.isfinite(right_grad))
    assert wrong_grad[0] < 0 < wrong_grad[1]        # gradient still points the right way
    assert wrong_grad.dtype == right_grad.dtype == dtype


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy(),
                                  BinaryCrossEntropy(from_logits=True)], ids=repr)
def test_column_target_for_vector_prediction_is_refused_not_broadcast(loss):
    pred = np.array([0.2, 0.4, 0.6])
    with pytest.raises(ValueError, match=r"target shape \(3, 1\) does not match "
                                         r"prediction shape \(3,\)"):
        loss.forward(pred, pred.reshape(3, 1))
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match "
                                         r"prediction shape \(3, 1\)"):
        loss.forward(pred.reshape(3, 1), pred)


def test_bce_refuses_probabilities_outside_0_1():
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]; "
                                         r"pass from_logits=True"):
        BinaryCrossEntropy().forward(np.array([0.5, 1.2]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        BinaryCrossEntropy().forward(np.array([-0.1, 0.5]), np.array([0.0, 1.0]))


def test_bce_refuses_targets_outside_0_1():
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy targets must lie in \[0, 1\]"):
        BinaryCrossEntropy(from_logits=True).forward(np.array([0.5, 1.2]), np.array([0.0, 2.0]))


def test_bce_refuses_multi_column_predictions():
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 1\), got \(2, 2\); "
                                         r"use SoftmaxCrossEntropy"):
        BinaryCrossEntropy().forward(np.full((2, 2), 0.5), np.zeros((2, 2)))


def test_bce_from_logits_must_be_a_bool():
    with pytest.raises(TypeError, match="from_logits must be True or False, got 'yes'"):
        BinaryCrossEntropy(from_logits="yes")


@pytest.mark.parametrize("labels, message", [
    (np.array([0, 3]), r"labels must lie in \[0, 3\), got values from 0 to 3"),
    (np.array([-1, 0]), r"labels must lie in \[0, 3\), got values from -1 to 0"),
    (np.array([0, 1, 2]), r"got 3 labels for 2 rows of logits"),
])
def test_softmax_cross_entropy_refuses_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), labels)


def test_softmax_cross_entropy_refuses_non_integer_labels():
    with pytest.raises(TypeError, match="must hold integer class labels, got dtype float64"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_softmax_cross_entropy_refuses_one_hot_rows_that_are_not_distributions():
    with pytest.raises(ValueError, match="non-negative rows summing to 1"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([[1.0, 1.0, 0], [0, 0, 1.0]]))
    with pytest.raises(ValueError, match=r"target shape \(2, 2\) does not match "
                                         r"prediction shape \(2, 3\)"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.eye(2))


def test_softmax_cross_entropy_needs_2d_logits():
    with pytest.raises(ValueError, match=r"logits must have 2 dimensions, got shape \(3,\)"):
        SoftmaxCrossEntropy().forward(np.zeros(3), np.array([0, 1, 2]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("case", sorted(CASES))
def test_nan_or_inf_predictions_are_refused(case, bad):
    make, pred, target = CASES[case]
    pred = pred.copy()
    pred.flat[0] = bad
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        make().forward(pred, target)


@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy(from_logits=True)], ids=repr)
def test_nan_targets_are_refused(loss):
    with pytest.raises(ValueError, match="target contains NaN or infinity"):
        loss.forward(np.array([0.5, 0.5]), np.array([0.0, np.nan]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_lists_are_refused(case):
    make, pred, target = CASES[case]
    with pytest.raises(TypeError, match="must be a numpy.ndarray, got list"):
        make().forward(pred.tolist(), target)


def test_list_target_is_refused():
    with pytest.raises(TypeError, match="MSE target must be a numpy.ndarray, got list"):
        MSE().forward(np.array([0.5, 0.5]), [0.0, 1.0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_before_forward_is_an_error(case):
    make = CASES[case][0]
    loss = make()
    with pytest.raises(RuntimeError, match=r"\w+\.backward called before forward"):
        loss.backward()


# -- accuracy with soft targets (issue 6, item 7) ---------------------------------------

def test_bce_target_labels_threshold_soft_targets_at_one_half():
    y = np.array([[0.1], [0.9], [0.0], [1.0], [0.5], [0.51]])
    np.testing.assert_array_equal(BinaryCrossEntropy.target_labels(y), [0, 1, 0, 1, 0, 1])


def test_a_perfect_model_scores_accuracy_1_with_soft_bce_targets():
    from dlfs import Dense, Sequential, Sigmoid, evaluate

    X = np.array([[-2.0], [-1.0], [1.0], [2.0]], dtype=np.float32)
    y = np.array([[0.1], [0.1], [0.9], [0.9]], dtype=np.float32)     # label smoothing
    model = Sequential([Dense(1, 1)])
    model.layers[0].params["W"][...] = 5.0                           # logit = 5x: all right
    assert evaluate(model, BinaryCrossEntropy(from_logits=True), X, y)[1] == 1.0
    probabilities = Sequential([Dense(1, 1), Sigmoid()])
    probabilities.layers[0].params["W"][...] = 5.0
    assert evaluate(probabilities, BinaryCrossEntropy(), X, y)[1] == 1.0


def test_softmax_target_labels_from_labels_and_one_hot_rows():
    labels = np.array([2, 0, 1])
    np.testing.assert_array_equal(SoftmaxCrossEntropy.target_labels(labels), labels)
    np.testing.assert_array_equal(SoftmaxCrossEntropy.target_labels(one_hot(labels, 3)), labels)


# -- empty batches (issue 6, item 18) ---------------------------------------------------

EMPTY = {
    "mse": (MSE(), np.zeros((0, 2)), np.zeros((0, 2))),
    "mse_vector": (MSE(), np.zeros(0), np.zeros(0)),
    "bce": (BinaryCrossEntropy(), np.zeros((0, 1)), np.zeros((0, 1))),
    "bce_logits": (BinaryCrossEntropy(from_logits=True), np.zeros(0), np.zeros(0)),
    "softmax_ce_labels": (SoftmaxCrossEntropy(), np.zeros((0, 3)), np.zeros(0, np.int64)),
    "softmax_ce_one_hot": (SoftmaxCrossEntropy(), np.zeros((0, 3)), np.zeros((0, 3))),
}


@pytest.mark.parametrize("case", sorted(EMPTY))
def test_an_empty_batch_is_refused_by_every_loss(case):
    loss, pred, target = EMPTY[case]
    name = type(loss).__name__
    with np.errstate(**STRICT):
        with pytest.raises(ValueError, match=rf"{name} got an empty batch \(0 samples\); "
                                             "a mean loss needs at least one sample"):
            loss.forward(pred, target)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        loss.backward()


def test_a_failed_forward_leaves_no_stale_gradient():
    loss = MSE()
    loss.forward(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError):
        loss.forward(np.zeros(0), np.zeros(0))
    with pytest.raises(RuntimeError, match=r"MSE\.backward called before forward"):
        loss.backward()


# -- the gradient is computed in backward, not in forward --------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_returns_a_fresh_gradient_each_call(case):
    make, pred, target = CASES[case]
    loss = make()
    loss.forward(pred, target)
    g1 = loss.backward()
    g1[...] = 0
    assert np.any(loss.backward() != 0)


def test_for_outputs_picks_bce_on_one_logit_and_softmax_ce_otherwise():
    from dlfs.losses import for_outputs

    one = for_outputs(1)
    assert isinstance(one, BinaryCrossEntropy) and one.from_logits
    assert isinstance(for_outputs(2), SoftmaxCrossEntropy)
    assert isinstance(for_outputs(10), SoftmaxCrossEntropy)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n_outputs must be > 0"):
            for_outputs(bad)
    with pytest.raises(TypeError, match="n_outputs must be an integer"):
        for_outputs(1.0)


@pytest.mark.parametrize("loss, shape, target", [
    (MSE(), (2, 3), np.zeros((2, 3), np.float16)),
    (SoftmaxCrossEntropy(), (2, 3), np.array([0, 1])),
    (BinaryCrossEntropy(from_logits=True), (2, 1), np.zeros((2, 1), np.float16))])
def test_float16_predictions_are_refused_as_layers_refuse_them(loss, shape, target):
    with pytest.raises(TypeError, match=r"prediction dtype must be float32 or float64, got "
                                        r"float16 \(float16 underflows"):
        loss.forward(np.zeros(shape, np.float16), target)


def test_mse_beyond_float32_is_infinite_with_numpys_warning():
    pred = np.full((2, 1), 1e20, np.float32)
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert MSE().forward(pred, np.zeros_like(pred)) == np.inf
    assert MSE().forward(pred.astype(np.float64), np.zeros((2, 1))) == pytest.approx(1e40)
