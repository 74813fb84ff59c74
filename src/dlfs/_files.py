"""Atomic file writes shared by :func:`dlfs.save_model` and the dataset cache.

A file is written under a temporary name in the target's folder, then renamed
over the target with :func:`os.replace`, so a reader never sees half a file.
The temporary name, ``.<name>.<pid>.<random><suffix>``, records the writing
process: a file left behind by a process that was killed (its pid no longer
runs on this machine) is removed by the next write to the same target.  The
new file gets the permissions any new file gets (``0o666`` minus the umask),
or, when it replaces a file, that file's permissions.
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

#: A temporary file untouched for this long is stale whatever its pid says
#: (the pid may have been reused, or the writer ran on another machine).
STALE_AFTER_SECONDS = 24 * 3600


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:                       # it runs, as another user
        return True
    return True


def remove_stale(target: Path, suffix: str) -> list[Path]:
    """Delete temporary files of earlier writes to ``target`` whose writer is gone.

    Returns the paths removed.  Files of a process that still runs (another
    save or cache fill in progress) are left alone.
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
            age = now - path.lstat().st_mtime
            if not _pid_running(int(match[1])) or age > STALE_AFTER_SECONDS:
                path.unlink()
                removed.append(path)
        except OSError:                 # gone already, or not ours to delete
            continue
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
            try:
                os.chmod(partial, stat.S_IMODE(target.stat().st_mode))
            except FileNotFoundError:
                pass
            yield out
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
