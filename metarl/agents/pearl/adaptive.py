"""PEARL under the inference protocol (:class:`~metarl.agents.inference.AdaptiveAgent`).

Adapting is inferring the task: ``context_episodes`` episodes are run as PEARL evaluates (the
first with ``z`` from the prior, each later one with ``z`` from the posterior given the earlier
ones), or the given episodes are taken as the context; the adapted policy then acts with one ``z``
drawn from the posterior given all of them. ``agent.predict`` acts before any experience: with
``z`` from the prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from metarl.agents.inference import (
    check_observation,
    require_finite_result,
    require_one_source,
)
from metarl.agents.pearl.collect import Collector, Episodes, to_env_units, to_policy_units
from metarl.agents.pearl.encoder import Gaussian
from metarl.agents.pearl.graded import posterior_trial, task_latent, task_posterior
from metarl.agents.pearl.model import PEARLModel
from metarl.sampling import Episode, check_episodes, collect_episodes
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int, require_seed

__all__ = ["LatentPolicy", "PEARLAdaptiveAgent", "as_context"]


def as_context(
    episodes: Sequence[Episode], obs_dim: int, action_space: gym.spaces.Box
) -> Episodes:
    """User episodes as one task's context (fields ``[H, 1, ...]``, one row of all their steps;
    actions mapped to the policy's ``[-1, 1]``); ``ValueError`` if they do not fit the policy's
    spaces (:func:`~metarl.sampling.check_episodes`)."""
    episodes = check_episodes(episodes, obs_dim, action_space)
    obs = np.concatenate([e.observations for e in episodes])
    next_obs = np.concatenate(
        [np.concatenate([e.observations[1:], e.final_observation[None]]) for e in episodes]
    )
    rewards = np.concatenate([e.rewards for e in episodes])
    zeros = np.zeros_like(rewards)
    return Episodes(
        obs=obs[:, None], action=to_policy_units(np.concatenate([e.actions for e in episodes]),
                                                 action_space)[:, None],
        reward=rewards[:, None], critic_reward=rewards[:, None], next_obs=next_obs[:, None],
        terminal=zeros[:, None], mask=np.ones_like(rewards)[:, None], success=None,
    )


class LatentPolicy:
    """PEARL's policy conditioned on one task embedding ``z`` ``[1, L]``; it acts on numpy
    observations with actions in ``action_space``'s units (its state is always ``None``).

    ``deterministic`` (here or in ``predict``) takes the mean action, as PEARL evaluates.
    ``posterior`` is the distribution ``z`` was drawn from (its ``variance`` says how sure the
    agent is of the task), where known."""

    def __init__(
        self,
        model: PEARLModel,
        z: torch.Tensor,
        action_space: gym.spaces.Box,
        seed: int,
        deterministic: bool = False,
        posterior: Gaussian | None = None,
    ):
        self.model, self.z, self.action_space = model, z, action_space
        self.posterior = posterior
        self.obs_dim = int(model.policy.obs_dim)
        self.deterministic = deterministic
        self.generator = torch.Generator().manual_seed(seed)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """Action(s) for one observation ``(obs_dim,)`` or a batch ``(n, obs_dim)``."""
        obs = check_observation(observation, self.obs_dim)
        return _act(
            self.model, obs, self.z, self.action_space, deterministic or self.deterministic,
            self.generator,
        ), None


def _act(
    model: PEARLModel,
    obs: np.ndarray,
    z: torch.Tensor,
    action_space: gym.spaces.Box,
    deterministic: bool,
    generator: torch.Generator,
) -> np.ndarray:
    """The policy's action(s) in ``action_space``'s units for checked observations
    ``(obs_dim,)`` or ``(n, obs_dim)`` given ``z`` ``[1, L]`` or ``[n, L]``."""
    batch = obs.reshape(-1, int(model.policy.obs_dim))
    action = model.act(batch, z.expand(len(batch), -1), deterministic, generator)
    action = to_env_units(action, action_space)
    require_finite_result("the policy's action", action)
    return action[0] if obs.ndim == 1 else action


class PEARLAdaptiveAgent:
    """A trained PEARL model as an :class:`~metarl.agents.inference.AdaptiveAgent`.

    Args:
        model: the networks.
        collector: runs ``adapt(task)``'s episodes on the family it was trained on (the trainer's;
            :meth:`close` closes it).
        context_episodes: episodes ``adapt(task)`` and ``adapt(env=...)`` collect.
        deterministic: collect them with the mean action (PEARL's evaluation).
    """

    def __init__(
        self,
        model: PEARLModel,
        collector: Collector,
        context_episodes: int = 2,
        deterministic: bool = True,
    ):
        self.model, self.collector = model, collector
        self.context_episodes = require_int("context_episodes", context_episodes)
        self.deterministic = deterministic
        self._generator = torch.Generator().manual_seed(0)

    @property
    def task_distribution(self) -> TaskDistribution:
        """The family's tasks."""
        return self.collector.task_distribution

    @torch.no_grad()
    def adapt(
        self,
        task: Task | None = None,
        *,
        env: gym.Env | None = None,
        episodes: Sequence[Episode] | None = None,
        seed: int = 0,
    ) -> LatentPolicy:
        """The policy conditioned on ``z`` from the posterior given the experience (see
        :class:`~metarl.agents.inference.AdaptiveAgent`).

        Raises:
            ValueError: not exactly one of ``task``, ``env``, ``episodes``; a task of another
                family; episodes whose observations or actions do not fit the model's spaces.
        """
        require_one_source(task, env, episodes)
        seed = require_seed("seed", seed)
        generator = torch.Generator().manual_seed(seed)
        space, obs_dim = self.collector.action_space, int(self.model.policy.obs_dim)
        if task is not None:
            history = posterior_trial(
                self.model, self.collector, [self.task_distribution.validate(task)],
                self.context_episodes, seed, generator, self.deterministic,
            )
        elif env is not None:
            history = []
            for k in range(self.context_episodes):
                policy = LatentPolicy(
                    self.model, task_latent(self.model, history, 1, generator), space, seed + k,
                    self.deterministic,
                )
                collected = collect_episodes(env, policy, 1, seed=seed + k)
                history.append(as_context(collected, obs_dim, space))
        else:
            history = [as_context(episodes, obs_dim, space)]
        posterior = task_posterior(self.model, history, 1)
        z = posterior.sample(generator)
        require_finite_result("the task posterior", posterior.mean, posterior.variance, z)
        return LatentPolicy(self.model, z, space, seed, posterior=posterior)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """Action(s) of the un-adapted policy, as :meth:`LatentPolicy.predict` with ``z`` from
        the prior: its mean and the mean action where ``deterministic``; otherwise a new draw
        of ``z`` for every row at every call, and a sampled action (both from one stream
        seeded with 0 when the agent is made). The state is always ``None``."""
        obs = check_observation(observation, int(self.model.policy.obs_dim))
        rows = len(obs) if obs.ndim == 2 else 1
        prior = self.model.encoder.prior(rows, self.model.log_alpha.device)
        z = prior.mean if deterministic else prior.sample(self._generator)
        return _act(
            self.model, obs, z, self.collector.action_space, deterministic, self._generator
        ), None

    def close(self) -> None:
        """Close the collection envs."""
        self.collector.close()
