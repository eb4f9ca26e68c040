"""Checkpoint files: written atomically, read with clear errors and without running code.

A checkpoint holds only tensors, numbers, strings, ``None`` and lists / tuples / dicts of them, so
it is read with ``torch.load(weights_only=True)``: a crafted file cannot execute code on load.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from metarl.files import atomic_write

__all__ = ["CheckpointError", "load_checkpoint", "load_plain", "save_checkpoint"]

FORMAT = "metarl-checkpoint/2"
"""Written by this version: the run's checkpoints describe themselves (agent kind, env, spaces,
config; see :mod:`metarl.runs.describe`)."""
READABLE = ("metarl-checkpoint/1", FORMAT)
"""Formats this version reads (``/1``: before checkpoints recorded their agent kind and spaces)."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not a metarl checkpoint."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` atomically (:func:`metarl.files.atomic_write`).

    An interrupted save leaves the previous checkpoint (if any) intact. The state is serialised
    in memory first, so that a full disk raises the system's ``OSError`` (torch's writer would
    report it as an unrelated ``RuntimeError``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    atomic_write(path, lambda file: file.write(buffer.getbuffer()))


def load_checkpoint(path: str | os.PathLike, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only``: no code runs).

    Raises:
        CheckpointError: the file is missing, unreadable, holds anything but plain data, is not a
            metarl checkpoint, or lacks one of the ``required`` keys.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    state = load_plain(path)
    if not isinstance(state, dict) or state.get("format") not in READABLE:
        found = state.get("format") if isinstance(state, dict) else None
        raise CheckpointError(
            f"{path} is not a metarl checkpoint this version reads (format {found!r}; "
            f"readable: {list(READABLE)})"
        )
    missing = sorted(set(required) - set(state))
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    return state


def load_plain(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain data only, no code runs.

    Raises:
        CheckpointError: the file is unreadable or corrupt, or refers to any other object (which
            loading could have used to run code).
    """
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as err:  # raised for any object weights_only does not allow
        lines = [line for line in str(err).splitlines() if "unsupported" in line.lower()]
        raise CheckpointError(
            f"{path} is corrupt, or holds objects other than tensors and plain data, which "
            f"metarl refuses to load as loading them could run code"
            + (f" ({lines[0].strip()})" if lines else "")
        ) from err
    except Exception as err:
        first = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise CheckpointError(f"{path} is corrupt or unreadable: {first}") from err
