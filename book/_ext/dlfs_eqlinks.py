"""Equation <-> code links, both ways, generated from the docstrings of ``dlfs``.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``.

The convention (book/AUTHORING.md, "Equations and the code that implements
them"): the docstring of a function, method or class of ``dlfs`` that
implements a numbered equation of the book cites it with Sphinx's ``eq`` role
on a line of its own::

    Implements :eq:`eq-bce-grad`.

From these citations the build produces

1. **API -> equation.**  Nothing to do here: autodoc renders the docstring and
   Sphinx's ``eq`` role links to the equation, showing its number, on the site
   and (``\\eqref``) in the PDF.  A label that does not exist is a warning,
   hence an error under ``-W`` ("equation not found").
2. **Equation -> API and source.**  Below each labelled display equation of a
   chapter that some object cites, a small paragraph "Implemented by
   ``dlfs.losses.BinaryCrossEntropy.backward`` [source]" links to the object's
   entry in the API reference and (site only) to its highlighted source
   (``sphinx.ext.viewcode``).
3. **The list of implemented equations**: the directive ``{dlfs-equations}``
   (used in ``book/equations.md``) becomes a table of every cited equation:
   number, short name, chapter, implementing code.

How the citations are found: every module of ``dlfs`` is imported and walked
(:func:`collect_citations`): module-level functions and classes defined in it,
and the functions defined in each class's own ``__dict__`` (methods,
staticmethods, classmethods, property getters).  A function is counted under a
class only when its ``__qualname__`` starts with the class's qualname, so a
class attribute that aliases a module function (``fn = staticmethod(f)``)
does not produce a second entry; objects are keyed by
``(__module__, __qualname__)``, so re-exports (``dlfs.layers.Dense`` is
``dlfs.layers.dense.Dense``) are counted once.  Citations in the docstrings of
private methods (``Dense._forward``, which autodoc does not render) are
attributed to the method but link to the class's API entry; their labels are
checked by this extension, so a typo fails the build there too.

It also repairs viewcode's "[docs]" links from a source page to an object
documented under another module name than its file's other objects
(:func:`_fix_viewcode_backlinks`).

Nothing is cached between builds: the walk runs once per build, and the
placeholders are filled in the resolving phase (a post-transform), so a new
citation in ``src/dlfs`` shows up without re-reading any chapter.

The short name of an equation is the title of the theorem, lemma, proposition
or definition that contains it, else the title of its section.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass, field

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

logger = logging.getLogger(__name__)

#: The package whose docstrings are scanned.
PACKAGE = "dlfs"
#: A citation: the ``eq`` role (also written ``:math:numref:``) in a docstring.
CITATION = re.compile(r":(?:eq|math:numref):`([^`<>]+?)`")
#: CSS class (site) and LaTeX role (``\DUrole{dlfs-eqlink}``, PDF) of a back-link.
CLASS = "dlfs-eqlink"


# --------------------------------------------------------------------------
# collecting the citations from the package
# --------------------------------------------------------------------------
@dataclass
class Implementer:
    """One object of the package that cites one or more equations."""

    module: str                       # defining module, e.g. "dlfs.layers.dense"
    qualname: str                     # e.g. "Dense._forward"
    labels: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.qualname)

    @property
    def private(self) -> bool:
        return any(part.startswith("_") for part in self.qualname.split("."))


def _unwrap(obj):
    """The function behind a staticmethod, classmethod or property (None otherwise)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    elif isinstance(obj, property):
        obj = obj.fget
    obj = inspect.unwrap(obj) if callable(obj) else obj
    return obj if inspect.isfunction(obj) or inspect.isclass(obj) else None


def _labels(obj) -> list[str]:
    doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else ""
    return list(dict.fromkeys(m.strip() for m in CITATION.findall(doc)))


def _modules(package: str = PACKAGE):
    root = importlib.import_module(package)
    yield root
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_") and not info.name.endswith("__main__"):
            continue                   # private modules: their objects are re-exported
        if info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception as exc:  # noqa: BLE001 - report and go on
            logger.warning(f"[dlfs_eqlinks] cannot import {info.name}: {exc}")


def collect_citations(package: str = PACKAGE) -> dict[tuple[str, str], Implementer]:
    """Every object of ``package`` whose docstring cites an equation, keyed by
    ``(module, qualname)``, in a deterministic order."""
    found: dict[tuple[str, str], Implementer] = {}

    def visit(obj):
        labels = _labels(obj)
        key = (obj.__module__, obj.__qualname__)
        if labels and key not in found:
            found[key] = Implementer(obj.__module__, obj.__qualname__, labels)

    def visit_class(cls):
        visit(cls)
        for name, member in vars(cls).items():
            if name.startswith("__"):
                continue
            func = _unwrap(member)
            # Only what the class itself defines: an alias of a module function
            # or of another class's method has a foreign qualname.
            if func is None or getattr(func, "__module__", None) != cls.__module__ \
                    or not func.__qualname__.startswith(cls.__qualname__ + "."):
                continue
            if inspect.isclass(func):
                visit_class(func)
            else:
                visit(func)

    for module in _modules(package):
        for name, obj in sorted(vars(module).items()):
            if getattr(obj, "__module__", None) != module.__name__:
                continue               # imported: visited in its own module
            if inspect.isclass(obj):
                visit_class(obj)
            elif inspect.isfunction(obj):
                visit(obj)
    return dict(sorted(found.items()))


def citations_by_label(implementers) -> dict[str, list[Implementer]]:
    out: dict[str, list[Implementer]] = {}
    for imp in implementers.values():
        for label in imp.labels:
            out.setdefault(label, []).append(imp)
    return out


def _citations(app: Sphinx) -> dict[tuple[str, str], Implementer]:
    if getattr(app, "_dlfs_citations", None) is None:
        app._dlfs_citations = collect_citations(app.config.dlfs_eqlinks_package)
    return app._dlfs_citations


# --------------------------------------------------------------------------
# reading: placeholders after labelled equations, short names
# --------------------------------------------------------------------------
class eqlink_placeholder(nodes.General, nodes.Element):
    """Where the back-links of the equation ``label`` go (filled when resolving)."""


class equations_placeholder(nodes.General, nodes.Element):
    """Where the table of implemented equations goes (filled when resolving)."""


class EquationsDirective(Directive):
    """``{dlfs-equations}``: the table of every equation the package implements."""

    has_content = False

    def run(self):
        return [equations_placeholder()]


def _short_name(node: nodes.Element) -> str:
    parent = node.parent
    section_title = ""
    while parent is not None:
        if parent.get("realtype") is not None and parent.get("title", "").strip():
            return parent["title"].strip().strip("()").strip()
        if isinstance(parent, nodes.section) and not section_title:
            for child in parent.children:
                if isinstance(child, nodes.title):
                    section_title = child.astext()
                    break
        parent = parent.parent
    return section_title


def _doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    names = env.dlfs_eq_names = getattr(env, "dlfs_eq_names", {})
    for block in list(doctree.findall(nodes.math_block)):
        label = block.get("label")
        if not label:
            continue
        names[label] = (env.docname, _short_name(block))
        block.parent.insert(block.parent.index(block) + 1, eqlink_placeholder(label=label))


def _purge(app, env, docname):
    names = getattr(env, "dlfs_eq_names", {})
    for label in [k for k, (doc, _) in names.items() if doc == docname]:
        del names[label]


def _merge(app, env, docnames, other):
    names = env.dlfs_eq_names = getattr(env, "dlfs_eq_names", {})
    names.update({k: v for k, v in getattr(other, "dlfs_eq_names", {}).items()
                  if v[0] in docnames})


# --------------------------------------------------------------------------
# resolving: fill in the placeholders
# --------------------------------------------------------------------------
def _import_path(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def documented_names(env) -> dict[tuple[str, str], tuple[str, str, str]]:
    """``(module, qualname)`` of each object in the API reference ->
    ``(fullname as documented, docname, anchor)``."""
    cached = getattr(env, "_dlfs_documented", None)
    py = env.get_domain("py")
    if cached is not None and cached[0] == len(py.objects):
        return cached[1]
    out: dict[tuple[str, str], tuple[str, str, str]] = {}
    for fullname, entry in sorted(py.objects.items(), key=lambda kv: (len(kv[0]), kv[0])):
        if entry.aliased or entry.objtype == "module" or not fullname.startswith(PACKAGE):
            continue
        obj = _import_path(fullname)
        obj = _unwrap(obj) if obj is not None else None
        # An alias (``Sigmoid.f = staticmethod(sigmoid)``) is documented under a
        # name that is not the object's own: never link to it.
        if obj is None or not ("." + fullname).endswith("." + obj.__qualname__):
            continue
        key = (obj.__module__, obj.__qualname__)
        # Prefer the entry under the object's own name (dlfs.activations.tanh_grad)
        # to an alias documented elsewhere (a class attribute such as Tanh.df).
        own = fullname.endswith("." + obj.__qualname__)
        if key not in out or (own and not out[key][0].endswith("." + obj.__qualname__)):
            out[key] = (fullname, entry.docname, entry.node_id)
    env._dlfs_documented = (len(py.objects), out)
    return out


def _viewcode_target(env, module: str, qualname: str) -> tuple[str, str] | None:
    """(page, anchor) of ``qualname`` in viewcode's page of ``module``, if it has one."""
    entry = getattr(env, "_viewcode_modules", {}).get(module)
    if not entry:
        return None
    used = entry[2]
    parts = qualname.split(".")
    for i in range(len(parts), 0, -1):          # the method, else its class
        name = ".".join(parts[:i])
        if name in used:
            return "_modules/" + module.replace(".", "/"), name
    return None


class FillEquationLinks(SphinxPostTransform):
    """Replace the placeholders by back-links and by the table (every builder).

    Runs before the reference resolver (priority 10) and LaTeX's math-reference
    transform (5), so the ``eq`` references it creates are resolved like any
    other; the viewcode anchors it creates are handled by viewcode (100).
    """

    default_priority = 4

    def run(self, **kwargs) -> None:
        placeholders = list(self.document.findall(eqlink_placeholder))
        tables = list(self.document.findall(equations_placeholder))
        if not placeholders and not tables:
            return
        by_label = citations_by_label(_citations(self.app))
        for node in placeholders:
            implementers = by_label.get(node["label"])
            if not implementers:
                node.parent.remove(node)
                continue
            para = nodes.paragraph("", "", classes=[CLASS])
            inline = nodes.inline("", "", classes=[CLASS])
            inline += nodes.Text("Implemented by ")
            for i, imp in enumerate(implementers):
                if i:
                    inline += nodes.Text(" and " if i == len(implementers) - 1 else ", ")
                inline.extend(self.code_link(imp))
            inline += nodes.Text(".")
            para += inline
            node.replace_self(para)
        for node in tables:
            node.replace_self(self.table(by_label))

    # -- pieces ------------------------------------------------------------
    def docname(self) -> str:
        return self.env.docname

    def code_link(self, imp: Implementer) -> list[nodes.Node]:
        """``dlfs.x.y`` linked to its API entry, then [source] (site only)."""
        env, builder = self.env, self.app.builder
        documented = documented_names(env)
        target = documented.get(imp.key)
        shown = None
        if target is None and imp.private:
            # A private method: show its name, link to the nearest documented owner.
            parts = imp.qualname.split(".")
            for i in range(len(parts) - 1, 0, -1):
                owner = documented.get((imp.module, ".".join(parts[:i])))
                if owner is not None:
                    target = owner
                    shown = owner[0] + "." + ".".join(parts[i:])
                    break
        if target is None:
            logger.warning(
                f"[dlfs_eqlinks] {imp.module}.{imp.qualname} cites "
                f"{', '.join(imp.labels)} but is not in the API reference (book/api.md); "
                "document it there", location=self.document.get("source"), type="dlfs",
                subtype="eqlinks")
            return [nodes.literal("", f"{imp.module}.{imp.qualname}")]
        fullname, todoc, anchor = target
        text = shown or fullname
        code = nodes.literal("", text, classes=["xref", "py", "py-obj"])
        out: list[nodes.Node] = [make_refnode(builder, self.docname(), todoc, anchor, code,
                                              text)]
        source = _viewcode_target(env, imp.module, imp.qualname)
        if source is not None and builder.format == "html":   # viewcode: site only
            from sphinx.ext.viewcode import viewcode_anchor

            out += [nodes.Text(" "),
                    viewcode_anchor(reftarget=source[0], refid=source[1],
                                    refdoc=self.docname())]
        return out

    def eq_ref(self, label: str) -> nodes.Node:
        ref = addnodes.pending_xref("", nodes.inline("", label), refdomain="math",
                                    reftype="eq", reftarget=label, refdoc=self.docname(),
                                    refexplicit=False, refwarn=True)
        return ref

    def table(self, by_label: dict[str, list[Implementer]]) -> nodes.Node:
        env = self.env
        math = env.get_domain("math")
        names = getattr(env, "dlfs_eq_names", {})
        order = {doc: i for i, doc in enumerate(_reading_order(env))}
        rows = []
        for label, implementers in by_label.items():
            if label not in math.equations:
                continue                       # reported by _check_labels
            docname, number = math.equations[label]
            rows.append((order.get(docname, 10**6), number, label, docname, implementers))
        rows.sort()
        widths = [10, 30, 22, 38]
        table = nodes.table(classes=["colwidths-given", "dlfs-equations"])
        group = nodes.tgroup(cols=len(widths))
        table += group
        for w in widths:
            group += nodes.colspec(colwidth=w)
        head = nodes.thead()
        group += head
        head += self.row([nodes.Text(h) for h in ("Equation", "Name", "Chapter",
                                                  "Implemented by")])
        body = nodes.tbody()
        group += body
        for _, _, label, docname, implementers in rows:
            chapter = addnodes.pending_xref("", nodes.inline("", docname), refdomain="std",
                                            reftype="doc", reftarget="/" + docname,
                                            refdoc=self.docname(), refexplicit=False,
                                            refwarn=True)
            code = nodes.paragraph()
            for i, imp in enumerate(implementers):
                if i:
                    code += nodes.Text(", ")
                code.extend(self.code_link(imp))
            body += self.row([self.eq_ref(label), nodes.Text(names.get(label, ("", ""))[1]),
                              chapter, code])
        if not rows:
            return nodes.paragraph("", "No equation is cited by the package yet.")
        return table

    @staticmethod
    def row(cells: list[nodes.Node]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.paragraph) else nodes.paragraph("", "", cell)
            row += entry
        return row


def _reading_order(env) -> list[str]:
    """Documents in the order of the table of contents."""
    seen: list[str] = []

    def walk(doc):
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return seen


def _check_labels(app: Sphinx, env) -> None:
    """Every cited label must exist (including those in unrendered docstrings)."""
    equations = env.get_domain("math").equations
    for imp in _citations(app).values():
        for label in imp.labels:
            if label not in equations:
                logger.warning(f"[dlfs_eqlinks] {imp.module}.{imp.qualname} cites equation "
                               f"{label!r}, which no chapter defines", type="dlfs",
                               subtype="eqlinks")


VIEWCODE_BACK = re.compile(r'(<div class="viewcode-block" id="([\w.]+)">\s*'
                           r'<a class="viewcode-back" href=")([^"#]*)#([^"]+)(")')


def _fix_viewcode_backlinks(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Point the "[docs]" links of viewcode's source pages at the real API entries.

    viewcode links every object of a source file under one module name, the
    first it met the file under (``dlfs.data`` for ``dlfs/data/mnist.py``), so
    an object documented under another (``dlfs.data.mnist.load_split``) gets a
    dangling link.  Each link is rewritten to the documented name of the
    object that the block shows, found by (module, qualname).
    """
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    module = pagename[len("_modules/"):].replace("/", ".")
    py = app.env.get_domain("py").objects
    documented = documented_names(app.env)

    def fix(m):
        qualname, anchor = m.group(2), m.group(4)
        if anchor in py:
            return m.group(0)
        target = documented.get((module, qualname))
        if target is None:
            return m.group(0)
        uri = app.builder.get_relative_uri(pagename, target[1])
        return f"{m.group(1)}{uri}#{target[2]}{m.group(5)}"

    context["body"] = VIEWCODE_BACK.sub(fix, context["body"])


def _reset(app: Sphinx, env, docnames) -> None:
    app._dlfs_citations = None
    env._dlfs_documented = None


# --------------------------------------------------------------------------
# builders: a placeholder that survives (it never should) is dropped
# --------------------------------------------------------------------------
def _skip(self, node):
    raise nodes.SkipNode


LATEX_STYLE = r"""% --- back-links from equations to the code (book/_ext/dlfs_eqlinks.py) ---
\expandafter\def\csname DUroledlfs-eqlink\endcsname#1{{\small\itshape #1}}
"""


def _configure(app: Sphinx, config) -> None:
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + "\n" + LATEX_STYLE
    config.latex_elements = elements


def setup(app: Sphinx) -> dict:
    app.add_config_value("dlfs_eqlinks_package", PACKAGE, "env", [str])
    for node in (eqlink_placeholder, equations_placeholder):
        app.add_node(node, html=(_skip, None), latex=(_skip, None), text=(_skip, None),
                     man=(_skip, None), texinfo=(_skip, None))
    app.add_directive("dlfs-equations", EquationsDirective)
    app.add_post_transform(FillEquationLinks)
    app.connect("config-inited", _configure, priority=950)
    app.connect("env-before-read-docs", _reset)
    app.connect("doctree-read", _doctree_read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_labels)
    app.connect("html-page-context", _fix_viewcode_backlinks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
