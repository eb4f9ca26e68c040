"""Meta-World benchmarks as fixed task lists, built once per machine and cached on disk.

A Meta-World benchmark draws the goals of its tasks (``rand_vec``: object and goal positions) from
NumPy's global random state when it is built; built unseeded, every process gets other goals.
metarl always builds with :data:`BENCHMARK_SEED` and keeps only the goal vectors, so the task sets
are the same on every machine and in every worker process. Building ML45 takes about a minute, so
the vectors are cached under ``$METARL_CACHE`` (default ``~/.cache/metarl``), keyed by Meta-World's
version; a damaged cache file is rebuilt. The cache is an ``.npz`` of float arrays and a JSON
string, read with ``allow_pickle=False``: a crafted cache file cannot run code.

A metarl task of a benchmark has three :class:`~metarl.tasks.Index` parameters: ``split``
(0: Meta-World's train tasks, 1: its test tasks), ``env_class`` (index into that split's task
classes) and ``goal`` (index into the class's goals). Meta-World's pickled task data stays inside
this module.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import metaworld
import numpy as np
from metaworld.env_dict import ALL_V3_ENVIRONMENTS
from metaworld.types import Task as MetaWorldTask

from metarl.files import atomic_write
from metarl.tasks import EnumeratedTaskDistribution, Index, Task

__all__ = [
    "BENCHMARK_SEED",
    "SPLIT_CODES",
    "BenchmarkTasks",
    "benchmark_tasks",
    "task_distribution",
]

logger = logging.getLogger(__name__)

BENCHMARK_SEED = 0
"""Seed every benchmark's goals are drawn with (Meta-World's ``seed`` argument)."""

SPLIT_CODES = {"train": 0, "test": 1}
"""Value of a task's ``split`` parameter for Meta-World's train and test tasks."""


def _check_name(name: str) -> None:
    if name in ("ML10", "ML45"):
        return
    if name.startswith("ML1-") and name[4:] in ALL_V3_ENVIRONMENTS:
        return
    raise ValueError(
        f"unknown Meta-World benchmark {name!r}; allowed: 'ML10', 'ML45' or 'ML1-<env>' with <env> "
        f"one of {sorted(ALL_V3_ENVIRONMENTS)}"
    )


@dataclass(frozen=True)
class BenchmarkTasks:
    """The task classes and goal vectors of one benchmark's train and test splits.

    ``classes[split]`` lists the env names of a split in Meta-World's order;
    ``rand_vecs[split][i]`` holds the goal vectors of class ``i``, ``[goals, d]``.
    """

    name: str
    classes: Mapping[str, tuple[str, ...]]
    rand_vecs: Mapping[str, tuple[np.ndarray, ...]]

    def _split_of(self, task: Task) -> str:
        return "train" if task["split"] == SPLIT_CODES["train"] else "test"

    def env_name(self, task: Task) -> str:
        """The Meta-World env name (task class) of ``task``, e.g. ``"push-v3"``."""
        return self.classes[self._split_of(task)][int(task["env_class"])]

    def metaworld_task(self, task: Task) -> MetaWorldTask:
        """Meta-World's own task object for ``task`` (for ``SawyerXYZEnv.set_task``)."""
        split = self._split_of(task)
        class_index, goal = int(task["env_class"]), int(task["goal"])
        env_name = self.classes[split][class_index]
        data = {
            "rand_vec": self.rand_vecs[split][class_index][goal].copy(),
            "env_cls": ALL_V3_ENVIRONMENTS[env_name],
            "partially_observable": True,  # the ML benchmarks hide the goal
        }
        return MetaWorldTask(env_name=env_name, data=pickle.dumps(data))


def _build(name: str) -> BenchmarkTasks:
    """Build the benchmark with Meta-World's own code and keep its goal vectors."""
    if name.startswith("ML1-"):
        bench = metaworld.ML1(name[4:], seed=BENCHMARK_SEED)
    else:
        bench = getattr(metaworld, name)(seed=BENCHMARK_SEED)
    classes, rand_vecs = {}, {}
    for split, names, tasks in (
        ("train", bench.train_classes, bench.train_tasks),
        ("test", bench.test_classes, bench.test_tasks),
    ):
        classes[split] = tuple(names)
        vectors: dict[str, list[np.ndarray]] = {env: [] for env in classes[split]}
        for mw_task in tasks:
            data = pickle.loads(mw_task.data)
            extra = sorted(set(data) - {"rand_vec", "env_cls", "partially_observable"})
            if extra:  # a future Meta-World task with data this adapter would drop
                raise NotImplementedError(
                    f"Meta-World {name} task {mw_task.env_name} has data {extra} that metarl "
                    "does not carry over"
                )
            vectors[mw_task.env_name].append(np.asarray(data["rand_vec"], dtype=np.float64))
        rand_vecs[split] = tuple(np.stack(vectors[env]) for env in classes[split])
    return BenchmarkTasks(name, classes, rand_vecs)


def _cache_path(name: str) -> Path:
    root = Path(os.environ.get("METARL_CACHE", Path.home() / ".cache" / "metarl"))
    return root / f"metaworld-{version('metaworld')}-{name}-seed{BENCHMARK_SEED}.npz"


def _save(tasks: BenchmarkTasks, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"classes": np.array(json.dumps(tasks.classes))}
    for split, vectors in tasks.rand_vecs.items():
        arrays.update({f"{split}/{i}": v for i, v in enumerate(vectors)})
    # atomic: concurrent builders each write a whole file
    atomic_write(path, lambda file: np.savez(file, **arrays))


def _load(name: str, path: Path) -> BenchmarkTasks:
    with np.load(path, allow_pickle=False) as data:
        classes = {k: tuple(v) for k, v in json.loads(str(data["classes"])).items()}
        rand_vecs = {
            split: tuple(data[f"{split}/{i}"] for i in range(len(names)))
            for split, names in classes.items()
        }
    return BenchmarkTasks(name, classes, rand_vecs)


@functools.cache
def benchmark_tasks(name: str) -> BenchmarkTasks:
    """The tasks of benchmark ``name`` (``"ML10"``, ``"ML45"`` or ``"ML1-<env>"``), from the cache."""
    _check_name(name)
    path = _cache_path(name)
    if path.exists():
        try:
            return _load(name, path)
        except (OSError, ValueError, KeyError) as err:
            logger.warning("rebuilding the damaged Meta-World cache file %s (%s)", path, err)
    tasks = _build(name)
    _save(tasks, path)
    return tasks


@functools.cache
def task_distribution(name: str) -> EnumeratedTaskDistribution:
    """The metarl task distribution of benchmark ``name``: Meta-World's train and test tasks.

    The test split is ordered goal-major (goal 0 of every class, then goal 1, ...), so that its
    first ``n`` tasks cover the test classes evenly.
    """
    tasks = benchmark_tasks(name)
    splits: dict[str, list[dict[str, int]]] = {}
    groups: dict[str, list[str]] = {}
    for split, code in SPLIT_CODES.items():
        names, vectors = tasks.classes[split], tasks.rand_vecs[split]
        order = sorted(
            (goal, class_index)
            for class_index in range(len(names))
            for goal in range(len(vectors[class_index]))
        )
        splits[split] = [{"split": code, "env_class": c, "goal": g} for g, c in order]
        groups[split] = [names[c] for _, c in order]
    max_classes = max(len(names) for names in tasks.classes.values())
    max_goals = max(len(v) for vectors in tasks.rand_vecs.values() for v in vectors)
    parameters = task_parameters(max_classes, max_goals)
    return EnumeratedTaskDistribution(f"MetaWorld-{name}", parameters, splits, groups)


def task_parameters(num_classes: int, num_goals: int) -> list[Index]:
    """The parameters of a benchmark's tasks: ``split``, ``env_class`` and ``goal`` indices."""
    return [
        Index("split", 2, doc="0: Meta-World's train tasks, 1: its test tasks"),
        Index("env_class", num_classes, doc="task class, an index into the split's env names"),
        Index("goal", num_goals, doc="goal (object and target positions) of the class"),
    ]
