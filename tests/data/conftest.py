"""Fixtures for the dataset tests.

Two sources of data, chosen once per session:

* ``DLFS_DATA_MIRROR`` set (CI): the real files of that mirror, checked
  against the figures published in the shared datasets README;
* not set: tiny MNIST and cat/non-cat files that these fixtures write into a
  temporary mirror, with matching manifests, so the same tests still run.

Every test gets a clean environment: no ``DLFS_DATA_MIRROR``/``DLFS_DATA_DIR``
unless it sets them, caches under ``tmp_path``, and downloads allowed only
from loopback addresses.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import threading
import urllib.error
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from dlfs.data import cats, fetch, mnist
from dlfs.data.fetch import RemoteFile

# Read at import, before the autouse fixture below removes it from the environment.
REAL_MIRROR = os.environ.get(fetch.MIRROR_ENV)
# The shipped manifests, saved before any test swaps in a tiny one.
REAL_MNIST_FILES = mnist.MNIST_FILES
REAL_CATS_FILES = cats.CATS_FILES

# Figures published in the shared datasets README.
REAL_MNIST = {
    "train": dict(n=60_000, counts=[5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                  first10=[5, 0, 4, 1, 9, 2, 1, 3, 1, 4], pixel_mean=0.130660, mean_tol=5e-7),
    "test": dict(n=10_000, counts=[980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
                 first10=[7, 2, 1, 0, 4, 1, 4, 9, 5, 9], pixel_mean=0.132515, mean_tol=5e-7),
}
REAL_CATS = {
    "train": dict(n=209, counts=[137, 72], first10=[0, 0, 1, 0, 0, 0, 0, 1, 0, 0],
                  pixel_mean=0.40395, mean_tol=5e-6),
    "test": dict(n=50, counts=[17, 33], first10=[1, 1, 1, 1, 1, 0, 1, 1, 1, 1],
                 pixel_mean=0.42107, mean_tol=5e-6),
}


# --------------------------------------------------------------------------
# Building small data files


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def remote_for(name: str, content: bytes, urls=()) -> RemoteFile:
    """A manifest entry that ``content`` (decompressed, for a .gz) satisfies."""
    return RemoteFile(name, sha256=hashlib.sha256(content).hexdigest(),
                      size=len(content), urls=tuple(urls))


def write_gz(path: Path, content: bytes, level: int = 9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content, compresslevel=level, mtime=0))
    return path


def write_cats_h5(path: Path, split: str, x, y, classes=(b"non-cat", b"cat"), skip=()) -> Path:
    """A course-style HDF5 file; ``skip`` leaves out some of its datasets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        for key, value in ((f"{split}_set_x", x), (f"{split}_set_y", y),
                           ("list_classes", np.array(classes, dtype="S7"))):
            if key not in skip:
                h5.create_dataset(key, data=value)
    return path


@pytest.fixture(scope="session")
def make():
    """The file builders above, for tests (there is no package to import them from)."""
    return SimpleNamespace(idx_bytes=idx_bytes, remote_for=remote_for,
                           write_gz=write_gz, write_cats_h5=write_cats_h5)


def _figures(x, y, n_classes):
    return dict(n=len(y), counts=np.bincount(y, minlength=n_classes).tolist(),
                first10=y[:10].tolist(), pixel_mean=x.mean() / 255, mean_tol=1e-12)


# --------------------------------------------------------------------------
# Data sources


@dataclass
class Case:
    """A mirror folder, the manifest its files satisfy, and the expected figures."""

    dataset: str
    real: bool
    mirror: Path
    files: dict
    expected: dict
    arrays: dict | None = None   # the exact arrays, for the tiny files


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory) -> Case:
    rng = np.random.default_rng(0)
    mirror = tmp_path_factory.mktemp("tiny-mirror")
    files, arrays, expected = {}, {}, {}
    for split, prefix, n in (("train", "train", 40), ("test", "t10k", 20)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.permutation(np.arange(n) % 10)
        for kind, array, magic, idx in (("images", x, mnist.IMAGES_MAGIC, "idx3"),
                                        ("labels", y, mnist.LABELS_MAGIC, "idx1")):
            name = f"{prefix}-{kind}-{idx}-ubyte.gz"
            content = idx_bytes(array, magic)
            write_gz(mirror / "mnist" / name, content)
            files[f"{split}_{kind}"] = remote_for(name, content)
        arrays[split] = (x, y)
        expected[split] = _figures(x, y, 10)
    return Case("mnist", False, mirror, files, expected, arrays)


@pytest.fixture(scope="session")
def tiny_cats(tmp_path_factory) -> Case:
    rng = np.random.default_rng(1)
    mirror = tmp_path_factory.mktemp("tiny-mirror")
    files, arrays, expected = {}, {}, {}
    for split, n in (("train", 14), ("test", 10)):
        x = rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
        y = rng.permutation(np.arange(n) % 2).astype(np.int64)
        path = write_cats_h5(mirror / "catvnoncat" / f"{split}_catvnoncat.h5", split, x, y)
        files[split] = remote_for(path.name, path.read_bytes())
        arrays[split] = (x, y)
        expected[split] = _figures(x, y, 2)
    return Case("catvnoncat", False, mirror, files, expected, arrays)


@pytest.fixture(scope="session")
def mnist_case(tiny_mnist) -> Case:
    """The real MNIST of ``$DLFS_DATA_MIRROR`` if set, else the tiny one."""
    if REAL_MIRROR:
        return Case("mnist", True, Path(REAL_MIRROR), REAL_MNIST_FILES, REAL_MNIST)
    return tiny_mnist


@pytest.fixture(scope="session")
def cats_case(tiny_cats) -> Case:
    """The real cat/non-cat files of ``$DLFS_DATA_MIRROR`` if set, else tiny ones."""
    if REAL_MIRROR:
        return Case("catvnoncat", True, Path(REAL_MIRROR), REAL_CATS_FILES, REAL_CATS)
    return tiny_cats


def _point_at(patch: pytest.MonkeyPatch, case: Case) -> None:
    """Put the case's mirror in the environment and its manifest in place."""
    patch.setenv(fetch.MIRROR_ENV, str(case.mirror))
    if case.dataset == "mnist":
        patch.setattr(mnist, "MNIST_FILES", case.files)
    else:
        patch.setattr(cats, "CATS_FILES", case.files)


@pytest.fixture
def use_case(monkeypatch):
    """``use_case(case)`` points the loaders at ``case`` for one test."""
    return lambda case: _point_at(monkeypatch, case)


@pytest.fixture(scope="session")
def mnist_cache(mnist_case, tmp_path_factory):
    """A cache filled from the case's mirror once per session, and what loaded from it.

    Loading the real MNIST takes about a second, so tests share one load.
    """
    cache = tmp_path_factory.mktemp("mnist-cache")
    with pytest.MonkeyPatch.context() as patch:
        _point_at(patch, mnist_case)
        patch.setattr(fetch, "_open_url", _refuse_network)
        loaded = mnist.load_mnist(data_dir=cache)
    return SimpleNamespace(path=cache, arrays=dict(
        zip(("x_train", "y_train", "x_test", "y_test"), loaded)))


@pytest.fixture(scope="session")
def cats_loaded(cats_case, tmp_path_factory):
    """``load_cats`` output for the case, loaded once per session."""
    cache = tmp_path_factory.mktemp("cats-cache")
    with pytest.MonkeyPatch.context() as patch:
        _point_at(patch, cats_case)
        patch.setattr(fetch, "_open_url", _refuse_network)
        return cats.load_cats(data_dir=cache)


# --------------------------------------------------------------------------
# Environment and network


_real_open_url = fetch._open_url


def _refuse_network(url, timeout):
    """Let tests download from loopback (and file://) only: never the internet."""
    parsed = urllib.parse.urlsplit(url)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme in ("http", "https") and not loopback:
        raise urllib.error.URLError("network access is disabled in the tests")
    return _real_open_url(url, timeout)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    monkeypatch.delenv(fetch.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(fetch, "_open_url", _refuse_network)


@pytest.fixture
def http_server(tmp_path):
    """A file server on 127.0.0.1 serving ``.root``; ``.requests`` logs request paths."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_request(self, code="-", size="-"):
            requests.append(self.path)

        def log_message(self, format, *args):  # keep the test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval makes shutdown() quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield SimpleNamespace(root=root, url=f"http://127.0.0.1:{server.server_port}",
                          requests=requests)
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server_url():
    """An http URL on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
