"""Which equation of the book a function implements, kept out of its listing.

The chapters show the library's code with ``literalinclude``, which prints a
docstring as it stands in the source.  A function a chapter shows therefore
names its equations below its definition, ``implements(sigmoid, "eq-neuron")``,
instead of in its docstring: the listing stays plain Python and plain text,
and ``implements`` adds the sentence "Implements :eq:`eq-neuron`." to the
docstring at import time, where the API reference renders it as a numbered
link and book/_ext/dlfs_eqlinks.py finds it (see book/AUTHORING.md,
"Equations and the code that implements them").
"""
from __future__ import annotations

import inspect
import re

#: The first NumPy-style section header of a docstring ("Parameters", a line
#: of dashes): the citation goes before it, in the description.
_SECTION = re.compile(r"\n\n[A-Z][A-Za-z ]*\n-{3,}\n")


def implements(obj, *labels: str):
    """Cite the equations ``labels`` in the docstring of ``obj``; return ``obj``.

    ``obj`` is a function, a method (``Dense._backward``) or a class.  The
    sentence is added at the end of the description, before the first
    section (Parameters, Returns...), as a paragraph of its own.
    """
    if not labels:
        raise ValueError("implements needs at least one equation label")
    target = getattr(obj, "__func__", obj)          # a staticmethod's function
    refs = [f":eq:`{label}`" for label in labels]
    cited = refs[0] if len(refs) == 1 else f"{', '.join(refs[:-1])} and {refs[-1]}"
    doc = inspect.cleandoc(target.__doc__ or "")
    match = _SECTION.search(doc)
    cut = match.start() if match else len(doc)
    target.__doc__ = f"{doc[:cut].rstrip()}\n\nImplements {cited}.{doc[cut:]}"
    return obj
