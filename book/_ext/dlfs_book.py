"""Sphinx extension with the book-specific build machinery.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``.  It does seven
things, each small (figures in dark mode are ``dlfs_dark.py``'s job):

1. **Execution cache keyed on the package.**  jupyter-cache keys a notebook on
   its code cells only, so editing ``src/dlfs`` would silently serve stale
   outputs.  The cache directory is therefore
   ``_build/.jupyter_cache/env-<key>``, where ``<key>`` hashes every file of
   the installed ``dlfs`` package plus the Python, NumPy and Matplotlib
   versions.  A new key also makes Sphinx re-read every page, so even an
   incremental ``jupyter-book build`` (without ``--all``) re-executes them.
   Older ``env-*`` directories are deleted.
2. **Offline MathJax.**  MathJax 3.2.2 (the last 3.x release) comes from the
   ``sphinx-mathjax-offline`` wheel on PyPI, so no CDN and no npm are needed.
   It is copied, without the parts the site never loads (SVG output, the
   "full" bundles), to ``_static/mathjax`` of HTML builds only.
3. **One set of TeX macros** (``dlfs_math_macros`` in ``_config.yml``) is
   written both into MathJax's configuration and into the LaTeX preamble, so
   the HTML and the PDF cannot disagree.
4. Pages listed in :data:`ALWAYS_REREAD` ("How this book was built") are
   re-read and re-executed on every build, so their glued build facts are
   never served from a cache.
5. "PDF" and "EPUB" buttons (links to ``dlfs-book.pdf`` and ``dlfs-book.epub``
   at the site's root, put there by ``.ci/build-book``) head the buttons at the
   top of every page, and a
   duplicated inline script of sphinx-thebe is dropped (it raised a
   JavaScript error on every page).
6. In the PDF, exercises and proofs are numbered per chapter as on the site,
   proofs are typeset as *Proof.* ... QED rather than as untitled boxes, and
   the site-only "References" page (Sphinx puts the bibliography at the end of
   the PDF anyway) is left out.
7. Every page's footer names the ``dlfs`` version, the git commit and the
   build date, and links to a new issue on the repository (``repository.url``
   in ``_config.yml``, the one place it is set) with the page named.  The same
   URL is given to the pages as the MyST substitutions ``{{ repository_url }}``
   and ``{{ repository_link }}``, and is the EPUB's identifier.

The key, the cache path and the build directory (``_build``) are exported to
the notebook kernels as ``DLFS_BOOK_ENV_KEY``, ``DLFS_BOOK_CACHE`` and
``DLFS_BOOK_BUILD_DIR``.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Documents that are re-read (and, with ``execution_mode: force`` in their
#: front matter, re-executed) on every build.
ALWAYS_REREAD = ("book/build_info",)

#: PyPI distribution that ships MathJax 3 and the file the pages load.
MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-chtml.js"
#: Parts of the MathJax distribution the site never requests.
MATHJAX_IGNORE = shutil.ignore_patterns(
    "svg", "svg.js", "*svg*.js", "*-full*.js", "mml-*.js", "node-main.js", "latest.js",
)


# --------------------------------------------------------------------------
# 1. the execution-cache key
# --------------------------------------------------------------------------
def package_dir(name: str = "dlfs") -> Path:
    """Directory of the package the notebook kernels will import."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(f"package {name!r} is not installed; run: pip install -e '.[book]'")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def environment_key(pkg: Path | None = None) -> str:
    """Hash of the package's files (and of the chapter helpers, ``dlfs_notebook``, beside
    it) and of the versions that shape outputs."""
    pkg = package_dir() if pkg is None else pkg
    h = hashlib.sha256()
    helpers = pkg.parent / "dlfs_notebook"
    for root in [pkg] + ([helpers] if helpers.is_dir() else []):
        for path in sorted(root.rglob("*")):
            if (not path.is_file() or "__pycache__" in path.parts
                    or path.suffix in {".pyc", ".pyo"}):
                continue
            h.update(path.relative_to(pkg.parent).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    for dist in ("numpy", "matplotlib"):
        h.update(f"{dist}=={importlib.metadata.version(dist)}\0".encode())
    h.update(f"python=={platform.python_version()}\0".encode())
    return h.hexdigest()[:16]


def sources_key(root: Path) -> str:
    """Hash of the book's own sources (config, TOC and everything under book/).

    Recorded by .ci/build-book with each build, so the build tests can tell
    whether ``_build`` is older than the sources it is tested against.
    """
    h = hashlib.sha256()
    files = [root / "_config.yml", root / "_toc.yml", *sorted((root / "book").rglob("*"))]
    for path in files:
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _set_cache_path(app: Sphinx, config) -> None:
    key = environment_key()
    app.dlfs_env_key = key
    os.environ["DLFS_BOOK_ENV_KEY"] = key
    os.environ["DLFS_BOOK_BUILD_DIR"] = str(Path(app.outdir).parent.resolve())
    if config.nb_execution_cache_path:           # set explicitly: leave it alone
        os.environ["DLFS_BOOK_CACHE"] = str(Path(config.nb_execution_cache_path).resolve())
        return
    base = Path(app.outdir).parent / ".jupyter_cache"
    path = base / f"env-{key}"
    if base.is_dir():
        for old in base.glob("env-*"):
            if old != path and old.is_dir():
                logger.info(f"[dlfs_book] removing stale execution cache {old.name}")
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(path)
    os.environ["DLFS_BOOK_CACHE"] = str(path)


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Re-read every page when the package changed, and ALWAYS_REREAD always."""
    key = app.dlfs_env_key
    previous = getattr(env, "dlfs_env_key", None)
    env.dlfs_env_key = key
    found = set(env.found_docs)
    out = {doc for doc in ALWAYS_REREAD if doc in found}
    if previous is not None and previous != key:
        logger.info(f"[dlfs_book] dlfs or its environment changed ({previous} -> {key}): "
                    "re-reading and re-executing every page")
        out |= found - set(added)
    return sorted(out - set(added) - set(changed))


# --------------------------------------------------------------------------
# 2. offline MathJax
# --------------------------------------------------------------------------
def mathjax_source() -> Path:
    spec = importlib.util.find_spec(MATHJAX_DIST)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(f"{MATHJAX_DIST} is not installed; run: pip install -e '.[book]'")
    src = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    if not (src / MATHJAX_ENTRY).is_file():
        raise ExtensionError(f"{src / MATHJAX_ENTRY} is missing")
    return src


def mathjax_version(directory: Path) -> str:
    """Version string compiled into MathJax's startup file."""
    text = (directory / MATHJAX_ENTRY).read_text(encoding="utf-8", errors="replace")
    match = re.search(r'VERSION="(3\.[0-9.]+)"', text)
    return match.group(1) if match else "unknown"


def _copy_mathjax(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html" or app.builder.name == "epub":
        return
    src = mathjax_source()
    dest = Path(app.outdir) / "_static" / "mathjax"
    stamp = dest / ".dlfs-stamp"
    signature = f"{mathjax_version(src)} {(src / MATHJAX_ENTRY).stat().st_size}"
    if stamp.is_file() and stamp.read_text() == signature:
        return
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=MATHJAX_IGNORE)
    stamp.write_text(signature)
    logger.info(f"[dlfs_book] copied MathJax {mathjax_version(src)} to {dest}")


# --------------------------------------------------------------------------
# 3. one set of TeX macros for MathJax and LaTeX
# --------------------------------------------------------------------------
def _macros(config) -> dict[str, tuple[str, int]]:
    out = {}
    for name, value in (config.dlfs_math_macros or {}).items():
        if isinstance(value, str):
            out[name] = (value, 0)
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            out[name] = (str(value[0]), int(value[1]))
        else:
            raise ExtensionError(f"dlfs_math_macros[{name!r}] must be a string or [body, n_args]")
        if not re.fullmatch(r"[A-Za-z]+", name):
            raise ExtensionError(f"TeX macro name must be letters only, got {name!r}")
    return out


def latex_macro_preamble(macros: dict[str, tuple[str, int]]) -> str:
    lines = ["% --- dlfs_math_macros (from _config.yml; also given to MathJax) ---"]
    for name, (body, nargs) in macros.items():
        args = f"[{nargs}]" if nargs else ""
        lines.append(rf"\newcommand{{\{name}}}{args}{{{body}}}")
    return "\n".join(lines) + "\n"


def _configure(app: Sphinx, config) -> None:
    # MathJax: local copy, and the shared macros.
    mathjax_source()                              # fail early if it is missing
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"
    macros = _macros(config)
    mj = dict(config.mathjax3_config or {})
    tex = dict(mj.get("tex", {}))
    tex["macros"] = {**tex.get("macros", {}),
                     **{n: (b if not k else [b, k]) for n, (b, k) in macros.items()}}
    mj["tex"] = tex
    config.mathjax3_config = mj
    elements = dict(config.latex_elements or {})
    elements["preamble"] = (elements.get("preamble", "") + "\n" + latex_macro_preamble(macros)
                            + LATEX_NUMBERING)
    config.latex_elements = elements
    _set_cache_path(app, config)
    # The repository's URL, set once in _config.yml, for the pages ({{ repository_link }})
    subs = dict(config.myst_substitutions or {})
    url = repository_url(config)
    subs.setdefault("repository_url", url)
    subs.setdefault("repository_link", f"[{url.split('://', 1)[-1]}]({url})")
    config.myst_substitutions = subs
    # The book's version is the library's (the EPUB's metadata needs one).
    if not config.version:
        try:
            config.version = config.release = importlib.metadata.version("dlfs")
        except importlib.metadata.PackageNotFoundError:
            pass
    # The EPUB's identifier is the repository (set once, in _config.yml).
    if config.epub_identifier in ("", "unknown", None):
        config.epub_identifier = repository_url(config)


# --------------------------------------------------------------------------
# 5. a "PDF" button in the header of every page
# --------------------------------------------------------------------------
#: File name of the PDF in the site's root (copied there by .ci/build-book).
SITE_PDF = "dlfs-book.pdf"
#: File name of the EPUB in the site's root (copied there by .ci/build-book).
SITE_EPUB = "dlfs-book.epub"


def _pdf_button(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Put links to the book's PDF and EPUB first among sphinx-book-theme's header buttons."""
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    buttons.insert(0, {
        "type": "link",
        "url": context["pathto"](SITE_PDF, 1),
        "tooltip": "Download the whole book as a PDF",
        "icon": "fas fa-file-pdf",
        "label": "book-pdf-button",
    })
    buttons.insert(1, {
        "type": "link",
        "url": context["pathto"](SITE_EPUB, 1),
        "tooltip": "Download the whole book as an EPUB e-book",
        "icon": "fas fa-book",
        "label": "book-epub-button",
    })


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts.

    sphinx-thebe registers its inline ``const THEBE_JS_URL = ...`` after the
    builder has started; Sphinx 7.4 then emits it twice (once with filename
    None, once with ''), and the browser reports "Identifier 'THEBE_JS_URL' has
    already been declared" on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (str(getattr(js, "filename", js) or ""),
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


# --------------------------------------------------------------------------
# 6. LaTeX: the same numbering as the site, no empty "References" chapter
# --------------------------------------------------------------------------
#: Pages that only make sense on the site.  In the PDF, Sphinx gathers every
#: citation into one bibliography at the end of the book, which would leave the
#: "References" page as an empty chapter.
HTML_ONLY = ("book/references",)


#: With numfig_secnum_depth = 1 and parts, Sphinx would number equations and
#: figures through the whole book; number them per chapter, as on the site.
LATEX_NUMBERING = r"""% --- per-chapter numbering, as on the site (book/_ext/dlfs_book.py) ---
% (at \begin{document}, after sphinxlatexnumfig.sty has set up its counters)
\AtBeginDocument{%
  \numberwithin{equation}{chapter}%
  \numberwithin{figure}{chapter}%
  \numberwithin{table}{chapter}%
  \numberwithin{literalblock}{chapter}%
}
"""


def _latex_numbering(app: Sphinx) -> None:
    """Number exercises and proofs per chapter in the PDF, as on the site.

    sphinx-jupyterbook-latex sets numfig_secnum_depth = 2 when the book has
    parts, which numbers "Exercise 2.9.1" in the PDF but "Exercise 2.1" on the
    site, and changes the environment's configuration, so the next HTML build
    re-reads every page.  Equations, figures and tables are numbered by LaTeX
    itself, per chapter (LATEX_NUMBERING in the preamble).
    """
    if app.builder.format == "latex":
        app.config.numfig_secnum_depth = 1


# --------------------------------------------------------------------------
# 7. footer: version, commit, build date, "report an error on this page"
# --------------------------------------------------------------------------
def repository_url(config) -> str:
    """The repository's URL, set once in _config.yml (``repository.url``)."""
    url = (config.html_theme_options or {}).get("repository_url", "")
    if not url:
        raise ExtensionError("_config.yml: repository.url is not set")
    return url.rstrip("/")


def build_facts(root: Path) -> dict[str, str]:
    """dlfs version, git commit (short; "+changes" when the work tree differs) and
    build date (UTC; SOURCE_DATE_EPOCH if set, for reproducible builds)."""
    import datetime
    import subprocess

    try:
        version = importlib.metadata.version("dlfs")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True).stdout
        if dirty.strip():
            commit += "+changes"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    return {"version": version, "commit": commit, "date": when.strftime("%Y-%m-%d %H:%M UTC")}


def issue_url(repo: str, title: str, page_url: str, facts: dict[str, str]) -> str:
    """A "new issue" link on the repository with the page named."""
    from urllib.parse import urlencode

    body = (f"Page: {page_url}\n"
            f"Build: dlfs {facts['version']}, commit {facts['commit']}, {facts['date']}\n\n"
            "What is wrong (quote the sentence, equation or cell):\n\n"
            "What it should say:\n")
    return f"{repo}/issues/new?" + urlencode({"title": f"Error on page: {title}", "body": body})


def _footer(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Per-page footer: dlfs version, commit, build date and an errata link."""
    from html import escape, unescape

    if not hasattr(app, "dlfs_facts"):
        app.dlfs_facts = build_facts(Path(app.srcdir))
    facts = app.dlfs_facts
    repo = repository_url(app.config)
    title = unescape(re.sub(r"<[^>]+>", "", context.get("title") or pagename))
    page = f"{pagename}{app.builder.out_suffix}" if app.builder.format == "html" else pagename
    link = issue_url(repo, title, page, facts)
    commit = f'<code>{escape(facts["commit"])}</code>'
    if facts["commit"] != "unknown":
        sha = escape(facts["commit"].split("+")[0])
        commit = f'<a href="{escape(repo)}/commit/{sha}">{commit}</a>'
    context["theme_extra_footer"] = (
        '<p class="dlfs-footer">'
        f'Built from <code>dlfs</code> {escape(facts["version"])}, commit {commit}, '
        f'on {escape(facts["date"])}. '
        f'<a class="dlfs-report" href="{escape(link)}">Report an error on this page</a>.'
        "</p>")


def _aria_roles(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """The bibliography's entries are the items of its list (role="list"): docutils
    marks them with the deprecated role "doc-biblioentry", which leaves the list
    without items for assistive technology (axe: aria-required-children)."""
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _drop_html_only(app: Sphinx, doctree, docname: str) -> None:
    if app.builder.format != "latex":
        return
    from sphinx import addnodes

    for node in list(doctree.findall(addnodes.start_of_file)):
        if node.get("docname") in HTML_ONLY:
            node.parent.remove(node)


def _latex_proofs(app: Sphinx, doctree, docname: str) -> None:
    """Typeset {prf:proof} as a classic proof in the PDF: *Proof.* ... QED.

    sphinx-proof wraps a proof in an admonition without a title, which LaTeX
    draws as a box with an empty title bar.
    """
    if app.builder.format != "latex":
        return
    from docutils import nodes

    for box in list(doctree.findall(nodes.admonition)):
        if "proof" not in box["classes"] or not box.children:
            continue
        first = box.children[0]
        if isinstance(first, nodes.paragraph) and first.children \
                and isinstance(first[0], nodes.Text) and first[0].astext().startswith("Proof. "):
            rest = first[0].astext()[len("Proof. "):]
            first.replace(first[0], nodes.Text(rest))
            first.insert(0, nodes.emphasis("Proof.", "Proof."))
            first.insert(1, nodes.Text(" "))
        last = box.children[-1]
        qed = nodes.raw("", r"\hfill\(\square\)", format="latex")
        if isinstance(last, nodes.paragraph):
            last += qed
        else:
            box += nodes.paragraph("", "", qed)
        box.replace_self(box.children)


def _reset_viewcode(app: Sphinx, env, docnames: list[str]) -> None:
    """Forget viewcode's module map when every page is read again.

    sphinx.ext.viewcode keeps, in the pickled environment, the module name
    under which it first met each source file, and builds the source pages'
    back-links from it.  Pages re-read with ``--all`` never reset it, so after
    an API page changes how an object is documented, the old name produces
    dangling links (seen when dlfs.data.fetch got its own section).  Its
    source pages (``_modules/``) are deleted too, so that they are written
    again with the anchors of this build.
    """
    if set(docnames) >= set(env.found_docs):
        if hasattr(env, "_viewcode_modules"):
            env._viewcode_modules = {}
        # viewcode rewrites a source page only when the module file is newer
        # than the page, so a page keeps the anchors (and back-links) of the
        # build that first wrote it, and links to a newly documented method
        # (Softmax._backward) dangle.  A full rebuild writes them all again.
        if app.builder.format == "html":
            shutil.rmtree(Path(app.outdir) / "_modules", ignore_errors=True)


def setup(app: Sphinx) -> dict:
    app.add_config_value("dlfs_math_macros", {}, "env", [dict])
    # after myst-nb's and sphinx-jupyterbook-latex's own config-inited handlers
    app.connect("config-inited", _configure, priority=900)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _reset_viewcode)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _pdf_button, priority=600)   # after the theme's (501)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("html-page-context", _footer, priority=900)
    app.connect("html-page-context", _aria_roles, priority=900)
    app.connect("builder-inited", _latex_numbering, priority=900)  # after jupyterbook-latex
    app.connect("doctree-resolved", _drop_html_only)
    app.connect("doctree-resolved", _latex_proofs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
