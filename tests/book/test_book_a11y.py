"""Accessibility of the site, audited in a real browser (headless Chromium).

* axe-core (pinned; the file comes from PyPI, unpacked into .tools/ by
  .ci/setup-book, and is injected into the page, nothing from a CDN) audits
  every page of the table of contents in light and in dark mode against WCAG
  2.1 A and AA: no violation of impact "serious" or "critical".
* At a phone's width (390 px) no page scrolls sideways as a whole: wide
  equations, tables and code scroll inside their own box.
* Code lines of the chapters' code cells fit the code box: at most
  :data:`MAX_COLUMNS` characters.
* MathJax's assistive MathML is on, so a screen reader reads the equations.

Screenshots of figure-heavy pages in dark mode and at phone width go to
_build/screenshots/a11y/.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from book_paths import BUILD, HTML, ROOT, toc_docnames
from site_browser import PHONE, new_context, open_page

AXE = ROOT / ".tools" / "axe_playwright_python" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAIL_IMPACTS = ("serious", "critical")
SHOTS = BUILD / "screenshots" / "a11y"
#: Pages whose screenshots are kept (dark mode, desktop and phone).
SHOT_PAGES = ("book/single_neuron", "book/networks", "book/optimisers")
MAX_COLUMNS = 88
DOCS = toc_docnames()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE.relative_to(ROOT)}); run .ci/setup-book",
                    pytrace=False)
    return AXE.read_text(encoding="utf-8")


def run_axe(page, axe_source: str) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS)
    return result["violations"]


def set_theme(page, theme: str) -> None:
    """Switch the page's theme the way the theme's own button does (data-theme on <html>),
    without the theme's colour transitions (axe would read colours half-way)."""
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    page.evaluate("t => { document.documentElement.dataset.theme = t;"
                  " document.documentElement.dataset.mode = t; }", theme)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background != ("rgb(255, 255, 255)" if theme == "dark" else "rgb(18, 18, 18)"), \
        f"{theme} mode did not take: background {background}"


def sideways_overflow(page) -> str | None:
    """Why the page scrolls sideways as a whole, or None (content that scrolls inside
    its own box does not count)."""
    width = page.evaluate("""() => [document.documentElement.scrollWidth,
                                    document.documentElement.clientWidth]""")
    if width[0] <= width[1] + 1:
        return None
    culprits = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .filter(e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
                         if (getComputedStyle(a).overflowX !== 'visible') return false;
                       return true; })
        .slice(0, 5).map(e => e.tagName + '.' + (e.className.baseVal ?? e.className))""")
    return f"{width[0]} px wide at {width[1]} px: {culprits}"


@pytest.mark.parametrize("doc", DOCS)
def test_page_is_accessible_in_both_themes_and_on_a_phone(context, site_url, axe_source, doc):
    """One load per page: axe in light mode, then in dark mode, then the page at 390 px."""
    page, _ = open_page(context, f"{site_url}/{doc}.html", theme="light")
    try:
        report = []
        for theme in ("light", "dark"):
            set_theme(page, theme)
            report += [f"{theme}: {v['id']} ({v['impact']}): {v['help']}; {len(v['nodes'])} "
                       "nodes, e.g. " + "; ".join(json.dumps(n["target"]) for n in v["nodes"][:3])
                       for v in run_axe(page, axe_source) if v["impact"] in FAIL_IMPACTS]
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(200)
        overflow = sideways_overflow(page)
        if overflow:
            report.append(f"phone: {overflow}")
        if doc in SHOT_PAGES:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("figure img.dlfs-plot").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{doc.split('/')[-1]}-dark-390.png"))
        assert not report, f"{doc}:\n  " + "\n  ".join(report)
    finally:
        page.close()


@pytest.mark.parametrize("doc", SHOT_PAGES)
def test_plots_follow_dark_mode(browser, site_url, doc):
    """In dark mode a plot is not a white box: its background is dark, as the page's."""
    ctx = new_context(browser, site_url, theme="dark")
    try:
        page, _ = open_page(ctx, f"{site_url}/{doc}.html")
        plots = page.locator("figure img.dlfs-plot")
        assert plots.count() >= 2, f"{doc}: no plots marked dlfs-plot"
        filters = plots.evaluate_all("imgs => imgs.map(i => getComputedStyle(i).filter)")
        assert all("invert" in f for f in filters), filters
        background = plots.first.evaluate("i => getComputedStyle(i).backgroundColor")
        assert background in ("rgba(0, 0, 0, 0)", "transparent"), background
        SHOTS.mkdir(parents=True, exist_ok=True)
        plots.nth(1).scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"{doc.split('/')[-1]}-dark-1280.png"))
        page.close()
    finally:
        ctx.close()


def test_mathjax_assistive_mathml_is_on(context, site_url):
    page, _ = open_page(context, f"{site_url}/book/single_neuron.html")
    try:
        assert page.locator("mjx-container mjx-assistive-mml math").count() > 10
    finally:
        page.close()


def test_code_cells_fit_the_code_box():
    long = []
    for doc in DOCS:
        inside = False
        for i, line in enumerate((ROOT / f"{doc}.md").read_text(encoding="utf-8").splitlines()):
            if re.match(r"^```+\{code-cell\}", line):
                inside = True
            elif inside and re.match(r"^```+\s*$", line):
                inside = False
            elif inside and len(line) > MAX_COLUMNS:
                long.append(f"{doc}.md:{i + 1} ({len(line)} columns)")
    assert not long, f"code lines longer than {MAX_COLUMNS} columns:\n  " + "\n  ".join(long)


class _CellOutputs(HTMLParser):
    """The text of every ``<pre>`` inside a cell's output (stream, result, traceback)."""

    def __init__(self):
        super().__init__()
        self.depth = 0              # > 0 inside <div class="cell_output ...">
        self.in_pre = False
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "div" and (self.depth or "cell_output" in (dict(attrs).get("class") or "")):
            self.depth += 1
        elif tag == "pre" and self.depth:
            self.in_pre = True
            self.texts.append("")

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1
        elif tag == "pre":
            self.in_pre = False

    def handle_data(self, data):
        if self.in_pre:
            self.texts[-1] += data


def test_cell_outputs_fit_the_code_box():
    """What a cell prints fits the same 88 columns as its code (on the site and in the
    PDF's code box): long results are printed as several lines or a table."""
    long, n_outputs = [], 0
    for doc in DOCS:
        parser = _CellOutputs()
        parser.feed((HTML / f"{doc}.html").read_text(encoding="utf-8"))
        n_outputs += len(parser.texts)
        long += [f"{doc}: {len(line)} columns: {line[:60]}..." for text in parser.texts
                 for line in text.splitlines() if len(line.expandtabs()) > MAX_COLUMNS]
    assert n_outputs > 100, f"only {n_outputs} cell outputs found: has the HTML changed?"
    assert not long, (f"output lines longer than {MAX_COLUMNS} columns:\n  "
                      + "\n  ".join(long))


def test_solutions_open_from_the_keyboard(context, site_url):
    page, _ = open_page(context, f"{site_url}/book/single_neuron.html")
    try:
        solution = page.locator("div.solution.dropdown").first
        toggle = solution.locator("button.toggle-button")
        assert toggle.get_attribute("aria-label"), "the toggle has no accessible name"
        body = solution.locator("#solution-content")
        assert not body.is_visible()
        toggle.focus()
        page.keyboard.press("Enter")
        body.wait_for(state="visible", timeout=5_000)
    finally:
        page.close()


def test_tabs_work_from_the_keyboard(context, site_url):
    """sphinx-design's tabs are radio buttons: Tab reaches the chosen one (with a visible
    focus ring on its label), the arrow keys choose another, and its panel shows."""
    page, _ = open_page(context, f"{site_url}/book/frameworks.html")
    try:
        tabs = page.locator(".sd-tab-set").first
        inputs, panels = tabs.locator(":scope > input"), tabs.locator(":scope > .sd-tab-content")
        assert inputs.count() >= 2 and panels.nth(0).is_visible() and not panels.nth(1).is_visible()
        # reach the tab set with the Tab key, from the element just before it
        page.evaluate("""el => { const all = [...document.querySelectorAll(
                             'a[href], button, input, [tabindex]:not([tabindex="-1"])')];
                           const i = all.indexOf(el); all[i - 1].focus(); }""",
                      inputs.nth(0).element_handle())
        page.keyboard.press("Tab")
        assert inputs.nth(0).evaluate("el => el === document.activeElement")
        outline = tabs.locator(":scope > label").nth(0).evaluate(
            "l => getComputedStyle(l).outlineStyle")
        assert outline != "none", "the focused tab shows no focus ring"
        page.keyboard.press("ArrowRight")
        assert inputs.nth(1).is_checked()
        panels.nth(1).wait_for(state="visible", timeout=5_000)
        assert not panels.nth(0).is_visible()
    finally:
        page.close()
