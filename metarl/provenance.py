"""Provenance of a result: which code, config, seeds, command and machine produced it, and when.

:func:`provenance` is the one place it is collected; ``eval.json`` (``metarl evaluate``) and the
result files of ``metarl bench run`` carry it under the key ``"provenance"``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["git_state", "machine", "provenance", "utc_now"]

SOURCE_TREE = Path(__file__).resolve().parents[1]
"""The folder holding the ``metarl`` package: a git checkout for a development install."""

_GIT_TIMEOUT = 10.0  # seconds; a hung git (a network file system) must not stop a run


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2025-01-31T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    """The output of ``git -C SOURCE_TREE ARGS``; ``None`` where git is missing or fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(SOURCE_TREE), *args],
            capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def git_state() -> tuple[str | None, bool | None]:
    """The commit the package's source tree is at and whether it differs from it (``git status
    --porcelain`` lists anything); ``(None, None)`` unless the tree is a git checkout of its own
    (an installed package inside some other repository is not)."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != SOURCE_TREE:
        return None, None
    commit, status = _git("rev-parse", "HEAD"), _git("status", "--porcelain")
    return (
        None if commit is None else commit.strip(),
        None if status is None else bool(status.strip()),
    )


def machine() -> dict[str, Any]:
    """CPU count, torch threads, accelerator, platform, Python and torch versions."""
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def provenance(
    config: Mapping[str, Any],
    seeds: Mapping[str, int] | Sequence[int],
    started: str,
    wall_s: float,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What produced a result: metarl's version, git commit and dirty flag, the resolved
    ``config``, the ``seeds``, the ``command`` line (default: ``sys.argv``), the UTC start time
    ``started`` (:func:`utc_now`), the wall time ``wall_s`` in seconds and the :func:`machine`."""
    from metarl import __version__

    commit, dirty = git_state()
    return {
        "metarl_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "config": dict(config),
        "seeds": dict(seeds) if isinstance(seeds, Mapping) else list(seeds),
        "command": list(sys.argv if command is None else command),
        "started": started,
        "wall_s": float(wall_s),
        "machine": machine(),
    }
