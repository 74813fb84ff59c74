"""Every page names its build (dlfs version, commit, date) and links to the errata form.

The repository's URL is set once, as ``repository.url`` in ``_config.yml``; the
README and the introduction must name the same repository.
"""
from __future__ import annotations

import html
import re
import subprocess
from urllib.parse import parse_qs, urlparse

import yaml
from book_paths import ROOT, toc_docnames

import dlfs

REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
GITHUB_REPO = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")


def test_every_page_has_the_build_footer(html_dir):
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    for doc in toc_docnames():
        page = (html_dir / f"{doc}.html").read_text(encoding="utf-8")
        m = re.search(r'<p class="dlfs-footer">(.*?)</p>', page, re.S)
        assert m, f"{doc}: no build footer"
        footer = m.group(1)
        assert f"<code>dlfs</code> {dlfs.__version__}" in footer, footer
        assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC", footer), footer
        if commit:
            assert f"<code>{commit}" in footer, (commit, footer)
        link = html.unescape(re.search(r'class="dlfs-report" href="([^"]+)"', footer).group(1))
        url = urlparse(link)
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{REPO}/issues/new", link
        query = parse_qs(url.query)
        assert query["title"][0].startswith("Error on page: "), query
        assert f"Page: {doc}.html" in query["body"][0], query["body"][0]


def test_readme_and_intro_name_the_configured_repository():
    for path in (ROOT / "README.md", ROOT / "book" / "intro.md"):
        text = path.read_text(encoding="utf-8")
        repos = {r.rstrip(".") for r in GITHUB_REPO.findall(text)}
        assert repos <= {REPO}, f"{path.name} names another repository: {repos - {REPO}}"
    assert REPO in (ROOT / "README.md").read_text()
    assert "{{ repository_link }}" in (ROOT / "book" / "intro.md").read_text()


def test_intro_links_the_repository(html_dir):
    page = (html_dir / "book" / "intro.html").read_text(encoding="utf-8")
    assert f'href="{REPO}"' in page
