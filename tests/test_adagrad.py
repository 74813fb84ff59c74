"""dlfs.optim.AdaGrad and clip_grad_norm: hand computations, torch in float64, bad input."""
import numpy as np
import pytest

from dlfs import AdaGrad, Dense, Sequential, SoftmaxCrossEntropy, clip_grad_norm
from dlfs.optim import AdaGrad as AdaGradFromOptim


def test_adagrad_is_exported():
    assert AdaGrad is AdaGradFromOptim


def test_adagrad_first_two_steps_by_hand():
    w = np.array([1.0, -2.0])
    opt = AdaGrad(0.1, eps=1e-10)
    opt.step([("w", w, np.array([3.0, -4.0]))])
    # s = (9, 16): each coordinate moves by lr * sign(g) on the first step
    np.testing.assert_allclose(w, [0.9, -1.9], rtol=1e-9)
    opt.step([("w", w, np.array([4.0, 3.0]))])
    # s = (25, 25), sqrt = 5: steps 0.1 * (4/5, 3/5)
    np.testing.assert_allclose(w, [0.9 - 0.08, -1.9 - 0.06], rtol=1e-9)
    np.testing.assert_allclose(opt.state["w"]["sum_sq"], [25.0, 25.0])


def test_adagrad_step_lengths_shrink_like_one_over_sqrt_t_under_a_constant_gradient():
    """With g constant, s_t = t g^2 and the t-th step is lr / sqrt(t) (for eps -> 0)."""
    w, g = np.zeros(1), np.array([0.7])
    opt = AdaGrad(0.5, eps=1e-12)
    previous = w.copy()
    for t in range(1, 101):
        opt.step([("w", w, g)])
        np.testing.assert_allclose(previous - w, 0.5 / np.sqrt(t), rtol=1e-9)
        previous = w.copy()


def test_adagrad_minimises_a_convex_quadratic():
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    a = q @ np.diag([1.0, 4.0, 10.0]) @ q.T
    c = np.array([1.0, -2.0, 0.5])
    w, grad = np.zeros(3), np.zeros(3)
    opt = AdaGrad(0.5)
    for _ in range(3000):
        grad[...] = a @ (w - c)
        opt.step([("w", w, grad)])
    assert np.linalg.norm(w - c) < 1e-6


def test_adagrad_weight_decay_only_on_weight_matrices():
    W, b = np.ones((2, 2)), np.ones(2)
    opt = AdaGrad(0.1, weight_decay=0.5)
    opt.step([("W", W, np.zeros((2, 2))), ("b", b, np.zeros(2))])
    # W's gradient becomes 0.5 W = 0.5: first step is lr * sign = 0.1; b's is 0 -> no move
    np.testing.assert_allclose(W, 0.9)
    np.testing.assert_array_equal(b, 1.0)


def test_adagrad_keeps_float32():
    w = np.ones(4, dtype=np.float32)
    AdaGrad(0.1).step([("w", w, np.full(4, 2.0, dtype=np.float32))])
    assert w.dtype == np.float32


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": -1.0}, {"eps": 0.0}, {"lr": np.nan}])
def test_adagrad_refuses_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        AdaGrad(**kwargs)


def test_adagrad_matches_torch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) * 10.0 ** rng.uniform(-3, 2) for _ in range(20)]
    w = w0.copy()
    opt = AdaGrad(0.05, eps=1e-10, weight_decay=0.01)
    tw = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adagrad([tw], lr=0.05, eps=1e-10, weight_decay=0.01)
    for g in grads:
        opt.step([("w", w, g)])
        tw.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-13, atol=1e-15)


# -- clip_grad_norm ------------------------------------------------------------------

def _triples(*grads):
    return [(f"{i}", np.zeros_like(g), g) for i, g in enumerate(grads)]


def test_clip_grad_norm_by_hand():
    g1, g2 = np.array([3.0]), np.array([[4.0, 0.0]])          # joint norm 5
    norm = clip_grad_norm(_triples(g1, g2), max_norm=1.0)
    assert norm == 5.0
    np.testing.assert_allclose(g1, [0.6])
    np.testing.assert_allclose(g2, [[0.8, 0.0]])


def test_clip_grad_norm_leaves_small_gradients_alone():
    g = np.array([0.3, -0.4])
    before = g.copy()
    assert clip_grad_norm(_triples(g), max_norm=0.5) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, before)       # exactly at the cap: untouched
    assert clip_grad_norm(_triples(g), max_norm=10.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, before)


def test_clip_grad_norm_on_a_model_keeps_the_direction():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(5, 4, dtype=np.float64, rng=rng),
                        Dense(4, 3, dtype=np.float64, rng=rng)])
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(rng.standard_normal((8, 5)) * 100), rng.integers(0, 3, 8))
    model.backward(loss.backward())
    flat = lambda: np.concatenate([g.ravel() for _, _, g in model.parameters()])  # noqa: E731
    before = flat()
    norm = clip_grad_norm(model.parameters(), max_norm=0.01)   # a generator: one pass
    after = flat()
    assert norm == pytest.approx(np.linalg.norm(before), rel=1e-12)
    assert np.linalg.norm(after) == pytest.approx(0.01, rel=1e-12)
    np.testing.assert_allclose(after, before * (0.01 / norm), rtol=1e-12)


def test_clip_grad_norm_keeps_float32():
    g = np.full(3, 10.0, dtype=np.float32)
    clip_grad_norm(_triples(g), max_norm=1.0)
    assert g.dtype == np.float32
    assert np.linalg.norm(g) == pytest.approx(1.0, rel=1e-6)


def test_clip_grad_norm_refuses_bad_input():
    with pytest.raises(ValueError):
        clip_grad_norm(_triples(np.ones(2)), max_norm=0.0)
    with pytest.raises(FloatingPointError, match="non-finite"):
        clip_grad_norm(_triples(np.array([1.0, np.inf])), max_norm=1.0)


def test_clip_grad_norm_matches_torch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(4) * 5]
    ps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g, dtype=torch.float64)
    tnorm = torch.nn.utils.clip_grad_norm_(ps, max_norm=2.0)
    norm = clip_grad_norm(_triples(*grads), max_norm=2.0)
    assert norm == pytest.approx(float(tnorm), rel=1e-14)
    for p, g in zip(ps, grads):
        # torch divides by (norm + 1e-6), so the two agree to about 1e-6 relative
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6)
