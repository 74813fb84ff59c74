# The two commands of the README:
#   make book   - set everything up, then build the site (_build/html) and the PDF
#   make test   - set everything up, build the book, run every test (package + book)
# Both are safe to repeat: set-up steps skip what is already done.

PY := .venv/bin/python

.PHONY: setup book test bench clean
setup:
	bash .ci/setup

book: setup
	bash .ci/build-book

test: book
	$(PY) -m pytest

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf _build .pytest_cache .hypothesis
