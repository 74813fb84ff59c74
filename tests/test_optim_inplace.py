"""Optimiser steps update in place and allocate no per-step temporaries."""
import tracemalloc

import numpy as np
import pytest

from dlfs import SGD, Adam, Momentum, RMSProp


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Momentum(0.1),
                                  lambda: Momentum(0.1, nesterov=True),
                                  lambda: RMSProp(0.01), lambda: Adam(0.01)])
def test_steps_after_the_first_allocate_no_arrays(make):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 200)).astype(np.float32)
    g = rng.standard_normal((300, 200)).astype(np.float32)
    opt = make()
    opt.step([("w", w, g)])                      # creates the state
    before = w.copy()
    tracemalloc.start()
    opt.step([("w", w, g)])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < w.nbytes / 10                  # no array of the parameter's size
    assert w.dtype == np.float32 and not np.array_equal(w, before)
    assert all(s.dtype == np.float32 for s in opt.state["w"].values())
