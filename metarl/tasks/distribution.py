"""TaskDistribution: sampling, validation and the fixed train / test / test-ood splits of a family."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from metarl.memory import Need, require_memory
from metarl.tasks.parameters import Parameter
from metarl.tasks.task import Task
from metarl.validation import require_int

SPLIT_NAMES = ("train", "test", "test-ood")
"""Names accepted by :meth:`TaskDistribution.split`."""

_SPLIT_ENTROPY = 0x6D657461726C  # fixed so that test splits are identical on every machine
_MAX_REJECTION_ROUNDS = 1000
_TASK_BYTES = 512
"""Bytes of a :class:`Task` beyond its parameters' values (the object, its dict and arrays)."""

SeedLike = int | np.random.Generator | None


def _as_generator(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (not isinstance(seed, int | np.integer) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)



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
        if not self.is_finite:  # a finite distribution's test split is its tasks, whatever num_test
            floats = sum(int(np.prod(p.shape)) for p in parameters)
            per_task = 2 * 8 * floats + _TASK_BYTES  # float64 values drawn, then copied into tasks
            split = Need(f"{family}: num_test {num_test}", "a held-out split", num_test * per_task)
            require_memory([split])
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
        """One row per parameter: name, training distribution, test-ood region, the values a task
        made by hand may take, default, doc."""
        return [
            {
                "name": p.name,
                "train": p.describe(),
                "test-ood": p.describe_ood(),
                "allowed": p.describe_allowed(),
                "default": np.array2string(p.default, precision=4, threshold=6),
                "doc": p.doc,
            }
            for p in self.parameters.values()
        ]

    def __repr__(self) -> str:
        split = f", split={self._split_name!r}" if self._split_name else ""
        return f"TaskDistribution({self.family}, parameters={list(self.parameters)}{split})"


