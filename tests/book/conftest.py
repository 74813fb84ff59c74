"""Fixtures for the book's build tests.

These tests check the *output* of ``make book`` (``.ci/build-book``): the site in
``_build/html`` and the PDF in ``_build/latex``.  They never build anything
themselves; if the output is missing or older than the sources, they fail with
a message saying so (they do not skip).
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
from book_paths import HTML, PDF, SITE_PDF, TIMES, require, toc_docnames, tool


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
