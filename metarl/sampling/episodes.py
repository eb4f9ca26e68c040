"""Episodes that a user collected, as arrays, and episodes collected from any single env.

:class:`Episode` is the container an agent adapts from when the experience comes from outside
metarl (a robot log, another simulator, your own loop); :func:`episode_batch` turns a list of them
into the one-task :class:`~metarl.sampling.batch.EpisodeBatch` that agents consume, and
:func:`collect_episodes` runs any ``gymnasium.Env`` with a policy's ``predict`` to make them.

>>> import numpy as np
>>> episode = Episode(np.zeros((3, 2)), np.zeros((3, 2)), np.array([-1.0, -0.5, 0.0]))
>>> episode_batch([episode]).returns
tensor([-1.5000])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from metarl.envs.core import as_array, check_actions, finite_array
from metarl.sampling.batch import EpisodeBatch
from metarl.validation import require_int, short_repr

__all__ = ["Episode", "check_episodes", "collect_episodes", "episode_batch"]


@dataclass(frozen=True)
class Episode:
    """One episode of one task, from arrays.

    Args:
        observations: ``(T, obs_dim)``, the observation before each of the ``T`` steps.
        actions: ``(T, action_dim)`` for continuous actions, ``(T,)`` integers for discrete ones.
        rewards: ``(T,)``, the reward of each step.
        terminated: whether the episode ended in a terminal state (``False``: it was cut, by a
            time limit or by you).
        final_observation: ``(obs_dim,)``, the observation after the last step; used only by
            agents that bootstrap cut episodes (default: the last of ``observations``).

    Observations, rewards and continuous actions must be finite real numbers within float32
    (``ValueError`` naming the first entry that is not; ``TypeError`` for other types).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool = False
    final_observation: np.ndarray | None = None

    def __post_init__(self) -> None:
        obs = finite_array("observations", self.observations)
        actions = as_array("actions", self.actions)
        rewards = finite_array("rewards", self.rewards)
        if obs.ndim != 2 or len(obs) < 1:
            raise ValueError(f"observations must have shape (T, obs_dim), T >= 1, got {obs.shape}")
        steps = len(obs)
        if actions.ndim not in (1, 2) or len(actions) != steps:
            raise ValueError(
                f"actions must have shape ({steps}, action_dim) or ({steps},), got {actions.shape}"
            )
        if rewards.shape != (steps,):
            raise ValueError(f"rewards must have shape ({steps},), got {rewards.shape}")
        final = obs[-1] if self.final_observation is None else self.final_observation
        final = finite_array("final_observation", final)
        if final.shape != obs.shape[1:]:
            raise ValueError(f"final_observation must have shape {obs.shape[1:]}, got {final.shape}")
        if np.issubdtype(actions.dtype, np.integer):
            actions = actions.astype(np.int64)
        else:
            actions = finite_array("actions", actions)
        object.__setattr__(self, "observations", obs)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "rewards", rewards)
        object.__setattr__(self, "terminated", bool(self.terminated))
        object.__setattr__(self, "final_observation", final)

    def __len__(self) -> int:
        return len(self.observations)


def check_episodes(episodes: Any, obs_dim: int, action_space: gym.Space) -> list[Episode]:
    """``episodes`` as a list, if they fit an agent: observations of size ``obs_dim`` and
    actions of ``action_space``, by the rule every env applies to an action
    (:func:`~metarl.envs.core.check_actions`: integers inside a ``Discrete`` space, finite
    numbers of a ``Box``'s shape).

    Raises:
        ValueError: not a non-empty sequence of :class:`Episode`, or one whose observations or
            actions do not fit (naming it, the expected and the given shape or value).
        TypeError: float actions for a ``Discrete`` space.
    """
    if not isinstance(episodes, Iterable) or isinstance(episodes, str | bytes):
        episodes = ()
    episodes = list(episodes)
    if not episodes or not all(isinstance(e, Episode) for e in episodes):
        raise ValueError(
            f"episodes must be a non-empty list of metarl.Episode, got {short_repr(episodes)}"
        )
    for i, e in enumerate(episodes):
        size = e.observations.shape[1]
        if size != obs_dim:
            raise ValueError(
                f"episodes[{i}].observations have size {size}, the policy's {obs_dim}: "
                f"expected shape ({len(e)}, {obs_dim}), got {e.observations.shape}"
            )
        shape = (len(e), *action_space.shape)
        check_actions(action_space, e.actions, shape, what=f"episodes[{i}].actions")
    return episodes


def episode_batch(episodes: Sequence[Episode]) -> EpisodeBatch:
    """The episodes of one task as a padded, time-major one-task batch.

    Raises:
        ValueError: no episodes, or episodes of different observation or action shapes.
    """
    episodes = list(episodes)
    if not episodes or not all(isinstance(e, Episode) for e in episodes):
        raise ValueError(f"need a non-empty list of metarl.Episode, got {episodes!r:.200}")
    first = episodes[0]
    for e in episodes:
        if e.observations.shape[1:] != first.observations.shape[1:] or (
            e.actions.shape[1:] != first.actions.shape[1:] or e.actions.dtype != first.actions.dtype
        ):
            raise ValueError("every episode must have the same observation and action shapes")
    steps, count = max(len(e) for e in episodes), len(episodes)
    obs = np.zeros((steps, count, *first.observations.shape[1:]), dtype=np.float32)
    actions = np.zeros((steps, count, *first.actions.shape[1:]), dtype=first.actions.dtype)
    rewards = np.zeros((steps, count), dtype=np.float32)
    mask = np.zeros((steps, count), dtype=np.float32)
    terminated = np.zeros((steps, count), dtype=bool)
    truncated = np.zeros((steps, count), dtype=bool)
    for b, e in enumerate(episodes):
        n = len(e)
        obs[:n, b], actions[:n, b], rewards[:n, b], mask[:n, b] = (
            e.observations, e.actions, e.rewards, 1.0,
        )
        terminated[n - 1, b], truncated[n - 1, b] = e.terminated, not e.terminated
    return EpisodeBatch(
        observations=torch.from_numpy(obs),
        actions=torch.from_numpy(actions),
        rewards=torch.from_numpy(rewards),
        terminated=torch.from_numpy(terminated),
        truncated=torch.from_numpy(truncated),
        mask=torch.from_numpy(mask),
        final_observations=torch.from_numpy(np.stack([e.final_observation for e in episodes])),
        task_index=torch.zeros(count, dtype=torch.int64),
    )


def collect_episodes(
    env: gym.Env,
    policy: Any,
    num_episodes: int,
    seed: int | None = None,
    max_steps: int | None = None,
) -> list[Episode]:
    """Run ``num_episodes`` episodes of ``env`` (whatever task it runs) with ``policy``.

    ``policy`` has SB3's ``predict(obs, state=None, episode_start=None) -> (action, state)`` (an
    adapted metarl policy, or an SB3 model); its state is carried from step to step, and
    ``episode_start`` marks each episode's first step. Episode ``i`` starts with
    ``env.reset(seed=seed + i)`` (unseeded for ``seed=None``) and ends when the env terminates or
    truncates it, or after ``max_steps`` steps (default: the env's time limit,
    ``env.spec.max_episode_steps``).

    Raises:
        ValueError: the env has no time limit and no ``max_steps`` is given.
    """
    require_int("num_episodes", num_episodes)
    limit = max_steps or getattr(env.spec, "max_episode_steps", None)
    if limit is None:
        raise ValueError(
            "the env has no time limit (env.spec.max_episode_steps); pass max_steps, or make it "
            "with gymnasium.make(..., max_episode_steps=N)"
        )
    episodes, state = [], None
    for i in range(num_episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + i)
        observations, actions, rewards = [], [], []
        terminated = truncated = False
        while not (terminated or truncated) and len(rewards) < limit:
            start = np.array([not rewards])
            action, state = policy.predict(obs, state=state, episode_start=start)
            observations.append(obs)
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
        episodes.append(
            Episode(np.stack(observations), np.stack(actions), np.array(rewards), terminated, obs)
        )
    return episodes
