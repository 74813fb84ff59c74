# The two commands of the README:
#   make book   - set everything up, then build the site (_build/html) and the PDF
#   make test   - set everything up, build the book, run every test (package + book)
#   make check  - the package's tests alone (no book build; what CI runs first)
#   make pdf-print - after make book: the PDF for printing (two-sided, chapters on
#                 right-hand pages) as _build/latex-print/dlfs-book.pdf
# All are safe to repeat: set-up steps skip what is already done.

PY := .venv/bin/python

.PHONY: setup book check test bench bench-mlp bench-conv clean pdf-print
setup:
	bash .ci/setup

book: setup
	bash .ci/build-book

check:
	$(PY) -m pytest --ignore=tests/book -q -p no:cacheprovider

test: book
	$(PY) -m pytest

# The screen PDF's LaTeX sources with the class options of print, typeset again.
pdf-print:
	rm -rf _build/latex-print && cp -a _build/latex _build/latex-print
	sed -i '0,/^\\documentclass\[/s/openany,oneside/openright,twoside/' _build/latex-print/dlfs-book.tex
	$(MAKE) -C _build/latex-print LATEXMKOPTS=-silent all-pdf >/dev/null
	@echo "print PDF: _build/latex-print/dlfs-book.pdf"

bench: bench-mlp bench-conv

bench-mlp: setup
	$(PY) bench/run.py

bench-conv: setup
	$(PY) bench/conv.py

clean:
	rm -rf _build .pytest_cache .hypothesis
