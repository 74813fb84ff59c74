"""The cross-check of Part 3: the same CNN, with the same weights, in dlfs, PyTorch and Keras
gives the same logits, loss and parameter gradients in float64."""
import numpy as np
import pytest

from dlfs import SoftmaxCrossEntropy
from dlfs import interop as fw
from dlfs._blas import current_blas_threads
from dlfs.recipes.mnist_cnn import mnist_cnn

pytest.importorskip("torch", reason="needs the frameworks extra (PyTorch)")
pytest.importorskip("tensorflow", reason="needs the frameworks extra (TensorFlow)")


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(0)
    model = mnist_cnn((4, 6), 12, dtype=np.float64, rng=rng)
    for layer in model.layers:
        if "b" in layer.params:                        # non-zero biases test their layouts
            layer.params["b"][...] = 0.1 * rng.standard_normal(layer.params["b"].shape)
    X, y = rng.random((5, 1, 28, 28)), rng.integers(0, 10, 5)
    loss = SoftmaxCrossEntropy()
    logits = model.forward(X)
    value = loss.forward(logits, y)
    model.backward(loss.backward())
    return model, X, y, value, logits, [g.copy() for _, _, g in model.parameters()]


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_frameworks_agree_with_dlfs_in_float64(reference, framework):
    model, X, y, value, logits, grads = reference
    if framework == "torch":
        their_loss, their_grads, their_logits = fw.torch_gradients(fw.to_torch(model), X, y)
    else:
        their_loss, their_grads, their_logits = fw.keras_gradients(fw.to_keras(model), X, y)
    assert their_loss == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(their_logits, logits, rtol=1e-10, atol=1e-12)
    assert len(their_grads) == len(grads)
    for ours, theirs in zip(grads, their_grads):
        assert theirs.shape == ours.shape
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=1e-12)


def test_set_threads_reaches_numpy_blas_and_torch():
    import torch

    before = fw.threads()
    try:
        assert fw.set_threads(1) == 1
        assert torch.get_num_threads() == 1
        assert current_blas_threads() == 1
    finally:
        fw.set_threads(before)
