"""Parameter priors: how one task parameter is drawn, which values are allowed, where its outside lies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from metarl.tasks.task import as_float_array
from metarl.validation import require_int, short_repr


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

    def describe_allowed(self) -> str:
        """Short text of the values a task made by hand may take (``validate`` refuses others)."""
        low, high = self.bounds()
        return f"[{_fmt(low)}, {_fmt(high)}]"

    def coerce(self, value: Any, family: str) -> np.ndarray:
        """Convert ``value`` to a float64 array of this parameter's shape and check it is allowed."""
        array = as_float_array(value, self.name, family)
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

    def describe_allowed(self) -> str:
        return self.describe()


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

    def describe_allowed(self) -> str:
        return f"integers in [0, {self.count - 1}]"


def _point(name: str, default: Any) -> np.ndarray:
    """``default`` as a float64 2-D point, else ``ValueError`` naming parameter ``name``."""
    point = np.asarray(default, dtype=np.float64)
    if point.shape != (2,):
        raise ValueError(f"parameter {name!r}: default must be a 2-D point, got {default!r}")
    return point


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
        self._default = _point(name, default)
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

    def describe_allowed(self) -> str:
        return f"distance <= {_fmt(self.bounds()[1])}"

    def describe_ood(self) -> str:
        if self.ood_radius is None:
            return "-"
        return f"distance in ({_fmt(self.radius)}, {_fmt(self.ood_radius)}]"


class Arc(Parameter):
    """A 2-D point on the circle of radius ``radius`` around the origin, at an angle drawn
    uniformly from ``[low, high]`` (radians); PEARL's sparse point robot puts its goals on the
    upper half circle of radius 1 (``Arc("goal", 1.0, 0.0, pi)``). No test-ood region."""

    tolerance = 1e-6
    """How far from the arc (in distance and in angle) a user-made point may lie."""

    def __init__(
        self, name: str, radius: float, low: float, high: float, *, default: Any, doc: str = ""
    ):
        super().__init__(name, (2,), doc)
        if not radius > 0:
            raise ValueError(f"parameter {name!r}: radius must be > 0, got {radius!r}")
        if not (-np.pi <= low < high <= np.pi):
            raise ValueError(
                f"parameter {name!r}: need -pi <= low < high <= pi, got [{low}, {high}]"
            )
        self.radius, self.low, self.high = float(radius), float(low), float(high)
        self._default = _point(name, default)
        self.check_value(self._default, "the default task")

    @property
    def default(self) -> np.ndarray:
        return self._default.copy()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        angle = rng.uniform(self.low, self.high, size=n)
        return self.radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)

    def check_value(self, value: np.ndarray, family: str) -> None:
        angle = float(np.arctan2(value[1], value[0]))
        on_circle = abs(float(np.hypot(*value)) - self.radius) <= self.tolerance
        if not on_circle or not self.low - self.tolerance <= angle <= self.high + self.tolerance:
            raise ValueError(
                f"parameter {self.name!r} of {family} must lie {self.describe()}, "
                f"got {value.tolist()!r}"
            )

    def bounds(self) -> tuple[float, float]:
        return -self.radius, self.radius

    def describe(self) -> str:
        return (
            f"on the circle of radius {_fmt(self.radius)} at an angle "
            f"U[{_fmt(self.low)}, {_fmt(self.high)}]"
        )

    def describe_allowed(self) -> str:
        return self.describe()


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

    def describe_allowed(self) -> str:
        return "rows of probabilities"


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

    def describe_allowed(self) -> str:
        return "any finite value"


