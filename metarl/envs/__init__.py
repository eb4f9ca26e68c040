"""metarl task families, registered with Gymnasium under the ``metarl/`` namespace.

Importing this package (or ``metarl``) registers every id below with its native vector env.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import gymnasium as gym

from metarl.envs.core import BatchDynamics, MetaEnv, MetaVectorEnv
from metarl.envs.wrappers import TaskObservation, TaskResampling

__all__ = [
    "BatchDynamics",
    "FamilyInfo",
    "MetaEnv",
    "MetaVectorEnv",
    "TaskObservation",
    "TaskResampling",
    "family_table",
    "list_families",
    "registered_ids",
]

# id -> (module, class stem, kwargs)
_FAMILIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "metarl/Navigation2D-v0": ("navigation", "Navigation2D", {}),
    "metarl/Navigation2DSparse-v0": ("navigation", "Navigation2D", {"reward_type": "sparse"}),
    "metarl/Bandit-v0": ("bandit", "Bandit", {}),
    "metarl/TabularMDP-v0": ("tabular", "TabularMDP", {}),
    "metarl/CartPole-v0": ("classic_control", "CartPole", {}),
    "metarl/Pendulum-v0": ("classic_control", "Pendulum", {}),
    "metarl/MountainCarContinuous-v0": ("classic_control", "MountainCarContinuous", {}),
}


def _register() -> None:
    for env_id, (module, stem, kwargs) in _FAMILIES.items():
        if env_id in gym.registry:
            continue
        path = f"metarl.envs.{module}"
        dynamics = getattr(import_module(path), f"{stem}Env").dynamics_class
        gym.register(
            id=env_id,
            entry_point=f"{path}:{stem}Env",
            vector_entry_point=f"{path}:{stem}VectorEnv",
            max_episode_steps=dynamics.horizon,
            kwargs=kwargs,
        )


def registered_ids() -> list[str]:
    """Every env id metarl registers."""
    return list(_FAMILIES)


@dataclass(frozen=True)
class FamilyInfo:
    """What an env id's tasks vary, their ranges, its horizon and the paper it follows."""

    id: str
    family: str
    varies: str
    parameters: list[dict[str, str]]
    horizon: int
    reference: str


def list_families() -> list[FamilyInfo]:
    """Describe every registered family (see also :func:`family_table`)."""
    infos = []
    for env_id in _FAMILIES:
        spec = gym.spec(env_id)
        dynamics: BatchDynamics = spec.entry_point and _dynamics_of(spec)
        infos.append(
            FamilyInfo(
                id=env_id,
                family=dynamics.family,
                varies=dynamics.varies,
                parameters=dynamics.task_distribution.describe(),
                horizon=spec.max_episode_steps,
                reference=dynamics.reference,
            )
        )
    return infos


def _dynamics_of(spec: gym.envs.registration.EnvSpec) -> BatchDynamics:
    module, name = spec.entry_point.split(":")
    env_class: type[MetaEnv] = getattr(import_module(module), name)
    return env_class.dynamics_class(1, **spec.kwargs)


def family_table() -> str:
    """Markdown table of every registered family."""
    lines = [
        "| Id | Varies | Training distribution | test-ood | Horizon | Reference |",
        "|---|---|---|---|---|---|",
    ]
    for info in list_families():
        train = "; ".join(f"`{p['name']}` {p['train']}" for p in info.parameters)
        ood = "; ".join(
            f"`{p['name']}` {p['test-ood']}" for p in info.parameters if p["test-ood"] != "-"
        )
        lines.append(
            f"| `{info.id}` | {info.varies} | {train} | {ood or '-'} | {info.horizon} | {info.reference} |"
        )
    return "\n".join(lines)


_register()
