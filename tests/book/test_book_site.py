"""The built website: up to date, complete, self-contained, single-sourced."""
from __future__ import annotations

import ast
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from book_paths import HINT, HTML, ROOT, dlfs_book, notebook_docnames, toc_docnames

DOCS = toc_docnames()
NOTEBOOKS = notebook_docnames()


class _Text(HTMLParser):
    """Text of a page's main article; optionally without code and math source."""

    SKIP = {"script", "style"}

    def __init__(self, prose_only: bool):
        super().__init__(convert_charrefs=True)
        self.prose_only, self.depth, self.skip_stack, self.parts = prose_only, 0, [], []
        self.in_article = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "article":
            self.in_article = True
        skip = tag in self.SKIP or (self.prose_only and (
            tag in ("pre", "code") or "math" in classes or "highlight" in classes))
        if tag in ("br", "img", "meta", "link", "input", "hr", "wbr"):
            return
        self.skip_stack.append(skip)

    def handle_endtag(self, tag):
        if tag in ("br", "img", "meta", "link", "input", "hr", "wbr"):
            return
        if self.skip_stack:
            self.skip_stack.pop()
        if tag == "article":
            self.in_article = False

    def handle_data(self, data):
        if self.in_article and not any(self.skip_stack):
            self.parts.append(data)


def text_of(page: Path, prose_only: bool = False) -> str:
    """Text of the article of an HTML page (entities decoded, tags dropped)."""
    parser = _Text(prose_only)
    parser.feed(page.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def test_build_is_current(build_record):
    """The tested build was made from the sources and the package as they are now."""
    assert build_record["env_key"] == dlfs_book.environment_key(), (
        f"src/dlfs (or Python/NumPy/Matplotlib) changed after the last book build; {HINT}")
    assert build_record["sources_key"] == dlfs_book.sources_key(ROOT), (
        f"the book's sources changed after the last book build; {HINT}")


def test_toc_has_parts_and_numbered_chapters(html_dir):
    page = (html_dir / "book" / "single_neuron.html").read_text(encoding="utf-8")
    assert 'class="caption-text">Neural networks from scratch<' in page
    assert re.search(r'<h1><span class="section-number">2\. </span>The single neuron', page), \
        "chapters are not numbered"


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_download_buttons(html_dir, doc):
    """Every chapter offers its executed notebook (.ipynb) and its source (.md)."""
    page = (html_dir / f"{doc}.html").read_text(encoding="utf-8")
    for suffix in (".ipynb", ".md"):
        href = f"_sources/{doc}{suffix}"
        assert href in page, f"no download link for {href}"
        assert (html_dir / href).is_file(), f"{href} is linked but missing"


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_launch_button_points_to_binder(html_dir, doc):
    page = (html_dir / f"{doc}.html").read_text(encoding="utf-8")
    assert re.search(r'href="https://mybinder\.org/v2/gh/[^"]+/main\?urlpath=[^"]*'
                     + re.escape(doc.split("/")[-1]) + r'\.md"', page), "no Binder launch link"
    assert "colab.research.google.com" not in page


@pytest.mark.parametrize("doc", DOCS)
def test_no_unrendered_markup(html_dir, doc):
    """No MyST role, directive, glue key or TeX leaked into the prose of a page."""
    text = text_of(html_dir / f"{doc}.html", prose_only=True)
    for pattern in (r"\{(glue|eq|numref|ref|cite|prf:ref|py:\w+)(:\w+)?\}`", r"```",
                    r"^:::", r"\$\S[^$\n]*\$", r"\\(frac|math\w+|sum|partial|begin)\b",
                    r"\(eq-[\w-]+\)"):
        m = re.search(pattern, text, flags=re.M)
        assert not m, f"raw markup {m.group(0)!r} in the text of {doc}"


def test_every_number_is_computed(html_dir):
    """Glue values really were pasted: the chapter shows accuracies and errors."""
    page = (html_dir / "book" / "single_neuron.html").read_text(encoding="utf-8")
    assert page.count('class="pasted-text"') >= 10
    text = text_of(html_dir / "book" / "single_neuron.html")
    assert re.search(r"right\s+\d+\.\d% of the\s+time", text), "test accuracy not pasted"


def _pyobjects() -> list[tuple[str, str, str]]:
    """(chapter, source file, :pyobject:) for every literalinclude in the chapters."""
    found = []
    for doc in DOCS:
        src = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
        for path, obj in re.findall(r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)", src):
            found.append((doc, path, obj))
    return found


def _source_of(file: Path, dotted: str) -> str:
    """Source text of a function/class/method, as literalinclude's :pyobject: picks it."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    body, node = tree.body, None
    for name in dotted.split("."):
        node = next(n for n in body if getattr(n, "name", None) == name)
        body = getattr(node, "body", [])
    lines = file.read_text(encoding="utf-8").splitlines()
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1:node.end_lineno])


@pytest.mark.parametrize("doc,path,obj", _pyobjects())
def test_package_code_is_included_not_pasted(html_dir, doc, path, obj):
    """Code shown from src/dlfs is the current source, included at build time."""
    file = (ROOT / doc).parent / path
    assert file.resolve().is_relative_to(ROOT / "src" / "dlfs"), f"{path} is not in src/dlfs"
    expected = _source_of(file, obj)
    shown = text_of(html_dir / f"{doc}.html")
    # compare modulo indentation (methods are dedented by literalinclude)
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    assert squash(expected) in squash(shown), f"{obj} from {path} is not shown verbatim in {doc}"


def test_chapters_do_not_paste_package_definitions():
    """A chapter never re-defines a public dlfs function or class in its own code."""
    import dlfs

    public = set(dlfs.__all__) | {n for m in (dlfs.activations, dlfs.losses, dlfs.layers)
                                  for n in dir(m) if not n.startswith("_")}
    for doc in DOCS:
        src = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
        for name in re.findall(r"^\s*(?:def|class) (\w+)", src, flags=re.M):
            assert name not in public, f"{doc} defines {name}, which lives in src/dlfs"


def test_api_reference_documents_the_package(html_dir):
    page = (html_dir / "book" / "api.html").read_text(encoding="utf-8")
    for target in ("dlfs.activations.sigmoid", "dlfs.layers.Dense", "dlfs.layers.Layer.forward",
                   "dlfs.losses.BinaryCrossEntropy", "dlfs.gradcheck.gradcheck",
                   "dlfs.train.fit", "dlfs.model.Sequential", "dlfs.optim.SGD"):
        assert f'id="{target}"' in page, f"{target} is missing from the API reference"


EXTERNAL = re.compile(r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["'](?:https?:)?//"""
                      r"""|<link\b[^>]*\bhref=["'](?:https?:)?//""", re.I)


def test_no_external_resources():
    """Every script, stylesheet, font and image is served by the site itself."""
    offenders = []
    for page in HTML.rglob("*.html"):
        for m in EXTERNAL.finditer(page.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{page.relative_to(HTML)}: {m.group(0)[:80]}")
    for css in HTML.glob("_static/**/*.css"):
        for m in re.finditer(r"""(?:url\(\s*["']?|@import\s+["'])(?:https?:)?//[^)"']+""",
                             css.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{css.relative_to(HTML)}: {m.group(0)[:80]}")
    assert not offenders, "external resources:\n" + "\n".join(offenders[:20])


def test_mathjax_is_local(html_dir):
    page = (html_dir / "book" / "single_neuron.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert [s.split("?")[0] for s in scripts] == ["../_static/mathjax/tex-chtml.js"], scripts
    assert (html_dir / "_static/mathjax/tex-chtml.js").is_file()
    assert dlfs_book.mathjax_version(html_dir / "_static/mathjax").startswith("3.")
    assert '"macros"' in page and "mathbf" in page, "the shared TeX macros are not configured"


def test_build_info_page_is_fresh(html_dir, build_record, pdf_path):
    """The glued build facts match the build that produced this site."""
    import subprocess

    text = text_of(html_dir / "book" / "build_info.html")
    assert build_record["date"] in text
    assert f'{build_record["total_s"]:.1f} s in total' in text
    pages = re.search(r"^Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf_path)], capture_output=True, text=True).stdout, re.M).group(1)
    assert f"The PDF has {pages} pages" in text
    assert dlfs_book.environment_key() in text


def test_api_reference_lists_no_bare_names(html_dir):
    """Every attribute entry of the API reference says something: autodoc's empty
    entries (dataclass fields, already in the class signature; class attributes the
    class docstring explains) are dropped by book/_ext/dlfs_apidoc.py, and with them
    their links from the page's contents."""
    page = (html_dir / "book" / "api.html").read_text(encoding="utf-8")
    entries = re.findall(r'<dl class="py attribute">\s*<dt[^>]*id="([^"]+)".*?</dt>'
                         r'\s*<dd>(.*?)</dd>', page, flags=re.S)
    assert entries, "no attribute entries found: has the HTML changed?"
    bare = [name for name, body in entries if not re.sub(r"<[^>]+>", "", body).strip()]
    assert not bare, f"attribute entries without a description: {bare}"
    assert 'id="dlfs.train.History.loss"' not in page
    assert 'href="#dlfs.train.History.loss"' not in page
    assert 'id="dlfs.train.Run.resumed_best"' in page       # a field with a doc comment stays
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())
    assert "History(loss=<factory>, accuracy=<factory>" in text   # in the signature


def test_pages_do_not_show_the_build_machines_paths(html_dir):
    """No page prints where the book was built (a traceback, a file name in an
    output): the reader's paths differ, and the build machine is nobody's business."""
    places = {str(ROOT), str(Path.home())} - {"/"}
    shown = [f"{page.relative_to(html_dir)}: {place}"
             for page in sorted(html_dir.glob("book/*.html"))
             for place in places if place in page.read_text(encoding="utf-8")]
    assert not shown, "pages show the build machine's paths:\n  " + "\n  ".join(shown)
