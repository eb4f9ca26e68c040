"""Registries whose entries may be ``"module:attribute"`` paths, imported on first use."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["resolve_entry"]


def resolve_entry(entries: dict[str, Any], name: str, what: str) -> Any:
    """``entries[name]``, importing it first (and keeping the object) if it is a
    ``"module:attribute"`` path; ``ValueError`` naming the registered names for an unknown one."""
    if name not in entries:
        raise ValueError(f"unknown {what} {name!r}; registered: {sorted(entries)}")
    entry = entries[name]
    if isinstance(entry, str):
        module, attribute = entry.split(":")
        entry = entries[name] = getattr(import_module(module), attribute)
    return entry
