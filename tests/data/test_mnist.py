"""MNIST: the IDX reader and load_mnist, on the real mirror (CI) or tiny files."""
import gzip

import numpy as np
import pytest

from dlfs.data import DatasetError, load_mnist, mnist
from dlfs.data.fetch import read_verified

SPLITS = ["train", "test"]


# --------------------------------------------------------------------------
# What load_mnist returns: real figures from the datasets README, or the tiny
# files' own figures.


@pytest.mark.parametrize("split", SPLITS)
def test_shapes_and_dtypes(mnist_case, mnist_cache, split):
    x, y = mnist_cache.arrays[f"x_{split}"], mnist_cache.arrays[f"y_{split}"]
    n = mnist_case.expected[split]["n"]
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.int64


@pytest.mark.parametrize("split", SPLITS)
def test_per_class_counts(mnist_case, mnist_cache, split):
    counts = np.bincount(mnist_cache.arrays[f"y_{split}"], minlength=10)
    assert counts.tolist() == mnist_case.expected[split]["counts"]


@pytest.mark.parametrize("split", SPLITS)
def test_first_ten_labels(mnist_case, mnist_cache, split):
    assert mnist_cache.arrays[f"y_{split}"][:10].tolist() == mnist_case.expected[split]["first10"]


@pytest.mark.parametrize("split", SPLITS)
def test_pixel_mean_and_range(mnist_case, mnist_cache, split):
    x = mnist_cache.arrays[f"x_{split}"]
    expected = mnist_case.expected[split]
    assert x.mean(dtype=np.float64) / 255 == pytest.approx(expected["pixel_mean"],
                                                           abs=expected["mean_tol"])
    assert (x.min(), x.max()) == (0, 255)


def test_cache_holds_exactly_the_verified_files(mnist_case, mnist_cache, monkeypatch):
    cached = sorted(path.name for path in (mnist_cache.path / "mnist").iterdir())
    assert cached == sorted(remote.name for remote in mnist_case.files.values())
    # The cache alone is now enough: no mirror (the autouse fixture removed it).
    monkeypatch.setattr(mnist, "MNIST_FILES", mnist_case.files)
    _, _, x_test, y_test = load_mnist(data_dir=mnist_cache.path)
    np.testing.assert_array_equal(y_test, mnist_cache.arrays["y_test"])
    np.testing.assert_array_equal(x_test, mnist_cache.arrays["x_test"])


def test_a_regzipped_mirror_still_verifies(mnist_case, make, tmp_path, monkeypatch):
    # Checksums are of the decompressed bytes, so other gzip settings are fine.
    remote = mnist_case.files["test_labels"]
    content = gzip.decompress((mnist_case.mirror / "mnist" / remote.name).read_bytes())
    make.write_gz(tmp_path / "mirror" / "mnist" / remote.name, content, level=1)
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    assert read_verified("mnist", remote, data_dir=tmp_path / "cache") == content


def test_tiny_files_round_trip_exactly(tiny_mnist, use_case, tmp_path):
    use_case(tiny_mnist)
    x_train, y_train, x_test, y_test = load_mnist(data_dir=tmp_path)
    for got, want in zip((x_train, y_train, x_test, y_test),
                         (*tiny_mnist.arrays["train"], *tiny_mnist.arrays["test"])):
        np.testing.assert_array_equal(got, want)


def test_data_dir_defaults_to_DLFS_DATA_DIR(tiny_mnist, use_case, tmp_path, monkeypatch):
    use_case(tiny_mnist)
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "root"))
    load_mnist()
    assert len(list((tmp_path / "root" / "mnist").glob("*.gz"))) == 4


# --------------------------------------------------------------------------
# Missing and corrupt files


def test_missing_files_offline_name_file_and_urls(tmp_path):
    # Shipped manifest, no mirror, and the tests' network guard: every URL fails.
    with pytest.raises(DatasetError) as error:
        load_mnist(data_dir=tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz" in message
    for url in mnist.MNIST_FILES["train_images"].urls:
        assert url in message
    assert "DLFS_DATA_MIRROR" in message
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def _corrupt(kind, packed, content):
    """A damaged version of a .gz file whose decompressed bytes are ``content``."""
    if kind == "truncated":
        return packed[: len(packed) // 2]
    if kind == "empty":
        return b""
    if kind == "not gzipped":
        return content
    if kind == "bad CRC":  # the CRC-32 is the 4 bytes before the size trailer
        crc = bytes(b ^ 0xFF for b in packed[-8:-4])
        return packed[:-8] + crc + packed[-4:]
    if kind == "one byte changed":
        return gzip.compress(content[:-1] + bytes([content[-1] ^ 1]))
    if kind == "too long":
        return gzip.compress(content + b"\0")
    if kind == "too short":
        return gzip.compress(content[:-1])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, says", [
    ("truncated", "truncated"),
    ("empty", "only 0 bytes"),
    ("not gzipped", "not a valid gzip file"),
    ("bad CRC", "not a valid gzip file"),
    ("one byte changed", "SHA-256"),
    ("too long", "more than"),
    ("too short", "only"),
])
def test_corrupt_cached_file_is_refused(mnist_case, use_case, tmp_path, kind, says):
    use_case(mnist_case)  # a good mirror is there, yet a bad cache must not pass
    remote = mnist_case.files["test_labels"]
    packed = (mnist_case.mirror / "mnist" / remote.name).read_bytes()
    cached = tmp_path / "mnist" / remote.name
    cached.parent.mkdir()
    cached.write_bytes(_corrupt(kind, packed, gzip.decompress(packed)))
    with pytest.raises(DatasetError, match=says) as error:
        read_verified("mnist", remote, data_dir=tmp_path)
    assert str(cached) in str(error.value)
    assert "Delete it" in str(error.value)
    assert cached.exists(), "the user's file must not be deleted behind their back"


def test_load_mnist_refuses_a_truncated_cached_file(tiny_mnist, use_case, tmp_path):
    use_case(tiny_mnist)
    name = tiny_mnist.files["train_images"].name
    packed = (tiny_mnist.mirror / "mnist" / name).read_bytes()
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / name).write_bytes(packed[:-100])
    with pytest.raises(DatasetError, match=f"{name}.*truncated"):
        load_mnist(data_dir=tmp_path)


def test_corrupt_mirror_file_is_not_cached(mnist_case, make, tmp_path, monkeypatch):
    remote = mnist_case.files["test_labels"]
    content = gzip.decompress((mnist_case.mirror / "mnist" / remote.name).read_bytes())
    bad = make.write_gz(tmp_path / "mirror" / "mnist" / remote.name, content[:-1] + b"\x07")
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(DatasetError, match="SHA-256") as error:
        read_verified("mnist", remote, data_dir=tmp_path / "cache")
    assert str(bad) in str(error.value)
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


# --------------------------------------------------------------------------
# The IDX reader


def test_parse_idx_reads_images_as_a_writable_view(make):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    content = bytearray(make.idx_bytes(images, mnist.IMAGES_MAGIC))
    parsed = mnist.parse_idx(content, magic=mnist.IMAGES_MAGIC)
    np.testing.assert_array_equal(parsed, images)
    assert parsed.dtype == np.uint8 and parsed.flags.writeable
    assert np.shares_memory(parsed, np.frombuffer(content, dtype=np.uint8))


def test_parse_idx_reads_labels(make):
    labels = np.array([5, 0, 4], dtype=np.uint8)
    parsed = mnist.parse_idx(make.idx_bytes(labels, mnist.LABELS_MAGIC), magic=mnist.LABELS_MAGIC)
    assert parsed.shape == (3,) and parsed.tolist() == [5, 0, 4]


@pytest.mark.parametrize("damage, says", [
    (lambda b: b[:-1], "dims \\(2, 3, 4\\), which needs 40 bytes, but the file has 39"),
    (lambda b: b + b"\0", "which needs 40 bytes, but the file has 41"),
    (lambda b: b[:10], "too short for an IDX header"),
    (lambda b: b"\x00\x00\x0d\x03" + b[4:], "magic number is 0x00000d03, expected 0x00000803"),
    (lambda b: b"\x01" + b[1:], "magic number is 0x01000803"),
])
def test_parse_idx_refuses_bad_headers(make, damage, says):
    content = damage(make.idx_bytes(np.zeros((2, 3, 4), np.uint8), mnist.IMAGES_MAGIC))
    with pytest.raises(DatasetError, match=says) as error:
        mnist.parse_idx(content, magic=mnist.IMAGES_MAGIC, source="some-file-idx3")
    assert str(error.value).startswith("some-file-idx3: ")


def test_parse_idx_refuses_labels_where_images_belong(make):
    content = make.idx_bytes(np.zeros(3, np.uint8), mnist.LABELS_MAGIC)
    with pytest.raises(DatasetError, match="0x00000801, expected 0x00000803"):
        mnist.parse_idx(content, magic=mnist.IMAGES_MAGIC)


def _not_mnist(problem, make):
    """Image and label files with one thing wrong."""
    images = make.idx_bytes(np.zeros((3, 28, 28), np.uint8), mnist.IMAGES_MAGIC)
    labels = make.idx_bytes(np.array([0, 1, 2], np.uint8), mnist.LABELS_MAGIC)
    if problem == "labels as images":
        images = labels
    elif problem == "27x27 images":
        images = make.idx_bytes(np.zeros((3, 27, 27), np.uint8), mnist.IMAGES_MAGIC)
    elif problem == "more labels than images":
        labels = make.idx_bytes(np.array([0, 1, 2, 3], np.uint8), mnist.LABELS_MAGIC)
    elif problem == "label 10":
        labels = make.idx_bytes(np.array([0, 1, 10], np.uint8), mnist.LABELS_MAGIC)
    return images, labels


# These files pass their checksums (the manifest is made for them) but are not
# MNIST-shaped: the loader's own checks must catch them and name the file.
@pytest.mark.parametrize("problem, says", [
    ("labels as images", "IDX magic number is 0x00000801"),
    ("27x27 images", "expected \\(28, 28\\)"),
    ("more labels than images", "must match"),
    ("label 10", "digits 0-9"),
])
def test_load_mnist_refuses_files_that_are_not_mnist(make, tmp_path, monkeypatch, problem, says):
    files = {}
    for split in SPLITS:
        for kind, content in zip(("images", "labels"), _not_mnist(problem, make)):
            name = f"{split}-{kind}.gz"
            make.write_gz(tmp_path / "mnist" / name, content)
            files[f"{split}_{kind}"] = make.remote_for(name, content)
    monkeypatch.setattr(mnist, "MNIST_FILES", files)
    with pytest.raises(DatasetError, match=says) as error:
        load_mnist(data_dir=tmp_path)
    assert str(tmp_path / "mnist" / "train-") in str(error.value)
