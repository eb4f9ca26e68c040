"""Wrappers that expose or resample tasks, so any Gymnasium or SB3 algorithm can use a family."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from metarl.tasks import Task, TaskDistribution

__all__ = ["TaskObservation", "TaskResampling"]


def _task_distribution(env: gym.Env) -> TaskDistribution:
    distribution = getattr(env.unwrapped, "task_distribution", None)
    if not isinstance(distribution, TaskDistribution):
        raise TypeError(
            f"{env.unwrapped!r} is not a metarl family (it has no task_distribution); "
            "wrap an env made with gymnasium.make('metarl/...')"
        )
    return distribution


class TaskObservation(gym.ObservationWrapper):
    """Append the current task's parameters (flattened, in name order) to every observation.

    The oracle setting: a policy that sees the task needs no adaptation. Requires a 1-D ``Box``
    observation space; the appended part is bounded by each parameter's allowed range. The
    observations keep the env's float precision (float64 for MuJoCo, at least float32).

    The task changes only when the env's does: for training on many tasks, put it around
    :class:`TaskResampling` (``TaskObservation(TaskResampling(env))``).
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        distribution = _task_distribution(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"TaskObservation needs a 1-D Box observation space, got {space}")
        self._dtype = np.result_type(space.dtype, np.float32)
        low, high = [space.low], [space.high]
        for name in sorted(distribution.parameters):  # the order of Task.flat()
            parameter = distribution.parameters[name]
            size = int(np.prod(parameter.shape, dtype=int))
            lo, hi = parameter.bounds()
            low.append(np.full(size, lo))
            high.append(np.full(size, hi))
        self.observation_space = gym.spaces.Box(
            np.concatenate(low).astype(self._dtype),
            np.concatenate(high).astype(self._dtype),
            dtype=self._dtype,
        )
        self._task_features: tuple[Task, np.ndarray] | None = None

    def observation(self, observation: np.ndarray) -> np.ndarray:
        task = self.env.unwrapped.task
        if self._task_features is None or self._task_features[0] is not task:
            self._task_features = (task, task.flat().astype(self._dtype))
        return np.concatenate([observation.astype(self._dtype), self._task_features[1]])


class TaskResampling(gym.Wrapper):
    """Draw a new task from a split at every reset: multi-task training for any algorithm.

    Args:
        env: an env of a metarl family.
        split: ``"train"`` (default), ``"test"`` or ``"test-ood"``.
        seed: seed of the task stream; ``reset(seed=s)`` restarts the stream from ``s``.

    A task passed explicitly with ``reset(options={"task": t})`` takes precedence.
    """

    def __init__(self, env: gym.Env, split: str = "train", seed: int | None = None):
        super().__init__(env)
        self.tasks = _task_distribution(env).split(split)
        self._task_rng = np.random.default_rng(seed)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._task_rng = np.random.default_rng([seed, 0x7A5C])
        options = dict(options or {})
        if "task" not in options:
            options["task"] = self.tasks.sample(1, seed=self._task_rng)[0]
        return self.env.reset(seed=seed, options=options)
