"""Argument checks shared across metarl, raising errors that name the value and what is allowed."""

from __future__ import annotations

import math
import reprlib
from typing import Any

import numpy as np

__all__ = ["MAX_SEED", "require_finite", "require_int", "require_seed", "short_repr"]

MAX_SEED = 2**32 - 1
"""Largest seed every seeded library accepts (``np.random.seed``, which SB3 calls, stops here)."""

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def short_repr(value: Any) -> str:
    """A bounded ``repr`` for error messages: safe for huge or deeply nested values."""
    return _REPR.repr(value)


def require_int(
    name: str, value: Any, minimum: int = 1, error: type[ValueError] = ValueError
) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``; raise ``error`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        allowed = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise error(f"{name} must be {allowed}, got {short_repr(value)}")
    return int(value)


def require_seed(name: str, value: Any, error: type[ValueError] = ValueError) -> int:
    """Return ``value`` as an int if it is a seed in ``[0, MAX_SEED]``; raise ``error`` otherwise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 0 <= value <= MAX_SEED
    ):
        raise error(f"{name} must be an int in [0, {MAX_SEED}], got {short_repr(value)}")
    return int(value)


def require_finite(
    name: str,
    value: Any,
    minimum: float = -math.inf,
    *,
    inclusive: bool = True,
    error: type[ValueError] = ValueError,
) -> float:
    """Return ``value`` as a float if it is a finite real number >= ``minimum`` (> if not
    ``inclusive``); raise ``error`` naming ``name``, the value and the allowed range otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        number = math.nan
    else:
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range
            number = math.inf
    inside = math.isfinite(number) and (number >= minimum if inclusive else number > minimum)
    if not inside:
        if minimum == -math.inf:
            allowed = "a finite number"
        else:
            allowed = f"a finite number {'>=' if inclusive else '>'} {minimum:g}"
        raise error(f"{name} must be {allowed}, got {short_repr(value)}")
    return number
