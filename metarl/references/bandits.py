"""Classical Bernoulli-bandit algorithms, vectorised over trials (one bandit per row).

- Thompson sampling (Thompson 1933; Chapelle & Li 2011) with a Beta(1, 1) prior on each arm:
  pull the arm whose posterior draw is largest.
- UCB1 (Auer, Cesa-Bianchi & Fischer 2002): pull each arm once, then the arm maximising
  ``mean + c sqrt(ln t / n_arm)`` with ``t`` the pulls so far (ties: the lowest arm). The
  exploration constant ``c`` is sqrt(2) in the textbook UCB1 (``ucb1``), tunable.
- epsilon-greedy: a uniformly random arm with probability ``epsilon`` (0.1 in ``epsilon-greedy``,
  tunable), else the arm with the best empirical mean (untried arms count as mean 0; ties broken
  uniformly at random).
- greedy: epsilon-greedy with ``epsilon = 0``. An untried arm counts as mean 0, so once an arm has
  paid, the untried arms are never pulled.

Each is exact: its randomness comes from a generator seeded with the evaluation's seed.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from metarl.references.agent import ReferenceAgent, TunableReference

__all__ = [
    "UCB1",
    "BanditActor",
    "BanditReference",
    "EpsilonGreedy",
    "EpsilonGreedyActor",
    "Greedy",
    "ThompsonActor",
    "ThompsonSampling",
    "TunableBanditReference",
    "UCB1Actor",
]

BANDIT = "metarl/Bandit-v0"


class BanditActor:
    """Per-row arm statistics (pulls and successes); subclasses choose the arm."""

    def __init__(self, num_rows: int, num_arms: int, rng: np.random.Generator):
        self.rng = rng
        self.pulls = np.zeros((num_rows, num_arms))
        self.successes = np.zeros((num_rows, num_arms))
        self._rows = np.arange(num_rows)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def observe(self, actions, rewards, next_obs, episode_end, active) -> None:
        rows = self._rows[active]
        self.pulls[rows, actions[active]] += 1
        self.successes[rows, actions[active]] += rewards[active]


class ThompsonActor(BanditActor):
    """Thompson sampling with a Beta(1, 1) prior per arm."""

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        draws = self.rng.beta(1 + self.successes, 1 + self.pulls - self.successes)
        return draws.argmax(axis=1)


class UCB1Actor(BanditActor):
    """UCB1 with exploration constant ``c``: each arm once, then the largest upper confidence
    bound."""

    def __init__(self, num_rows: int, num_arms: int, rng: np.random.Generator, *, c: float):
        super().__init__(num_rows, num_arms, rng)
        self.c = c

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        untried = self.pulls == 0
        t = self.pulls.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = self.successes / self.pulls + self.c * np.sqrt(np.log(t) / self.pulls)
        return np.where(untried.any(axis=1), untried.argmax(axis=1), bound.argmax(axis=1))


class EpsilonGreedyActor(BanditActor):
    """epsilon-greedy on the empirical means (untried arms: 0)."""

    def __init__(
        self, num_rows: int, num_arms: int, rng: np.random.Generator, *, epsilon: float
    ):
        super().__init__(num_rows, num_arms, rng)
        self.epsilon = epsilon

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        means = np.divide(
            self.successes, self.pulls, out=np.zeros_like(self.successes), where=self.pulls > 0
        )
        best = means == means.max(axis=1, keepdims=True)
        # a uniform choice among the best arms: the largest of uniform keys on them
        greedy = np.where(best, self.rng.uniform(size=means.shape), -1.0).argmax(axis=1)
        explore = self.rng.uniform(size=len(means)) < self.epsilon
        return np.where(explore, self.rng.integers(means.shape[1], size=len(means)), greedy)


class BanditReference(ReferenceAgent):
    """A Bernoulli-bandit reference acting through its :class:`BanditActor`."""

    env_ids = (BANDIT,)
    actor_class: ClassVar[type[BanditActor]]

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> BanditActor:
        arms = int(envs.single_action_space.n)
        return self.actor_class(
            envs.num_envs, arms, np.random.default_rng(seed), **self.actor_options(envs)
        )

    def actor_options(self, envs: gym.vector.VectorEnv) -> dict[str, Any]:
        """Keyword arguments of the actor beyond its rows, arms and generator."""
        return {}


class TunableBanditReference(TunableReference, BanditReference):
    """A bandit reference whose actor takes the hyperparameter as the keyword of its name."""

    def actor_options(self, envs: gym.vector.VectorEnv) -> dict[str, Any]:
        return {self.hyperparameter: self.value}


class ThompsonSampling(BanditReference):
    """Thompson sampling, Beta(1, 1) prior."""

    name, actor_class = "thompson", ThompsonActor


class UCB1(TunableBanditReference):
    """UCB1, exploration constant ``c`` (untuned: sqrt(2))."""

    name, actor_class = "ucb1", UCB1Actor
    hyperparameter, default = "c", math.sqrt(2)
    grid = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, math.sqrt(2), 2.0)


class EpsilonGreedy(TunableBanditReference):
    """epsilon-greedy (untuned: epsilon = 0.1)."""

    name, actor_class = "epsilon-greedy", EpsilonGreedyActor
    hyperparameter, default, maximum = "epsilon", 0.1, 1.0
    grid = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


class Greedy(BanditReference):
    """Greedy: epsilon-greedy with epsilon = 0."""

    name, actor_class = "greedy", EpsilonGreedyActor

    def actor_options(self, envs: gym.vector.VectorEnv) -> dict[str, Any]:
        return {"epsilon": 0.0}
