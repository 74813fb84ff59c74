"""Helpers for the book's chapters: one setup for every page, and glued numbers.

A package of its own, beside :mod:`dlfs` in the same distribution: ``import
dlfs`` carries no book tooling, and this package never changes how the
library computes.  Every chapter starts with the same hidden cell::

    from dlfs_notebook import glue, glue_bound, glue_sci, setup_chapter
    setup_chapter()

so the house settings live here, once, and a downloaded notebook runs the
same way outside the build.  Jupyter-only packages (IPython, matplotlib-inline,
myst-nb) are imported inside the functions: the library itself needs none, and
a reader's kernel needs no myst-nb -- without it, :func:`glue` shows the value
(or nothing, with ``display=False``) instead of storing it for the book.
"""
from __future__ import annotations

import logging
import math

import numpy as np


def setup_chapter() -> None:
    """Vector figures (SVG on the site, PDF in the book), reproducible SVG ids,
    TrueType fonts in PDFs, and short NumPy printing."""
    import matplotlib as mpl

    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:        # not in a Jupyter kernel: no inline figures to format
        pass
    else:
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


def _markdown(text: str):
    """``IPython.display.Markdown(text)``, or the text itself without IPython."""
    try:
        from IPython.display import Markdown
    except ImportError:
        return text
    return Markdown(text)


def glue(name: str, value, display: bool = True) -> None:
    """Store ``value`` under ``name`` for the book (myst-nb's ``glue``).

    Outside a book build (a reader's kernel without myst-nb) the value is
    displayed when ``display`` is true and otherwise dropped, so a downloaded
    chapter runs unchanged.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            try:
                from IPython.display import display as show
            except ImportError:            # plain Python: print it
                show = print
            show(value)
        return
    myst_glue(name, value, display=display)


def round_up(x: float, digits: int = 1) -> float:
    """The smallest number with ``digits`` significant digits after the first
    that is at least ``|x|`` (a bound must never print smaller than the truth).

    ``round_up(4.52e-8, 0) == 5e-8``; ``round_up(1.28e-11, 0) == 2e-11``;
    ``round_up(3.40e-5, 1) == 3.4e-5``.
    """
    x = abs(float(x))
    if not math.isfinite(x):
        raise ValueError(f"round_up needs a finite number, got {x}")
    if x == 0.0:
        return 0.0
    exponent = math.floor(math.log10(x)) - digits
    scale = 10.0 ** exponent
    # The representation error of x / scale must not push an exact value up.
    steps = math.ceil(round(x / scale, 9))
    return float(f"{steps * scale:.{digits}e}")


def glue_sci(name: str, x: float, digits: int = 1) -> None:
    """Glue ``x`` typeset in scientific notation (as Markdown math) under ``name``,
    rounded to nearest: for "about".  For "at most"/"below" use :func:`glue_bound`.

    A chapter pastes it into the prose with the ``glue:md`` role and the
    ``myst`` format, so the number shows as math on the site and in the PDF.
    """
    glue(name, _markdown(f"${sci_tex(x, digits)}$"), display=False)


def glue_bound(name: str, x: float, digits: int = 0, *, sci: bool = True) -> float:
    """Glue an upper bound of ``|x|`` under ``name``, rounded *up* (never below the truth).

    With ``sci=True`` the bound is typeset like :func:`glue_sci` (pasted as
    Markdown math); with ``sci=False`` it is glued as a plain float with
    ``digits`` decimals, rounded up (pasted as text with a fixed-point format).
    Returns the bound, so a cell can
    ``assert error <= bound``.
    """
    if sci:
        bound = round_up(x, digits)
        glue(name, _markdown(f"${sci_tex(bound, digits)}$"), display=False)
    else:
        scale = 10.0 ** digits
        bound = math.ceil(round(abs(float(x)) * scale, 9)) / scale
        glue(name, bound, display=False)
    return bound
