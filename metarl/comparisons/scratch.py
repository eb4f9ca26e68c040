"""The scratch comparison: a fresh PPO per task, learning without any prior."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

from metarl.agents.device import resolve_device
from metarl.comparisons.agent import ComparisonAgent
from metarl.comparisons.checks import (
    RESERVED_PPO_KWARGS,
    check_arch,
    check_eval_args,
    check_json_mapping,
    derive_seed,
    max_episode_steps,
)
from metarl.comparisons.rollout import feedforward_actor, run_episodes
from metarl.comparisons.sb3_policy import policy_kwargs
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting
from metarl.tasks import Task

logger = logging.getLogger(__name__)


def _batch_size_near(n_steps: int, target: int = 64) -> int:
    """The divisor of ``n_steps`` (> 1 where possible) closest to ``target``: no ragged minibatch."""
    divisors = [d for d in range(2, n_steps + 1) if n_steps % d == 0] or [n_steps]
    return min(divisors, key=lambda d: (abs(d - target), d))


def scratch_returns(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """A fresh PPO per task: column ``k`` after ``k`` updates of ``episodes * horizon`` steps.

    Each PPO trains on an env fixed to its task with ``n_steps = episodes * max_episode_steps``
    (one rollout and one PPO update per column; column 0 is the untrained policy) and is evaluated
    on ``episodes`` seeded stochastic episodes. ``ppo_kwargs`` (not ``n_steps``) go to ``PPO``, which
    trains on ``device`` (``auto``, ``cpu``, ``cuda``);
    ``batch_size`` defaults to the divisor of ``n_steps`` closest to 64.
    """
    env_id, env_kwargs, tasks, num_steps, episodes, seed = check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    sizes, act = check_arch(hidden_sizes, activation)
    torch_device = resolve_device(device)
    extra = check_json_mapping("ppo_kwargs", ppo_kwargs, RESERVED_PPO_KWARGS | {"n_steps"})
    n_steps = episodes * max_episode_steps(env_id, env_kwargs)
    extra.setdefault("batch_size", _batch_size_near(n_steps))
    generator = torch.Generator().manual_seed(seed)
    returns = np.zeros((len(tasks), num_steps + 1))
    for k, task in enumerate(tasks):
        model = PPO(
            "MlpPolicy",
            gym.make(env_id, task=task, **env_kwargs),
            n_steps=n_steps,
            seed=derive_seed(seed, k),
            device=torch_device,
            policy_kwargs=policy_kwargs(sizes, act),
            **extra,
        )
        envs = [gym.make(env_id, **env_kwargs) for _ in range(episodes)]
        for step in range(num_steps + 1):
            if step > 0:
                model.learn(total_timesteps=n_steps, reset_num_timesteps=False)
            seeds = [derive_seed(seed, k, e, step) for e in range(episodes)]
            episode_returns = run_episodes(
                envs, seeds, [task] * episodes, feedforward_actor(model, generator)
            )
            returns[k, step] = episode_returns.mean()
        logger.info("scratch PPO on task %d/%d: %s", k + 1, len(tasks), returns[k].round(2))
        model.get_env().close()
        for env in envs:
            env.close()
    return returns


class ScratchAgent(ComparisonAgent):
    """A fresh PPO per task: one unit is one PPO update on ``E`` episodes' worth of steps."""

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        c = self.context
        returns = scratch_returns(
            c.env, c.env_kwargs, setting.tasks, setting.steps, setting.episodes, setting.seed,
            c.hidden_sizes, c.activation, device=c.device,
        )
        return AdaptationCurves(returns, None)
