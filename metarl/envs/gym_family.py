"""A plain Gymnasium env as a task family: :class:`GymTaskEnv`.

A family whose single env is stepped on worker processes by
:class:`~metarl.envs.process_vector.ProcessVectorEnv` declares a few class attributes and puts the
task into ``reset`` and ``step``; :class:`TaskEnvMixin` holds that part once, for
:class:`GymTaskEnv` and :class:`~metarl.envs.mujoco.MujocoTaskEnv`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from metarl.envs.core import check_actions, check_options
from metarl.envs.task_env import TaskSwitching

__all__ = ["GymTaskEnv", "TaskEnvMixin", "step_each"]

Reset = Callable[..., tuple[Any, dict[str, Any]]]
Step = Callable[[Any], tuple[Any, float, bool, bool, dict[str, Any]]]


class TaskEnvMixin(TaskSwitching):
    """What a single env stepped by ``ProcessVectorEnv`` declares (``varies``, ``reference``,
    ``horizon``, ``info_keys``) and does around Gymnasium's ``reset`` and ``step``: the
    ``"task"`` reset option, checked actions and ``info["task_id"]``; ``step_many`` steps the
    envs one by one."""

    varies: ClassVar[str] = "task parameters"
    """What the task changes, for the family table (``metarl envs``)."""
    reference: ClassVar[str] = "-"
    """Paper or source the family follows."""
    horizon: ClassVar[int] = 200
    """Default episode length (``max_episode_steps`` of the registered id)."""
    info_keys: ClassVar[tuple[str, ...]] = ()
    """Numeric ``info`` entries of every step that the vector env passes on (``info[key]``)."""

    action_space: gym.spaces.Space

    def _task_reset(
        self, reset: Reset, seed: int | None, options: dict[str, Any] | None
    ) -> tuple[Any, dict[str, Any]]:
        """``reset(seed=seed)`` in the task of ``options`` (the current one without it)."""
        options = check_options(options, {"task"})
        if "task" in options:  # before the env's reset, which may depend on the task
            self.set_task(options["task"])
        task = self.task
        obs, info = reset(seed=seed)
        info["task_id"] = task.id
        return obs, info

    def _task_step(self, step: Step, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``step(action)`` on the checked ``action`` (:func:`~metarl.envs.core.check_actions`)."""
        action = check_actions(self.action_space, action, self.action_space.shape)
        obs, reward, terminated, truncated, info = step(action)
        info["task_id"] = self.task.id
        return obs, reward, terminated, truncated, info

    @classmethod
    def step_many(
        cls, envs: Sequence[gym.Env], actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step ``envs`` (instances of this class) with one action each.

        Returns ``(observations, rewards, terminated, infos)`` arrays with a leading axis of
        ``len(envs)``; ``infos[:, j]`` holds ``info[cls.info_keys[j]]``. This generic version
        steps them one by one (:func:`step_each`); batched families override it with one
        computation over all of them.
        """
        return step_each(envs, actions, cls.info_keys)


def step_each(
    envs: Sequence[gym.Env], actions: np.ndarray, info_keys: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step single envs one by one: the result of ``step_many`` (:meth:`TaskEnvMixin.step_many`)."""
    results = [env.step(action) for env, action in zip(envs, actions, strict=True)]
    obs = np.stack([r[0] for r in results])
    reward = np.array([r[1] for r in results], dtype=np.float64)
    terminated = np.array([r[2] for r in results], dtype=bool)
    infos = np.array([[r[4][key] for key in info_keys] for r in results], dtype=np.float64)
    return obs, reward, terminated, infos.reshape(len(results), len(info_keys))


class GymTaskEnv(TaskEnvMixin, gym.Env):
    """Base class of a plain Gymnasium env as a metarl family, registered with
    :func:`~metarl.envs.register_family`.

    A subclass sets ``observation_space`` and ``action_space`` (a ``Box``; a ``Box`` or
    ``Discrete``) and ``task_distribution`` (a :class:`~metarl.tasks.TaskDistribution`, as a class
    attribute or in ``__init__``), and writes ``_apply_task(task)`` (make the env run a validated
    task, e.g. store its parameters) and ``reset`` / ``step`` as for any Gymnasium env; its
    ``reset`` calls ``super().reset(seed=seed)`` to seed ``self.np_random``. Episodes end at
    ``max_episode_steps`` (``horizon`` by default): ``step`` returns ``truncated=False``.

    The base class gives it the task API of every family:

    - ``reset(options={"task": t})`` switches to task ``t`` before the subclass's ``reset`` runs
      (``set_task(t)`` switches at once; other options raise ``ValueError``); ``task`` is the
      current one, the distribution's default task until another is set, so
      ``gymnasium.make(id)`` works bare;
    - ``info["task_id"]`` on every reset and step;
    - actions checked as in every family (finite, of the action space's shape and dtype);
    - ``step_many``, which the multi-process vector env calls (the subclass's ``step`` on each
      env), and the declarations ``varies``, ``reference``, ``horizon`` (200) and ``info_keys``
      (``()``) with defaults; ``family`` is the task distribution's.

    The subclass must be defined at module level (worker processes import it) and its
    constructor must take the ``**kwargs`` it is registered with.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "reset" in vars(cls):
            cls.reset = _reset_with_task(vars(cls)["reset"])
        if "step" in vars(cls):
            cls.step = _step_with_task(vars(cls)["step"])

    @property
    def family(self) -> str:
        """The family's name: its task distribution's."""
        return self.task_distribution.family


def _reset_with_task(reset: Callable[..., Any]) -> Callable[..., Any]:
    """A :class:`GymTaskEnv` subclass's ``reset`` with the task API (``_task_reset``)."""

    def task_reset(
        self: GymTaskEnv, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        return self._task_reset(lambda seed: reset(self, seed=seed), seed, options)

    return _named_like(task_reset, reset)


def _step_with_task(step: Callable[..., Any]) -> Callable[..., Any]:
    """A :class:`GymTaskEnv` subclass's ``step`` with the task API (``_task_step``)."""

    def task_step(self: GymTaskEnv, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self._task_step(lambda action: step(self, action), action)

    return _named_like(task_step, step)


def _named_like(wrapper: Callable[..., Any], method: Callable[..., Any]) -> Any:
    """``wrapper`` with the name and docstring of ``method``, and its own signature."""
    functools.update_wrapper(wrapper, method)
    del wrapper.__wrapped__  # inspect.signature (Gymnasium's env checker) reads the wrapper's
    return wrapper
