"""dlfs_notebook: the chapters' shared setup and glued scientific numbers."""
import logging

import matplotlib as mpl
import numpy as np
import pytest

import dlfs_notebook as notebook


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
    monkeypatch.setattr(notebook, "glue", lambda name, value, display: glued.update(
        {name: (getattr(value, "data", value), display)}))
    notebook.glue_sci("err", 5.6e-17)
    assert glued == {"err": (r"$5.6 \times 10^{-17}$", False)}


@pytest.mark.parametrize("x, digits, bound", [
    (4.52e-8, 0, 5e-8),        # the examples: never print below the truth
    (1.28e-11, 0, 2e-11),
    (3.40e-5, 0, 4e-5),
    (3.40e-5, 1, 3.4e-5),      # exact at this precision: not pushed up
    (5e-8, 0, 5e-8),
    (9.7e-3, 0, 1e-2),
    (-2.01, 1, 2.1),           # a bound of |x|
    (0.0, 1, 0.0),
])
def test_round_up_is_an_upper_bound(x, digits, bound):
    assert notebook.round_up(x, digits) == pytest.approx(bound, rel=1e-12)
    assert notebook.round_up(x, digits) >= abs(x)


def test_round_up_refuses_non_finite():
    with pytest.raises(ValueError, match="finite"):
        notebook.round_up(float("nan"))


def test_glue_bound_glues_rounded_up_values(monkeypatch):
    glued = {}
    monkeypatch.setattr(notebook, "glue", lambda name, value, display: glued.update(
        {name: getattr(value, "data", value)}))
    assert notebook.glue_bound("b", 4.52e-8) == pytest.approx(5e-8)
    assert glued["b"] == r"$5 \times 10^{-8}$"
    assert notebook.glue_bound("p", 0.01234, 2, sci=False) == pytest.approx(0.02)
    assert glued["p"] == pytest.approx(0.02)


def test_glue_works_without_myst_nb(monkeypatch, capsys):
    import builtins
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("No module named 'myst_nb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    notebook.glue("hidden", 1.5, display=False)      # dropped, no error
    notebook.glue("shown", 2.5, display=True)        # shown as a plain value
    assert "2.5" in capsys.readouterr().out
