"""Paths and helpers shared by the book's build tests (imported by conftest.py and the tests)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
PDF = BUILD / "latex" / "dlfs-book.pdf"
SITE_PDF = HTML / "dlfs-book.pdf"
TIMES = BUILD / "build-times.json"
HINT = "run `make book` (or .ci/build-book) first"

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import dlfs_book  # noqa: E402,F401  (the build's own extension: cache key, MathJax source)


def _part_docnames(skip_captions=()) -> list[str]:
    """Documents of _toc.yml's parts in reading order, leaving out the parts
    whose caption is in ``skip_captions``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        if part.get("caption") not in skip_captions:
            walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return names


def toc_docnames() -> list[str]:
    """Every document of _toc.yml, in reading order (root first)."""
    root = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
    return [root] + _part_docnames()


def chapter_docnames() -> list[str]:
    """Documents of the book's numbered parts (chapters and appendices), not the
    front page or the Reference part (API, build information, bibliography)."""
    return _part_docnames(skip_captions=("Reference",))


def notebook_docnames() -> list[str]:
    """Documents that are notebooks (have code cells), hence .ipynb downloads."""
    return [d for d in toc_docnames()
            if "```{code-cell}" in (ROOT / f"{d}.md").read_text(encoding="utf-8")]


def require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} is missing: {path.relative_to(ROOT)} does not exist; {HINT}",
                    pytrace=False)
    return path


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"'{name}' is not installed; run .ci/setup-book", pytrace=False)
    return path
