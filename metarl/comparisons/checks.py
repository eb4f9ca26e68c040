"""Argument checks of the comparison agents: a bad value raises ``ValueError`` naming it and
what is allowed, before anything is trained."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from metarl.agents.inner import InnerLoop
from metarl.agents.policies import ACTIVATIONS
from metarl.envs import metaworld_ids, registered_ids
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

RESERVED_PPO_KWARGS = frozenset({"policy", "env", "seed", "device", "policy_kwargs"})


def check_env_id(env_id: Any) -> str:
    allowed = registered_ids() + metaworld_ids()
    if env_id not in allowed:
        raise ValueError(f"unknown env_id {env_id!r}; allowed: {allowed}")
    return env_id


def check_json_mapping(
    name: str, value: Any, reserved: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``value`` (``None`` -> ``{}``) as a dict of JSON-serialisable values without ``reserved`` keys."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name} must be a dict with string keys or None, got {value!r}")
    clash = sorted(set(value) & reserved)
    if clash:
        raise ValueError(f"{name} must not set {clash}; these are set by metarl.comparisons")
    try:
        return json.loads(json.dumps(dict(value), sort_keys=True))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must hold JSON-serialisable values (they are recorded in the cache metadata), "
            f"got {value!r}"
        ) from err


def check_env_kwargs(env_kwargs: Any) -> dict[str, Any]:
    kwargs = check_json_mapping("env_kwargs", env_kwargs)
    if "task" in kwargs:
        raise ValueError("env_kwargs must not set 'task'; the comparison agents choose the tasks")
    return kwargs


def check_arch(hidden_sizes: Any, activation: Any) -> tuple[tuple[int, ...], str]:
    if isinstance(hidden_sizes, str | bytes) or not isinstance(hidden_sizes, Sequence):
        raise ValueError(f"hidden_sizes must be a sequence of positive ints, got {hidden_sizes!r}")
    sizes = tuple(require_int("hidden_sizes entry", size) for size in hidden_sizes)
    key = activation.lower() if isinstance(activation, str) else activation
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; allowed: {sorted(ACTIVATIONS)}")
    return sizes, key


def task_distribution(env_id: str, env_kwargs: Mapping[str, Any]) -> TaskDistribution:
    env = gym.make(env_id, **env_kwargs)
    try:
        return env.unwrapped.task_distribution
    finally:
        env.close()


def check_tasks(tasks: Any, distribution: TaskDistribution) -> list[Task]:
    if isinstance(tasks, Task) or not isinstance(tasks, Sequence) or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty sequence of metarl.Task, got {tasks!r}")
    checked = []
    for index, task in enumerate(tasks):
        try:
            checked.append(distribution.validate(task))
        except (TypeError, ValueError) as err:
            raise ValueError(f"tasks[{index}]: {err}") from err
    return checked


def max_episode_steps(env_id: str, env_kwargs: Mapping[str, Any]) -> int:
    steps = env_kwargs.get("max_episode_steps")
    return require_int(
        "max_episode_steps", gym.spec(env_id).max_episode_steps if steps is None else steps
    )


def derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and ``keys`` (independent streams per key tuple)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def check_eval_args(
    env_id: Any, env_kwargs: Any, tasks: Any, num_steps: Any, episodes: Any, seed: Any
) -> tuple[str, dict[str, Any], list[Task], int, int, int]:
    env_id = check_env_id(env_id)
    env_kwargs = check_env_kwargs(env_kwargs)
    tasks = check_tasks(tasks, task_distribution(env_id, env_kwargs))
    return (
        env_id,
        env_kwargs,
        tasks,
        require_int("num_steps", num_steps, minimum=0),
        require_int("episodes", episodes),
        require_int("seed", seed, minimum=0),
    )


def check_model_spaces(model: BaseAlgorithm, env: gym.Env, what: str) -> None:
    if model.observation_space != env.observation_space or model.action_space != env.action_space:
        raise ValueError(
            f"the model's spaces ({model.observation_space}, {model.action_space}) do not match "
            f"{what} ({env.observation_space}, {env.action_space}); was it trained on this env?"
        )


def check_inner_kwargs(inner_kwargs: Any) -> dict[str, Any]:
    if not isinstance(inner_kwargs, Mapping):
        raise ValueError(f"inner_kwargs must be a dict, got {inner_kwargs!r}")
    allowed = set(inspect.signature(InnerLoop).parameters) - {"policy"}
    unknown = sorted(set(inner_kwargs) - allowed)
    if unknown:
        raise ValueError(f"unknown inner_kwargs {unknown}; allowed: {sorted(allowed)}")
    return dict(inner_kwargs)
