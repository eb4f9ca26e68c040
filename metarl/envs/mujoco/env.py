"""The task API on Gymnasium MuJoCo envs: :class:`MujocoTaskEnv` (registered with
:func:`metarl.envs.register_family`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import utils

from metarl.envs.gym_family import TaskEnvMixin, step_each  # step_each: re-exported
from metarl.envs.mujoco.model_params import ModelField, ModelParams
from metarl.tasks import Parameter, Task, TaskDistribution

__all__ = ["MujocoTaskEnv", "step_each"]


class MujocoTaskEnv(TaskEnvMixin):
    """Mixin that makes a Gymnasium ``MujocoEnv`` a metarl family: ``class X(MujocoTaskEnv, AntEnv)``.

    Subclasses set ``family`` and declare their task parameters: ``model_fields`` (compiled-model
    fields that vary, see :mod:`metarl.envs.mujoco.model_params`) and/or :meth:`task_parameters`.
    The env then follows the task API: ``env.unwrapped.task``, ``set_task``,
    ``reset(options={"task": t})``, ``info["task_id"]``, ``env.unwrapped.task_distribution``.
    Setting a task writes its model fields into ``self.model`` from the nominal values at once;
    the state is redrawn at the next reset.

    Actions follow every family's rule (:func:`~metarl.envs.core.check_actions`): finite numbers
    of the action space's shape (``ValueError``/``TypeError`` otherwise); finite values outside
    its bounds are clipped by MuJoCo's ``ctrlrange`` while the control cost charges them as given,
    as in Gymnasium.

    Constructor: ``X(task=None, **kwargs)``, ``kwargs`` going to the Gymnasium env.
    ``varies``, ``reference``, ``horizon``, ``info_keys`` and ``step_many`` as in
    :class:`~metarl.envs.gym_family.TaskEnvMixin`.
    """

    family: ClassVar[str]
    """Family name recorded in its tasks."""
    varies: ClassVar[str] = "model parameters"
    """What the task changes, for the family table."""
    model_fields: ClassVar[Sequence[ModelField]] = ()
    """Compiled-model fields that vary per task."""

    model: mujoco.MjModel
    task_distribution: TaskDistribution

    def __init__(self, task: Task | None = None, **kwargs: Any):
        if not isinstance(getattr(type(self), "family", None), str):
            raise TypeError(f"{type(self).__name__} must set the class attribute `family`")
        super().__init__(**kwargs)
        if isinstance(self, utils.EzPickle):  # pickle/deepcopy re-create with our arguments
            utils.EzPickle.__init__(self, task=task, **kwargs)
        self._model_params = (
            ModelParams(self.model_fields).bind(self.model) if self.model_fields else None
        )
        self._scratch = mujoco.MjData(self.model) if self._model_params else None
        parameters = list(self.task_parameters())
        if self._model_params is not None:
            parameters += self._model_params.parameters
        if not parameters:
            raise TypeError(
                f"{type(self).__name__} declares no task parameters: set `model_fields` "
                "or override `task_parameters()`"
            )
        self.task_distribution = TaskDistribution(self.family, parameters)
        self.set_task(self.task_distribution.default_task() if task is None else task)

    def task_parameters(self) -> Sequence[Parameter]:
        """Task parameters besides the model fields (goals, directions); none by default."""
        return ()

    def _apply_task(self, task: Task) -> None:
        """Write ``task`` into the model, then call :meth:`on_task`; takes effect at once."""
        if self._model_params is not None:
            self._model_params.apply(self.model, task, self._scratch)
        self.on_task(task)

    def on_task(self, task: Task) -> None:
        """Called by :meth:`set_task` after ``task`` (validated) is written into the model: the
        per-task hook of a family whose task changes more than ``model_fields`` (a goal, a
        reward weight, or ``opt`` values computed from several parameters). It runs in every
        process that holds the env (the vector env's workers too); by default it does nothing."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        return self._task_reset(super().reset, seed, options)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return self._task_step(super().step, action)
