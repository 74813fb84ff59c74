"""The site in a real browser (headless system Chromium), served on 127.0.0.1.

For every page of the table of contents: all math typeset by the local MathJax
(no errors), all images loaded, no console errors, no failed request, and no
request to any host but the site's own.  Plus: search finds a word, the
light/dark switch works, and exercise solutions start collapsed.
"""
from __future__ import annotations

import pytest
from book_paths import toc_docnames
from site_browser import open_page as site_open_page

DOCS = toc_docnames()


def open_page(context, url):
    """Load url; return (page, problems) after MathJax and every request have finished."""
    page, problems = site_open_page(context, url)
    page.wait_for_load_state("networkidle")
    return page, problems


@pytest.mark.parametrize("doc", DOCS)
def test_page_renders_offline(context, site_url, doc):
    before = len(context.outside)
    page, problems = open_page(context, f"{site_url}/{doc}.html")
    try:
        n_math = page.locator("span.math, div.math").count()
        n_typeset = page.locator("span.math mjx-container, div.math mjx-container").count()
        assert n_typeset == n_math, f"{n_math - n_typeset} of {n_math} math nodes not typeset"
        assert page.locator("mjx-merror").count() == 0, "MathJax reported TeX errors"
        if doc != "book/intro":
            assert n_math > 0 or doc in ("book/references", "book/build_info", "book/equations"), "no math?"
        images = page.evaluate("""() => Array.from(document.images).map(
            i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0])""")
        assert all(ok for _, ok in images), f"images not loaded: {[s for s, ok in images if not ok]}"
        assert not problems, "\n".join(problems)
        assert len(context.outside) == before, f"requests left the site: {context.outside[before:]}"
    finally:
        page.close()


def test_chapter_figures_are_inline_svg_images(context, site_url):
    page, problems = open_page(context, f"{site_url}/book/single_neuron.html")
    try:
        srcs = page.evaluate("() => Array.from(document.querySelectorAll('figure img')).map(i => i.src)")
        assert len(srcs) >= 3 and all(s.endswith(".svg") for s in srcs), srcs
        captions = page.locator("figure figcaption").all_inner_texts()
        assert any("Fig. 2.3" in c for c in captions), captions
    finally:
        page.close()


def test_search_finds_a_word(context, site_url):
    page, problems = open_page(context, f"{site_url}/search.html?q=sigmoid")
    try:
        page.wait_for_selector("#search-results ul.search li", timeout=20_000)
        hits = page.locator("#search-results ul.search li a").all_inner_texts()
        assert any("single neuron" in h.lower() for h in hits), hits
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_light_and_dark_mode(context, site_url):
    page, _ = open_page(context, f"{site_url}/book/notation.html")
    try:
        seen = set()
        for _ in range(3):                     # the switch cycles through auto, light, dark
            page.locator("button.theme-switch-button").first.click()
            seen.add(page.evaluate("() => document.documentElement.dataset.theme"))
        assert {"light", "dark"} <= seen, seen
    finally:
        page.close()


def test_solutions_start_collapsed(context, site_url):
    page, _ = open_page(context, f"{site_url}/book/single_neuron.html")
    try:
        solutions = page.locator("div.solution.dropdown")
        assert solutions.count() >= 5
        first = solutions.first
        body = first.locator("#solution-content")
        assert not body.is_visible(), "solutions should be collapsed on the site"
        first.locator("button.toggle-button").click()
        body.wait_for(state="visible", timeout=5_000)
        exercise = page.locator("div.exercise").first.locator("#exercise-content")
        assert exercise.is_visible(), "exercises themselves are shown"
    finally:
        page.close()
