"""Fixtures for the book's build tests.

These tests check the *output* of ``make book`` (``.ci/build-book``): the site in
``_build/html`` and the PDF in ``_build/latex``.  They never build anything
themselves.

Without the book's packages (``pip install -e '.[dev]'`` only) or without a build,
the whole directory is skipped, and the reason is shown (``-ra``).  In CI
(environment variable ``CI`` set to ``true``/``1``, as GitHub Actions and
``.ci/run`` do), where everything is installed and built first, nothing here may
be skipped: the guard test fails instead, and so does any test that skips.  A
build older than the sources fails (it does not skip).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from book_ready import NOT_READY, in_ci  # noqa: E402  (no third-party imports)

if NOT_READY:
    # Their imports need the book's packages: collect only the guard test.
    collect_ignore_glob = [p.name for p in Path(__file__).parent.glob("test_*.py")
                           if p.name != "test_book_ready.py"]
else:
    from book_paths import HTML, PDF, SITE_PDF, TIMES, require, toc_docnames, tool


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped book test is a failure: CI installs and builds everything."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and "xfail" not in report.keywords:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ.get('CI')}), which must run it: {reason}"


@pytest.fixture(scope="session")
def html_dir() -> Path:
    require(HTML / "index.html", "the book's website")
    for doc in toc_docnames():
        require(HTML / f"{doc}.html", f"page {doc}")
    return HTML


@pytest.fixture(scope="session")
def pdf_path() -> Path:
    require(PDF, "the book's PDF")
    require(SITE_PDF, "the PDF copied into the site")
    return PDF


@pytest.fixture(scope="session")
def build_record() -> dict:
    require(TIMES, "the build record written by .ci/build-book")
    return json.loads(TIMES.read_text())["history"][-1]


@pytest.fixture(scope="session")
def pdf_text(pdf_path) -> str:
    """Text of the PDF (pdftotext), NFKC-normalised: math italic letters become ASCII."""
    import unicodedata

    out = subprocess.run([tool("pdftotext"), "-enc", "UTF-8", str(pdf_path), "-"],
                         capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", out)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="session")
def site_url(html_dir):
    """The site served on 127.0.0.1 (a free port) for the duration of the session."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium driven by playwright (no `playwright install`)."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).is_file():
        pytest.fail(f"no Chromium at {executable}; run .ci/setup-book or set CHROMIUM",
                    pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable,
                              args=["--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking",
                                    "--disable-component-update", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def context(browser, site_url):
    """A desktop-sized browser context that records (and blocks) every request
    leaving the site (site_browser.new_context)."""
    from site_browser import new_context

    ctx = new_context(browser, site_url)
    yield ctx
    ctx.close()
