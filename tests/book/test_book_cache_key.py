"""The execution cache is keyed on the package's source (book/_ext/dlfs_book.py)."""
from __future__ import annotations

import shutil

from book_paths import ROOT, dlfs_book


def test_key_changes_with_the_package_source(tmp_path):
    pkg = tmp_path / "dlfs"
    shutil.copytree(ROOT / "src" / "dlfs", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    key = dlfs_book.environment_key(pkg)
    assert dlfs_book.environment_key(pkg) == key, "the key must be deterministic"

    (pkg / "__pycache__").mkdir(exist_ok=True)
    (pkg / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert dlfs_book.environment_key(pkg) == key, "bytecode caches must not change the key"

    source = pkg / "activations.py"
    source.write_text(source.read_text() + "\n# an edit\n")
    assert dlfs_book.environment_key(pkg) != key, "editing src/dlfs must change the key"


def test_cache_directory_is_keyed(build_record):
    """The build used (and kept) exactly one cache directory: the current key's."""
    caches = sorted(p.name for p in (ROOT / "_build" / ".jupyter_cache").glob("env-*"))
    assert caches == [f"env-{build_record['env_key']}"], caches


def test_key_changes_with_the_chapter_helpers(tmp_path):
    """dlfs_notebook left the package; editing it must still re-execute the chapters."""
    for name in ("dlfs", "dlfs_notebook"):
        shutil.copytree(ROOT / "src" / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    key = dlfs_book.environment_key(tmp_path / "dlfs")
    helpers = tmp_path / "dlfs_notebook" / "__init__.py"
    helpers.write_text(helpers.read_text() + "\n# an edit\n")
    assert dlfs_book.environment_key(tmp_path / "dlfs") != key
