"""A reader's notebook runs as downloaded (issue 6, item 22a).

Every chapter's executed notebook, as the site's download button offers it
(``_build/html/_sources/<doc>.ipynb``), is executed again in a reader's environment:
``.venv-reader`` (made by ``.ci/setup-reader``) holds only the dlfs package, ipykernel
and matplotlib -- no myst-nb, no Sphinx.  The kernel "dlfs-reader" lives inside that
environment and is found through ``JUPYTER_PATH``; the user's Jupyter configuration is
never touched.  Any error, and anything printed on stderr, fails the test.
"""
from __future__ import annotations

import json
import os
import subprocess

import nbformat
import pytest
from book_paths import HTML, ROOT, chapter_docnames, require
from nbclient import NotebookClient

READER = ROOT / ".venv-reader"
KERNEL = "dlfs-reader"
CHAPTERS = [d for d in chapter_docnames()
            if "```{code-cell}" in (ROOT / f"{d}.md").read_text(encoding="utf-8")]
#: Packages of the book build that a reader's environment must not have.
BOOK_ONLY = ("myst_nb", "sphinx", "jupyter_book")


@pytest.fixture(scope="module")
def reader_env():
    python = READER / "bin" / "python"
    spec = READER / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    if not python.is_file() or not spec.is_file():
        pytest.skip(f"no reader environment ({spec.relative_to(ROOT)} is missing); "
                    "run bash .ci/setup-reader")
    leaked = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(' '.join(m for m in "
         f"{BOOK_ONLY!r} if u.find_spec(m)))"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""},
    ).stdout.split()
    assert not leaked, f"the reader's environment has the book's packages: {leaked}"
    argv = json.loads(spec.read_text())["argv"]
    assert argv[0].startswith(str(READER)), f"kernel {KERNEL} runs {argv[0]}, not the reader's"
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(READER / "share" / "jupyter")] + ([old] if old else []))
    try:
        yield python
    finally:
        if old is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = old


def test_there_are_chapters_to_run():
    assert CHAPTERS, "no chapter notebooks found in _toc.yml"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_downloaded_notebook_runs_in_a_readers_environment(doc, reader_env, html_dir):
    path = require(HTML / "_sources" / f"{doc}.ipynb", f"the downloadable notebook of {doc}")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(ROOT / "book")}})
    client.execute()           # raises CellExecutionError, with the traceback, on an error
    stderr = [(i, out.get("text", "")) for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "stream" and out.get("name") == "stderr"]
    assert not stderr, f"{doc}: cells printed on stderr: {stderr[:3]}"
