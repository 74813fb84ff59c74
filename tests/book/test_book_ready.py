"""The guard of tests/book: says why the book's tests were skipped (or fails, in CI)."""
from __future__ import annotations

import pytest
from book_ready import NOT_READY, in_ci


def test_book_tests_can_run():
    if NOT_READY:
        if in_ci():
            pytest.fail(f"CI must run the book's tests, but {NOT_READY}", pytrace=False)
        pytest.skip(NOT_READY)
