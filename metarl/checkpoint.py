"""Checkpoint files: written atomically, read with clear errors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

FORMAT = "metarl-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not a metarl checkpoint."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    An interrupted save leaves the previous checkpoint (if any) intact and no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            torch.save({"format": FORMAT, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is missing, unreadable, not a metarl checkpoint, or lacks one
            of the ``required`` keys.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, weights_only=False)
    except Exception as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable: {err}") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a metarl checkpoint (expected format {FORMAT})")
    missing = sorted(set(required) - set(state))
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    return state
