"""Memory estimates checked before allocating: a setting too large for this machine is refused
with the estimate and the setting's name, not met later as an allocator's traceback.

>>> mlp_parameters([2, 64, 64, 2])
4482
>>> require_memory([Need("hidden_sizes [100000]", "the policy", 8e10)], available=16 * 2**30)
Traceback (most recent call last):
...
ValueError: hidden_sizes [100000] would need about 74.5 GiB of memory for the policy; this machine has 16 GiB
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["FLOAT32", "Need", "mlp_parameters", "physical_memory", "require_memory"]

FLOAT32 = 4
"""Bytes of one float32, the dtype of metarl's networks and sampled batches."""


@dataclass(frozen=True)
class Need:
    """Memory one setting sizes."""

    setting: str
    """The setting and its value, as a user wrote it (``hidden_sizes [64, 64]``)."""
    what: str
    """What it sizes (``the policy (4482 parameters, ...)``)."""
    nbytes: float
    """The estimate in bytes."""


def mlp_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP whose layer widths are ``sizes`` (input first)."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(sizes))


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine; ``None`` where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        return None


def require_memory(
    needs: Iterable[Need], error: type[ValueError] = ValueError, available: int | None = None
) -> None:
    """Raise ``error`` if a need, or all of them together, exceed ``available`` bytes (default:
    :func:`physical_memory`), naming the settings and the estimates. The first need too large is
    named: list a setting's own need before the needs it multiplies."""
    available = physical_memory() if available is None else available
    if available is None:
        return
    needs = list(needs)
    has = f"this machine has {_size(available)}"
    for need in needs:
        if need.nbytes > available:
            raise error(
                f"{need.setting} would need about {_size(need.nbytes)} of memory for {need.what}; "
                f"{has}"
            )
    total = sum(need.nbytes for need in needs)
    if total > available:
        parts = ", ".join(f"{_size(n.nbytes)} for {n.what} ({n.setting})" for n in needs)
        raise error(f"the run would need about {_size(total)} of memory: {parts}; {has}")


def _size(nbytes: float) -> str:
    """``nbytes`` in GiB (MiB below one GiB), three significant digits."""
    gib = nbytes / 2**30
    return f"{gib:.3g} GiB" if gib >= 1 else f"{nbytes / 2**20:.3g} MiB"
