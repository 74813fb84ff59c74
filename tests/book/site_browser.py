"""Opening the built site's pages in headless Chromium: shared by the browser tests.

The ``browser`` and ``site_url`` fixtures (conftest.py) start the browser and
serve the site; :func:`new_context` gives a browser context that records and
blocks every request leaving the site, and :func:`open_page` loads a page and
waits until MathJax has typeset it, collecting every problem (console error,
page error, failed request, HTTP error) in a list.
"""
from __future__ import annotations

#: sphinx-thebe 0.3.1 registers an inline script twice with Sphinx 7.4: harmless.
ALLOWED_CONSOLE = ("Identifier 'THEBE_JS_URL' has already been declared",)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def new_context(browser, site_url, viewport=None, theme=None, **options):
    """A context whose requests outside the site are recorded in ``ctx.outside`` and
    aborted; ``theme`` ("light"/"dark") is stored where the theme's switch keeps it."""
    ctx = browser.new_context(viewport=viewport or DESKTOP, **options)
    ctx.outside = []

    def route(r):
        if r.request.url.startswith(site_url + "/"):
            r.continue_()
        else:
            ctx.outside.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    if theme:
        ctx.add_init_script(f"localStorage.setItem('mode', '{theme}');"
                            f"localStorage.setItem('theme', '{theme}');")
    return ctx


def open_page(context, url, theme=None, ready=None):
    """Load ``url``; return (page, problems) once ``ready`` (a JavaScript predicate,
    if given) holds and MathJax has finished typesetting."""
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(ALLOWED_CONSOLE)
            and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status} {r.url}"))
    if theme:
        page.add_init_script(f"localStorage.setItem('mode', '{theme}');"
                             f"localStorage.setItem('theme', '{theme}');")
    page.goto(url, wait_until="load")
    if ready:
        page.wait_for_function(ready, timeout=20_000)
    if page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
    return page, problems
