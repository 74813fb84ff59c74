"""dlfs._docs.implements: the equation citation added to a docstring at import."""
import inspect

import pytest

from dlfs import activations, model
from dlfs._docs import implements


def test_the_citation_goes_before_the_first_section():
    def f():
        """Summary.

        More text.

        Parameters
        ----------
        x : int
        """

    implements(f, "eq-a", "eq-b", "eq-c")
    assert f.__doc__ == inspect.cleandoc("""Summary.

        More text.

        Implements :eq:`eq-a`, :eq:`eq-b` and :eq:`eq-c`.

        Parameters
        ----------
        x : int
        """)


def test_a_docstring_without_sections_ends_with_it_and_the_object_is_returned():
    class C:
        @staticmethod
        def g():
            """One line."""

    assert implements(C.__dict__["g"], "eq-x") is C.__dict__["g"]
    assert C.g.__doc__ == "One line.\n\nImplements :eq:`eq-x`."
    with pytest.raises(ValueError, match="at least one equation label"):
        implements(C.g)


def test_the_library_cites_with_it_and_the_listing_stays_plain():
    """The shown source has no Sphinx markup; the docstring has the citation."""
    assert "Implements :eq:`eq-neuron`." in activations.sigmoid.__doc__
    assert "Implements :eq:`eq-bp-recursion`." in model.Sequential.backward.__doc__
    for shown in (activations.sigmoid, model.Sequential.backward):
        source = inspect.getsource(shown)
        assert ":eq:" not in source and ":math:" not in source
