"""The task-env protocol: what every metarl family's single env offers besides ``gymnasium.Env``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from metarl.tasks import Task, TaskDistribution

__all__ = ["TaskEnv", "TaskSwitching"]


class TaskEnv(Protocol):
    """The task API of a single env, as :class:`~metarl.envs.process_vector.ProcessVectorEnv`
    runs it: the current ``task``, ``set_task``, ``task_distribution``, the default episode
    length ``horizon``, the ``info`` entries passed on (``info_keys``) and ``step_many``, which
    steps several instances at once.

    :class:`~metarl.envs.gym_family.GymTaskEnv` (a plain Gymnasium env),
    :class:`~metarl.envs.mujoco.MujocoTaskEnv` and ``MetaWorldEnv`` follow it; the numpy families
    (:class:`~metarl.envs.core.NumpyTaskEnv`) follow its task part and step in their native
    vector env instead.
    """

    horizon: ClassVar[int]
    info_keys: ClassVar[tuple[str, ...]]
    task_distribution: TaskDistribution
    observation_space: Any
    action_space: Any

    @property
    def task(self) -> Task: ...

    def set_task(self, task: Task) -> None: ...

    def reset(self, *, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]: ...

    def close(self) -> None: ...

    @classmethod
    def step_many(
        cls, envs: Sequence[Any], actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...


class TaskSwitching:
    """The task part of :class:`TaskEnv`, written once for every single env: ``task``, and
    ``set_task``, which validates against ``task_distribution``, makes the env run the task
    (:meth:`_apply_task`, each env's own) and then keeps it, so that a task the env fails to apply
    is not reported as its task."""

    task_distribution: TaskDistribution
    _task: Task

    @property
    def task(self) -> Task:
        """The task the env currently runs: the distribution's default task until one is set."""
        if not hasattr(self, "_task"):
            self.set_task(self.task_distribution.default_task())
        return self._task

    def set_task(self, task: Task) -> None:
        """Switch to ``task`` (``ValueError`` naming the parameter if ``task_distribution``
        refuses it)."""
        task = self.task_distribution.validate(task)
        self._apply_task(task)
        self._task = task

    def _apply_task(self, task: Task) -> None:
        """Make the env run ``task`` (already validated)."""
        raise NotImplementedError
