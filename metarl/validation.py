"""Argument checks shared across metarl, raising errors that name the value and what is allowed."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["require_int"]


def require_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``; raise ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        allowed = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)
