"""Argument checks shared across metarl, raising errors that name the value and what is allowed."""

from __future__ import annotations

import math
import reprlib
from typing import Any

import numpy as np

__all__ = [
    "MAX_LEARNING_RATE",
    "MAX_LOSS_SCALE",
    "MAX_SEED",
    "require_finite",
    "require_int",
    "require_seed",
    "short_repr",
]

MAX_SEED = 2**32 - 1
"""Largest seed every seeded library accepts (``np.random.seed``, which SB3 calls, stops here)."""

MAX_LEARNING_RATE = 1.0
"""Largest Adam step size a config may set: Adam moves every parameter by about the step size
per step, so beyond 1 the first steps wipe out the initialisation (usual values: 1e-4 to 1e-2)."""

MAX_LOSS_SCALE = 1e4
"""Largest reward scale, entropy coefficient or loss weight a config may set (the largest in use,
PEARL's reward scale, is 100): far beyond it, float32 losses overflow to inf."""

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def short_repr(value: Any) -> str:
    """A bounded ``repr`` for error messages: safe for huge or deeply nested values."""
    try:
        return _REPR.repr(value)
    except ValueError:  # holds an int beyond Python's int_max_str_digits
        return f"<{type(value).__name__} too long to print>"


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
    maximum: float = math.inf,
    inclusive: bool = True,
    error: type[ValueError] = ValueError,
) -> float:
    """Return ``value`` as a float if it is a finite real number >= ``minimum`` (> if not
    ``inclusive``) and <= ``maximum``; raise ``error`` naming ``name``, the value and the allowed
    range otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        number = math.nan
    else:
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range
            number = math.inf
    above = number >= minimum if inclusive else number > minimum
    if not (math.isfinite(number) and above and number <= maximum):
        allowed = _finite_range(minimum, maximum, inclusive)
        raise error(f"{name} must be {allowed}, got {short_repr(value)}")
    return number


def _finite_range(minimum: float, maximum: float, inclusive: bool) -> str:
    """``a finite number`` with the allowed range, e.g. ``a finite number in (0, 1]``."""
    low = f"{minimum:g}" if minimum > -math.inf else None
    high = f"{maximum:g}" if maximum < math.inf else None
    if low is not None and high is not None:
        return f"a finite number in {'[' if inclusive else '('}{low}, {high}]"
    if low is not None:
        return f"a finite number {'>=' if inclusive else '>'} {low}"
    return f"a finite number <= {high}" if high is not None else "a finite number"
