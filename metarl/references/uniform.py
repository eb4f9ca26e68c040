"""Uniformly random actions: the floor of every table."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from metarl.references.agent import ReferenceAgent

__all__ = ["RandomActions", "UniformActor"]


class UniformActor:
    """Actions drawn uniformly from the action space (``Box``: within its bounds)."""

    def __init__(self, space: gym.Space, num_rows: int, rng: np.random.Generator):
        self.space, self.num_rows, self.rng = space, num_rows, rng

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        if isinstance(self.space, gym.spaces.Discrete):
            return int(self.space.start) + self.rng.integers(self.space.n, size=self.num_rows)
        shape = (self.num_rows, *self.space.shape)
        return self.rng.uniform(self.space.low, self.space.high, shape).astype(self.space.dtype)

    def observe(self, actions, rewards, next_obs, episode_end, active) -> None:
        """Random actions learn nothing."""


class RandomActions(ReferenceAgent):
    """Uniformly random actions on any family."""

    name = "random-actions"

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> UniformActor:
        return UniformActor(envs.single_action_space, envs.num_envs, np.random.default_rng(seed))
