"""Classical Bernoulli-bandit algorithms, vectorised over trials (one bandit per row).

- Thompson sampling (Thompson 1933; Chapelle & Li 2011) with a Beta(1, 1) prior on each arm:
  pull the arm whose posterior draw is largest.
- UCB1 (Auer, Cesa-Bianchi & Fischer 2002): pull each arm once, then the arm maximising
  ``mean + sqrt(2 ln t / n_arm)`` with ``t`` the pulls so far (ties: the lowest arm).
- epsilon-greedy: a uniformly random arm with probability ``epsilon`` (0.1), else the arm with
  the best empirical mean (untried arms count as mean 0; ties broken uniformly at random).

Each is exact: its randomness comes from a generator seeded with the evaluation's seed.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from metarl.references.agent import ReferenceAgent

__all__ = [
    "UCB1",
    "BanditActor",
    "EpsilonGreedy",
    "EpsilonGreedyActor",
    "ThompsonActor",
    "ThompsonSampling",
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
    """UCB1: each arm once, then the largest upper confidence bound."""

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        untried = self.pulls == 0
        t = self.pulls.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = self.successes / self.pulls + np.sqrt(2 * np.log(t) / self.pulls)
        return np.where(untried.any(axis=1), untried.argmax(axis=1), bound.argmax(axis=1))


class EpsilonGreedyActor(BanditActor):
    """epsilon-greedy on the empirical means (untried arms: 0)."""

    def __init__(
        self, num_rows: int, num_arms: int, rng: np.random.Generator, epsilon: float = 0.1
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


class _BanditReference(ReferenceAgent):
    env_ids = (BANDIT,)
    actor_class: type[BanditActor]

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> BanditActor:
        arms = int(envs.single_action_space.n)
        return self.actor_class(envs.num_envs, arms, np.random.default_rng(seed))


class ThompsonSampling(_BanditReference):
    """Thompson sampling, Beta(1, 1) prior."""

    name, actor_class = "thompson", ThompsonActor


class UCB1(_BanditReference):
    """UCB1."""

    name, actor_class = "ucb1", UCB1Actor


class EpsilonGreedy(_BanditReference):
    """epsilon-greedy, epsilon = 0.1."""

    name, actor_class = "epsilon-greedy", EpsilonGreedyActor
