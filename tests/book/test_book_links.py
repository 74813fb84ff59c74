"""Every internal link and anchor of the site resolves."""
from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from book_paths import HTML


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []          # (attribute, value)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and (name == "id" or tag == "a"):
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link", "area")) or \
                    (name == "src" and tag in ("img", "script", "iframe", "source")):
                self.refs.append((name, value))


@lru_cache(maxsize=None)
def parse(page: Path) -> _Collector:
    collector = _Collector()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    return collector


def pages() -> list[Path]:
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts)


def test_internal_links_and_anchors_resolve(html_dir):
    broken = []
    checked = 0
    for page in pages():
        for attr, ref in parse(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            checked += 1
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(HTML)}: {attr}={ref!r}"
            if not target.is_file():
                broken.append(f"{where} -> missing file")
            elif parts.fragment and target.suffix == ".html" \
                    and unquote(parts.fragment) not in parse(target).ids:
                broken.append(f"{where} -> missing anchor #{parts.fragment}")
    assert checked > 500, f"only {checked} internal links found; is the site complete?"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])


def test_equation_references_point_at_equations(html_dir):
    """{eq} links land on a numbered equation, and its number is the one shown."""
    wrong, checked = [], 0
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for href, number in re.findall(
                r'<a class="reference internal" href="([^"]*#equation-[^"]+)">'
                r'\((\d+\.\d+)\)</a>', text):
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve() if path else page
            body = target.read_text(encoding="utf-8")
            m = re.search(rf'<span class="eqno">\(({re.escape(number)})\)<a class="headerlink" '
                          rf'href="#{re.escape(anchor)}"', body)
            if m is None:
                wrong.append(f"{page.relative_to(HTML)}: ({number}) -> {href}")
            checked += 1
    assert checked >= 20, f"only {checked} equation references found"
    assert not wrong, "\n".join(wrong)
