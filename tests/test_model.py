"""dlfs.model: Sequential (chaining, parameters, predict, summary, architecture) and mlp."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlfs import (SGD, BatchNorm, BinaryCrossEntropy, Dense, Dropout, Flatten, LeakyReLU, ReLU,
                  Sequential, SoftmaxCrossEntropy, Tanh, gradcheck, mlp)
from dlfs.layers import AvgPool2D, Conv2D, MaxPool2D
from dlfs.losses import MSE
from dlfs.model import as_written

TOL = 1e-7


# -- a whole model against finite differences ---------------------------------------

@st.composite
def model_and_batch(draw):
    """A float64 mlp with random depth, widths, activation, BatchNorm and Dropout, a batch
    of inputs, a loss and matching targets."""
    batchnorm, dropout = draw(st.booleans()), draw(st.sampled_from([0.0, 0.3]))
    # Hidden widths >= 2: a single weight's gradient is one sum that can cancel to ~0 by
    # chance.  BatchNorm also makes the Dense layer before it blind to the scale of each
    # weight column, so that column's gradient is orthogonal to it: with fan-in 2 that
    # leaves one direction, often nearly 0; hence >= 3 there.
    widths = st.integers(3 if batchnorm else 2, 4)
    sizes = draw(st.lists(widths, min_size=1, max_size=3)) + [draw(st.integers(1, 4))]
    kind = draw(st.sampled_from(["mse", "softmax_ce", "bce"]))
    sizes[-1] = {"mse": sizes[-1], "softmax_ce": max(sizes[-1], 2), "bce": 1}[kind]
    activation = draw(st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu"]))
    n, seed = draw(st.integers(4, 6)), draw(st.integers(0, 2**32 - 1))
    model = mlp(sizes, activation=activation, batchnorm=batchnorm, dropout=dropout,
                dtype=np.float64, rng=np.random.default_rng(seed))
    rng = np.random.default_rng([seed, 1])
    for _, param, _ in model.parameters():          # non-trivial biases and BatchNorm scales
        param += 0.3 * rng.standard_normal(param.shape)
    X, k = rng.standard_normal((n, sizes[0])), sizes[-1]
    if kind == "mse":
        return model, X, MSE(), rng.standard_normal((n, k))
    if kind == "softmax_ce":
        return model, X, SoftmaxCrossEntropy(), rng.integers(0, k, n)
    return model, X, BinaryCrossEntropy(from_logits=True), rng.integers(0, 2, (n, 1)) * 1.0


def finite_differences_can_judge(model, X, loss, y):
    """Whether centred differences (h = 1e-6) can confirm this model's gradients to 1e-7.

    Two things rule a draw out, both limits of the *check*, not of the model:
    * a ReLU/LeakyReLU input within 1e-4 of the kink (a perturbation of 1e-6 moves hidden
      pre-activations by ~1e-6, so 100x that keeps every difference on one side);
    * a gradient array that is neither zero (gradcheck counts norms below 1e-8 as zero,
      e.g. the bias before a BatchNorm) nor larger than 1e-2 x the loss, rms.  Rounding
      puts ~1e-10 x the loss of noise into every finite difference, so such a gradient
      (a nearly dead ReLU path, a saturated unit...) would be compared with noise.
    About one draw in ten is rejected; the 1e-7 bound itself never moves.
    """
    gens = [layer.rng for layer in model.layers if isinstance(layer, Dropout)]
    states = [g.bit_generator.state for g in gens]
    kink_distance, x = np.inf, X
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            kink_distance = min(kink_distance, np.min(np.abs(x)))
        x = layer.forward(x)
    value = loss.forward(x, y)
    grads = ([model.backward(loss.backward(), input_grad=True)]
             + [g for _, _, g in model.parameters()])
    for g, s in zip(gens, states):                 # rewind: gradcheck must see the same masks
        g.bit_generator.state = s
    resolvable = all(np.linalg.norm(g) <= 1e-8 or np.sqrt(np.mean(g**2)) > 1e-2 * max(1, value)
                     for g in grads)
    return kink_distance > 1e-4 and resolvable


@settings(max_examples=25, deadline=None)
@given(model_and_batch())
def test_whole_model_with_loss_matches_finite_differences(case):
    model, X, loss, y = case
    assume(finite_differences_can_judge(model, X, loss, y))
    errors = gradcheck(model, X, y, loss=loss)
    assert set(errors) == {"x"} | {name for name, _, _ in model.parameters()}
    assert max(errors.values()) < TOL, errors


# -- chaining -------------------------------------------------------------------------

def small_model(dtype=np.float64):
    rng = np.random.default_rng(0)
    return Sequential([Dense(3, 4, dtype=dtype, rng=rng), ReLU(), Dense(4, 2, dtype=dtype,
                                                                        rng=rng)])


def test_forward_applies_layers_in_order():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((5, 3))
    d0, _, d2 = model.layers
    hidden = np.maximum(x @ d0.params["W"] + d0.params["b"], 0)
    np.testing.assert_allclose(model.forward(x), hidden @ d2.params["W"] + d2.params["b"],
                               rtol=1e-12)
    np.testing.assert_array_equal(model(x), model.forward(x))


def test_backward_applies_the_chain_rule_in_reverse_order():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((5, 3))
    g = np.random.default_rng(2).standard_normal((5, 2))
    model.forward(x)
    dx = model.backward(g, input_grad=True)
    d0, _, d2 = model.layers
    z0 = x @ d0.params["W"] + d0.params["b"]
    g_hidden = (g @ d2.params["W"].T) * (z0 > 0)
    np.testing.assert_allclose(d2.grads["W"], np.maximum(z0, 0).T @ g, rtol=1e-12)
    np.testing.assert_allclose(d0.grads["W"], x.T @ g_hidden, rtol=1e-12)
    np.testing.assert_allclose(dx, g_hidden @ d0.params["W"].T, rtol=1e-12)


def test_non_layers_are_refused():
    with pytest.raises(TypeError, match="layer 1 is a ufunc, not a dlfs Layer"):
        Sequential([ReLU(), np.tanh])


# -- parameters -----------------------------------------------------------------------

def test_parameters_are_named_by_layer_index_and_are_the_layers_own_arrays():
    model = Sequential([Dense(2, 3), BatchNorm(3), ReLU(), Dense(3, 1)])
    names = [name for name, _, _ in model.parameters()]
    assert names == ["0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"]
    for name, param, grad in model.parameters():
        i, key = name.split(".")
        assert param is model.layers[int(i)].params[key]
        assert grad is model.layers[int(i)].grads[key]
    assert model.n_params() == 2 * 3 + 3 + 3 + 3 + 3 * 1 + 1


def test_an_optimizer_step_updates_the_layers_in_place():
    model = small_model()
    W = model.layers[0].params["W"]
    before = W.copy()
    x = np.random.default_rng(1).standard_normal((5, 3))
    model.forward(x)
    model.backward(np.ones((5, 2)))
    SGD(0.1).step(model.parameters())
    assert model.layers[0].params["W"] is W
    np.testing.assert_allclose(W, before - 0.1 * model.layers[0].grads["W"], rtol=1e-12)


def test_state_holds_parameters_and_buffers():
    model = Sequential([Dense(2, 3), BatchNorm(3)])
    assert set(model.state()) == {"0.W", "0.b", "1.gamma", "1.beta", "1.running_mean",
                                  "1.running_var"}
    assert model.state()["1.running_var"] is model.layers[1].buffers["running_var"]


# -- predict --------------------------------------------------------------------------

def test_predict_in_batches_equals_one_forward_in_inference_mode():
    model = mlp([3, 8, 2], batchnorm=True, dropout=0.5, dtype=np.float64)
    X = np.random.default_rng(1).standard_normal((103, 3))
    model.forward(X)                                 # move BatchNorm's running statistics
    one_pass = model.forward(X, training=False)
    np.testing.assert_allclose(model.predict(X, batch_size=10), one_pass, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X), one_pass, rtol=1e-12)
    # ...and inference mode really differs from training mode for this model:
    assert not np.allclose(model.forward(X, training=True), one_pass)


def test_predict_is_deterministic_despite_dropout():
    model = mlp([3, 8, 2], dropout=0.5)
    X = np.random.default_rng(1).standard_normal((20, 3)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(X), model.predict(X))


@pytest.mark.parametrize("batch_size", [0, -1])
def test_predict_refuses_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be > 0, got {batch_size}"):
        small_model().predict(np.ones((3, 3)), batch_size=batch_size)


# -- description -----------------------------------------------------------------------

def test_summary_lists_output_shapes_and_parameter_counts():
    model = Sequential([Flatten(), Dense(784, 128), ReLU(), Dense(128, 10)])
    text = model.summary((28, 28))
    lines = text.splitlines()
    assert lines[0].split() == ["#", "layer", "output", "shape", "params"]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert "(784,)" in rows["0"] and rows["0"].endswith(" 0")
    assert "(128,)" in rows["1"] and rows["1"].endswith("100,480")     # 784*128 + 128
    assert "(128,)" in rows["2"] and rows["2"].endswith(" 0")
    assert "(10,)" in rows["3"] and rows["3"].endswith("1,290")        # 128*10 + 10
    assert lines[-1].split() == ["total", "101,770"]
    assert model.n_params() == 101_770


def test_summary_writes_layers_as_code_without_default_arguments():
    """The layer column is the constructor call a reader would type (sizes in the
    order of the signature, keywords only away from their defaults), so that a CNN's
    summary fits 88 columns; the round trip through the call rebuilds the layer."""
    layers = [Conv2D(1, 16, 5), Conv2D(3, 8, (3, 5), stride=2, padding=1,
                                       init="xavier_uniform"),
              MaxPool2D(2), MaxPool2D(3, stride=1), AvgPool2D((2, 3)), Flatten(),
              Dense(512, 128, init="he"), Dense(128, 10), BatchNorm(5, momentum=0.8),
              LeakyReLU(0.2), Dropout(0.25), ReLU()]
    written = [as_written(layer) for layer in layers]
    assert written == ["Conv2D(1, 16, 5)",
                       "Conv2D(3, 8, (3, 5), stride=2, padding=1, init='xavier_uniform')",
                       "MaxPool2D(2)", "MaxPool2D(3, stride=1)", "AvgPool2D((2, 3))",
                       "Flatten()", "Dense(512, 128, init='he')", "Dense(128, 10)",
                       "BatchNorm(5, momentum=0.8)", "LeakyReLU(alpha=0.2)",
                       "Dropout(p=0.25)", "ReLU()"]
    namespace = {type(layer).__name__: type(layer) for layer in layers}
    for layer, text in zip(layers, written):
        assert eval(text, namespace).config() == layer.config()   # noqa: S307
    cnn = Sequential(layers[:1] + [ReLU(), MaxPool2D(2), Flatten(), Dense(16 * 12 * 12, 10)])
    lines = cnn.summary((1, 28, 28)).splitlines()
    assert lines[2].split()[:2] == ["0", "Conv2D(1,"] and max(map(len, lines)) <= 88


def test_architecture_round_trip_rebuilds_the_same_layers():
    model = Sequential([Flatten(), Dense(6, 5, init="he"), BatchNorm(5, momentum=0.8),
                        LeakyReLU(0.2), Dropout(0.25), Dense(5, 5), Tanh(), Dense(5, 2)])
    arch = model.architecture()
    assert arch[1] == {"type": "Dense", "n_in": 6, "n_out": 5, "init": "he"}
    rebuilt = Sequential.from_architecture(arch, dtype=np.float64)
    assert rebuilt.architecture() == arch
    for (name, p, _), (name2, q, _) in zip(model.parameters(), rebuilt.parameters()):
        assert name == name2 and p.shape == q.shape and q.dtype == np.float64


def test_from_architecture_gives_equal_shaped_layers_different_weights():
    rebuilt = Sequential.from_architecture(mlp([4, 4, 4, 4]).architecture())
    W0, W2, W4 = (rebuilt.layers[i].params["W"] for i in (0, 2, 4))
    assert not np.array_equal(W0, W2) and not np.array_equal(W2, W4)


def test_from_architecture_refuses_unknown_types_and_bad_arguments():
    with pytest.raises(ValueError, match=r"layer 0: unknown layer type 'Conv3D'"):
        Sequential.from_architecture([{"type": "Conv3D"}])
    with pytest.raises(ValueError, match=r"layer 1: unknown layer type None"):
        Sequential.from_architecture([{"type": "ReLU"}, {}])
    with pytest.raises(ValueError, match=r"layer 0: bad arguments for Dense"):
        Sequential.from_architecture([{"type": "Dense", "n_in": 2, "units": 3}])


# -- mlp ---------------------------------------------------------------------------------

def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_mlp_builds_dense_activation_pairs_and_a_bare_output_layer():
    model = mlp([4, 8, 6, 3], activation="tanh")
    assert layer_types(model) == ["Dense", "Tanh", "Dense", "Tanh", "Dense"]
    assert [(d.n_in, d.n_out) for d in model.layers[::2]] == [(4, 8), (8, 6), (6, 3)]


def test_mlp_options_insert_batchnorm_before_and_dropout_after_the_activation():
    model = mlp([4, 8, 3], activation="leaky_relu", batchnorm=True, dropout=0.2)
    assert layer_types(model) == ["Dense", "BatchNorm", "LeakyReLU", "Dropout", "Dense"]
    assert model.layers[3].p == 0.2


def test_mlp_default_init_is_he_for_relu_and_xavier_otherwise():
    assert [d.init for d in mlp([2, 3, 3, 1], activation="relu").layers[::2]] == \
        ["he", "he", "xavier_uniform"]
    assert [d.init for d in mlp([2, 3, 1], activation="sigmoid").layers[::2]] == \
        ["xavier_uniform", "xavier_uniform"]
    assert mlp([2, 3, 1], init="normal").layers[0].init == "normal"


def test_mlp_dtype_and_seed():
    a, b = mlp([3, 5, 2], dtype=np.float64), mlp([3, 5, 2], dtype=np.float64)
    for (_, p, _), (_, q, _) in zip(a.parameters(), b.parameters()):
        assert p.dtype == np.float64
        np.testing.assert_array_equal(p, q)              # the default rng is seeded
    c = mlp([3, 5, 2], rng=np.random.default_rng(1))
    assert not np.array_equal(c.layers[0].params["W"], a.layers[0].params["W"])


def test_mlp_without_hidden_layers_is_one_dense_layer():
    assert layer_types(mlp([3, 2])) == ["Dense"]


@pytest.mark.parametrize("activation", ["swish", "softmax", "ReLU"])
def test_mlp_refuses_unknown_activations_listing_the_choices(activation):
    with pytest.raises(ValueError, match=rf"unknown activation '{activation}'; choose one of: "
                                         r"leaky_relu, relu, sigmoid, tanh"):
        mlp([2, 3, 1], activation=activation)


def test_mlp_refuses_unknown_initializers():
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        mlp([2, 3, 1], init="glorot")


def test_mlp_needs_at_least_two_sizes():
    with pytest.raises(ValueError, match=r"an MLP needs at least input and output sizes, "
                                         r"got \[3\]"):
        mlp([3])


@pytest.mark.parametrize("p", [1.0, 1.5, -0.2])
def test_mlp_refuses_bad_dropout(p):
    with pytest.raises(ValueError, match=r"Dropout probability p must be in \[0, 1\)"):
        mlp([2, 3, 1], dropout=p)


# -- backward skips the unused input gradient ------------------------------------------

def test_backward_returns_the_input_gradient_only_when_asked():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((5, 3))
    g = np.random.default_rng(2).standard_normal((5, 2))
    model.forward(x)
    dx = model.backward(g, input_grad=True)
    grads = {name: grad.copy() for name, _, grad in model.parameters()}
    assert model.backward(g) is None
    for name, _, grad in model.parameters():
        np.testing.assert_array_equal(grad, grads[name])
    assert dx.shape == x.shape


def test_backward_stops_at_the_lowest_layer_with_parameters():
    seen = []

    class Recorder(ReLU, register=False):
        def backward(self, grad_out, input_grad=True):
            seen.append(input_grad)
            return super().backward(grad_out, input_grad)

    rng = np.random.default_rng(0)
    model = Sequential([Recorder(), Dense(3, 4, dtype=np.float64, rng=rng), Recorder(),
                        Dense(4, 2, dtype=np.float64, rng=rng)])
    model.forward(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    assert seen == [True]                  # the upper ReLU; nothing below the first Dense
    seen.clear()
    model.backward(np.ones((2, 2)), input_grad=True)
    assert seen == [True, True]


# -- a layer used twice (issue 6, item 4) -----------------------------------------------

def test_a_layer_instance_used_twice_is_refused():
    d = Dense(3, 3)
    with pytest.raises(ValueError, match=r"layer 2 is the same Dense object as layer 0; "
                                         r"a layer can appear once in a model"):
        Sequential([d, Tanh(), d])
    relu = ReLU()
    with pytest.raises(ValueError, match="layer 1 is the same ReLU object as layer 0"):
        Sequential([relu, relu])


# -- the input shape, recorded in the model ----------------------------------------------

def test_summary_of_nchw_images_through_batchnorm_and_flatten():
    model = Sequential([BatchNorm(3), Flatten(), Dense(3 * 4 * 4, 5), ReLU(), Dense(5, 2)],
                       input_shape=(3, 4, 4))
    lines = model.summary().splitlines()
    rows = {line.split()[0]: line for line in lines[2:7]}
    assert "(3, 4, 4)" in rows["0"] and rows["0"].endswith(" 6")      # gamma, beta
    assert "(48,)" in rows["1"] and "(2,)" in rows["4"]
    assert model.summary() == model.summary((3, 4, 4))
    assert model.output_shape() == (2,)


def test_input_shape_is_checked_against_every_layer_and_the_data():
    with pytest.raises(ValueError, match=r"layer 1: Dense expects 48 input features per "
                                         r"sample, got sample shape \(12,\)"):
        Sequential([Flatten(), Dense(48, 2)], input_shape=(3, 2, 2))
    model = Sequential([Flatten(), Dense(48, 2)], input_shape=(3, 4, 4))
    with pytest.raises(ValueError, match=r"the model takes samples of shape \(3, 4, 4\), "
                                         r"got a batch of shape \(2, 4, 4, 3\)"):
        model.forward(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive integers"):
        Sequential([ReLU()], input_shape=(0, 3))
    with pytest.raises(ValueError, match=r"give the shape of one input sample, e\.g\. \(784,\)"):
        Sequential([ReLU()]).summary()


def test_mlp_records_its_input_shape_and_from_architecture_restores_one():
    model = mlp([4, 3, 2])
    assert model.input_shape == (4,)
    rebuilt = Sequential.from_architecture(model.architecture(), input_shape=model.input_shape)
    assert rebuilt.input_shape == (4,) and rebuilt.output_shape() == (2,)


# -- zero samples (issue 6, item 19) -----------------------------------------------------

def test_a_model_with_flatten_predicts_on_zero_samples():
    model = Sequential([Flatten(), Dense(6, 4), ReLU(), Dropout(0.5), Dense(4, 3)],
                       input_shape=(2, 3))
    assert model.predict(np.zeros((0, 2, 3), np.float32)).shape == (0, 3)
    out = model.forward(np.zeros((0, 2, 3), np.float32))
    assert out.shape == (0, 3)
    assert model.backward(np.zeros((0, 3), np.float32), input_grad=True).shape == (0, 2, 3)
    assert not np.any(model.layers[1].grads["W"])


def test_calling_a_subclass_runs_its_own_forward():
    class Doubled(Sequential):
        def forward(self, x, training=True):
            return 2 * super().forward(x, training)

    model = Doubled([Dense(2, 3, rng=np.random.default_rng(0))])
    x = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(model(x), 2 * Sequential.forward(model, x))
    np.testing.assert_array_equal(model(x, training=False), model.forward(x, training=False))


def test_mlp_init_applies_to_hidden_layers_and_the_output_layer_is_xavier():
    model = mlp([4, 6, 5, 3], init="he", activation="tanh")
    kinds = [layer.config()["init"] for layer in model.layers if isinstance(layer, Dense)]
    assert kinds == ["he", "he", "xavier_uniform"]
