"""Can the book's tests run here?  Standard library only (imported before anything else)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Packages of the ``book`` extra that the tests (and book_paths.py) import.
BOOK_MODULES = ("yaml", "sphinx", "jupyter_book", "nbclient", "nbformat")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def not_ready_reason() -> str | None:
    """Why the book's tests cannot run here, or None."""
    missing = [m for m in BOOK_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return (f"the book's packages are not installed (no {', '.join(missing)}); "
                "install them with pip install -e '.[dev,book]' and build with make book")
    if not (ROOT / "_build" / "html" / "index.html").is_file():
        return "the book is not built (no _build/html/index.html); run make book"
    return None



NOT_READY = not_ready_reason()
