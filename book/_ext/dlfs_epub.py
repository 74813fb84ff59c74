"""The EPUB 3 edition: equations as MathML, and a package file EPUBCheck accepts.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``; only the ``epub``
builder is affected (``.ci/build-book`` runs it after the site and the PDF,
reusing their doctrees and executed notebooks).

* **Equations as MathML.**  E-book readers do not run MathJax, so the EPUB's
  math is converted when the book is built, TeX -> MathML, by ``latex2mathml``
  (pinned, from PyPI; .ci/setup-book unpacks it into ``.tools/``).  The
  book's macros (``dlfs_math_macros`` in ``_config.yml``) are expanded first.
  Display equations keep their numbers.  A formula the converter cannot
  handle is shown as its TeX source and counted in
  ``_build/epub/math-fallbacks.txt`` (the EPUB test keeps that list short).
  The site keeps MathJax: ``html_math_renderer: mathjax`` in ``_config.yml``,
  ``epub_math_renderer`` for the EPUB (Sphinx looks up ``<builder>_math_renderer``).
* **Theme.**  Sphinx's own ``epub`` theme; the site theme's page hooks are
  dropped for this builder.
* **Valid EPUB 3.**  Pages carry no scripts and only the stylesheets the EPUB
  holds; repeated ids (sphinx-proof and sphinx-exercise repeat theirs) are
  numbered, ``<p>`` inside ``<summary>`` becomes ``<span>``, a ``<ul>`` is taken out
  of the ``<p>`` Sphinx wraps it in, ``toc.ncx`` gets
  the package's identifier, and the manifest items of pages with MathML (or
  SVG) get the ``properties`` EPUB 3 requires (Sphinx writes none).
"""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

RENDERER = "dlfs_mathml"


def _converter():
    try:
        from latex2mathml.converter import convert
    except ImportError:
        tools = Path(__file__).resolve().parents[2] / ".tools"
        sys.path.insert(0, str(tools))
        from latex2mathml.converter import convert
    return convert


def expand_macros(tex: str, macros: dict) -> str:
    """Replace the book's macros by their bodies (repeatedly: bodies may use macros)."""
    for _ in range(5):
        before = tex
        for name, value in macros.items():
            body, nargs = (value, 0) if isinstance(value, str) else (str(value[0]), int(value[1]))
            pattern = re.compile(r"\\" + name + r"(?![A-Za-z])")
            if nargs == 0:
                tex = pattern.sub(lambda m, b=body: b + " ", tex)
                continue
            out, pos = [], 0
            for m in pattern.finditer(tex):
                if m.start() < pos:
                    continue
                args, i = [], m.end()
                for _ in range(nargs):
                    while i < len(tex) and tex[i].isspace():
                        i += 1
                    if i < len(tex) and tex[i] == "{":
                        depth, j = 0, i
                        while j < len(tex):
                            depth += {"{": 1, "}": -1}.get(tex[j], 0)
                            if depth == 0:
                                break
                            j += 1
                        args.append(tex[i + 1:j])
                        i = j + 1
                    elif i < len(tex):
                        args.append(tex[i])
                        i += 1
                rep = body
                for k, arg in enumerate(args, 1):
                    rep = rep.replace(f"#{k}", arg)
                out.append(tex[pos:m.start()] + "{" + rep + "}")
                pos = i
            tex = "".join(out) + tex[pos:]
        if tex == before:
            break
    return tex


#: Environments latex2mathml does not know, and the ones it renders the same way.
ENVIRONMENTS = {"aligned": "split", "alignedat": "split", "gathered": "split",
                "equation": None, "equation*": None}


def tex_to_mathml(tex: str, display: bool, macros: dict) -> str | None:
    tex = expand_macros(tex, macros)
    for env, repl in ENVIRONMENTS.items():
        pat = re.escape(env)
        if repl is None:
            tex = re.sub(r"\\(begin|end)\{" + pat + r"\}", "", tex)
        else:
            tex = re.sub(r"\\begin\{" + pat + r"\}(\{\d+\})?", r"\\begin{" + repl + "}", tex)
            tex = re.sub(r"\\end\{" + pat + r"\}", r"\\end{" + repl + "}", tex)
    tex = re.sub(r"\\(label|nonumber|notag)(\{[^}]*\})?", "", tex)
    try:
        out = _converter()(tex.strip(), display="block" if display else "inline")
    except Exception:                 # noqa: BLE001 - any failure: show the TeX instead
        return None
    # an alignment '&' outside an environment comes out raw, which is not XML
    return None if re.search(r"&(?!#x?[0-9A-Fa-f]+;|amp;|lt;|gt;|quot;|apos;)", out) else out


def _fallback(self, tex: str, display: bool) -> None:
    self.builder.dlfs_fallbacks.append(tex)
    tag = "pre" if display else "code"
    self.body.append(f'<{tag} class="tex">{html.escape(tex)}</{tag}>')


def visit_inline(self, node) -> None:
    tex = node.astext()
    out = tex_to_mathml(tex, False, self.builder.config.dlfs_math_macros or {})
    if out is None:
        _fallback(self, tex, False)
    else:
        self.body.append(out)
    raise nodes.SkipNode


def visit_block(self, node) -> None:
    from sphinx.util.math import get_node_equation_number

    # the formula and its number side by side, as two cells of a one-row table (e-book
    # readers lay out tables everywhere; a floated number ends up above a MathML block)
    self.body.append(self.starttag(node, "div", CLASS="math dlfs-mathml"))
    self.body.append('<div class="dlfs-formula">')
    macros = self.builder.config.dlfs_math_macros or {}
    parts = [p for p in node.astext().split("\n\n") if p.strip()] if not node.get("nowrap") \
        else [node.astext()]
    for tex in parts:
        if "\\\\" in tex and not node.get("nowrap"):   # as Sphinx does for MathJax
            tex = "\\begin{split}" + tex + "\\end{split}"
        out = tex_to_mathml(tex, True, macros)
        if out is None:
            _fallback(self, tex, True)
        else:
            self.body.append(out)
    self.body.append("</div>")
    if node.get("number"):
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})</span>')
    self.body.append("</div>\n")
    raise nodes.SkipNode


def _complete_package(app: Sphinx) -> None:
    """Add the manifest properties EPUB 3 requires (mathml, svg) to content.opf."""
    outdir = Path(app.outdir)
    opf = outdir / "content.opf"
    text = opf.read_text(encoding="utf-8")

    def fix(match):
        item = match.group(0)
        href = re.search(r'href="([^"]+)"', item).group(1)
        if not href.endswith(".xhtml") or "properties=" in item:
            return item
        page = (outdir / href).read_text(encoding="utf-8", errors="replace")
        props = [p for p, marker in (("mathml", "<math"), ("svg", "<svg")) if marker in page]
        return item.replace(" />", f' properties="{" ".join(props)}" />') if props else item

    opf.write_text(re.sub(r"<item [^>]*/>", fix, text), encoding="utf-8")


def _page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """EPUB pages: no scripts (an e-book is not scripted), and only the stylesheets
    that are copied into the EPUB (the epub theme's, Pygments', the book's and the
    book's EPUB rules)."""
    if app.builder.name != "epub":
        return
    context["script_files"] = []
    keep = ("epub.css", "pygments.css", "dlfs.css", "dlfs-epub.css")
    context["css_files"] = [css for css in context.get("css_files", [])
                            if str(getattr(css, "filename", css)).rsplit("/", 1)[-1] in keep]


def _unique_ids(text: str) -> str:
    """Rename repeated id attributes (sphinx-proof and sphinx-exercise repeat theirs on
    every box; XHTML forbids it): the second "proof" becomes "proof-2", and so on."""
    seen: dict[str, int] = {}

    def rename(m):
        ident = m.group(2)
        seen[ident] = seen.get(ident, 0) + 1
        return m.group(0) if seen[ident] == 1 else f'{m.group(1)}"{ident}-{seen[ident]}"'

    return re.sub(r'(\sid=)"([^"]+)"', rename, text)


def _fix_pages(outdir: Path) -> None:
    """XHTML and SVG that EPUBCheck accepts: unique ids, no scripts, closed <input>s, no <p>
    inside <summary>."""
    for page in outdir.rglob("*.xhtml"):
        text = page.read_text(encoding="utf-8")
        fixed = _unique_ids(text)
        # inline scripts that extensions put into the body (sphinx-thebe's configuration)
        fixed = re.sub(r"\s*<script\b[^>]*>.*?</script>", "", fixed, flags=re.S)
        # XHTML wants void elements closed: sphinx-design's tabs write HTML's <input ...>
        fixed = re.sub(r"<input\b([^>]*?)\s*(?<!/)>", r"<input\1 />", fixed)
        # a list directly inside a paragraph (Sphinx's "Returns" field of several items)
        fixed = re.sub(r"<p>(\s*<ul\b.*?</ul>\s*)</p>", r"\1", fixed, flags=re.S)
        fixed = re.sub(r"<summary([^>]*)>(.*?)</summary>",
                       lambda m: "<summary" + m.group(1) + ">"
                       + re.sub(r"<(/?)p\b", r"<\1span", m.group(2)) + "</summary>",
                       fixed, flags=re.S)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    for svg in outdir.rglob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        fixed = _unique_ids(text)
        if fixed != text:
            svg.write_text(fixed, encoding="utf-8")


def _fix_ncx(app: Sphinx) -> None:
    """toc.ncx must carry the package's identifier (Sphinx writes epub_uid there)."""
    ncx = Path(app.outdir) / "toc.ncx"
    text = ncx.read_text(encoding="utf-8")
    text = re.sub(r'(<meta name="dtb:uid" content=")[^"]*(")',
                  lambda m: m.group(1) + html.escape(app.config.epub_identifier) + m.group(2),
                  text)
    ncx.write_text(text, encoding="utf-8")


def _builder_inited(app: Sphinx) -> None:
    if app.builder.name != "epub":
        return
    app.builder.dlfs_fallbacks = []
    app.builder.add_css_file("dlfs-epub.css", priority=900)
    handle_finish, build_epub = app.builder.handle_finish, app.builder.build_epub

    def finish():
        # the notebooks and sources of the site's download button are not e-book content
        import shutil

        shutil.rmtree(Path(app.outdir) / "_sources", ignore_errors=True)
        _fix_pages(Path(app.outdir))
        handle_finish()

    def epub():
        _fix_ncx(app)
        build_epub()

    app.builder.handle_finish, app.builder.build_epub = finish, epub
    # The EPUB uses Sphinx's own epub theme: the site theme's page hooks (header
    # buttons, launch buttons) expect their own templates' context and fail here.
    listeners = app.events.listeners.get("html-page-context", [])
    listeners[:] = [ls for ls in listeners
                    if not getattr(ls.handler, "__module__", "").startswith(
                        ("sphinx_book_theme", "pydata_sphinx_theme"))]
    build_content = app.builder.build_content

    def build_content_and_complete():
        build_content()
        _complete_package(app)
        fallbacks = app.builder.dlfs_fallbacks
        (Path(app.outdir) / "math-fallbacks.txt").write_text(
            "".join(f"{tex}\n----\n" for tex in fallbacks), encoding="utf-8")
        logger.info(f"[dlfs_epub] equations as MathML; {len(fallbacks)} shown as TeX")

    app.builder.build_content = build_content_and_complete


def setup(app: Sphinx) -> dict:
    app.add_html_math_renderer(RENDERER, (visit_inline, None), (visit_block, None))
    app.add_config_value("epub_math_renderer", RENDERER, "")
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _page_context, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
