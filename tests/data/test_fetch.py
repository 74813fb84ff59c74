"""The fetch mechanism: where the cache is, mirror copies, downloads, atomic installs.

Downloads go only to a file server on 127.0.0.1 run by the ``http_server``
fixture, or to ports where nothing listens.
"""
import gzip
import os
import stat
import time
from pathlib import Path

import pytest

from dlfs.data import DatasetError, fetch
from dlfs.data.fetch import RemoteFile, data_root, read_verified

CONTENT = bytes(range(256)) * 40  # 10,240 bytes, like a small IDX file


@pytest.fixture
def remote(make):
    """A small gzipped file's manifest entry (URLs added per test)."""
    return make.remote_for("tiny.bin.gz", CONTENT)


def _serve(http_server, name, data):
    (http_server.root / name).write_bytes(data)
    return f"{http_server.url}/{name}"


def _leftovers(folder: Path):
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------
# Where the cache is


def test_data_dir_argument_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "from-env"))
    assert data_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_DLFS_DATA_DIR_wins_over_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "from-env"))
    assert data_root() == tmp_path / "from-env"


def _pretend_fetch_lives_in(monkeypatch, root: Path, *, checkout: bool):
    """Move fetch.py, as far as it can tell, into a fake source tree or install."""
    module = root / "src" / "dlfs" / "data" / "fetch.py"
    module.parent.mkdir(parents=True)
    if checkout:
        (root / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(fetch, "__file__", str(module))


def test_default_in_a_source_checkout_is_the_repo_datasets_folder(tmp_path, monkeypatch):
    _pretend_fetch_lives_in(monkeypatch, tmp_path / "repo", checkout=True)
    assert data_root() == tmp_path / "repo" / "datasets"


def test_default_outside_a_checkout_is_the_user_cache(tmp_path, monkeypatch):
    _pretend_fetch_lives_in(monkeypatch, tmp_path / "site-packages", checkout=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".cache" / "dlfs"


def test_this_checkout_caches_in_its_datasets_folder():
    # How the tests themselves run: from the repository (an editable install).
    here = Path(__file__).resolve().parents[2]
    if Path(fetch.__file__).resolve().is_relative_to(here / "src"):
        assert data_root() == here / "datasets"
    else:  # an installed copy of dlfs is being tested
        assert data_root() == Path.home() / ".cache" / "dlfs"


# --------------------------------------------------------------------------
# Resolution order: cache, then mirror, then download


def test_a_cached_file_is_used_without_asking_mirror_or_server(
        remote, make, http_server, tmp_path, monkeypatch):
    make.write_gz(tmp_path / "cache" / "demo" / remote.name, CONTENT)
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(_serve(http_server, remote.name, b"never asked"),))
    assert read_verified("demo", served, data_dir=tmp_path / "cache") == CONTENT
    assert http_server.requests == []


def test_the_mirror_comes_before_any_download(remote, make, http_server, tmp_path, monkeypatch):
    make.write_gz(tmp_path / "mirror" / "demo" / remote.name, CONTENT)
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(_serve(http_server, remote.name, gzip.compress(CONTENT)),))
    path = fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "demo" / remote.name
    assert http_server.requests == []


def test_a_read_only_mirror_gives_a_writable_cache_file(remote, make, tmp_path, monkeypatch):
    source = make.write_gz(tmp_path / "mirror" / "demo" / remote.name, CONTENT)
    source.chmod(0o444)
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    path = fetch.fetch("demo", remote, data_dir=tmp_path / "cache")
    assert os.stat(path).st_mode & stat.S_IWUSR
    assert _leftovers(path.parent) == [remote.name]


def test_a_mirror_without_the_file_falls_through_to_download(
        remote, http_server, tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(_serve(http_server, remote.name, gzip.compress(CONTENT)),))
    assert read_verified("demo", served, data_dir=tmp_path / "cache") == CONTENT


# --------------------------------------------------------------------------
# Downloads


def test_download_is_verified_and_cached_atomically(remote, http_server, tmp_path):
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(_serve(http_server, remote.name, gzip.compress(CONTENT)),))
    path = fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    assert gzip.decompress(path.read_bytes()) == CONTENT
    assert _leftovers(path.parent) == [remote.name]  # no temporary file left behind
    assert http_server.requests == [f"/{remote.name}"]


def test_download_tries_the_urls_in_order(remote, http_server, closed_port_url, tmp_path):
    good = _serve(http_server, remote.name, gzip.compress(CONTENT))
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(f"{closed_port_url}/{remote.name}",
                              f"{http_server.url}/missing.gz", good))
    assert read_verified("demo", served, data_dir=tmp_path / "cache") == CONTENT
    assert http_server.requests == ["/missing.gz", f"/{remote.name}"]


def test_a_wrong_download_is_refused_and_not_cached(remote, http_server, tmp_path):
    wrong = _serve(http_server, remote.name, gzip.compress(CONTENT[::-1]))
    served = RemoteFile(remote.name, remote.sha256, remote.size, urls=(wrong,))
    with pytest.raises(DatasetError) as error:
        fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    message = str(error.value)
    assert remote.name in message and wrong in message
    assert "downloaded a wrong file" in message and "SHA-256" in message
    assert _leftovers(tmp_path / "cache" / "demo") == []


def test_an_endless_download_is_cut_off(remote, http_server, tmp_path):
    huge = _serve(http_server, "huge.gz", b"\0" * (2 * remote.size + 2 * 2**20))
    served = RemoteFile(remote.name, remote.sha256, remote.size, urls=(huge,))
    with pytest.raises(DatasetError, match="the server sent more than"):
        fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    assert _leftovers(tmp_path / "cache" / "demo") == []


def test_unreachable_urls_all_appear_in_the_error(remote, http_server, closed_port_url, tmp_path):
    urls = (f"{closed_port_url}/{remote.name}", f"{http_server.url}/not-there.gz")
    served = RemoteFile(remote.name, remote.sha256, remote.size, urls=urls)
    with pytest.raises(DatasetError) as error:
        fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    message = str(error.value)
    assert str(tmp_path / "cache" / "demo" / remote.name) in message
    assert f"{urls[0]}: URLError: [Errno 111] Connection refused" in message
    assert f"{urls[1]}: HTTP 404" in message
    assert "DLFS_DATA_MIRROR is not set" in message


def test_a_silent_server_times_out_instead_of_hanging(
        remote, silent_server_url, tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT", 0.2)
    served = RemoteFile(remote.name, remote.sha256, remote.size,
                        urls=(f"{silent_server_url}/{remote.name}",))
    started = time.monotonic()
    with pytest.raises(DatasetError, match="timed out after 0.2 s"):
        fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    assert time.monotonic() - started < 5


def test_file_urls_work_too(remote, make, tmp_path):
    source = make.write_gz(tmp_path / "elsewhere" / remote.name, CONTENT)
    served = RemoteFile(remote.name, remote.sha256, remote.size, urls=(source.as_uri(),))
    assert read_verified("demo", served, data_dir=tmp_path / "cache") == CONTENT


def test_plain_files_are_checked_by_size_and_hash(make, http_server, tmp_path):
    plain = make.remote_for("tiny.h5", CONTENT)
    served = RemoteFile(plain.name, plain.sha256, plain.size,
                        urls=(_serve(http_server, plain.name, CONTENT[:-1]),))
    with pytest.raises(DatasetError, match="10,239 bytes, expected 10,240"):
        fetch.fetch("demo", served, data_dir=tmp_path / "cache")
    (http_server.root / plain.name).write_bytes(CONTENT)
    assert read_verified("demo", served, data_dir=tmp_path / "cache") == CONTENT


def test_an_unwritable_cache_is_reported(remote, make, tmp_path, monkeypatch):
    make.write_gz(tmp_path / "mirror" / "demo" / remote.name, CONTENT)
    monkeypatch.setenv("DLFS_DATA_MIRROR", str(tmp_path / "mirror"))
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    # The cache is the problem, not the mirror (issue 6, defect 16).
    with pytest.raises(DatasetError, match=f"cannot use the data cache .*: {tmp_path / 'cache'} "
                                           "is a file, not a folder"):
        fetch.fetch("demo", remote, data_dir=tmp_path / "cache")
