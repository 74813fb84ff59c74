"""Figures in dark mode.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``.  Every figure of
the book is a Matplotlib SVG.  In dark mode, none may stay a white box with black
text, and none may change its meaning:

* A **plot** (vector only) is shown with its lightness inverted and its hues
  kept, by CSS (``dlfs.css``: ``invert(0.9) hue-rotate(180deg)``): the white
  background turns dark, black lines and labels turn light, red stays red.
* A **picture** (an SVG holding raster data: digits, cats, weight maps,
  confusion matrices) cannot be inverted as a whole: a digit would turn into
  its negative and a photograph into a film negative.  The site gets a second
  rendering instead, written at build time next to the first
  (``_images/<name>-dark.svg``): the same colour mapping applied to the
  vector parts only (background, axes, ticks, labels, titles, colour-bar
  frame), while the raster images, colour-mapped data drawn as vectors
  (``pcolormesh``) and the text and markers drawn *on* an image (counts in
  the cells of a confusion matrix) keep their colours.  The theme shows one
  of the two ``<img>`` (``dlfs-light`` / ``dlfs-dark`` in ``dlfs.css``).

The EPUB and the PDF keep the light figures.

A caption that names a plot's black or white says ``{ink}`black/white` ``: the
site shows the first word in light mode and the second in dark mode (where the
plot's black is drawn light); the PDF and the EPUB show the first.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)

# CSS hue-rotate(180deg) as the matrix of the Filter Effects specification
HUE_180 = ((-0.574, 1.430, 0.144),
           (0.426, 0.430, 0.144),
           (0.426, 1.430, -0.856))
INVERT = 0.9                     # CSS invert(0.9): as dlfs.css does for plots
#: Groups of colour-mapped data drawn as vectors (pcolormesh, contourf): their colours
#: are read against the picture's colour bar, so they stay as they are, like images.
COLOUR_MAPPED = ("QuadMesh", "QuadContourSet", "ContourSet")


def dark_colour(colour: str) -> str:
    """``#rrggbb`` as a plot's CSS filter shows it in dark mode (invert(0.9), hue-rotate(180deg))."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    inverted = [INVERT * (1 - c) + (1 - INVERT) * c for c in rgb]
    rotated = [min(1.0, max(0.0, sum(m * c for m, c in zip(row, inverted)))) for row in HUE_180]
    return "#" + "".join(f"{round(c * 255):02x}" for c in rotated)


_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")
_COLOUR_PROPS = re.compile(r"((?:fill|stroke|stop-color)\s*:\s*)(#[0-9a-fA-F]{6})\b")


def _map_style(style: str) -> str:
    return _COLOUR_PROPS.sub(lambda m: m.group(1) + dark_colour(m.group(2)), style)


def _transform_point(transform: str, x: float, y: float) -> tuple[float, float]:
    """Apply an SVG transform list (translate, scale, matrix) to a point."""
    ops = re.findall(r"(translate|scale|matrix)\(([^)]*)\)", transform or "")
    for name, args in reversed(ops):            # the rightmost applies first
        v = [float(a) for a in re.split(r"[\s,]+", args.strip()) if a]
        if name == "translate":
            x, y = x + v[0], y + (v[1] if len(v) > 1 else 0.0)
        elif name == "scale":
            x, y = x * v[0], y * (v[1] if len(v) > 1 else v[0])
        else:
            a, b, c, d, e, f = v
            x, y = a * x + c * y + e, b * x + d * y + f
    return x, y


def _image_boxes(root) -> list[tuple[float, float, float, float]]:
    boxes = []
    for image in root.iter(f"{{{SVG}}}image"):
        x, y = float(image.get("x", 0)), float(image.get("y", 0))
        w, h = float(image.get("width", 0)), float(image.get("height", 0))
        corners = [_transform_point(image.get("transform", ""), px, py)
                   for px in (x, x + w) for py in (y, y + h)]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return boxes


def _glyph_anchor(node) -> tuple[float, float] | None:
    """Where Matplotlib placed a text or a marker: a <g transform="translate(x y) scale(...)">
    holding the glyphs (<use>), a <text x= y=> (fonts not converted to paths) or a
    <use x= y=> (a marker)."""
    if node.tag == f"{{{SVG}}}g" and node.get("transform", "").startswith("translate(") \
            and node.find(f"{{{SVG}}}use") is not None:
        return _transform_point(node.get("transform").split(")")[0] + ")", 0.0, 0.0)
    if node.tag in (f"{{{SVG}}}text", f"{{{SVG}}}use") and node.get("x") is not None:
        # <use x= y=>: a marker (a scatter point drawn on a picture keeps its colours)
        return _transform_point(node.get("transform", ""), float(node.get("x")),
                                float(node.get("y", 0)))
    return None


def dark_svg(text: str) -> str:
    """The dark rendering of a Matplotlib SVG holding raster images (see the module's doc)."""
    root = ET.fromstring(text.encode("utf-8"))
    boxes = _image_boxes(root)

    def on_image(node) -> bool:
        point = _glyph_anchor(node)
        return point is not None and any(x0 < point[0] < x1 and y0 < point[1] < y1
                                          for x0, y0, x1, y1 in boxes)

    def walk(node):
        if on_image(node):
            # text on a picture keeps its colour, black included (the SVG default, which
            # the root's new default would otherwise turn light)
            style = node.get("style", "")
            if "fill" not in style:
                node.set("style", (style + "; " if style else "") + "fill: #000000")
            return
        if node.tag == f"{{{SVG}}}image" or node.get("id", "").startswith(COLOUR_MAPPED):
            return
        if node.get("style"):
            node.set("style", _map_style(node.get("style")))
        for attr in ("fill", "stroke", "stop-color"):
            value = node.get(attr)
            if value and _HEX.fullmatch(value):
                node.set(attr, dark_colour(value))
        for child in node:
            walk(child)

    walk(root)
    # glyphs and shapes without a fill of their own are drawn black by SVG's default
    root.set("style", (root.get("style", "") + "; " if root.get("style") else "")
             + f"fill: {dark_colour('#000000')}")
    return ET.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------
def _figure_classes(app: Sphinx, doctree, docname: str) -> None:
    """Mark each SVG figure as a plot (vector only) or a picture (holds raster data)."""
    if app.builder.format != "html":
        return
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.endswith(".svg"):
            continue
        path = Path(uri) if Path(uri).is_absolute() else Path(app.srcdir) / uri
        if not path.is_file():
            path = Path(app.srcdir) / Path(docname).parent / uri
        try:
            svg = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # "dark-light" tells pydata-sphinx-theme the figure handles dark mode itself
        # (otherwise it dims it and puts it on a white card)
        image["classes"] += (["dlfs-picture", "dlfs-light", "dark-light"] if "<image" in svg
                             else ["dlfs-plot", "dark-light"])


_PICTURE = re.compile(r'<img\b[^>]*\bclass="[^"]*\bdlfs-picture\b[^"]*"[^>]*>')


def _dark_twins(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """After each picture's <img>, the same <img> showing its dark rendering."""
    if app.builder.name != "html" or "dlfs-picture" not in context.get("body", ""):
        return
    sources = {dest: src for src, dest in app.builder.images.items()}
    outdir = Path(app.builder.outdir) / app.builder.imagedir

    def twin(match):
        tag = match.group(0)
        src = re.search(r'\bsrc="([^"]+)"', tag).group(1)
        name = src.rsplit("/", 1)[-1]
        if name not in sources or not name.endswith(".svg"):
            return tag
        dark_name = name[:-4] + "-dark.svg"
        target = outdir / dark_name
        source = Path(app.srcdir) / sources[name]
        outdir.mkdir(parents=True, exist_ok=True)
        target.write_text(dark_svg(source.read_text(encoding="utf-8")), encoding="utf-8")
        dark = tag.replace(src, src[: -len(name)] + dark_name)
        dark = dark.replace("dlfs-light", "dlfs-dark")
        return tag + dark

    context["body"] = _PICTURE.sub(twin, context["body"])


def ink_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{ink}`black/white` ``: the word for light mode, then the word for dark mode."""
    light, sep, dark = (part.strip() for part in text.partition("/"))
    if not (sep and light and dark):
        msg = inliner.reporter.error(
            f"{{ink}} takes 'light-mode word/dark-mode word', not {text!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    return [nodes.inline("", "", nodes.inline(light, light, classes=["dlfs-ink-light"]),
                         nodes.inline(dark, dark, classes=["dlfs-ink-dark"]),
                         classes=["dlfs-ink"])], []


def _ink_for_print(app: Sphinx, doctree, docname: str) -> None:
    """The PDF and the EPUB show light-mode figures: only the light-mode word stays."""
    if app.builder.name == "html":
        return
    for node in list(doctree.findall(nodes.inline)):
        if "dlfs-ink-dark" in node["classes"]:
            node.parent.remove(node)


def setup(app: Sphinx) -> dict:
    app.add_role("ink", ink_role)
    app.connect("doctree-resolved", _ink_for_print)
    app.connect("doctree-resolved", _figure_classes)
    app.connect("html-page-context", _dark_twins, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
