"""dlfs._checks: validation helpers fail loudly, naming the culprit."""
import numpy as np
import pytest

from dlfs._checks import check_array, check_choice, check_labels, check_positive


def test_check_array_returns_its_argument_unchanged():
    x = np.ones((2, 3))
    assert check_array(x, "x", ndim=2) is x


@pytest.mark.parametrize("bad, error, message", [
    ([[1.0, 2.0]], TypeError, r"x must be a numpy.ndarray, got list"),
    (np.ones((2, 2), dtype=np.int64), TypeError, r"x must have a floating-point dtype, got int64"),
    (np.ones((2, 2), dtype=bool), TypeError, r"floating-point dtype, got bool"),
    (np.ones(3), ValueError, r"x must have 2 dimensions, got shape \(3,\)"),
    (np.array([[1.0, np.nan]]), ValueError, r"x contains NaN or infinity"),
    (np.array([[1.0, -np.inf]]), ValueError, r"x contains NaN or infinity"),
])
def test_check_array_refuses_bad_arrays(bad, error, message):
    with pytest.raises(error, match=message):
        check_array(bad, "x", ndim=2)


def test_check_array_dtype_and_rank_options():
    with pytest.raises(TypeError, match="x must have dtype float32, got float64"):
        check_array(np.ones(2), "x", dtype=np.float32)
    with pytest.raises(ValueError, match=r"must have 2 or 3 dimensions, got shape \(2,\)"):
        check_array(np.ones(2), "x", ndim=(2, 3))
    check_array(np.array([np.inf]), "x", finite=False)        # allowed when asked


def test_check_labels_accepts_valid_labels():
    y = np.array([0, 2, 1])
    assert check_labels(y, "y", 3) is y


@pytest.mark.parametrize("bad, error, message", [
    ([0, 1], TypeError, r"y must be a numpy.ndarray, got list"),
    (np.array([0.0, 1.0]), TypeError, r"y must hold integer class labels, got dtype float64"),
    (np.array([[0, 1]]), ValueError, r"y must have shape \(n_samples,\), got \(1, 2\)"),
    (np.array([0, 3]), ValueError, r"y must lie in \[0, 3\), got values from 0 to 3"),
    (np.array([-1, 2]), ValueError, r"y must lie in \[0, 3\), got values from -1 to 2"),
])
def test_check_labels_refuses_bad_labels(bad, error, message):
    with pytest.raises(error, match=message):
        check_labels(bad, "y", 3)


def test_check_positive_accepts_numbers_and_numpy_scalars():
    assert check_positive(0.1, "lr") == 0.1
    assert check_positive(np.float32(2), "lr") == 2
    assert check_positive(np.int64(4), "n", integer=True) == 4
    assert check_positive(0, "decay", allow_zero=True) == 0


@pytest.mark.parametrize("value, kwargs, error, message", [
    (0, {}, ValueError, r"lr must be > 0, got 0"),
    (-1e-3, {}, ValueError, r"lr must be > 0, got -0.001"),
    (float("nan"), {}, ValueError, r"lr must be > 0, got nan"),
    (float("inf"), {}, ValueError, r"lr must be > 0, got inf"),
    (-1, {"allow_zero": True}, ValueError, r"lr must be >= 0, got -1"),
    (True, {}, TypeError, r"lr must be a number, got True"),
    ("0.1", {}, TypeError, r"lr must be a number, got '0.1'"),
    (2.5, {"integer": True}, TypeError, r"lr must be an integer, got 2.5"),
])
def test_check_positive_refuses_bad_values(value, kwargs, error, message):
    with pytest.raises(error, match=message):
        check_positive(value, "lr", **kwargs)


def test_check_choice_lists_the_sorted_choices():
    assert check_choice("b", "colour", {"b", "a"}) == "b"
    with pytest.raises(ValueError, match=r"unknown colour 'c'; choose one of: a, b$"):
        check_choice("c", "colour", {"b", "a"})


def test_non_finite_values_raise_non_finite_error_a_value_error():
    import dlfs
    from dlfs._checks import NonFiniteError

    assert dlfs.NonFiniteError is NonFiniteError and issubclass(NonFiniteError, ValueError)
    with pytest.raises(NonFiniteError, match=r"^x contains NaN or infinity$"):
        check_array(np.array([1.0, np.inf]), "x")
    with pytest.raises(ValueError) as info:               # other value errors keep their type
        check_array(np.zeros(3), "x", ndim=2)
    assert type(info.value) is ValueError


def test_integers_beyond_int64_are_checked_as_numbers():
    assert check_positive(10**25, "seed", integer=True) == 10**25
    with pytest.raises(ValueError, match=r"limit must be > 0, got -100000000000000000000000000000"):
        check_positive(-10**29, "limit", integer=True)
