"""Figures in dark mode (book/_ext/dlfs_dark.py, book/_assets/dlfs.css).

* The colour mapping and the dark rendering of a picture, on a Matplotlib figure
  made here: background and labels change, the raster and the text drawn on it
  do not.
* On the built site every picture has its dark twin, and in a real browser, in
  dark mode, no figure of any page is a white box: the frame of every visible
  figure is dark.  Screenshots of picture-heavy pages go to
  _build/screenshots/dark/.
* ``{ink}`black/white` `` shows the word that matches the figure in each theme.
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from book_paths import BUILD, toc_docnames
from site_browser import PHONE, new_context, open_page

import dlfs_dark

SHOTS = BUILD / "screenshots" / "dark"
PICTURE_PAGES = ("book/mnist_data", "book/cnn_mnist", "book/cats")


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_dark_colour_inverts_lightness_and_keeps_hue():
    assert luminance(dlfs_dark.dark_colour("#ffffff")) < 0.15
    assert luminance(dlfs_dark.dark_colour("#000000")) > 0.85
    red = dlfs_dark.dark_colour("#d62728")
    assert int(red[1:3], 16) > int(red[3:5], 16) and int(red[1:3], 16) > int(red[5:7], 16)
    with pytest.raises(ValueError):
        dlfs_dark.dark_colour("#12345z")


@pytest.fixture(scope="module")
def picture_svg() -> str:
    """A confusion-matrix-like picture: raster cells, counts on them, title, colour bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 3))
    im = ax.imshow(np.arange(9.0).reshape(3, 3), cmap="Blues")
    ax.text(2, 2, "42", color="white", ha="center", va="center", gid="on_white_count")
    ax.text(0, 0, "7", ha="center", va="center", gid="on_black_count")
    ax.set_title("a title", gid="the_title")
    fig.colorbar(im, ax=ax)
    ax.inset_axes([0.6, 0.6, 0.3, 0.3]).pcolormesh(np.eye(2), cmap="Reds")   # vector cells
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()


def _fill_of(svg: str, gid: str) -> str | None:
    m = re.search(r'<g id="' + gid + r'"[^>]*>\s*(?:<!--.*?-->\s*)?<g\b([^>]*)>', svg, flags=re.S)
    m = m and re.search(r'style="[^"]*fill: (#[0-9a-f]{6})', m.group(1))
    return m.group(1) if m else None


def test_dark_rendering_of_a_picture(picture_svg):
    dark = dlfs_dark.dark_svg(picture_svg)
    # the figure's background is dark, its default (text) colour light
    background = re.search(r'<g id="patch_1">\s*<path [^>]*style="fill: (#[0-9a-f]{6})', dark)
    assert luminance(background.group(1)) < 0.15
    root_fill = re.search(r"<svg\b[^>]*style=\"[^\"]*fill: (#[0-9a-f]{6})", dark).group(1)
    assert luminance(root_fill) > 0.85
    # the raster images are the same bytes
    def rasters(svg):
        return [(i.attrib, i.get("style")) for i in ET.fromstring(svg.encode()).iter(
            "{http://www.w3.org/2000/svg}image")]

    assert len(rasters(picture_svg)) == 2 and rasters(dark) == rasters(picture_svg)
    # colour-mapped cells drawn as vectors keep their colours too
    mesh = re.compile(r'<g id="QuadMesh_1">.*?</g>', flags=re.S)
    assert re.findall("#[0-9a-f]{6}", mesh.search(dark).group(0)) == \
        re.findall("#[0-9a-f]{6}", mesh.search(picture_svg).group(0)) != []
    # counts drawn on the picture keep their colours, black included
    assert _fill_of(dark, "on_white_count") == "#ffffff"
    assert _fill_of(dark, "on_black_count") == "#000000"
    # the title (off the picture) takes the default: the light root fill
    assert 'id="the_title"' in dark and _fill_of(dark, "the_title") is None


def test_every_picture_has_a_dark_twin(html_dir):
    pictures = 0
    for page in html_dir.glob("book/*.html"):
        body = page.read_text(encoding="utf-8")
        for tag in re.findall(r'<img\b[^>]*\bdlfs-picture\b[^>]*>', body):
            pictures += 1
            src = re.search(r'src="([^"]+)"', tag).group(1)
            if "dlfs-light" in tag:
                twin = src[:-4] + "-dark.svg"
                assert f'src="{twin}"' in body, f"{page.name}: {src} has no dark twin"
                dark = (page.parent / twin).read_text(encoding="utf-8")
                fill = re.search(r'<g id="patch_1">\s*<path [^>]*style="fill: (#[0-9a-f]{6})', dark)
                assert fill and luminance(fill.group(1)) < 0.15, f"{twin}: background not dark"
            else:
                assert "dlfs-dark" in tag and src.endswith("-dark.svg"), tag
    assert pictures >= 20, f"only {pictures} pictures found"


def _bright_frame(page, img) -> float:
    """Share of bright pixels on the outer 4-pixel frame of a figure as shown."""
    from PIL import Image

    png = img.screenshot()
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float) / 255
    frame = np.concatenate([pixels[:4].ravel(), pixels[-4:].ravel(),
                            pixels[:, :4].ravel(), pixels[:, -4:].ravel()])
    return float((frame > 0.8).mean())


@pytest.mark.parametrize("doc", toc_docnames())
def test_no_figure_is_a_white_box_in_dark_mode(browser, site_url, doc):
    ctx = new_context(browser, site_url, theme="dark")
    try:
        page, _ = open_page(ctx, f"{site_url}/{doc}.html")
        figures = page.locator("figure img:visible")
        white = []
        for i in range(figures.count()):
            img = figures.nth(i)
            img.scroll_into_view_if_needed()
            if img.bounding_box()["width"] < 40:
                continue
            share = _bright_frame(page, img)
            if share > 0.25:
                white.append(f"{img.get_attribute('src')}: {share:.0%} of its frame is bright")
        if doc in PICTURE_PAGES:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("figure img.dlfs-dark").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{doc.split('/')[-1]}-dark-1280.png"))
            page.set_viewport_size(PHONE)
            page.locator("figure img.dlfs-dark").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{doc.split('/')[-1]}-dark-390.png"))
        assert not white, f"{doc}: figures shown as white boxes in dark mode:\n  " + "\n  ".join(white)
        page.close()
    finally:
        ctx.close()


def test_ink_words_follow_the_theme(browser, site_url):
    for theme, word in (("light", "black"), ("dark", "white")):
        ctx = new_context(browser, site_url, theme=theme)
        try:
            page, _ = open_page(ctx, f"{site_url}/book/networks.html")
            ink = page.locator("span.dlfs-ink").first
            assert ink.inner_text().strip().lower() == word, (theme, ink.inner_text())
            page.close()
        finally:
            ctx.close()


def test_pdf_names_the_light_figures_colours(pdf_text):
    assert "black/white" not in pdf_text
    assert not re.search(r"\bblackwhite\b|\bBlackWhite\b", pdf_text)
