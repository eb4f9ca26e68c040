"""Where an agent's networks live: ``device`` is ``"auto"``, ``"cpu"`` or ``"cuda"``, as in SB3."""

from __future__ import annotations

import torch

from metarl.choices import DEVICES, Device

__all__ = ["DEVICES", "Device", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` (``ValueError`` for an unknown name, or for ``cuda``
    on a machine without CUDA)."""
    name = str(device)
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"device must be one of {list(DEVICES)}, got {device!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} needs CUDA, which this machine lacks; use 'cpu'")
    return torch.device(name)
