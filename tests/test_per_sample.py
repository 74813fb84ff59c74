"""dlfs.per_sample: the sample-by-sample trainer agrees with the batched library."""
import numpy as np
import pytest

from dlfs import SGD, SoftmaxCrossEntropy, fit, mlp
from dlfs.gradcheck import numerical_gradient
from dlfs.per_sample import PerSampleMLP


def data(n=90, n_in=12, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)).astype(dtype), rng.integers(0, 4, n)


def test_backprop_matches_finite_differences():
    X, y = data(1)
    net = PerSampleMLP.from_model(mlp([12, 7, 5, 4], dtype=np.float64,
                                      rng=np.random.default_rng(1)))
    loss, grads_W, grads_b = net.backprop(X[0], int(y[0]))
    for params, grads in ((net.weights, grads_W), (net.biases, grads_b)):
        for p, g in zip(params, grads):
            num = numerical_gradient(lambda: net.backprop(X[0], int(y[0]))[0], p)
            assert np.allclose(g, num, rtol=1e-6, atol=1e-8)
    assert loss > 0


def test_an_epoch_equals_the_batched_epoch():
    X, y = data()
    model = mlp([12, 16, 8, 4], dtype=np.float64, rng=np.random.default_rng(2))
    net = PerSampleMLP.from_model(model)
    per_sample_loss = net.train_epoch(X, y, 0.1, batch_size=32, seed=5)
    history = fit(model, SoftmaxCrossEntropy(), SGD(0.1), X, y, epochs=1, batch_size=32,
                  seed=5, progress=False)
    assert per_sample_loss == pytest.approx(history.loss[0], rel=1e-12)
    dense = [layer for layer in model.layers if layer.params]
    for layer, W, b in zip(dense, net.weights, net.biases):
        assert np.allclose(layer.params["W"], W, rtol=0, atol=1e-12)
        assert np.allclose(layer.params["b"], b, rtol=0, atol=1e-12)
    assert np.array_equal(net.predict(X), np.argmax(model.forward(X, training=False), axis=1))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="one bias per weight"):
        PerSampleMLP([np.zeros((3, 2))], [])
    with pytest.raises(ValueError, match=r"\(n_out,\)"):
        PerSampleMLP([np.zeros((3, 2))], [np.zeros(3)])
    with pytest.raises(ValueError, match="takes 4 inputs"):
        PerSampleMLP([np.zeros((3, 2)), np.zeros((4, 1))], [np.zeros(2), np.zeros(1)])
