"""Atomic file writes shared by :func:`dlfs.save_model` and the dataset cache.

A file is written under a temporary name in the target's folder, then renamed
over the target with :func:`os.replace`, so a reader never sees half a file.
The temporary name is ``.<name>.<pid>.<random><suffix>``.  The writer holds
an exclusive ``flock`` on its temporary file until the rename, so the next
write to the same target can tell a temporary file that a killed write left
behind (removed) from one that another write is still filling (kept) -- also
when that writer runs in another container (PID namespace) on the same
machine, where its pid means nothing.  Where locks are not available (some
network file systems), a temporary file is removed only when its pid no
longer runs here *and* it has not been touched for :data:`QUIET_SECONDS`.
The new file gets the permissions any new file gets (``0o666`` minus the
umask), or, when it replaces a file, that file's permissions.
"""
from __future__ import annotations

import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:                               # Windows: no advisory locks
    fcntl = None

#: A temporary file untouched for this long is stale whatever its pid says
#: (the pid may have been reused, or the writer ran on another machine).
STALE_AFTER_SECONDS = 24 * 3600
#: Without a lock to ask, a temporary file must also have been quiet this long.
QUIET_SECONDS = 600
#: Bytes the temporary name adds to the target's name: ".", ".<pid, up to 7
#: digits>.", 8 hex digits and a suffix of up to 5 bytes (".part").
TEMP_NAME_EXTRA_BYTES = 1 + 1 + 7 + 1 + 8 + 5


def max_name_bytes(folder: Path) -> int:
    """The longest file name (in bytes) the file system of ``folder`` allows."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:                       # it runs, as another user
        return True
    return True


def _try_lock(fd: int) -> bool | None:
    """Take an exclusive lock without waiting: True, False if held elsewhere, None if unknown."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:                               # e.g. ENOLCK on a network file system
        return None


def remove_stale(target: Path, suffix: str) -> list[Path]:
    """Delete temporary files of earlier writes to ``target`` whose writer is gone.

    Returns the paths removed.  A file whose writer still holds its lock
    (another save or cache fill in progress, in this process tree or another
    container) is left alone.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+{re.escape(suffix)}")
    removed = []
    try:
        candidates = list(target.parent.iterdir())
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        match = pattern.fullmatch(path.name)
        if not match:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:                 # gone already, a symlink, or not ours to read
            continue
        try:
            age = now - os.fstat(fd).st_mtime
            locked = _try_lock(fd)
            dead = not _pid_running(int(match[1]))
            if locked is False:
                continue                # a live writer, wherever it runs
            if age > STALE_AFTER_SECONDS or (dead and (locked or age > QUIET_SECONDS)):
                path.unlink()
                removed.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


@contextmanager
def atomic_write(target: Path, suffix: str = ".tmp") -> Iterator:
    """Open a temporary file for writing; on success it replaces ``target``.

    Yields a binary file object (its ``name`` is the temporary path, for
    checks that re-read it).  If the block raises, the temporary file is
    removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target, suffix)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
    try:
        with open(partial, "xb") as out:           # created 0o666 & ~umask, like any file
            _try_lock(out.fileno())                # held until closed: "being written"
            try:
                os.chmod(partial, stat.S_IMODE(target.stat().st_mode))
            except FileNotFoundError:
                pass
            yield out
            out.flush()
            os.replace(partial, target)            # still locked: never seen as stale
    finally:
        partial.unlink(missing_ok=True)
