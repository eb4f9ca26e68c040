"""EnumeratedTaskDistribution: a family whose train and test task sets are given lists."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from metarl.tasks.distribution import SPLIT_NAMES, TaskDistribution
from metarl.tasks.parameters import Parameter
from metarl.tasks.task import Task


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


