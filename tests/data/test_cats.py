"""Cat vs non-cat: load_cats on the real mirror (CI) or tiny HDF5 files."""
import numpy as np
import pytest

from dlfs.data import DatasetError, cats, load_cats
from dlfs.data.fetch import read_verified

SPLITS = ["train", "test"]


def _split(loaded, split):
    x_train, y_train, x_test, y_test, _ = loaded
    return (x_train, y_train) if split == "train" else (x_test, y_test)


@pytest.mark.parametrize("split", SPLITS)
def test_shapes_and_dtypes(cats_case, cats_loaded, split):
    x, y = _split(cats_loaded, split)
    n = cats_case.expected[split]["n"]
    assert x.shape == (n, 64, 64, 3) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.int64


def test_classes_name_the_labels(cats_loaded):
    assert cats_loaded[4] == ("non-cat", "cat")
    assert all(type(name) is str for name in cats_loaded[4])


@pytest.mark.parametrize("split", SPLITS)
def test_per_class_counts(cats_case, cats_loaded, split):
    _, y = _split(cats_loaded, split)
    assert np.bincount(y, minlength=2).tolist() == cats_case.expected[split]["counts"]


@pytest.mark.parametrize("split", SPLITS)
def test_first_ten_labels(cats_case, cats_loaded, split):
    _, y = _split(cats_loaded, split)
    assert y[:10].tolist() == cats_case.expected[split]["first10"]


@pytest.mark.parametrize("split", SPLITS)
def test_pixel_mean_and_range(cats_case, cats_loaded, split):
    x, _ = _split(cats_loaded, split)
    expected = cats_case.expected[split]
    assert x.mean(dtype=np.float64) / 255 == pytest.approx(expected["pixel_mean"],
                                                           abs=expected["mean_tol"])
    assert (x.min(), x.max()) == (0, 255)


def test_tiny_files_round_trip_exactly(tiny_cats, use_case, tmp_path):
    use_case(tiny_cats)
    x_train, y_train, x_test, y_test, _ = load_cats(data_dir=tmp_path)
    for got, want in zip((x_train, y_train, x_test, y_test),
                         (*tiny_cats.arrays["train"], *tiny_cats.arrays["test"])):
        np.testing.assert_array_equal(got, want)
    cached = sorted(path.name for path in (tmp_path / "catvnoncat").iterdir())
    assert cached == ["test_catvnoncat.h5", "train_catvnoncat.h5"]


def test_missing_files_offline_name_file_and_urls(tmp_path):
    with pytest.raises(DatasetError) as error:
        load_cats(data_dir=tmp_path)
    message = str(error.value)
    assert "train_catvnoncat.h5" in message
    for url in cats.CATS_FILES["train"].urls:
        assert url in message
    assert "DLFS_DATA_MIRROR" in message


@pytest.mark.parametrize("damage, says", [
    (lambda b: b[:-1], "bytes, expected"),
    (lambda b: b + b"\0", "bytes, expected"),
    (lambda b: b[:1000] + bytes([b[1000] ^ 1]) + b[1001:], "SHA-256"),
])
def test_corrupt_cached_file_is_refused(cats_case, use_case, tmp_path, damage, says):
    use_case(cats_case)
    remote = cats_case.files["test"]
    cached = tmp_path / "catvnoncat" / remote.name
    cached.parent.mkdir()
    cached.write_bytes(damage((cats_case.mirror / "catvnoncat" / remote.name).read_bytes()))
    with pytest.raises(DatasetError, match=says) as error:
        read_verified("catvnoncat", remote, data_dir=tmp_path)
    assert str(cached) in str(error.value)
    assert "Delete it" in str(error.value)


def test_load_cats_refuses_a_truncated_cached_file(tiny_cats, use_case, tmp_path):
    use_case(tiny_cats)
    name = tiny_cats.files["train"].name
    (tmp_path / "catvnoncat").mkdir()
    (tmp_path / "catvnoncat" / name).write_bytes(
        (tiny_cats.mirror / "catvnoncat" / name).read_bytes()[:5000])
    with pytest.raises(DatasetError, match=f"{name}.*5,000 bytes, expected"):
        load_cats(data_dir=tmp_path)


# These files pass their checksums (the manifest is made for them) but are not
# the course's files: the loader's own checks must catch them and name the file.
def _write_not_cats(problem, path, make):
    x = np.zeros((4, 64, 64, 3), np.uint8)
    y = np.array([0, 1, 0, 1])
    if problem == "not HDF5":
        path.write_bytes(b"this is not an HDF5 file\n" * 20)
    elif problem == "no list_classes":
        make.write_cats_h5(path, "train", x, y, skip=("list_classes",))
    elif problem == "label 2":
        make.write_cats_h5(path, "train", x, np.array([0, 1, 2, 1]))
    elif problem == "one label short":
        make.write_cats_h5(path, "train", x, y[:3])
    elif problem == "grey pictures":
        make.write_cats_h5(path, "train", x[..., 0], y)
    elif problem == "float pictures":
        make.write_cats_h5(path, "train", x.astype(np.float32), y)
    elif problem == "classes swapped":
        make.write_cats_h5(path, "train", x, y, classes=(b"cat", b"non-cat"))


@pytest.mark.parametrize("problem, says", [
    ("not HDF5", "not a readable cat/non-cat HDF5 file"),
    ("no list_classes", "not a readable cat/non-cat HDF5 file"),
    ("label 2", "labels 0 or 1"),
    ("one label short", "must hold 4 labels"),
    ("grey pictures", "expected uint8 \\(n, 64, 64, 3\\)"),
    ("float pictures", "train_set_x is float32"),
    ("classes swapped", "list_classes is \\('cat', 'non-cat'\\)"),
])
def test_load_cats_refuses_files_that_are_not_the_course_files(make, tmp_path, monkeypatch,
                                                               problem, says):
    path = tmp_path / "catvnoncat" / "train_catvnoncat.h5"
    path.parent.mkdir()
    _write_not_cats(problem, path, make)
    monkeypatch.setattr(cats, "CATS_FILES", {
        "train": make.remote_for(path.name, path.read_bytes()),
        "test": cats.CATS_FILES["test"],
    })
    with pytest.raises(DatasetError, match=says) as error:
        load_cats(data_dir=tmp_path)
    assert str(path) in str(error.value)
