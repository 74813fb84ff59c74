"""The data cache under faults (issue 6, defects 15, 16, 21, 23, 24): unreadable files, unusable
cache locations, leftovers of killed fetches, a light ``import dlfs``, test-only loading."""
import builtins
import errno
import os
import subprocess
import sys

import pytest

from dlfs import _files
from dlfs.cli import main
from dlfs.data import DatasetError, cats, fetch, mnist
from dlfs.data.fetch import read_verified

CONTENT = bytes(range(256)) * 40


@pytest.fixture
def remote(make):
    return make.remote_for("tiny.bin.gz", CONTENT, urls=("http://127.0.0.1:9/tiny.bin.gz",))


@pytest.fixture
def mirror(make, remote, tmp_path, monkeypatch):
    make.write_gz(tmp_path / "mirror" / "demo" / remote.name, CONTENT)
    monkeypatch.setenv(fetch.MIRROR_ENV, str(tmp_path / "mirror"))
    return tmp_path / "mirror"


def refuse_to_open(monkeypatch, module, path):
    """Make ``open(path)`` in ``module`` fail as for a file without read/write permission.

    (The tests run as root, which chmod cannot stop.)"""
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path) or os.path.dirname(os.fspath(file)) == \
                os.fspath(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(module, "open", fake_open, raising=False)


# -- defect 15: an unreadable cached file ------------------------------------------------------

def test_an_unreadable_cached_file_is_a_dataset_error(remote, mirror, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert read_verified("demo", remote, data_dir=cache) == CONTENT
    target = cache / "demo" / remote.name
    refuse_to_open(monkeypatch, fetch, target)
    with pytest.raises(DatasetError, match=rf"{target}: cannot read the cached file: Permission "
                                           r"denied\. Fix its permissions, or delete it"):
        read_verified("demo", remote, data_dir=cache)


def test_an_unreadable_cached_file_is_one_line_from_the_cli(tmp_path, monkeypatch, use_case,
                                                           cats_case, capsys):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    use_case(cats_case)
    cats.load_cats()                                          # fill the cache
    target = tmp_path / "cache" / cats.DATASET / cats.CATS_FILES["train"].name
    refuse_to_open(monkeypatch, fetch, target)
    assert main(["train", "cats", "--epochs", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"dlfs: error: {target}: cannot read the cached file: Permission denied. " \
                  "Fix its permissions, or delete it and load again to fetch a fresh copy\n"


# -- defect 16: a bad cache location ---------------------------------------------------------

def test_DLFS_DATA_DIR_naming_a_file_is_blamed_on_the_cache_without_downloading(
        remote, mirror, tmp_path, monkeypatch, capsys):
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "not-a-folder"))
    with pytest.raises(DatasetError) as info:
        read_verified("demo", remote)
    message = str(info.value)
    assert f"($DLFS_DATA_DIR): {tmp_path / 'not-a-folder'} is a file, not a folder" in message
    assert "mirror" not in message and "nothing was copied or downloaded" in message
    assert "downloading" not in capsys.readouterr().err


def test_a_read_only_cache_is_named_as_such(remote, mirror, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    (cache / "demo").mkdir(parents=True)
    refuse_to_open(monkeypatch, _files, cache / "demo")       # no file can be created there
    with pytest.raises(DatasetError, match=r"cannot use the data cache .*cache/demo \(the "
                                           r"data_dir argument\): Permission denied"):
        read_verified("demo", remote, data_dir=cache)
    assert "downloading" not in capsys.readouterr().err


def test_a_directory_where_the_cached_file_should_be(remote, mirror, tmp_path, capsys):
    (tmp_path / "cache" / "demo" / remote.name).mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"tiny\.bin\.gz: the cache holds a directory .*where "
                                           r"the demo file 'tiny\.bin\.gz' should be; remove it"):
        read_verified("demo", remote, data_dir=tmp_path / "cache")
    assert "downloading" not in capsys.readouterr().err


# -- defect 21: leftovers of a killed fetch -----------------------------------------------------

def test_the_next_fetch_removes_the_part_file_of_a_killed_one(remote, mirror, tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    folder = tmp_path / "cache" / "demo"
    folder.mkdir(parents=True)
    stale = folder / f".{remote.name}.{process.pid}.deadbeef.part"
    stale.write_bytes(b"x" * 1000)
    read_verified("demo", remote, data_dir=tmp_path / "cache")
    assert sorted(p.name for p in folder.iterdir()) == [remote.name]


# -- defect 23: import dlfs does not import h5py -------------------------------------------------

def test_import_dlfs_does_not_load_h5py():
    code = "import sys, dlfs, dlfs.data, dlfs.cli; print('h5py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- defect 24: dlfs evaluate reads the test set only ---------------------------------------------

def test_evaluate_does_not_load_the_training_set(tmp_path, monkeypatch, use_case, mnist_case,
                                                 cats_case, capsys):
    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path / "cache"))
    for name, case, module in (("mnist", mnist_case, mnist), ("cats", cats_case, cats)):
        use_case(case)
        params = tmp_path / f"{name}.npz"
        split = ["--val-fraction", "0.25", "--shift", "0"] if name == "mnist" else []
        assert main(["train", name, "--hidden", "4", "--epochs", "1", "--limit", "100", *split,
                     "--quiet", "--save", str(params)]) == 0
        loaded = []
        real = module.load_split
        monkeypatch.setattr(module, "load_split",
                            lambda split, **kw: loaded.append(split) or real(split, **kw))
        assert main(["evaluate", name, "--params", str(params), "--quiet"]) == 0
        assert loaded == ["test"], name
    capsys.readouterr()


# -- N14: a full cache disk is the cache's problem, and stops the fetch ---------------------------

def test_a_full_cache_disk_is_blamed_on_the_cache_and_nothing_is_downloaded(
        remote, mirror, tmp_path, monkeypatch, capsys):
    from contextlib import contextmanager

    real_atomic_write = fetch.atomic_write

    class FullDisk:
        def __init__(self, out):
            self.out, self.name = out, out.name

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):                 # seek, truncate, flush
            return getattr(self.out, name)

    @contextmanager
    def atomic_write_to_a_full_disk(target, suffix):
        with real_atomic_write(target, suffix) as out:
            yield FullDisk(out)
    opened = []
    monkeypatch.setattr(fetch, "atomic_write", atomic_write_to_a_full_disk)
    monkeypatch.setattr(fetch, "_open_url", lambda url, timeout: opened.append(url))
    with pytest.raises(DatasetError) as info:
        read_verified("demo", remote, data_dir=tmp_path / "cache")
    message = str(info.value)
    assert "cannot use the data cache" in message and "No space left on device" in message
    assert "Tried:" not in message and opened == []
    assert "downloading" not in capsys.readouterr().err
    assert list((tmp_path / "cache" / "demo").iterdir()) == []       # no .part left
