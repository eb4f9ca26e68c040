"""Lockstep episodes on a family's vector env, one task per sub-env, for PEARL's collection and
evaluation.

:class:`Collector` keeps one vector env per sub-env count (``gymnasium.make_vec``: the family's
native numpy vector env, or the process vector env of simulator families) and runs one episode
in every sub-env at once: ``act(obs)`` is called once per step for all of them. Actions are taken
in ``[-1, 1]^A`` and rescaled to the env's bounds; the episodes come back as arrays
``[H, n, ...]`` with a mask of the steps each sub-env really took.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from metarl.tasks import Task, TaskDistribution

__all__ = ["Collector", "Episodes"]


class Episodes(NamedTuple):
    """One episode per sub-env: fields ``[H, n, ...]`` float32, zero past an episode's end."""

    obs: np.ndarray
    action: np.ndarray
    """In ``[-1, 1]^A`` (the policy's space)."""
    reward: np.ndarray
    next_obs: np.ndarray
    terminal: np.ndarray
    """1 where the env terminated (not truncated): the critic target does not bootstrap there."""
    mask: np.ndarray
    """1 for a step the sub-env took."""
    success: np.ndarray | None
    """``[n]``: whether ``info["success"]`` was set on some step; ``None`` if the env has none."""

    @property
    def returns(self) -> np.ndarray:
        """Undiscounted return of each sub-env's episode, ``[n]`` float64."""
        return self.reward.sum(axis=0, dtype=np.float64)

    @property
    def steps(self) -> int:
        """Env steps taken over all sub-envs."""
        return int(self.mask.sum())

    def transitions(self, t: int) -> dict[str, np.ndarray]:
        """The transitions of step ``t`` of every sub-env (fields ``[n, ...]``)."""
        return {
            "obs": self.obs[t], "action": self.action[t], "reward": self.reward[t],
            "next_obs": self.next_obs[t], "terminal": self.terminal[t],
        }


class Collector:
    """Runs episodes of a family's tasks, one task per sub-env.

    Args:
        env_id: a registered family id.
        env_kwargs: passed to ``gymnasium.make_vec`` (``max_episode_steps``, family options).
        max_envs: how many vector envs (one per sub-env count) stay open at once.
    """

    def __init__(self, env_id: str, env_kwargs: Mapping[str, Any] | None = None, max_envs: int = 2):
        self.env_id, self.env_kwargs, self.max_envs = env_id, dict(env_kwargs or {}), max_envs
        self._envs: OrderedDict[int, gym.vector.VectorEnv] = OrderedDict()
        probe = self._vector_env(1)
        self.observation_space = probe.single_observation_space
        self.action_space = probe.single_action_space
        if not isinstance(self.action_space, gym.spaces.Box):
            raise ValueError(
                f"PEARL needs continuous (Box) actions; {env_id} has {self.action_space}"
            )
        self.task_distribution: TaskDistribution = probe.unwrapped.task_distribution
        self.horizon: int = self.env_kwargs.get(
            "max_episode_steps", gym.spec(env_id).max_episode_steps
        )

    def _vector_env(self, num_envs: int) -> gym.vector.VectorEnv:
        if num_envs in self._envs:
            self._envs.move_to_end(num_envs)
        else:
            if len(self._envs) >= self.max_envs:
                self._envs.popitem(last=False)[1].close()
            self._envs[num_envs] = gym.make_vec(self.env_id, num_envs=num_envs, **self.env_kwargs)
        return self._envs[num_envs]

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """Actions in ``[-1, 1]^A`` rescaled to the env's bounds."""
        low, high = self.action_space.low, self.action_space.high
        return (low + (np.clip(actions, -1.0, 1.0) + 1.0) * 0.5 * (high - low)).astype(
            self.action_space.dtype
        )

    def episodes(
        self, tasks: Sequence[Task], act: Callable[[np.ndarray], np.ndarray], seed: int
    ) -> Episodes:
        """One episode of each of ``tasks`` (sub-env ``i`` seeded ``seed + i``) with
        ``act(obs [n, O]) -> actions [n, A]`` in ``[-1, 1]``."""
        n, horizon = len(tasks), self.horizon
        envs = self._vector_env(n)
        obs, _ = envs.reset(seed=seed, options={"tasks": list(tasks)})
        obs_dim, action_dim = obs.shape[1], self.action_space.shape[0]
        buffers = {
            "obs": np.zeros((horizon, n, obs_dim), np.float32),
            "action": np.zeros((horizon, n, action_dim), np.float32),
            "reward": np.zeros((horizon, n), np.float32),
            "next_obs": np.zeros((horizon, n, obs_dim), np.float32),
            "terminal": np.zeros((horizon, n), np.float32),
            "mask": np.zeros((horizon, n), np.float32),
        }
        alive = np.ones(n, dtype=bool)
        success: np.ndarray | None = None
        for t in range(horizon):
            action = np.asarray(act(obs.astype(np.float32)), dtype=np.float32)
            next_obs, reward, terminated, truncated, info = envs.step(self.to_env(action))
            if "success" in info:
                success = np.zeros(n, dtype=bool) if success is None else success
                success |= alive & (np.asarray(info["success"]) > 0)
            live = alive.astype(np.float32)
            buffers["obs"][t] = obs * live[:, None]
            buffers["action"][t] = action * live[:, None]
            buffers["reward"][t] = reward * live
            buffers["next_obs"][t] = next_obs * live[:, None]
            buffers["terminal"][t] = terminated * live
            buffers["mask"][t] = live
            alive &= ~(terminated | truncated)
            obs = next_obs
            if not alive.any():
                break
        return Episodes(**buffers, success=success)

    def close(self) -> None:
        """Close every vector env this collector opened."""
        for envs in self._envs.values():
            envs.close()
        self._envs.clear()
