"""The package's import graph: it goes down the layers and comes back, never around.

Read from the source (every ``import`` statement, at module level or inside a
function), so a lazy import that would close a cycle at run time counts too.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dlfs

SRC = Path(dlfs.__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((SRC / "dlfs").rglob("*.py"))}


def resolve(name: str) -> str:
    """``name`` if it is a module of the package, else the package that holds it."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    """The dlfs modules that ``module`` imports, anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target == "dlfs" or target.startswith("dlfs."):
                found.add(resolve(target))
    found.discard(module)
    return {m for m in found if m and not module.startswith(m + ".")}   # not its parents


GRAPH = {module: imports(module) for module in MODULES}


def test_no_library_module_imports_the_command_line():
    importers = sorted(m for m, deps in GRAPH.items()
                       if "dlfs.cli" in deps and m not in {"dlfs.cli", "dlfs.__main__"})
    assert importers == []


def test_the_import_graph_has_no_cycle():
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for dep in sorted(GRAPH[module]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert cycles == []


def test_the_graph_sees_the_imports_it_should():
    # A check of the checker: known edges, relative and absolute, are found.
    assert "dlfs.train" in GRAPH["dlfs.recipes.mnist"]
    assert "dlfs._blas" in GRAPH["dlfs.interop"]
    assert "dlfs.recipes.mnist" in GRAPH["dlfs.cli"] or "dlfs.recipes" in GRAPH["dlfs.cli"]


def test_import_dlfs_loads_no_book_tooling_nor_plotting():
    code = ("import sys, dlfs; bad = [m for m in ('dlfs_notebook', 'matplotlib', 'IPython', "
            "'myst_nb', 'dlfs.cli', 'dlfs.recipes', 'dlfs.interop') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
