"""Interactive figures: one MyST block in a chapter, a numbered figure everywhere.

Usage in a chapter::

    ```{interactive-figure} optimisers
    :name: fig-opt-playground

    Caption, as for any figure; {numref}`fig-opt-playground` refers to it.
    ```

The argument names a figure of :data:`dlfs_interactive_data.FIGURES`.  At build
time the extension computes the figure's data with ``dlfs`` and draws its
default state with matplotlib (both cached in ``_build/dlfs_interactive``, keyed
on the source of ``dlfs`` and of the data module).  The block becomes an
ordinary numbered ``figure`` node holding

- in HTML: ``<div class="dlfs-interactive" data-figure="NAME">`` with the data as
  JSON, the static SVG image, and an empty container that
  ``_static/dlfs-interactive.js`` fills with the live figure (replacing the image);
  the script and ``dlfs-interactive.css`` are added only to pages with such a
  figure.  Without JavaScript the static image and its note remain.
- in LaTeX: the static PDF image.  The caption ends with "(Static image of the
  default state; interactive on the website.)", which the script hides on the
  site.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import dlfs_interactive_data as figdata

STATIC_NOTE = "(Static image of the default state; interactive on the website.)"
JS_FILE = "dlfs-interactive.js"
CSS_FILE = "dlfs-interactive.css"
#: Width of the static image in the PDF, per figure (share of the text width).
LATEX_WIDTH = {"backprop": "95%", "optimisers": "95%", "neuron": "95%",
               "convolution": "95%", "mnist-run": "95%"}


class interactive_figure(nodes.General, nodes.Element):
    """The figure's root: a div in HTML, transparent (just its image) elsewhere."""


def _visit_html(self, node):
    if self.builder.name == "epub":        # an e-book shows the static image, no script
        return
    self.body.append(
        f'<div class="dlfs-interactive" data-figure="{html.escape(node["figure"])}">'
        f'<script type="application/json" class="dlfs-data">{node["json"]}</script>')


def _depart_html(self, node):
    if self.builder.name == "epub":
        return
    self.body.append('<div class="dlfs-live" hidden></div></div>')


def _visit_skip(self, node):
    pass


def _depart_skip(self, node):
    pass


class InteractiveFigure(SphinxDirective):
    required_arguments = 1
    has_content = True
    option_spec = {"name": directives.unchanged, "alt": directives.unchanged}

    def run(self):
        name = self.arguments[0]
        app = self.env.app
        out_dir = Path(app.outdir).parent / "dlfs_interactive"
        env_key = getattr(app, "dlfs_env_key", "")
        try:
            data, stem = figdata.build(name, out_dir, env_key)
        except KeyError as err:
            raise self.error(str(err)) from None
        rel = os.path.relpath(stem, self.env.srcdir).replace(os.sep, "/")
        self.env.note_dependency(figdata.__file__)

        figure = nodes.figure(classes=["dlfs-interactive-figure"])
        root = interactive_figure(figure=name, json=figdata.finite_json(data))
        image = nodes.image(uri=f"/{rel}.*", classes=["dlfs-static"],
                            alt=self.options.get("alt", f"Default state of the interactive "
                                                        f"figure '{name}'"),
                            width=LATEX_WIDTH.get(name, "95%"))
        root += image
        figure += root
        if self.content:
            values = figdata.caption_values(name, data)

            def fill(match):
                if match.group(1) not in values:
                    raise self.error(f"unknown caption value [[{match.group(1)}]] for '{name}'; "
                                     f"known: {', '.join(values) or 'none'}")
                return values[match.group(1)]

            content = StringList([re.sub(r"\[\[(\w+)\]\]", fill, line) for line in self.content],
                                 items=self.content.items)
            holder = nodes.Element()
            self.state.nested_parse(content, self.content_offset, holder)
            first = holder[0] if len(holder) else None
            if isinstance(first, nodes.paragraph):
                caption = nodes.caption(first.rawsource, "", *first.children)
                caption.source, caption.line = first.source, first.line
                caption += nodes.Text(" ")
                caption += nodes.inline(STATIC_NOTE, STATIC_NOTE, classes=["dlfs-static-note"])
                figure += caption
                if len(holder) > 1:
                    figure += nodes.legend("", *holder[1:])
            else:
                raise self.error("the content of an interactive-figure must start with a "
                                 "caption paragraph")
        else:
            raise self.error("an interactive-figure needs a caption")
        self.add_name(figure)
        return [figure]


def _page_assets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Load the script and styles only on pages that have an interactive figure."""
    if app.builder.name == "epub" or doctree is None \
            or not any(True for _ in doctree.findall(interactive_figure)):
        return
    app.add_css_file(CSS_FILE)
    app.add_js_file(JS_FILE, defer="defer")


def setup(app: Sphinx) -> dict:
    app.add_node(interactive_figure,
                 html=(_visit_html, _depart_html),
                 latex=(_visit_skip, _depart_skip),
                 text=(_visit_skip, _depart_skip),
                 man=(_visit_skip, _depart_skip),
                 texinfo=(_visit_skip, _depart_skip))
    app.add_directive("interactive-figure", InteractiveFigure)
    app.connect("html-page-context", _page_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
