"""dlfs.notebook: the chapters' shared setup and glued scientific numbers."""
import logging

import matplotlib as mpl
import numpy as np
import pytest

from dlfs import notebook


@pytest.mark.parametrize("x, digits, tex", [
    (5.6e-17, 1, r"5.6 \times 10^{-17}"),
    (1e-8, 0, r"10^{-8}"),
    (1.04e-8, 1, r"10^{-8}"),           # rounds to a mantissa of 1: the power alone
    (0.3, 1, "3.0 \\times 10^{-1}"),
    (2.5, 2, "2.50"),                   # exponent 0: the mantissa alone
    (-3.2e5, 1, r"-3.2 \times 10^{5}"),
])
def test_sci_tex(x, digits, tex):
    assert notebook.sci_tex(x, digits) == tex


def test_setup_chapter_sets_vector_figures_and_printing():
    old_print, old_rc = np.get_printoptions(), mpl.rcParams.copy()
    try:
        notebook.setup_chapter()
        assert mpl.rcParams["pdf.fonttype"] == 42
        assert mpl.rcParams["svg.hashsalt"] == "dlfs"
        assert np.get_printoptions()["precision"] == 4
        assert logging.getLogger("fontTools").level == logging.ERROR
    finally:
        np.set_printoptions(**old_print)
        mpl.rcParams.update(old_rc)


def test_glue_sci_glues_markdown_math(monkeypatch):
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: glued.update(
        {name: (value.data, display)}))
    notebook.glue_sci("err", 5.6e-17)
    assert glued == {"err": (r"$5.6 \times 10^{-17}$", False)}
