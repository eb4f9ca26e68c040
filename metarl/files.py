"""Atomic file writes and folder locks: every file metarl writes appears whole or not at all, and
one process at a time writes a folder.

:func:`atomic_write` writes ``.<name>.metarl-<8 random chars>.tmp`` in the target's folder, fsyncs
it and renames it over the target. A process killed in between leaves the old file intact and that
temporary file behind; :func:`remove_stale_temps` deletes such leftovers, and only those: a name
without the ``metarl-`` part and the random suffix (``.metrics.csv.20250101``, a user's backup) is
never touched.

:func:`hold_lock` takes an exclusive ``fcntl`` lock on a file for as long as a run or an
evaluation writes its folder; the operating system releases it when the process ends, however it
ends.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "FolderLockedError",
    "atomic_write",
    "atomic_write_text",
    "hold_lock",
    "remove_stale_temps",
    "temp_target",
]

_TEMP = re.compile(r"\.(?P<target>.+)\.metarl-[a-z0-9_]{8}\.tmp")
"""A temporary file of :func:`atomic_write`: tempfile's random part is 8 characters of
``[a-z0-9_]``."""


class FolderLockedError(FileExistsError):
    """Another process holds the lock of a folder metarl is about to write."""


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a temporary file next to ``path``, fsync it, then rename it to ``path``.

    On any error (or interrupt) the temporary file is removed and ``path`` is left as it was. A
    symbolic link at ``path`` is replaced by the file, never written through.
    """
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.metarl-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write` of ``text`` (UTF-8)."""
    atomic_write(path, lambda file: file.write(text.encode()))


def temp_target(name: str) -> str | None:
    """The file name whose :func:`atomic_write` temporary file is called ``name``, else ``None``."""
    match = _TEMP.fullmatch(name)
    return match["target"] if match else None


def remove_stale_temps(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Delete the temporary files that interrupted writes of files matching ``patterns`` (glob
    patterns of names) left in ``folder``; returns the deleted paths. Links are left alone."""
    patterns = tuple(patterns)
    removed = []
    if folder.is_dir() and not folder.is_symlink():
        for entry in folder.iterdir():
            target = temp_target(entry.name)
            if (
                target
                and entry.is_file()
                and not entry.is_symlink()
                and any(fnmatch(target, p) for p in patterns)
            ):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


@contextmanager
def hold_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing, never deleted) for the
    ``with`` block.

    Raises:
        FolderLockedError: another process holds it; ``what`` names what it protects.
    """
    path = Path(path)
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLockedError(
                f"another metarl process is writing {what} (it holds {path}); wait for it to "
                "finish or choose another folder"
            ) from None
        yield
    finally:
        os.close(handle)  # releases the lock
