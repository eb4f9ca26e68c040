"""The oracle comparison: PPO that sees the task; an upper bound with no adaptation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from metarl.comparisons.agent import ComparisonAgent
from metarl.comparisons.checks import (
    check_eval_args,
    check_model_spaces,
    derive_seed,
)
from metarl.comparisons.multitask_ppo import train_oracle
from metarl.comparisons.rollout import feedforward_actor, run_episodes
from metarl.envs.wrappers import TaskObservation
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting
from metarl.tasks import Task


def oracle_returns(
    model: PPO,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """Oracle: mean return over ``episodes`` seeded stochastic episodes per task, in every column."""
    generator = torch.Generator().manual_seed(seed)
    return task_visible_returns(
        model, lambda: feedforward_actor(model, generator), env_id, env_kwargs, tasks, num_steps,
        episodes, seed,
    )


def task_visible_returns(
    model: BaseAlgorithm,
    make_actor: Callable[[], Callable[[np.ndarray], np.ndarray]],
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """``[K, num_steps + 1]``: the mean return of ``episodes`` seeded episodes per task of an SB3
    ``model`` that sees the task (``TaskObservation``), acting by ``make_actor()``, repeated in
    every column (a task-visible agent does not adapt)."""
    env_id, env_kwargs, tasks, num_steps, episodes, seed = check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    envs = [TaskObservation(gym.make(env_id, **env_kwargs)) for _ in range(len(tasks) * episodes)]
    check_model_spaces(model, envs[0], "TaskObservation(env)")
    seeds = [derive_seed(seed, k, e) for k in range(len(tasks)) for e in range(episodes)]
    per_env = [t for t in tasks for _ in range(episodes)]
    returns = run_episodes(envs, seeds, per_env, make_actor())
    for env in envs:
        env.close()
    per_task = returns.reshape(len(tasks), episodes).mean(axis=1)
    return np.repeat(per_task[:, None], num_steps + 1, axis=1).astype(np.float64)


class OracleAgent(ComparisonAgent):
    """PPO that sees the task (cached): it does not adapt, so a unit costs no episodes."""

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 0

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        c = self.context
        model = train_oracle(
            c.env, c.env_kwargs, c.timesteps, setting.seed, c.cache_dir, c.hidden_sizes,
            c.activation, device=c.device,
        )
        returns = oracle_returns(
            model, c.env, c.env_kwargs, setting.tasks, setting.steps, setting.episodes,
            setting.seed,
        )
        return AdaptationCurves(returns, None)
