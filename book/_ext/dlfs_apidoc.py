"""Sphinx extension: no bare names in the API reference.

The API reference documents members that have a docstring
(``undoc-members: false``), but autodoc still lists some attributes that have
none: every field of a dataclass (``History.loss``, ``Recipe.lr``...), which
the class's signature already shows (``History(loss=<factory>, ...)``) and its
docstring describes, and class attributes such as ``Dense.input_ndim``.  Each
such entry holds its name and nothing else: on the site a column of names, in
the PDF pages of them.  They are dropped when a page is read -- with their
index entries and their place in the Python domain, and before the page's
contents are collected -- so no link or index line points at an anchor that is
gone.  Attributes with a doc comment (``#:``) stay.
"""
from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx


def _drop_bare_attributes(app: Sphinx, doctree: nodes.document) -> None:
    objects = app.env.get_domain("py").objects
    dropped: set[str] = set()
    for desc in list(doctree.findall(addnodes.desc)):
        if desc.get("domain") != "py" or desc.get("objtype") != "attribute":
            continue
        content = [c for c in desc.children if isinstance(c, addnodes.desc_content)]
        if content and content[0].astext().strip():
            continue
        parent = desc.parent
        at = parent.index(desc)
        if at > 0 and isinstance(parent[at - 1], addnodes.index):
            parent.remove(parent[at - 1])
        parent.remove(desc)
        for signature in desc.findall(addnodes.desc_signature):
            dropped.update(signature.get("ids", []))
            if signature.get("module") and signature.get("fullname"):
                objects.pop(f"{signature['module']}.{signature['fullname']}", None)
    if dropped:     # the index domain has read the page already (a transform)
        entries = app.env.get_domain("index").entries.get(app.env.docname, [])
        entries[:] = [e for e in entries if e[2] not in dropped]


def setup(app: Sphinx) -> dict:
    # before the TOC collector reads the page (priority 500), so the page's
    # contents never list an entry that is gone
    app.connect("doctree-read", _drop_bare_attributes, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
