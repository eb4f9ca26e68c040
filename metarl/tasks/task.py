"""A task: an immutable, hashable set of named parameters of one family; JSON round trips."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from metarl.validation import short_repr


def as_float_array(value: Any, name: str, family: str) -> np.ndarray:
    """``value`` as a finite float64 array; ``TypeError``/``ValueError`` naming the parameter."""
    def not_numeric() -> str:  # formatted only on failure: a large array's repr is slow
        return f"parameter {name!r} of {family} must be numeric, got {short_repr(value)}"

    if isinstance(value, str | bytes):
        raise TypeError(not_numeric())
    try:
        array = np.array(value, dtype=np.float64)
    except TypeError as err:
        raise TypeError(not_numeric()) from err
    except OverflowError:
        raise ValueError(
            f"parameter {name!r} of {family} must be finite (within float64), got "
            f"{short_repr(value)}"
        ) from None
    except (ValueError, RecursionError) as err:  # a bad string, ragged or too deeply nested
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"parameter {name!r} of {family} must be a number or a regular nested list of "
            f"numbers ({reason}), got {short_repr(value)}"
        ) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"parameter {name!r} of {family} must be finite, got {short_repr(value)}")
    return array


class Task:
    """An immutable, hashable set of named task parameters belonging to one family.

    Values are stored as read-only float64 arrays (shape ``()`` for scalars). ``task[name]`` returns
    a Python float for scalar parameters and the array otherwise. ``to_dict`` / ``from_dict``
    round-trip exactly through JSON.
    """

    __slots__ = ("_family", "_hash", "_id", "_params")

    def __init__(self, family: str, params: Mapping[str, Any]):
        if not isinstance(family, str) or not family:
            raise TypeError(f"family must be a non-empty string, got {family!r}")
        if not isinstance(params, Mapping) or not params:
            raise TypeError(
                f"params must be a non-empty mapping of names to values, got {short_repr(params)}"
            )
        for name in params:
            if not isinstance(name, str):
                raise TypeError(f"parameter names must be strings, got {short_repr(name)}")
        frozen: dict[str, np.ndarray] = {}
        for name in sorted(params):
            # + 0.0 turns -0.0 into 0.0 so equal tasks hash equally
            value = as_float_array(params[name], name, family) + 0.0
            value.setflags(write=False)
            frozen[name] = value
        self._family = family
        self._params = MappingProxyType(frozen)
        digest = hashlib.sha1(family.encode())
        for name, value in frozen.items():
            digest.update(f"|{name}{value.shape}".encode())
            digest.update(value.astype("<f8").tobytes())
        self._id = digest.hexdigest()[:16]
        self._hash = hash(self._id)

    @property
    def family(self) -> str:
        """Name of the family the task belongs to (e.g. ``"Navigation2D"``)."""
        return self._family

    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """Read-only mapping of parameter names to float64 arrays."""
        return self._params

    @property
    def id(self) -> str:
        """Stable identifier (hex digest of family and values), equal on every machine."""
        return self._id

    def __getitem__(self, name: str) -> float | np.ndarray:
        try:
            value = self._params[name]
        except KeyError:
            raise KeyError(
                f"{self._family} task has no parameter {name!r}; it has {list(self._params)}"
            ) from None
        return float(value) if value.ndim == 0 else value

    def flat(self) -> np.ndarray:
        """All parameter values concatenated in name order, as float32 (for observations)."""
        return np.concatenate([v.ravel() for v in self._params.values()]).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: ``{"family": ..., "params": {name: float or nested list}}``."""
        return {"family": self._family, "params": {k: v.tolist() for k, v in self._params.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, Mapping) or set(data) != {"family", "params"}:
            raise ValueError(
                f"a task dict needs exactly the keys 'family' and 'params', got {short_repr(data)}"
            )
        return cls(data["family"], data["params"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return (
            self._family == other._family
            and self._params.keys() == other._params.keys()
            and all(np.array_equal(v, other._params[k]) for k, v in self._params.items())
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        parts = []
        for name, value in self._params.items():
            if value.size <= 6:
                text = repr(float(value)) if value.ndim == 0 else str(value.tolist())
            else:
                text = f"<array {value.shape}>"
            parts.append(f"{name}={text}")
        return f"Task({self._family}, {', '.join(parts)})"

    def __reduce__(self):
        return (Task, (self._family, {k: v.copy() for k, v in self._params.items()}))



def tasks_to_json(tasks: Iterable[Task]) -> str:
    """Serialise tasks as a JSON list (exact round trip with :func:`tasks_from_json`)."""
    return json.dumps([t.to_dict() for t in tasks])


def tasks_from_json(text: str) -> list[Task]:
    """Inverse of :func:`tasks_to_json`."""
    return [Task.from_dict(d) for d in json.loads(text)]
