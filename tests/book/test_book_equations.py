"""Equation <-> code links (book/_ext/dlfs_eqlinks.py), both ways, on the site and in the PDF.

The docstrings of ``dlfs`` cite the equations they implement (``Implements :eq:`label`.``);
the build renders those citations as numbered links in the API reference, puts an
"Implemented by ..." back-link below each cited equation, and lists them all on the page
"Equations in the code".  Equations on the list ``required_equations.txt`` (next to this
file; chapter authors extend it) must be cited.
"""
from __future__ import annotations

import html
import re
import sys
import types
from pathlib import Path

import pytest
from book_paths import BUILD, HTML, ROOT, require

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import dlfs_eqlinks  # noqa: E402

REQUIRED_FILE = Path(__file__).with_name("required_equations.txt")
TEX = BUILD / "latex" / "dlfs-book.tex"
LOG = BUILD / "latex" / "dlfs-book.log"


def required() -> list[str]:
    labels = []
    for line in REQUIRED_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            labels.append(line)
    return labels


def citations() -> dict[str, list[dlfs_eqlinks.Implementer]]:
    return dlfs_eqlinks.citations_by_label(dlfs_eqlinks.collect_citations())


def equation_pages(html_dir) -> dict[str, tuple[Path, str]]:
    """label -> (page, number shown) for every numbered equation of the site."""
    out = {}
    for page in html_dir.glob("book/*.html"):
        for label, number in re.findall(
                r'id="equation-([\w-]+)">\s*<span class="eqno">\((\d+\.\d+)\)', page.read_text()):
            out[label] = (page, number)
    return out


def backlinks(page: Path) -> list[tuple[str, str]]:
    """(label of the equation above, the back-link's HTML) for each back-link of a page."""
    text = page.read_text()
    out = []
    for m in re.finditer(r'<p class="dlfs-eqlink">(.*?)</p>', text, re.S):
        before = text[:m.start()]
        eq = list(re.finditer(r'id="equation-([\w-]+)"', before))
        out.append((eq[-1].group(1) if eq else "", m.group(1)))
    return out


def anchor_exists(page: Path, href: str) -> bool:
    path, _, anchor = href.partition("#")
    target = (page.parent / path).resolve() if path else page
    return target.is_file() and (not anchor or f'id="{anchor}"' in target.read_text())


# ---------------------------------------------------------------------------------------
# the extension on its own (no build needed)
# ---------------------------------------------------------------------------------------
def test_collect_counts_aliases_and_staticmethods_once(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .impl import Thing, helper\n")
    (pkg / "impl.py").write_text('''
def helper(x):
    """Helper.

    Implements :eq:`eq-a`.
    """


class Other:
    def method(self):
        """Implements :eq:`eq-b`."""


class Thing:
    """A thing.

    Implements :eq:`eq-c` and :eq:`eq-d`.
    """
    alias = staticmethod(helper)          # a module function: not Thing's
    borrowed = Other.method               # another class's method: not Thing's

    @staticmethod
    def static():
        """Implements :eq:`eq-e`."""

    def _forward(self):
        """Implements :eq:`eq-f`."""
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    found = dlfs_eqlinks.collect_citations("fakepkg")
    assert {k: v.labels for k, v in found.items()} == {
        ("fakepkg.impl", "Other.method"): ["eq-b"],
        ("fakepkg.impl", "Thing"): ["eq-c", "eq-d"],
        ("fakepkg.impl", "Thing._forward"): ["eq-f"],
        ("fakepkg.impl", "Thing.static"): ["eq-e"],
        ("fakepkg.impl", "helper"): ["eq-a"],
    }
    assert found[("fakepkg.impl", "Thing._forward")].private
    by_label = dlfs_eqlinks.citations_by_label(found)
    assert [imp.qualname for imp in by_label["eq-a"]] == ["helper"]


def test_documented_names_prefer_the_defining_name_to_an_alias():
    """``Tanh.f = staticmethod(tanh)`` is documented as ``dlfs.layers.Tanh.f`` too (a
    shorter name); links must still name ``dlfs.activations.tanh``."""
    entry = lambda name, kind: types.SimpleNamespace(  # noqa: E731
        aliased=False, objtype=kind, docname="book/api", node_id=name)
    py = types.SimpleNamespace(objects={
        "dlfs.layers.Tanh.f": entry("dlfs.layers.Tanh.f", "method"),
        "dlfs.activations.tanh": entry("dlfs.activations.tanh", "function"),
        "dlfs.layers.Tanh": entry("dlfs.layers.Tanh", "class"),
    })
    env = types.SimpleNamespace(get_domain=lambda name: py)
    names = dlfs_eqlinks.documented_names(env)
    assert names[("dlfs.activations", "tanh")][0] == "dlfs.activations.tanh"
    assert names[("dlfs.layers.activation", "Tanh")][0] == "dlfs.layers.Tanh"


def test_required_list_is_well_formed():
    labels = required()
    assert labels, "required_equations.txt is empty"
    assert len(labels) == len(set(labels)), "a label is listed twice"
    bad = [label for label in labels if not re.fullmatch(r"eq-[a-z0-9-]+", label)]
    assert not bad, f"labels must look like eq-<chapter>-<name>: {bad}"


# ---------------------------------------------------------------------------------------
# the site
# ---------------------------------------------------------------------------------------
def test_every_required_equation_is_cited_and_exists(html_dir):
    cited = citations()
    missing = [label for label in required() if label not in cited]
    assert not missing, (
        "equations on tests/book/required_equations.txt that no docstring of dlfs cites "
        f"(add 'Implements :eq:`<label>`.' to the code that computes them): {missing}")
    pages = equation_pages(html_dir)
    undefined = [label for label in cited if label not in pages]
    assert not undefined, f"cited but not defined by any chapter: {undefined}"


def test_each_cited_equation_has_a_backlink_to_api_and_source(html_dir):
    pages = equation_pages(html_dir)
    problems = []
    for label, implementers in citations().items():
        page, number = pages[label]
        links = [body for above, body in backlinks(page) if above == label]
        if len(links) != 1:
            problems.append(f"({number}) {label}: {len(links)} back-links below it")
            continue
        body = links[0]
        hrefs = re.findall(r'href="([^"]+)"', body)
        for imp in implementers:
            if f"{imp.qualname.split('.')[0]}" not in html.unescape(re.sub(r"<[^>]+>", "", body)):
                problems.append(f"{label}: back-link does not name {imp.qualname}")
        api = [h for h in hrefs if h.startswith("api.html#dlfs.")]
        source = [h for h in hrefs if "_modules/dlfs/" in h]
        if len(api) != len(implementers) or len(source) != len(implementers):
            problems.append(f"{label}: {len(api)} API and {len(source)} source links for "
                            f"{len(implementers)} implementers")
        problems += [f"{label}: dangling link {h}" for h in hrefs if not anchor_exists(page, h)]
    assert not problems, "\n".join(problems)


def test_no_backlink_below_an_uncited_equation(html_dir):
    cited = citations()
    stray = [f"{page.name}: {above}" for page in html_dir.glob("book/*.html")
             for above, _ in backlinks(page) if above not in cited]
    assert not stray, stray


def test_api_citations_show_the_equation_number(html_dir):
    """'Implements (2.6)' in the API reference links to equation (2.6) of its chapter."""
    api = require(html_dir / "book" / "api.html", "the API reference").read_text()
    pages = equation_pages(html_dir)
    shown = re.findall(r'href="([\w.]+)#equation-([\w-]+)">\((\d+\.\d+)\)</a>', api)
    found = {label for _, label, _ in shown}
    assert ":eq:" not in api, "a citation is shown raw (not as a link) in the API reference"
    public = {label for label, imps in citations().items()
              if any(not imp.private for imp in imps)}   # autodoc skips private methods
    assert public <= found, f"citations not rendered: {public - found}"
    wrong = [f"{label}: shows ({number}), is ({pages[label][1]}) on {pages[label][0].name}"
             for page, label, number in shown
             if label in pages and (pages[label][1] != number or pages[label][0].name != page)]
    assert not wrong, wrong


def test_equations_page_lists_every_cited_equation(html_dir):
    page = require(html_dir / "book" / "equations.html", "the page 'Equations in the code'")
    text = page.read_text()
    table = re.search(r'<table class="[^"]*dlfs-equations.*?</table>', text, re.S)
    assert table, "no table of implemented equations"
    rows = re.findall(r"<tr.*?</tr>", table.group(0), re.S)[1:]
    labels = [re.search(r"#equation-([\w-]+)", row).group(1) for row in rows]
    assert sorted(labels) == sorted(citations()), "the table and the docstrings disagree"
    for row in rows:
        cells = re.findall(r"<td.*?</td>", row, re.S)
        assert len(cells) == 4 and all(re.sub(r"<[^>]+>|\s", "", c) for c in cells), row
        assert all(anchor_exists(page, h) for h in re.findall(r'href="([^"]+)"', row)), row


# ---------------------------------------------------------------------------------------
# the PDF
# ---------------------------------------------------------------------------------------
def test_pdf_links_resolve(pdf_path, pdf_text):
    """In the PDF, API -> equation is \\eqref and equation -> API a \\hyperref; all resolve."""
    tex = require(TEX, "the LaTeX source of the PDF").read_text()
    log = require(LOG, "the LaTeX log").read_text(errors="replace")
    problems = []
    for label, implementers in citations().items():
        if all(imp.private for imp in implementers):
            continue                                   # not rendered by autodoc
        if not re.search(rf"Implements[^.]*?\\eqref\{{equation:[\w/]+:{re.escape(label)}\}}", tex):
            problems.append(f"API: no \\eqref to {label}")
    targets = set(re.findall(r"\\label\{\\detokenize\{(book/api:dlfs[\w.]+)\}\}", tex))
    links = re.findall(r"Implemented by (.*?)\.\}", tex)
    assert len(links) == len(citations()), \
        f"{len(links)} back-links in the PDF for {len(citations())} cited equations"
    for body in links:
        for ref in re.findall(r"\\hyperref\[\\detokenize\{([^}]+)\}\]", body):
            if ref not in targets:
                problems.append(f"back-link to a missing target {ref}")
    undefined = re.findall(r"(?:Hyper )?[Rr]eference `([^']+)' on page \d+ undefined", log)
    problems += [f"undefined in the PDF: {u}" for u in undefined]
    flat = re.sub(r"\s+", " ", pdf_text)
    for imp in {i.key: i for imps in citations().values() for i in imps}.values():
        name = imp.qualname.split(".")[0]
        if not re.search(rf"Implemented by .{{0,400}}?{re.escape(name)}", flat):
            problems.append(f"PDF text lacks 'Implemented by ...{name}'")
    assert re.search(r"Implements \(\d+\.\d+\)", flat), "no 'Implements (n.m)' in the PDF"
    assert not problems, "\n".join(problems)
