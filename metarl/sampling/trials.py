"""Trials on a native vector env: ``episodes`` consecutive episodes of one task per sub-env.

A trial (Duan et al. 2016) is the episode of the meta-MDP: an in-context agent keeps what it
learned in its state across the episodes of a trial and starts afresh on the next trial.
:func:`run_trials` runs one trial per sub-env, all sub-envs stepping together (one batched
``actor.act`` per step), and returns each trial's undiscounted episode returns.

The vector envs reset finished sub-envs on their next step (Gymnasium's ``NEXT_STEP``
autoreset): that step's action is ignored and it returns the next episode's first observation.
:func:`run_trials` passes such rows and rows whose trial is over as not ``active``; the actor
must still return a valid action for them, and must leave their state alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from metarl.tasks import Task
from metarl.validation import require_int

__all__ = ["TrialActor", "make_trial_envs", "run_trials"]


class TrialActor(Protocol):
    """An agent acting in trials, one per sub-env (row)."""

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Actions of every row at observations ``obs``; only ``active`` rows' actions count."""
        ...

    def observe(
        self,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        episode_end: np.ndarray,
        active: np.ndarray,
    ) -> None:
        """The outcome of the step of the ``active`` rows; ``episode_end`` marks the rows whose
        episode ended on it (their next observation is the next episode's first)."""
        ...


def make_trial_envs(
    env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None
) -> gym.vector.VectorEnv:
    """The family's native vector env with ``num_envs`` sub-envs (``gymnasium.make_vec``)."""
    return gym.make_vec(env_id, num_envs=require_int("num_envs", num_envs), **dict(env_kwargs or {}))


def run_trials(
    envs: gym.vector.VectorEnv,
    tasks: Sequence[Task],
    episodes: int,
    actor: TrialActor,
    seed: int,
) -> np.ndarray:
    """One trial of ``episodes`` episodes per sub-env, sub-env ``i`` on ``tasks[i]``.

    The envs are reset with ``seed`` (sub-env ``i`` with ``seed + i``). Returns the episode
    returns, ``[num_envs, episodes]`` float64.
    """
    episodes = require_int("episodes", episodes)
    if len(tasks) != envs.num_envs:
        raise ValueError(f"need one task per sub-env ({envs.num_envs}), got {len(tasks)}")
    obs, _ = envs.reset(seed=seed, options={"tasks": list(tasks)})
    rows = np.arange(envs.num_envs)
    episode = np.zeros(envs.num_envs, dtype=np.intp)
    restarting = np.zeros(envs.num_envs, dtype=bool)
    returns = np.zeros((envs.num_envs, episodes))
    while (episode < episodes).any():
        active = (episode < episodes) & ~restarting
        actions = actor.act(obs, active)
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        ended = (terminated | truncated) & active
        returns[rows[active], episode[active]] += rewards[active]
        actor.observe(actions, rewards, obs, ended, active)
        restarting = ended
        episode += ended
    return returns
