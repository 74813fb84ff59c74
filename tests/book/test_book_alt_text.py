"""Every figure has a text alternative that says what it shows.

Two checks:

* in the sources: every ``{glue:figure}``, ``{figure}``, ``{image}`` and
  ``{interactive-figure}`` of the book's pages has an ``:alt:`` option of a
  sentence or more (at least :data:`MIN_WORDS` words, not "Figure 3");
* in the built site: every ``<img>`` has a meaningful ``alt`` attribute.

How to give a figure its alt text: the ``:alt:`` option of the directive that
shows it.  For a glued figure (``glue(name, fig, display=False)`` and
``{glue:figure} name``) the option goes on the ``{glue:figure}`` directive:
myst-nb renders the glued output with the directive's options only, so
``mystnb: image: alt:`` metadata on the gluing code cell does not reach the
page (it works only for a figure shown by the cell's own output).

The failure message lists every figure still without alt text, as
``page:line name``.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from book_paths import ROOT, toc_docnames

#: An alt text is a sentence or two, not a label.
MIN_WORDS = 6
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(glue:figure|figure|image|interactive-figure)\}\s*(.*)$")
PLACEHOLDER = re.compile(r"^fig(ure)?\.?\s*\d", re.I)     # "Figure 3", "Fig. 2.1 ..."


def source_figures():
    """(page, line, name, alt) for every figure directive of the book's pages."""
    for doc in toc_docnames():
        lines = (ROOT / f"{doc}.md").read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = DIRECTIVE.match(line)
            if not m:
                continue
            name, alt = m.group(3), None
            for option in lines[i + 1:]:
                if not option.startswith(":"):
                    break
                key, _, value = option[1:].partition(":")
                if key == "name":
                    name = value.strip()
                elif key == "alt":
                    alt = value.strip()
            yield doc, i + 1, name, alt
        for i, line in enumerate(lines):            # Markdown images ![alt](src)
            for alt, src in re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", line):
                yield doc, i + 1, src, alt


def meaningful(alt: str | None) -> bool:
    return bool(alt) and len(alt.split()) >= MIN_WORDS and not PLACEHOLDER.match(alt)


def test_every_figure_in_the_sources_has_alt_text():
    figures = list(source_figures())
    assert len(figures) >= 40, f"only {len(figures)} figures found: is the pattern right?"
    missing = [f"{doc}.md:{line} {name}" + ("" if alt is None else f" (alt too short: {alt!r})")
               for doc, line, name, alt in figures if not meaningful(alt)]
    assert not missing, (f"{len(missing)} of {len(figures)} figures have no alt text "
                         "(add ':alt: ...' to the directive):\n  " + "\n  ".join(missing))


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def test_every_image_on_the_site_has_alt_text(html_dir):
    bad, n = [], 0
    for doc in toc_docnames():
        parser = _Images()
        parser.feed((html_dir / f"{doc}.html").read_text(encoding="utf-8"))
        for img in parser.images:
            if "_static/images/" in img.get("src", ""):
                continue        # the theme's button icons (Binder logo): the button is labelled
            n += 1
            alt = img.get("alt")
            decorative = alt == "" and img.get("role") == "presentation"
            if not decorative and not meaningful(alt):
                bad.append(f"{doc}: {img.get('src', '?')[-40:]} alt={alt!r}")
    assert n >= 40, f"only {n} images on the site"
    assert not bad, f"{len(bad)} of {n} images without a meaningful alt:\n  " + "\n  ".join(bad)
