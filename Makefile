# The two commands of the README:
#   make book   - set everything up, then build the site (_build/html) and the PDF
#   make test   - set everything up, build the book, run every test (package + book)
#   make check  - the package's tests alone (no book build; what CI runs first)
# All are safe to repeat: set-up steps skip what is already done.

PY := .venv/bin/python

.PHONY: setup book check test bench bench-mlp bench-conv clean
setup:
	bash .ci/setup

book: setup
	bash .ci/build-book

check:
	$(PY) -m pytest --ignore=tests/book -q -p no:cacheprovider

test: book
	$(PY) -m pytest

bench: bench-mlp bench-conv

bench-mlp: setup
	$(PY) bench/run.py

bench-conv: setup
	$(PY) bench/conv.py

clean:
	rm -rf _build .pytest_cache .hypothesis
