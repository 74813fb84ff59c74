"""Helpers for the book's chapters: one setup for every page, and glued numbers.

Every chapter starts with the same hidden cell::

    from dlfs.notebook import glue_sci, setup_chapter
    setup_chapter()

so the house settings live here, once, and a downloaded notebook runs the
same way outside the build.  Jupyter-only packages (IPython, matplotlib-inline,
myst-nb) are imported inside the functions: the library itself needs none.
"""
from __future__ import annotations

import logging

import numpy as np


def setup_chapter() -> None:
    """Vector figures (SVG on the site, PDF in the book), reproducible SVG ids,
    TrueType fonts in PDFs, and short NumPy printing."""
    import matplotlib as mpl
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", "pdf")
    mpl.rcParams.update({"pdf.fonttype": 42, "svg.hashsalt": "dlfs", "figure.dpi": 100})
    np.set_printoptions(precision=4, suppress=True)
    # fontTools logs harmless font-timestamp notices on stderr while embedding
    # fonts in PDFs; stderr output would end up in the book.
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def sci_tex(x: float, digits: int = 1) -> str:
    r"""``x`` as TeX in scientific notation: ``5.6 \times 10^{-17}``, ``10^{-8}``, ``0.3``.

    A mantissa of exactly 1 is left out, and so is a power of :math:`10^0`.
    """
    mantissa, exponent = f"{float(x):.{digits}e}".split("e")
    power = rf"10^{{{int(exponent)}}}"
    if int(exponent) == 0:
        return mantissa
    return power if float(mantissa) == 1 else rf"{mantissa} \times {power}"


def glue_sci(name: str, x: float, digits: int = 1) -> None:
    """Glue ``x`` typeset in scientific notation (as Markdown math) under ``name``.

    A chapter pastes it into the prose with the ``glue:md`` role and the
    ``myst`` format, so the number shows as math on the site and in the PDF.
    """
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(f"${sci_tex(x, digits)}$"), display=False)
