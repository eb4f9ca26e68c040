"""The SAC oracle: SB3's ``SAC`` that sees the task, trained on the train split; the upper bound
of the off-policy agent family (PEARL), with no adaptation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import SAC

from metarl.agents.device import resolve_device
from metarl.comparisons.agent import ComparisonAgent
from metarl.comparisons.cache import cached_model
from metarl.comparisons.checks import check_env_id, check_env_kwargs, check_json_mapping
from metarl.comparisons.oracle import task_visible_returns
from metarl.envs.wrappers import TaskObservation, TaskResampling
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting
from metarl.tasks import Task
from metarl.validation import require_int

RESERVED_SAC_KWARGS = frozenset({"policy", "env", "seed", "device"})


def train_sac_oracle(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    *,
    sac_kwargs: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> SAC:
    """SB3 ``SAC`` (``MlpPolicy``, SB3's defaults) on ``TaskObservation`` of train-split tasks
    redrawn every episode, cached as ``cache_dir/oracle-sac.pt``; ``sac_kwargs`` (JSON values) go
    to ``SAC``."""
    config = {
        "kind": "oracle-sac",
        "env_id": check_env_id(env_id),
        "env_kwargs": check_env_kwargs(env_kwargs),
        "timesteps": require_int("timesteps", timesteps),
        "seed": require_int("seed", seed, minimum=0),
        "sac_kwargs": check_json_mapping("sac_kwargs", sac_kwargs, RESERVED_SAC_KWARGS),
    }
    torch_device = resolve_device(device)

    def build() -> SAC:
        base = gym.make(config["env_id"], **config["env_kwargs"])
        env = TaskObservation(TaskResampling(base, split="train", seed=config["seed"]))
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ValueError(f"SAC needs continuous (Box) actions; {env_id} has {env.action_space}")
        return SAC("MlpPolicy", env, seed=config["seed"], device=torch_device, **config["sac_kwargs"])

    return cached_model("oracle-sac", config, cache_dir, build, config["timesteps"])


def sac_oracle_returns(
    model: SAC,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """Mean return over ``episodes`` seeded episodes per task with SAC's deterministic (mean)
    action, in every column (it does not adapt)."""
    return task_visible_returns(
        model, lambda: lambda obs: model.predict(obs, deterministic=True)[0], env_id, env_kwargs,
        tasks, num_steps, episodes, seed,
    )


class SACOracleAgent(ComparisonAgent):
    """SAC that sees the task (cached; ``sac_timesteps`` env steps, else
    ``comparison_timesteps``): no adaptation."""

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 0

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        c = self.context
        timesteps = c.timesteps if c.sac_timesteps is None else c.sac_timesteps
        model = train_sac_oracle(c.env, c.env_kwargs, timesteps, setting.seed, c.cache_dir,
                                 device=c.device)
        returns = sac_oracle_returns(
            model, c.env, c.env_kwargs, setting.tasks, setting.steps, setting.episodes,
            setting.seed,
        )
        return AdaptationCurves(returns, None)
