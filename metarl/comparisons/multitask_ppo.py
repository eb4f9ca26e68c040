"""Multi-task PPO on train-split tasks (task hidden or shown), trained once and cached: the
pretrained and oracle comparisons' models."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import PPO

from metarl.agents.device import resolve_device
from metarl.comparisons.cache import cached_model
from metarl.comparisons.checks import (
    RESERVED_PPO_KWARGS,
    check_arch,
    check_env_id,
    check_env_kwargs,
    check_json_mapping,
)
from metarl.comparisons.sb3_policy import policy_kwargs
from metarl.envs.wrappers import TaskObservation, TaskResampling
from metarl.validation import require_int


def ppo_config(
    kind: str,
    env_id: Any,
    env_kwargs: Any,
    timesteps: Any,
    seed: Any,
    hidden_sizes: Any,
    activation: Any,
    ppo_kwargs: Any,
) -> dict[str, Any]:
    sizes, act = check_arch(hidden_sizes, activation)
    return {
        "kind": kind,
        "env_id": check_env_id(env_id),
        "env_kwargs": check_env_kwargs(env_kwargs),
        "timesteps": require_int("timesteps", timesteps),
        "seed": require_int("seed", seed, minimum=0),
        "hidden_sizes": list(sizes),
        "activation": act,
        "ppo_kwargs": check_json_mapping("ppo_kwargs", ppo_kwargs, RESERVED_PPO_KWARGS),
    }


def train_ppo(
    config: dict[str, Any],
    cache_dir: Path | str,
    wrap: Callable[[gym.Env], gym.Env],
    device: torch.device,
) -> PPO:
    def build() -> PPO:
        base = gym.make(config["env_id"], **config["env_kwargs"])
        env = wrap(TaskResampling(base, split="train", seed=config["seed"]))
        return PPO(
            "MlpPolicy",
            env,
            seed=config["seed"],
            device=device,
            policy_kwargs=policy_kwargs(tuple(config["hidden_sizes"]), config["activation"]),
            **config["ppo_kwargs"],
        )

    return cached_model(config["kind"], config, cache_dir, build, config["timesteps"])


def train_pretrained(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> PPO:
    """Multi-task PPO on train-split tasks (task hidden), cached as ``cache_dir/pretrained.pt``.

    ``ppo_kwargs`` (JSON values, e.g. ``n_steps``) go to ``PPO``, ``device`` (``auto``,
    ``cpu``, ``cuda``) is where it trains; the policy is an ``MlpPolicy``
    with ``hidden_sizes`` / ``activation`` for actor and critic, so :func:`policy_from_sb3` can copy
    it into a metarl policy.
    """
    config = ppo_config(
        "pretrained", env_id, env_kwargs, timesteps, seed, hidden_sizes, activation, ppo_kwargs
    )
    return train_ppo(config, cache_dir, lambda env: env, resolve_device(device))


def train_oracle(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> PPO:
    """Multi-task PPO that sees the task (``TaskObservation``), cached as ``oracle.pt``."""
    config = ppo_config(
        "oracle", env_id, env_kwargs, timesteps, seed, hidden_sizes, activation, ppo_kwargs
    )
    return train_ppo(config, cache_dir, TaskObservation, resolve_device(device))
