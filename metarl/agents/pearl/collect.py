"""Lockstep episodes on a family's vector env, one task per sub-env, for PEARL's collection and
evaluation.

:class:`Collector` keeps one vector env per sub-env count (``gymnasium.make_vec``: the family's
native numpy vector env, or the process vector env of simulator families) and runs one episode
in every sub-env at once: ``act(obs)`` is called once per step for all of them. Actions are taken
in ``[-1, 1]^A`` and rescaled to the env's bounds; the episodes come back as arrays
``[H, n, ...]`` with a mask of the steps each sub-env really took.

PEARL's sparse point robot trains its critics on dense rewards and gives the encoder only the
sparse ones. ``critic_env_kwargs`` does that for any family whose options change the reward but
not the dynamics: a twin vector env made with them is stepped in lockstep with the same seeds,
tasks and actions, and its rewards are the critics' (:attr:`Episodes.critic_reward`); a twin whose
observations drift from the env's raises ``ValueError``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from metarl.tasks import Task, TaskDistribution

__all__ = ["Collector", "Episodes", "to_env_units", "to_policy_units"]


def to_env_units(actions: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """Actions in the policy's ``[-1, 1]^A`` rescaled to ``space``'s bounds."""
    low, high = space.low, space.high
    return (low + (np.clip(actions, -1.0, 1.0) + 1.0) * 0.5 * (high - low)).astype(space.dtype)


def to_policy_units(actions: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """Actions within ``space``'s bounds mapped to the policy's ``[-1, 1]^A`` (clipped first)."""
    low, high = space.low, space.high
    clipped = np.clip(actions, low, high)
    return (2.0 * (clipped - low) / (high - low) - 1.0).astype(np.float32)


class Episodes(NamedTuple):
    """One episode per sub-env: fields ``[H, n, ...]`` float32, zero past an episode's end."""

    obs: np.ndarray
    action: np.ndarray
    """In ``[-1, 1]^A`` (the policy's space)."""
    reward: np.ndarray
    """The env's reward (what the encoder sees, and what the returns sum)."""
    critic_reward: np.ndarray
    """The reward the critics learn from: the twin env's under ``critic_env_kwargs``, else
    ``reward``."""
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

    def transitions(self, t: int, critic: bool = False) -> dict[str, np.ndarray]:
        """The transitions of step ``t`` of every sub-env (fields ``[n, ...]``), with the critics'
        reward if ``critic``."""
        return {
            "obs": self.obs[t], "action": self.action[t],
            "reward": (self.critic_reward if critic else self.reward)[t],
            "next_obs": self.next_obs[t], "terminal": self.terminal[t],
        }


class Collector:
    """Runs episodes of a family's tasks, one task per sub-env.

    Args:
        env_id: a registered family id.
        env_kwargs: passed to ``gymnasium.make_vec`` (``max_episode_steps``, family options).
        max_envs: how many vector envs (one per sub-env count) stay open at once.
        critic_env_kwargs: options of a twin env whose rewards the critics learn from (see the
            module docstring); ``None``: the env's own rewards.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        max_envs: int = 2,
        critic_env_kwargs: Mapping[str, Any] | None = None,
    ):
        self.env_id, self.env_kwargs, self.max_envs = env_id, dict(env_kwargs or {}), max_envs
        self.critic_env_kwargs = None if critic_env_kwargs is None else dict(critic_env_kwargs)
        self._envs: OrderedDict[int, tuple[gym.vector.VectorEnv, ...]] = OrderedDict()
        probe = self._vector_env(1)[0]
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

    def _vector_env(self, num_envs: int) -> tuple[gym.vector.VectorEnv, ...]:
        """The env of ``num_envs`` sub-envs, and its twin under ``critic_env_kwargs``."""
        if num_envs in self._envs:
            self._envs.move_to_end(num_envs)
        else:
            if len(self._envs) >= self.max_envs:
                for envs in self._envs.popitem(last=False)[1]:
                    envs.close()
            kwargs = [self.env_kwargs]
            if self.critic_env_kwargs is not None:
                kwargs.append({**self.env_kwargs, **self.critic_env_kwargs})
            self._envs[num_envs] = tuple(
                gym.make_vec(self.env_id, num_envs=num_envs, **k) for k in kwargs
            )
        return self._envs[num_envs]

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """Actions in ``[-1, 1]^A`` rescaled to the env's bounds."""
        return to_env_units(actions, self.action_space)

    def episodes(
        self, tasks: Sequence[Task], act: Callable[[np.ndarray], np.ndarray], seed: int
    ) -> Episodes:
        """One episode of each of ``tasks`` (sub-env ``i`` seeded ``seed + i``) with
        ``act(obs [n, O]) -> actions [n, A]`` in ``[-1, 1]``."""
        n, horizon = len(tasks), self.horizon
        envs, *twin = self._vector_env(n)
        obs, _ = envs.reset(seed=seed, options={"tasks": list(tasks)})
        for other in twin:
            other.reset(seed=seed, options={"tasks": list(tasks)})
        obs_dim, action_dim = obs.shape[1], self.action_space.shape[0]
        buffers = {
            "obs": np.zeros((horizon, n, obs_dim), np.float32),
            "action": np.zeros((horizon, n, action_dim), np.float32),
            "reward": np.zeros((horizon, n), np.float32),
            "critic_reward": np.zeros((horizon, n), np.float32),
            "next_obs": np.zeros((horizon, n, obs_dim), np.float32),
            "terminal": np.zeros((horizon, n), np.float32),
            "mask": np.zeros((horizon, n), np.float32),
        }
        alive = np.ones(n, dtype=bool)
        success: np.ndarray | None = None
        for t in range(horizon):
            action = np.asarray(act(obs.astype(np.float32)), dtype=np.float32)
            next_obs, reward, terminated, truncated, info = envs.step(self.to_env(action))
            critic_reward = reward
            for other in twin:
                twin_obs, critic_reward, *_ = other.step(self.to_env(action))
                if not np.allclose(twin_obs, next_obs):
                    raise ValueError(
                        f"critic_env_kwargs {self.critic_env_kwargs} change {self.env_id}'s "
                        "dynamics, not only its reward"
                    )
            if "success" in info:
                success = np.zeros(n, dtype=bool) if success is None else success
                success |= alive & (np.asarray(info["success"]) > 0)
            live = alive.astype(np.float32)
            buffers["obs"][t] = obs * live[:, None]
            buffers["action"][t] = action * live[:, None]
            buffers["reward"][t] = reward * live
            buffers["critic_reward"][t] = critic_reward * live
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
        for pair in self._envs.values():
            for envs in pair:
                envs.close()
        self._envs.clear()
