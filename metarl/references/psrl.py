"""Posterior sampling for reinforcement learning (PSRL; Strens 2000, Osband et al. 2013) on the
random tabular MDPs, vectorised over trials (one MDP per row).

The prior is the family's own: each transition row ``P(. | s, a)`` is Dirichlet(1) and each reward
mean is N(1, 1) with N(mean, 1) reward noise. The posterior is conjugate: Dirichlet(1 + counts)
and N((1 + sum of rewards) / (1 + n), 1 / (1 + n)). At the start of every episode PSRL draws
one MDP from the posterior, solves it by finite-horizon value iteration over the episode's
``max_episode_steps`` steps, and follows the optimal non-stationary policy of the draw for the
episode (ties: the lowest action).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from metarl.references.agent import ReferenceAgent

__all__ = ["PSRL", "PSRLActor", "value_iteration"]

TABULAR = "metarl/TabularMDP-v0"
PRIOR_MEAN, PRIOR_VARIANCE, NOISE_VARIANCE = 1.0, 1.0, 1.0
"""The family's reward-mean prior N(1, 1) and reward noise N(0, 1)."""


def value_iteration(transitions: np.ndarray, rewards: np.ndarray, horizon: int) -> np.ndarray:
    """Optimal finite-horizon action values of a batch of MDPs.

    Args:
        transitions: ``[B, S, A, S]`` with ``transitions[b, s, a, s']`` = P(s' | s, a).
        rewards: ``[B, S, A]`` expected rewards.
        horizon: steps of the episode.

    Returns:
        ``[B, horizon, S, A]``: ``Q[b, h, s, a]``, the expected return of ``a`` in ``s`` with
        ``horizon - h`` steps left, then acting optimally.
    """
    q = np.zeros((rewards.shape[0], horizon, *rewards.shape[1:]))
    value = np.zeros(rewards.shape[:2])
    for h in range(horizon - 1, -1, -1):
        q[:, h] = rewards + np.einsum("bsan,bn->bsa", transitions, value)
        value = q[:, h].max(axis=2)
    return q


class PSRLActor:
    """PSRL for ``num_rows`` tabular MDPs of ``S`` states (one-hot observations) and ``A``
    actions, episodes of ``horizon`` steps."""

    def __init__(
        self, num_rows: int, num_states: int, num_actions: int, horizon: int,
        rng: np.random.Generator,
    ):
        self.rng, self.horizon = rng, horizon
        self.counts = np.zeros((num_rows, num_states, num_actions, num_states))
        self.reward_sums = np.zeros((num_rows, num_states, num_actions))
        self.visits = np.zeros((num_rows, num_states, num_actions))
        self.q = np.zeros((num_rows, horizon, num_states, num_actions))
        self.step = np.zeros(num_rows, dtype=np.intp)
        self.planning = np.ones(num_rows, dtype=bool)
        self._rows = np.arange(num_rows)
        self._states = np.zeros(num_rows, dtype=np.intp)

    def sample_mdps(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One posterior draw of the transitions and reward means of ``rows``."""
        gammas = self.rng.standard_gamma(1.0 + self.counts[rows])
        transitions = gammas / gammas.sum(axis=-1, keepdims=True)
        precision = 1 / PRIOR_VARIANCE + self.visits[rows] / NOISE_VARIANCE
        mean = (PRIOR_MEAN / PRIOR_VARIANCE + self.reward_sums[rows] / NOISE_VARIANCE) / precision
        rewards = mean + self.rng.standard_normal(mean.shape) / np.sqrt(precision)
        return transitions, rewards

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        plan = self._rows[active & self.planning]
        if plan.size:
            self.q[plan] = value_iteration(*self.sample_mdps(plan), self.horizon)
            self.planning[plan] = False
        self._states = obs.argmax(axis=1)
        step = np.minimum(self.step, self.horizon - 1)
        return self.q[self._rows, step, self._states].argmax(axis=1)

    def observe(self, actions, rewards, next_obs, episode_end, active) -> None:
        rows, s, a = self._rows[active], self._states[active], actions[active]
        self.counts[rows, s, a, next_obs[active].argmax(axis=1)] += 1
        self.reward_sums[rows, s, a] += rewards[active]
        self.visits[rows, s, a] += 1
        self.step[rows] += 1
        ended = self._rows[episode_end]
        self.step[ended] = 0
        self.planning[ended] = True


class PSRL(ReferenceAgent):
    """PSRL on the random tabular MDPs."""

    name = "psrl"
    env_ids = (TABULAR,)

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> PSRLActor:
        return PSRLActor(
            envs.num_envs,
            int(envs.single_observation_space.shape[0]),
            int(envs.single_action_space.n),
            int(envs.max_episode_steps),
            np.random.default_rng(seed),
        )
