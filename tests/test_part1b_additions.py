"""AdamW (decoupled weight decay), the warm-up + cosine schedule and flip_horizontal."""
import math

import numpy as np
import pytest

from dlfs.data import flip_horizontal
from dlfs.optim import Adam, AdamW, make_optimizer
from dlfs.schedules import WarmupCosine


# -- AdamW -------------------------------------------------------------------------
def test_adamw_without_decay_is_adam_bit_for_bit():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((3, 2))
    w2 = w1.copy()
    a, b = Adam(0.01), AdamW(0.01, weight_decay=0.0)
    for _ in range(5):
        g = rng.standard_normal((3, 2))
        a.step([("w", w1, g)])
        b.step([("w", w2, g)])
    np.testing.assert_array_equal(w1, w2)


def test_adamw_first_step_by_hand():
    """t = 1: m_hat = g, v_hat = g^2, so the Adam part is lr * g / (|g| + eps)."""
    w = np.array([[2.0, -1.0]])
    g = np.array([[0.5, 0.25]])
    lr, lam, eps = 0.1, 0.5, 1e-8
    AdamW(lr, eps=eps, weight_decay=lam).step([("w", w, g)])
    expected = (1 - lr * lam) * np.array([[2.0, -1.0]]) - lr * g / (np.abs(g) + eps)
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_adamw_decays_weights_with_zero_gradient_and_leaves_biases_alone():
    w, b = np.ones((2, 2)), np.ones(2)
    opt = AdamW(0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step([("w", w, np.zeros_like(w)), ("b", b, np.zeros_like(b))])
    np.testing.assert_allclose(w, 0.95 ** 3)
    np.testing.assert_array_equal(b, 1.0)


def test_adamw_differs_from_adam_with_l2_penalty():
    """Coupled L2 under Adam is rescaled per coordinate; decoupled decay is not."""
    w1 = np.array([[1.0, 1.0]])
    w2 = w1.copy()
    g = np.array([[1e-3, 1.0]])                     # very different gradient scales
    Adam(0.1, weight_decay=0.5).step([("w", w1, g)])
    AdamW(0.1, weight_decay=0.5).step([("w", w2, g)])
    assert not np.allclose(w1, w2)
    # Decoupled: the small-gradient coordinate decays by exactly lr * lam * w = 0.05 more.
    np.testing.assert_allclose(w2[0, 0], 0.95 - 0.1 * 1e-3 / (1e-3 + 1e-8), rtol=1e-12)


def test_adamw_keeps_float32():
    w = np.ones((2, 2), np.float32)
    AdamW(0.1).step([("w", w, np.ones((2, 2), np.float32))])
    assert w.dtype == np.float32


def test_make_optimizer_knows_adamw():
    opt = make_optimizer("adamw", 0.01, weight_decay=0.1)
    assert isinstance(opt, AdamW) and opt.weight_decay == 0.1


@pytest.mark.parametrize("kwargs", [{"lr": -1}, {"lr": 0.1, "weight_decay": -0.1},
                                    {"lr": 0.1, "beta1": 1.0}])
def test_adamw_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        AdamW(**kwargs)


# -- WarmupCosine ------------------------------------------------------------------
def test_warmup_cosine_values():
    s = WarmupCosine(1.0, total=12, warmup=2, lr_min=0.1)
    assert s(0) == pytest.approx(0.5) and s(1) == pytest.approx(1.0)
    assert s(2) == pytest.approx(1.0)                       # start of the cosine
    assert s(7) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 2)))   # half-way
    assert s(12) == pytest.approx(0.1) and s(100) == pytest.approx(0.1)


def test_warmup_cosine_without_warmup_starts_at_peak_and_decreases():
    s = WarmupCosine(0.3, total=20)
    rates = [s(t) for t in range(25)]
    assert rates[0] == 0.3
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert rates[-1] == 0.0


@pytest.mark.parametrize("kwargs", [dict(total=5, warmup=5), dict(total=0),
                                    dict(total=5, lr_min=2.0), dict(total=5, warmup=-1)])
def test_warmup_cosine_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        WarmupCosine(1.0, **kwargs)


# -- flip_horizontal ---------------------------------------------------------------
def test_flip_horizontal_mirrors_columns_and_is_an_involution():
    images = np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3)
    flipped = flip_horizontal(images, layout="NHWC")     # 3 rows and 3 channels: say which
    assert flipped.shape == images.shape and flipped.dtype == np.uint8
    np.testing.assert_array_equal(flipped[1, 2, 0], images[1, 2, 3])
    np.testing.assert_array_equal(flip_horizontal(flipped, layout="NHWC"), images)
    flipped[0, 0, 0, 0] = 255                           # a copy, not a view
    assert images[0, 0, 3, 0] == 9


def test_flip_horizontal_grayscale():
    images = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(flip_horizontal(images), [[[3.0, 2.0, 1.0]]])


@pytest.mark.parametrize("bad, error", [(np.zeros((4, 12)), ValueError),
                                        ([[[1, 2]]], TypeError)])
def test_flip_horizontal_rejects_bad_input(bad, error):
    with pytest.raises(error):
        flip_horizontal(bad)


# -- blas_threads ------------------------------------------------------------------
def test_blas_threads_sets_and_restores_the_thread_count():
    from dlfs._blas import blas_threads, current_blas_threads

    before = current_blas_threads()
    with blas_threads(1):
        inside = current_blas_threads()
        a = np.ones((64, 64))
        np.testing.assert_array_equal(a @ a, 64.0)      # products still work
    assert current_blas_threads() == before
    if before is not None:                              # NumPy's OpenBLAS was found
        assert inside == 1
