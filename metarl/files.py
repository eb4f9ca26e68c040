"""Atomic file writes: every file metarl writes appears whole or not at all.

:func:`atomic_write` writes ``.<name>.<8 random chars>.tmp`` in the target's folder, fsyncs it and
renames it over the target. A process killed in between leaves the old file intact and that
temporary file behind; :func:`remove_stale_temps` deletes such leftovers (and only those).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_text", "remove_stale_temps", "temp_target"]

# tempfile's random part is 8 characters of [a-z0-9_]; files of older metarl versions lack ".tmp".
_TEMP = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}(?:\.tmp)?")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a temporary file next to ``path``, fsync it, then rename it to ``path``.

    On any error (or interrupt) the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    patterns of names) left in ``folder``; returns the deleted paths."""
    patterns = tuple(patterns)
    removed = []
    if folder.is_dir():
        for entry in folder.iterdir():
            target = temp_target(entry.name)
            if target and entry.is_file() and any(fnmatch(target, p) for p in patterns):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
