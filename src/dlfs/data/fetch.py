"""Find, fetch and verify dataset files: one mechanism shared by every loader.

Each dataset describes its files with a small manifest of :class:`RemoteFile`
entries (name, SHA-256, size, download URLs).  :func:`fetch` makes sure a file
is in the cache, looking in three places in turn:

1. the cache folder ``<data root>/<dataset>/<file>``.  The data root is the
   ``data_dir`` argument, else the ``DLFS_DATA_DIR`` environment variable,
   else ``datasets/`` of the source checkout (when dlfs runs from one), else
   ``~/.cache/dlfs``;
2. a local mirror named by the ``DLFS_DATA_MIRROR`` environment variable, with
   the same layout (``<mirror>/mnist/*.gz``, ``<mirror>/catvnoncat/*.h5``);
3. the manifest's HTTPS URLs, tried in order.

Checksums are over the *content*: for a ``.gz`` file that is the decompressed
bytes, so a mirror that re-gzipped the data with other settings still
verifies.  A copied or downloaded file is verified before it enters the cache,
and it enters atomically (temporary file in the same folder, then
``os.replace``), so an interrupted fetch never leaves a half-written file
under the real name; the temporary file of a fetch that was killed is removed
by the next fetch of that file.  A cache location that cannot be used (a
file instead of a folder, no write permission, a folder where a data file
should be) is reported as such, before any copy or download is tried; a
cache that fails while being written (a full disk) is reported as such too,
and stops the fetch instead of trying the next source.

Verification on load: :func:`read_verified` checks the size and the full
SHA-256 on *every* load, not only when the file is first cached.  Loaders have
to read (and decompress) the whole file anyway, and hashing the 47 MB of
MNIST training images adds about 0.03 s, so the stronger check is nearly
free.  A file that fails it is never deleted for you (it may be the only copy
you have); the error says how to get a fresh one.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.request
import zlib
from contextlib import nullcontext
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from .._files import atomic_write

DATA_DIR_ENV = "DLFS_DATA_DIR"
MIRROR_ENV = "DLFS_DATA_MIRROR"

# Seconds a single connect or read may take; a dead host fails instead of hanging.
DOWNLOAD_TIMEOUT = 30.0
_CHUNK = 1 << 20


class DatasetError(RuntimeError):
    """A dataset file is missing, truncated, corrupt or cannot be fetched.

    The message names the file, says what was expected and how to fix it.
    """


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset, as its manifest describes it.

    Attributes
    ----------
    name : str
        File name inside the dataset folder, e.g. ``"t10k-labels-idx1-ubyte.gz"``.
    sha256 : str
        SHA-256 (hex) of the content: the decompressed bytes when ``name`` ends
        in ``.gz``, otherwise the file itself.
    size : int
        Size in bytes of that same content.
    urls : tuple of str
        Download URLs, tried in order.
    n_samples : int
        Number of samples (pictures or labels) the file holds, so that
        options can be checked against a dataset before it is loaded (None
        where the manifest does not say).
    """

    name: str
    sha256: str
    size: int
    urls: tuple[str, ...] = ()
    n_samples: int | None = None

    @property
    def gzipped(self) -> bool:
        return self.name.endswith(".gz")


class _BadContent(Exception):
    """Internal: a file's content failed verification (message says how)."""


class _CacheWriteFailed(Exception):
    """Internal: writing the cache's temporary file failed (a full disk, a quota, I/O)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _CacheFile:
    """The temporary cache file, whose write errors are the cache's, not the source's.

    A full disk must not be reported as a bad mirror or a failed download, nor
    send the next source's full download into the same full disk.
    """

    def __init__(self, out) -> None:
        self._out, self.name = out, out.name

    def _guarded(self, method, *args):
        try:
            return method(*args)
        except OSError as exc:
            raise _CacheWriteFailed(exc) from None

    def write(self, data) -> int:
        return self._guarded(self._out.write, data)

    def flush(self) -> None:
        self._guarded(self._out.flush)

    def seek(self, offset: int) -> int:
        return self._guarded(self._out.seek, offset)

    def truncate(self) -> int:
        return self._guarded(self._out.truncate)


# --------------------------------------------------------------------------
# Where files live


def _checkout_datasets_dir() -> Path | None:
    """``<repo>/datasets`` when dlfs is imported from a source checkout, else None."""
    # This file is <repo>/src/dlfs/data/fetch.py in a checkout.
    repo = Path(__file__).resolve().parents[3]
    in_checkout = Path(__file__).resolve().parents[2].name == "src" and (
        repo / "pyproject.toml").is_file()
    return repo / "datasets" if in_checkout else None


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The cache root that holds one folder per dataset.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Explicit root; wins over everything else.

    Returns
    -------
    Path
        ``data_dir``, else ``$DLFS_DATA_DIR``, else the checkout's
        ``datasets/``, else ``~/.cache/dlfs``.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return _checkout_datasets_dir() or Path.home() / ".cache" / "dlfs"


def cached_path(dataset: str, remote: RemoteFile,
                data_dir: str | os.PathLike | None = None) -> Path:
    """Where ``remote`` of ``dataset`` lives in the cache (whether or not it exists yet)."""
    return data_root(data_dir) / dataset / remote.name


# --------------------------------------------------------------------------
# Verification


def _read_content(path: Path, remote: RemoteFile) -> bytearray:
    """Read ``path`` (decompressing a .gz) and check size and SHA-256 against ``remote``."""
    if not remote.gzipped:
        on_disk = path.stat().st_size
        if on_disk != remote.size:
            raise _BadContent(f"it has {on_disk:,} bytes, expected {remote.size:,} "
                              f"(truncated or a different file)")
    # Read into a buffer of exactly the expected size: a file that decompresses
    # to more (or a gzip bomb) is caught after one extra byte, not after filling memory.
    content = bytearray(remote.size)
    n_read = 0
    with open(path, "rb") as raw, \
            (gzip.GzipFile(fileobj=raw) if remote.gzipped else nullcontext(raw)) as stream, \
            memoryview(content) as view:
        try:
            while n_read < remote.size:
                n = stream.readinto(view[n_read:])
                if not n:
                    break
                n_read += n
            too_long = bool(stream.read(1))
        except EOFError:
            raise _BadContent("the gzip stream ends early (the file is truncated)") from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise _BadContent(f"it is not a valid gzip file ({exc})") from None
    if n_read < remote.size or too_long:
        what = "more than" if too_long else f"only {n_read:,} bytes, expected"
        unit = "decompresses to" if remote.gzipped else "holds"
        raise _BadContent(f"it {unit} {what} {remote.size:,} bytes")
    digest = hashlib.sha256(content).hexdigest()
    if digest != remote.sha256:
        raise _BadContent(f"its SHA-256 is {digest}, expected {remote.sha256}")
    return content


def read_verified(dataset: str, remote: RemoteFile, *,
                  data_dir: str | os.PathLike | None = None) -> bytearray:
    """Fetch ``remote`` if needed and return its verified content.

    Parameters
    ----------
    dataset : str
        Dataset folder name, e.g. ``"mnist"``.
    remote : RemoteFile
        Manifest entry of the file.
    data_dir : str or path-like, optional
        Cache root; see :func:`data_root`.

    Returns
    -------
    bytearray of length remote.size
        The content (decompressed for a .gz file), size and SHA-256 checked.

    Raises
    ------
    DatasetError
        If the file cannot be fetched, or the cached copy is corrupt.
    """
    path = fetch(dataset, remote, data_dir=data_dir)
    try:
        return _read_content(path, remote)
    except FileNotFoundError:
        raise DatasetError(f"{path}: the cached file disappeared while loading; "
                           f"load again to fetch it afresh") from None
    except OSError as exc:                  # unreadable: permissions, a directory, an I/O error
        raise DatasetError(f"{path}: cannot read the cached file: "
                           f"{exc.strerror or type(exc).__name__}. Fix its permissions, or "
                           "delete it and load again to fetch a fresh copy") from None
    except _BadContent as bad:
        raise DatasetError(
            f"{path}: corrupt cached file: {bad}. Delete it and load again to fetch "
            f"a fresh copy (from ${MIRROR_ENV} if set, else by download)") from None


# --------------------------------------------------------------------------
# Fetching


def fetch(dataset: str, remote: RemoteFile, *,
          data_dir: str | os.PathLike | None = None) -> Path:
    """Make sure ``remote`` is in the cache and return its path.

    A file already in the cache is returned as is (:func:`read_verified`
    checks it on every load).  Otherwise it is copied from ``$DLFS_DATA_MIRROR``
    or downloaded from ``remote.urls``, verified, and moved into the cache
    atomically.

    Parameters
    ----------
    dataset : str
        Dataset folder name, e.g. ``"mnist"``.
    remote : RemoteFile
        Manifest entry of the file.
    data_dir : str or path-like, optional
        Cache root; see :func:`data_root`.

    Returns
    -------
    Path
        ``<data root>/<dataset>/<remote.name>``.

    Raises
    ------
    DatasetError
        Naming the file, every source tried and why each failed.
    """
    target = cached_path(dataset, remote, data_dir)
    if _cached(target, dataset, remote):
        return target
    try:
        # The temporary file is created first: a cache that cannot be written is
        # reported as such, before any mirror is read or anything downloaded.
        with atomic_write(target, ".part") as out:
            _fill(_CacheFile(out), target, dataset, remote)
    except DatasetError:
        raise
    except _CacheWriteFailed as failed:
        raise DatasetError(_cache_problem(target, failed.error, data_dir)) from None
    except OSError as exc:
        raise DatasetError(_cache_problem(target, exc, data_dir)) from None
    return target


def _cached(target: Path, dataset: str, remote: RemoteFile) -> bool:
    """Whether ``target`` is in the cache; a directory in its place is an error."""
    try:
        if target.is_file():
            return True
        if target.exists():
            raise DatasetError(f"{target}: the cache holds a directory (or other non-file) "
                               f"where the {dataset} file {remote.name!r} should be; remove "
                               "it and load again")
    except OSError as exc:
        raise DatasetError(_cache_problem(target, exc, None)) from None
    return False


def _cache_problem(target: Path, exc: OSError, data_dir) -> str:
    """Message for a cache location that cannot be used (not a mirror or network problem)."""
    where = ("the data_dir argument" if data_dir is not None else
             f"${DATA_DIR_ENV}" if os.environ.get(DATA_DIR_ENV) else "the default location")
    reason = exc.strerror or type(exc).__name__
    blocker = next((p for p in (target.parent, *target.parent.parents)
                    if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        reason = f"{blocker} is a file, not a folder"
    elif exc.filename:
        reason += f": {exc.filename}"
    return (f"{target}: cannot use the data cache {target.parent} ({where}): {reason}. "
            f"Fix the folder or its permissions, or set {DATA_DIR_ENV} to a writable folder; "
            "nothing was copied or downloaded.")


def _fill(out, target: Path, dataset: str, remote: RemoteFile) -> None:
    """Write a verified copy of ``remote`` into ``out`` from the mirror or a download."""
    failures = []

    def attempt(write) -> bool:
        out.seek(0)
        out.truncate()
        write(out)
        out.flush()
        _read_content(Path(out.name), remote)
        return True

    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        failures.append(f"no mirror (${MIRROR_ENV} is not set)")
    else:
        source = Path(mirror).expanduser() / dataset / remote.name
        if source.is_file():
            try:
                if attempt(lambda stream: _copy_from(source, stream)):
                    return
            except _BadContent as bad:
                failures.append(f"mirror {source}: bad file: {bad}")
            except OSError as exc:
                failures.append(f"mirror {source}: {_describe(exc)}")
        else:
            failures.append(f"mirror {source}: no such file")

    for url in remote.urls:
        print(f"dlfs: downloading {url}", file=sys.stderr)
        try:
            if attempt(lambda stream: _download(url, stream, remote)):
                return
        except _BadContent as bad:
            failures.append(f"{url}: downloaded a wrong file: {bad}")
        except (OSError, ValueError, HTTPException) as exc:
            failures.append(f"{url}: {_describe(exc)}")

    tried = "\n".join(f"  - {failure}" for failure in failures)
    raise DatasetError(
        f"{target}: missing {dataset} file {remote.name!r} ({remote.size:,} bytes"
        f"{' once decompressed' if remote.gzipped else ''}, SHA-256 {remote.sha256}).\n"
        f"Tried:\n{tried}\n"
        f"Fix: set {MIRROR_ENV} to a folder holding {dataset}/{remote.name}, "
        f"or put a good copy at {target}, or connect to the internet.")


def _copy_from(source: Path, out) -> None:
    # Content only: a read-only mirror must not give us a read-only cache file.
    with open(source, "rb") as stream:
        shutil.copyfileobj(stream, out, _CHUNK)


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading (the seam tests use to keep off the internet)."""
    request = urllib.request.Request(url, headers={"User-Agent": "dlfs-data-fetch"})
    return urllib.request.urlopen(request, timeout=timeout)


def _download(url: str, out, remote: RemoteFile) -> None:
    # A gzip file is smaller than its content, so anything much larger than
    # the content is a wrong answer (an HTML page, an endless stream): stop early.
    limit = 2 * remote.size + _CHUNK
    received = 0
    with _open_url(url, DOWNLOAD_TIMEOUT) as response:
        while chunk := response.read(_CHUNK):
            received += len(chunk)
            if received > limit:
                raise _BadContent(f"the server sent more than {limit:,} bytes")
            out.write(chunk)


def _describe(exc: BaseException) -> str:
    """A one-line reason for a failed copy or download."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.HTTPError):
        exc.close()  # it holds the open response; unclosed it leaks a socket
        return f"HTTP {exc.code} {reason or ''}".strip()
    if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
        return f"timed out after {DOWNLOAD_TIMEOUT:g} s"
    return f"{type(exc).__name__}: {reason or exc}"
