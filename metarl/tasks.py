"""Tasks and task distributions: the task API every metarl family follows.

A :class:`Task` is an immutable set of named parameters (floats or small float arrays) that belongs to
one family. A :class:`TaskDistribution` describes how a family's tasks are drawn: it samples them
deterministically for a seed, validates user-made tasks, and splits into disjoint ``train`` / ``test``
(and, where the family defines an outside region, ``test-ood``) task sets that are the same on every
machine.

>>> from metarl.tasks import TaskDistribution, Uniform
>>> dist = TaskDistribution("Toy", [Uniform("speed", 0.0, 2.0, default=1.0, ood=(0.0, 3.0))])
>>> task = dist.task(speed=0.5)
>>> task["speed"]
0.5
>>> Task.from_dict(task.to_dict()) == task
True
>>> len(dist.split("test").tasks)
40
"""

from __future__ import annotations

import copy
import hashlib
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from metarl.validation import require_int, short_repr

__all__ = [
    "SPLIT_NAMES",
    "Choice",
    "Dirichlet",
    "Disk",
    "EnumeratedTaskDistribution",
    "Index",
    "Normal",
    "Parameter",
    "Task",
    "TaskDistribution",
    "Uniform",
    "tasks_from_json",
    "tasks_to_json",
]

SPLIT_NAMES = ("train", "test", "test-ood")
"""Names accepted by :meth:`TaskDistribution.split`."""

_SPLIT_ENTROPY = 0x6D657461726C  # fixed so that test splits are identical on every machine
_MAX_REJECTION_ROUNDS = 1000

SeedLike = int | np.random.Generator | None


def _as_generator(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (not isinstance(seed, int | np.integer) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def _float_array(value: Any, name: str, family: str) -> np.ndarray:
    """``value`` as a finite float64 array; ``TypeError``/``ValueError`` naming the parameter."""
    not_numeric = f"parameter {name!r} of {family} must be numeric, got {short_repr(value)}"
    if isinstance(value, str | bytes):
        raise TypeError(not_numeric)
    try:
        array = np.array(value, dtype=np.float64)
    except TypeError as err:
        raise TypeError(not_numeric) from err
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
            value = _float_array(params[name], name, family) + 0.0
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


class Parameter(ABC):
    """How one task parameter is drawn, which values are allowed, and where its outside lies."""

    def __init__(self, name: str, shape: tuple[int, ...], doc: str):
        if not name.isidentifier():
            raise ValueError(f"parameter name must be an identifier, got {name!r}")
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.doc = doc

    @property
    @abstractmethod
    def default(self) -> np.ndarray:
        """Value used by a family's default task."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` training values, shape ``(n, *shape)``."""

    @abstractmethod
    def check_value(self, value: np.ndarray, family: str) -> None:
        """Raise ``ValueError`` naming the value and the allowed set if ``value`` is not allowed."""

    @property
    def has_ood(self) -> bool:
        """Whether values outside the training range exist for the ``test-ood`` split."""
        return False

    def sample_envelope(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values from the region that ``test-ood`` tasks are drawn from."""
        return self.sample(rng, n)

    def in_training_range(self, values: np.ndarray) -> np.ndarray:
        """Boolean ``(n,)``: which of ``values`` (shape ``(n, *shape)``) lie in the training range."""
        return np.ones(len(values), dtype=bool)

    @property
    def choices(self) -> np.ndarray | None:
        """The finite set of allowed values (``(k, *shape)``), or ``None`` for a continuous one."""
        return None

    @abstractmethod
    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value any element may take (for observation spaces)."""

    @abstractmethod
    def describe(self) -> str:
        """Short text of the training distribution, e.g. ``U[0, 2]``."""

    def describe_ood(self) -> str:
        """Short text of the test-ood region, or ``-`` where there is none."""
        return "-"

    def coerce(self, value: Any, family: str) -> np.ndarray:
        """Convert ``value`` to a float64 array of this parameter's shape and check it is allowed."""
        array = _float_array(value, self.name, family)
        if array.shape != self.shape:
            raise ValueError(
                f"parameter {self.name!r} of {family} must have shape {self.shape}, "
                f"got shape {array.shape} ({short_repr(value)})"
            )
        self.check_value(array, family)
        return array


def _fmt(x: float) -> str:
    for multiple in (1, 2):
        if x == multiple * np.pi:
            return f"{'' if multiple == 1 else multiple}pi"
    return f"{x:g}"


class Uniform(Parameter):
    """Uniform parameter: training values ~ U[low, high] element-wise.

    Args:
        name: parameter name.
        low, high: training range (scalars, shared by every element).
        default: value of the family's default task (scalar or array of ``shape``).
        ood: ``(low, high)`` envelope of the test-ood region; test-ood tasks are drawn from the
            envelope and rejected if they fall inside the training range. ``None``: no outside.
        ood_per_element: draw test-ood values with *every* element outside the training range
            (in ``[ood_low, low)`` or ``(high, ood_high]``) instead of anywhere in the envelope.
        limits: allowed range for user-made tasks; defaults to the envelope (or the training range).
        shape: shape of the value; ``()`` for a scalar.
        doc: one-line description.
    """

    def __init__(
        self,
        name: str,
        low: float,
        high: float,
        *,
        default: Any,
        ood: tuple[float, float] | None = None,
        limits: tuple[float, float] | None = None,
        shape: tuple[int, ...] = (),
        ood_per_element: bool = False,
        doc: str = "",
    ):
        super().__init__(name, shape, doc)
        if not low < high:
            raise ValueError(f"parameter {name!r}: need low < high, got [{low}, {high}]")
        if ood is not None and not (ood[0] <= low and high <= ood[1] and ood != (low, high)):
            raise ValueError(
                f"parameter {name!r}: the ood envelope {ood} must contain and exceed [{low}, {high}]"
            )
        self.low, self.high = float(low), float(high)
        self.ood = None if ood is None else (float(ood[0]), float(ood[1]))
        if ood_per_element and self.ood is None:
            raise ValueError(f"parameter {name!r}: ood_per_element needs an ood envelope")
        self.ood_per_element = bool(ood_per_element)
        self.limits = limits or self.ood or (self.low, self.high)
        self._default = np.broadcast_to(np.asarray(default, dtype=np.float64), self.shape).copy()
        self.check_value(self._default, "the default task")

    @property
    def default(self) -> np.ndarray:
        return self._default.copy()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=(n, *self.shape))

    def check_value(self, value: np.ndarray, family: str) -> None:
        lo, hi = self.limits
        if np.any(value < lo) or np.any(value > hi):
            raise ValueError(
                f"parameter {self.name!r} of {family} must lie in [{_fmt(lo)}, {_fmt(hi)}], "
                f"got {value.tolist()!r}"
            )

    @property
    def has_ood(self) -> bool:
        return self.ood is not None

    def sample_envelope(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.ood is None:
            return self.sample(rng, n)
        if not self.ood_per_element:
            return rng.uniform(self.ood[0], self.ood[1], size=(n, *self.shape))
        below, above = self.low - self.ood[0], self.ood[1] - self.high
        side = rng.uniform(0.0, below + above, size=(n, *self.shape))
        # 1 - U lies in (0, 1], so values lie strictly outside [low, high].
        offset = 1.0 - rng.uniform(size=(n, *self.shape))
        return np.where(side < below, self.low - below * offset, self.high + above * offset)

    def in_training_range(self, values: np.ndarray) -> np.ndarray:
        inside = (values >= self.low) & (values <= self.high)
        return inside.reshape(len(values), -1).all(axis=1)

    def bounds(self) -> tuple[float, float]:
        return self.limits

    def describe(self) -> str:
        power = "" if not self.shape else "^" + "x".join(map(str, self.shape))
        return f"U[{_fmt(self.low)}, {_fmt(self.high)}]{power}"

    def describe_ood(self) -> str:
        if self.ood is None:
            return "-"
        if self.ood_per_element:
            return (
                f"every element in [{_fmt(self.ood[0])}, {_fmt(self.low)}) or "
                f"({_fmt(self.high)}, {_fmt(self.ood[1])}]"
            )
        return f"[{_fmt(self.ood[0])}, {_fmt(self.ood[1])}] outside training range"


class Choice(Parameter):
    """Finite scalar parameter: training values drawn uniformly from ``values``.

    A distribution whose parameters are all ``Choice`` is finite: its ``test`` split holds every
    distinct task once and ``train`` draws from the same set (as in MAML's directions +-1).
    """

    def __init__(self, name: str, values: Sequence[float], *, default: float, doc: str = ""):
        super().__init__(name, (), doc)
        array = np.unique(np.asarray(values, dtype=np.float64))
        if array.ndim != 1 or len(array) < 2 or not np.all(np.isfinite(array)):
            raise ValueError(
                f"parameter {name!r}: need at least two distinct finite values, got {values!r}"
            )
        self.values = array
        self._default = np.asarray(float(default))
        self.check_value(self._default, "the default task")

    @property
    def default(self) -> np.ndarray:
        return self._default.copy()

    @property
    def choices(self) -> np.ndarray:
        return self.values.copy()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.values[rng.integers(len(self.values), size=n)]

    def check_value(self, value: np.ndarray, family: str) -> None:
        if not np.any(self.values == value):
            raise ValueError(
                f"parameter {self.name!r} of {family} must be one of {self.describe()}, "
                f"got {value.tolist()!r}"
            )

    def bounds(self) -> tuple[float, float]:
        return float(self.values[0]), float(self.values[-1])

    def describe(self) -> str:
        return "{" + ", ".join(_fmt(v) for v in self.values) + "}"


class Index(Parameter):
    """An index into a list of ``count`` items: the values ``0, 1, ..., count - 1``.

    Used by families whose tasks are an enumerated list (benchmark task classes, goal numbers);
    see :class:`EnumeratedTaskDistribution`.
    """

    def __init__(self, name: str, count: int, *, doc: str = ""):
        super().__init__(name, (), doc)
        self.count = require_int("count", count)

    @property
    def default(self) -> np.ndarray:
        return np.asarray(0.0)

    @property
    def choices(self) -> np.ndarray:
        return np.arange(self.count, dtype=np.float64)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(self.count, size=n).astype(np.float64)

    def check_value(self, value: np.ndarray, family: str) -> None:
        if not (value == np.round(value) and 0 <= value < self.count):
            raise ValueError(
                f"parameter {self.name!r} of {family} must be an integer in [0, {self.count - 1}], "
                f"got {value.tolist()!r}"
            )

    def bounds(self) -> tuple[float, float]:
        return 0.0, float(self.count - 1)

    def describe(self) -> str:
        return f"index in [0, {self.count - 1}]"


class Disk(Parameter):
    """A 2-D point drawn uniformly from the disk of radius ``radius`` around the origin.

    With ``ood_radius``, test-ood points lie in the ring ``radius < |x| <= ood_radius``, and
    user-made tasks may lie anywhere within ``ood_radius``.
    """

    def __init__(
        self,
        name: str,
        radius: float,
        *,
        default: Any,
        ood_radius: float | None = None,
        doc: str = "",
    ):
        super().__init__(name, (2,), doc)
        if not radius > 0:
            raise ValueError(f"parameter {name!r}: radius must be > 0, got {radius!r}")
        if ood_radius is not None and not ood_radius > radius:
            raise ValueError(
                f"parameter {name!r}: ood_radius must exceed radius {radius}, got {ood_radius!r}"
            )
        self.radius = float(radius)
        self.ood_radius = None if ood_radius is None else float(ood_radius)
        self._default = np.asarray(default, dtype=np.float64)
        if self._default.shape != (2,):
            raise ValueError(f"parameter {name!r}: default must be a 2-D point, got {default!r}")
        self.check_value(self._default, "the default task")

    @property
    def default(self) -> np.ndarray:
        return self._default.copy()

    def _ring(self, rng: np.random.Generator, n: int, inner: float, outer: float) -> np.ndarray:
        # Uniform in area: r^2 uniform in (inner^2, outer^2].
        r = np.sqrt(outer**2 - (outer**2 - inner**2) * rng.uniform(size=n))
        angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
        return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._ring(rng, n, 0.0, self.radius)

    def check_value(self, value: np.ndarray, family: str) -> None:
        limit = self.ood_radius or self.radius
        if float(np.hypot(*value)) > limit:
            raise ValueError(
                f"parameter {self.name!r} of {family} must lie within distance {_fmt(limit)} "
                f"of the origin, got {value.tolist()!r}"
            )

    @property
    def has_ood(self) -> bool:
        return self.ood_radius is not None

    def sample_envelope(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.ood_radius is None:
            return self.sample(rng, n)
        return self._ring(rng, n, self.radius, self.ood_radius)

    def in_training_range(self, values: np.ndarray) -> np.ndarray:
        return np.hypot(values[:, 0], values[:, 1]) <= self.radius

    def bounds(self) -> tuple[float, float]:
        limit = self.ood_radius or self.radius
        return -limit, limit

    def describe(self) -> str:
        return f"uniform in the disk of radius {_fmt(self.radius)}"

    def describe_ood(self) -> str:
        if self.ood_radius is None:
            return "-"
        return f"distance in ({_fmt(self.radius)}, {_fmt(self.ood_radius)}]"


class Dirichlet(Parameter):
    """Rows of probabilities: the last axis of ``shape`` ~ Dirichlet(alpha, ..., alpha).

    Used for transition tables. The default is the uniform distribution over the last axis.
    """

    def __init__(self, name: str, shape: tuple[int, ...], *, alpha: float = 1.0, doc: str = ""):
        super().__init__(name, shape, doc)
        if alpha <= 0:
            raise ValueError(f"parameter {name!r}: alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    @property
    def default(self) -> np.ndarray:
        return np.full(self.shape, 1.0 / self.shape[-1])

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        alpha = np.full(self.shape[-1], self.alpha)
        return rng.dirichlet(alpha, size=(n, *self.shape[:-1]))

    def check_value(self, value: np.ndarray, family: str) -> None:
        sums = value.sum(axis=-1)
        if np.any(value < 0) or not np.allclose(sums, 1.0, atol=1e-6):
            raise ValueError(
                f"parameter {self.name!r} of {family} must hold non-negative rows summing to 1 "
                f"along its last axis; got minimum {value.min():g} and row sums in "
                f"[{sums.min():g}, {sums.max():g}]"
            )

    def bounds(self) -> tuple[float, float]:
        return 0.0, 1.0

    def describe(self) -> str:
        return f"Dirichlet({_fmt(self.alpha)}) rows, shape {self.shape}"


class Normal(Parameter):
    """Gaussian parameter: values ~ N(mean, std^2) element-wise; any finite value is allowed."""

    def __init__(
        self, name: str, mean: float, std: float, *, shape: tuple[int, ...] = (), doc: str = ""
    ):
        super().__init__(name, shape, doc)
        if std <= 0:
            raise ValueError(f"parameter {name!r}: std must be > 0, got {std}")
        self.mean, self.std = float(mean), float(std)

    @property
    def default(self) -> np.ndarray:
        return np.full(self.shape, self.mean)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.std, size=(n, *self.shape))

    def check_value(self, value: np.ndarray, family: str) -> None:
        """Any finite value is allowed (finiteness is checked by :meth:`coerce`)."""

    def bounds(self) -> tuple[float, float]:
        return -np.inf, np.inf

    def describe(self) -> str:
        power = "" if not self.shape else ", shape " + str(self.shape)
        return f"N({_fmt(self.mean)}, {_fmt(self.std)}^2){power}"


class TaskDistribution:
    """The tasks of one family: sampling, validation and fixed train/test splits.

    Args:
        family: family name recorded in every task.
        parameters: how each task parameter is drawn and which values are allowed.
        num_test: size of the fixed ``test`` (and ``test-ood``) task sets.

    ``split("train")`` samples endlessly but never yields a task of ``test`` or ``test-ood``;
    ``split("test")`` and ``split("test-ood")`` return finite distributions whose ``.tasks`` are
    drawn with a fixed seed, identical on every machine. ``test-ood`` exists only where a parameter
    defines an outside region (``Uniform(..., ood=...)``).

    A finite distribution (every parameter a :class:`Choice`, e.g. directions +-1) cannot hold
    tasks out: its ``test`` split is every distinct task once, and ``train`` draws from the same
    set, as in the MAML paper.
    """

    def __init__(self, family: str, parameters: Sequence[Parameter], *, num_test: int = 40):
        names = [p.name for p in parameters]
        if not parameters or len(set(names)) != len(names):
            raise ValueError(f"{family}: need at least one parameter and unique names, got {names}")
        if num_test < 1:
            raise ValueError(f"{family}: num_test must be >= 1, got {num_test}")
        self.family = family
        self.parameters: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in parameters})
        self.num_test = int(num_test)
        self._splits: dict[str, TaskDistribution] = {}
        self._excluded: frozenset[Task] = frozenset()
        self._tasks: tuple[Task, ...] | None = None
        self._split_name: str | None = None
        self._root = self

    # ---------------------------------------------------------------- construction and validation
    def task(self, **values: Any) -> Task:
        """Make a validated task; parameters not given take their default value."""
        self._check_names(values)
        params = {
            name: (p.coerce(values[name], self.family) if name in values else p.default)
            for name, p in self.parameters.items()
        }
        return Task(self.family, params)

    def default_task(self) -> Task:
        """The task whose parameters all take their default values."""
        return self.task()

    def validate(self, task: Any) -> Task:
        """Return ``task`` if it belongs to this family and every value is allowed; raise otherwise.

        Raises:
            TypeError: ``task`` is not a :class:`Task`.
            ValueError: wrong family, unknown or missing parameters, wrong shapes, values out of range.
        """
        if not isinstance(task, Task):
            raise TypeError(
                f"expected a metarl.Task of family {self.family}, got {type(task).__name__}: "
                f"{task!r}; make one with task_distribution.task(...) or .sample(...)"
            )
        if task.family != self.family:
            raise ValueError(
                f"task belongs to family {task.family!r}, but this distribution is {self.family!r}"
            )
        self._check_names(task.params, require_all=True)
        for name, p in self.parameters.items():
            p.coerce(task.params[name], self.family)
        return task

    def _check_names(self, values: Mapping[str, Any], require_all: bool = False) -> None:
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for family {self.family}; "
                f"allowed: {list(self.parameters)}"
            )
        missing = sorted(set(self.parameters) - set(values))
        if require_all and missing:
            raise ValueError(f"{self.family} task lacks parameter(s) {missing}")

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, seed: SeedLike = None) -> list[Task]:
        """Draw ``n`` tasks; the same ``seed`` (int) always gives the same tasks.

        ``seed`` may also be a ``numpy.random.Generator`` (its state advances) or ``None`` (fresh
        entropy). Finite splits draw without replacement and refuse ``n`` above their size.
        """
        n = require_int("n", n, minimum=0)
        rng = _as_generator(seed)
        if self._tasks is not None:
            if n > len(self._tasks):
                raise ValueError(
                    f"split {self._split_name!r} of {self.family} holds {len(self._tasks)} tasks; "
                    f"cannot sample {n} without replacement"
                )
            return [self._tasks[i] for i in rng.choice(len(self._tasks), size=n, replace=False)]
        tasks: list[Task] = []
        for _ in range(_MAX_REJECTION_ROUNDS):
            needed = n - len(tasks)
            if needed == 0:
                return tasks
            batch = self._draw(rng, needed, envelope=False)
            tasks.extend(t for t in batch if t not in self._excluded)
        raise RuntimeError(f"{self.family}: could not draw {n} tasks outside the excluded set")

    def _draw(self, rng: np.random.Generator, n: int, envelope: bool) -> list[Task]:
        values = {
            name: (p.sample_envelope(rng, n) if envelope else p.sample(rng, n))
            for name, p in self.parameters.items()
        }
        return [Task(self.family, {k: v[i] for k, v in values.items()}) for i in range(n)]

    def _in_training_region(self, task: Task) -> bool:
        return all(
            bool(p.in_training_range(task.params[name][None])[0])
            for name, p in self.parameters.items()
        )

    # ---------------------------------------------------------------- splits
    @property
    def is_finite(self) -> bool:
        """Whether every parameter takes one of finitely many values (see :class:`Choice`)."""
        return all(p.choices is not None for p in self.parameters.values())

    def all_tasks(self) -> list[Task]:
        """Every distinct task of a finite distribution, in a fixed order."""
        if not self.is_finite:
            raise ValueError(f"{self.family} has continuous parameters; it has no finite task list")
        names = list(self.parameters)
        grids = np.meshgrid(*[self.parameters[n].choices for n in names], indexing="ij")
        rows = np.stack([g.ravel() for g in grids], axis=1)
        return [Task(self.family, dict(zip(names, row, strict=True))) for row in rows]

    @property
    def has_ood(self) -> bool:
        """Whether this family defines a ``test-ood`` split."""
        return any(p.has_ood for p in self.parameters.values())

    @property
    def split_names(self) -> tuple[str, ...]:
        """Split names this family supports."""
        return SPLIT_NAMES if self.has_ood else SPLIT_NAMES[:2]

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The fixed tasks of a finite split (``test``, ``test-ood``)."""
        if self._tasks is None:
            name = self._split_name or "the full distribution"
            raise AttributeError(
                f"{name} of {self.family} is not finite; only test splits have .tasks"
            )
        return self._tasks

    @property
    def split_name(self) -> str | None:
        """``"train"``, ``"test"``, ``"test-ood"``, or ``None`` for the full distribution."""
        return self._split_name

    def split(self, name: str) -> TaskDistribution:
        """Return the ``train``, ``test`` or ``test-ood`` split (cached; the same object each call)."""
        root = self._root
        if name not in root.split_names:
            raise ValueError(
                f"unknown split {name!r} for family {self.family}; allowed: {list(root.split_names)}"
            )
        if name not in root._splits:
            root._splits[name] = root._make_split(name)
        return root._splits[name]

    def _derived(self, name: str) -> TaskDistribution:
        child = TaskDistribution(
            self.family, list(self.parameters.values()), num_test=self.num_test
        )
        child._root, child._split_name = self, name
        return child

    def _make_split(self, name: str) -> TaskDistribution:
        child = self._derived(name)
        if self.is_finite:
            if name == "test":
                child._tasks = tuple(self.all_tasks())
            return child
        if name == "train":
            held_out = [self.split(n).tasks for n in self.split_names if n != "train"]
            child._excluded = frozenset(t for tasks in held_out for t in tasks)
            return child
        rng = np.random.default_rng(
            [_SPLIT_ENTROPY, zlib.crc32(self.family.encode()), SPLIT_NAMES.index(name)]
        )
        if name == "test":
            child._tasks = tuple(self._draw(rng, self.num_test, envelope=False))
            return child
        tasks: list[Task] = []
        for _ in range(_MAX_REJECTION_ROUNDS):
            batch = self._draw(rng, self.num_test, envelope=True)
            tasks.extend(t for t in batch if not self._in_training_region(t))
            if len(tasks) >= self.num_test:
                child._tasks = tuple(tasks[: self.num_test])
                return child
        raise RuntimeError(f"{self.family}: the test-ood region is too small to sample")

    # ---------------------------------------------------------------- description
    def describe(self) -> list[dict[str, str]]:
        """One row per parameter: name, training distribution, test-ood region, default, doc."""
        return [
            {
                "name": p.name,
                "train": p.describe(),
                "test-ood": p.describe_ood(),
                "default": np.array2string(p.default, precision=4, threshold=6),
                "doc": p.doc,
            }
            for p in self.parameters.values()
        ]

    def __repr__(self) -> str:
        split = f", split={self._split_name!r}" if self._split_name else ""
        return f"TaskDistribution({self.family}, parameters={list(self.parameters)}{split})"


class EnumeratedTaskDistribution(TaskDistribution):
    """A family whose tasks form a fixed list with given ``train`` and ``test`` sets.

    For benchmarks that define their own task sets (Meta-World's goal sets and held-out task
    classes). Both splits are finite: ``split(name).tasks`` is the given list, in the given
    order, and ``sample`` draws from it without replacement. The full distribution holds both
    sets. :meth:`validate` and :meth:`task` accept only listed tasks.

    Args:
        family: family name recorded in every task.
        parameters: the task parameters (typically :class:`Index` values).
        splits: ``{"train": [...], "test": [...]}``, each a list of parameter dicts; disjoint.
        groups: optional label of each task of ``splits`` (same nesting), e.g. its task class,
            for per-group reports (:meth:`group`).
    """

    def __init__(
        self,
        family: str,
        parameters: Sequence[Parameter],
        splits: Mapping[str, Sequence[Mapping[str, Any]]],
        groups: Mapping[str, Sequence[str]] | None = None,
    ):
        if set(splits) != {"train", "test"}:
            raise ValueError(
                f"{family}: splits must have the keys 'train' and 'test', got {list(splits)}"
            )
        super().__init__(family, parameters, num_test=max(1, len(splits["test"])))
        given = {
            name: tuple(TaskDistribution.task(self, **v) for v in values)
            for name, values in splits.items()
        }
        overlap = set(given["train"]) & set(given["test"])
        if overlap:
            raise ValueError(
                f"{family}: {len(overlap)} task(s) lie in both splits, e.g. {next(iter(overlap))}"
            )
        if not given["train"] or not given["test"]:
            raise ValueError(f"{family}: both splits need at least one task")
        self._given = given
        self._tasks = given["train"] + given["test"]
        self._members = frozenset(self._tasks)
        self._groups: dict[Task, str] = {}
        if groups is not None:
            for name, tasks in given.items():
                labels = list(groups[name])
                if len(labels) != len(tasks):
                    raise ValueError(
                        f"{family}: {len(labels)} group labels for the {len(tasks)} {name} tasks"
                    )
                self._groups.update(zip(tasks, labels, strict=True))

    @property
    def split_names(self) -> tuple[str, ...]:
        return SPLIT_NAMES[:2]

    @property
    def has_groups(self) -> bool:
        """Whether tasks carry group labels (see :meth:`group`)."""
        return bool(self._groups)

    def group(self, task: Task) -> str:
        """The group label of ``task`` (e.g. its Meta-World task class)."""
        try:
            return self._root._groups[task]
        except KeyError:
            raise KeyError(f"{task} has no group label in {self.family}") from None

    def task(self, **values: Any) -> Task:
        return self._check_member(super().task(**values))

    def validate(self, task: Any) -> Task:
        return self._check_member(super().validate(task))

    def _check_member(self, task: Task) -> Task:
        if task not in self._root._members:
            raise ValueError(
                f"{task} is not one of the {len(self._root._members)} tasks of {self.family}"
            )
        return task

    def all_tasks(self) -> list[Task]:
        return list(self._root._tasks)

    def _derived(self, name: str) -> TaskDistribution:
        child = copy.copy(self)
        child._root, child._split_name, child._splits = self, name, {}
        return child

    def _make_split(self, name: str) -> TaskDistribution:
        child = self._derived(name)
        child._tasks = self._given[name]
        return child


def tasks_to_json(tasks: Iterable[Task]) -> str:
    """Serialise tasks as a JSON list (exact round trip with :func:`tasks_from_json`)."""
    return json.dumps([t.to_dict() for t in tasks])


def tasks_from_json(text: str) -> list[Task]:
    """Inverse of :func:`tasks_to_json`."""
    return [Task.from_dict(d) for d in json.loads(text)]
