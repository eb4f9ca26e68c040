"""metarl task families, registered with Gymnasium under the ``metarl/`` namespace.

Importing this package (or ``metarl``) registers every id below with its native vector env.
Families of your own are registered with :func:`register_family` (see
:mod:`metarl.envs.registration`) and then listed, trained and evaluated like these.
The MuJoCo ids are registered too, without importing MuJoCo: making one without the ``mujoco``
extra raises ``gymnasium.error.DependencyNotInstalled`` naming ``pip install 'metarl[mujoco]'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import gymnasium as gym

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.envs.gym_family import GymTaskEnv
from metarl.envs.process_vector import ProcessVectorEnv
from metarl.envs.registration import (
    TASK_API,
    FamilyClassError,
    NotATaskFamily,
    import_env,
    import_modules,
    register_family,
    registered_families,
    require_task_api,
)
from metarl.envs.task_env import TaskEnv
from metarl.envs.wrappers import TaskObservation, TaskResampling

__all__ = [
    "BatchDynamics",
    "FamilyClassError",
    "FamilyInfo",
    "GymTaskEnv",
    "NotATaskFamily",
    "NumpyTaskEnv",
    "NumpyTaskVectorEnv",
    "ProcessVectorEnv",
    "TaskEnv",
    "TaskObservation",
    "TaskResampling",
    "family_table",
    "import_env",
    "import_modules",
    "list_families",
    "metaworld_available",
    "metaworld_ids",
    "mujoco_available",
    "mujoco_ids",
    "register_family",
    "registered_families",
    "registered_ids",
    "require_family",
    "require_task_api",
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


# MuJoCo families (metarl.envs.mujoco.<module>): id -> (module, class stem, kwargs)
_MUJOCO_FAMILIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    f"metarl/{stem}-v0": (module, stem, {})
    for module, stems in {
        "goals": (
            "HalfCheetahVel",
            "HalfCheetahDir",
            "AntVel",
            "AntDir",
            "AntDir2D",
            "AntGoal",
            "HumanoidDir",
        ),
        "rand_params": (
            "HalfCheetahRandParams",
            "HopperRandParams",
            "Walker2dRandParams",
            "AntRandParams",
        ),
    }.items()
    for stem in stems
}
MUJOCO_HORIZON = 200
"""Episode length of every MuJoCo family (``max_episode_steps`` overrides it)."""

METAWORLD_ML1_ENVS = (
    "assembly-v3",
    "basketball-v3",
    "bin-picking-v3",
    "box-close-v3",
    "button-press-topdown-v3",
    "button-press-topdown-wall-v3",
    "button-press-v3",
    "button-press-wall-v3",
    "coffee-button-v3",
    "coffee-pull-v3",
    "coffee-push-v3",
    "dial-turn-v3",
    "disassemble-v3",
    "door-close-v3",
    "door-lock-v3",
    "door-open-v3",
    "door-unlock-v3",
    "hand-insert-v3",
    "drawer-close-v3",
    "drawer-open-v3",
    "faucet-open-v3",
    "faucet-close-v3",
    "hammer-v3",
    "handle-press-side-v3",
    "handle-press-v3",
    "handle-pull-side-v3",
    "handle-pull-v3",
    "lever-pull-v3",
    "pick-place-wall-v3",
    "pick-out-of-hole-v3",
    "pick-place-v3",
    "plate-slide-v3",
    "plate-slide-side-v3",
    "plate-slide-back-v3",
    "plate-slide-back-side-v3",
    "peg-insert-side-v3",
    "peg-unplug-side-v3",
    "soccer-v3",
    "stick-push-v3",
    "stick-pull-v3",
    "push-v3",
    "push-wall-v3",
    "push-back-v3",
    "reach-v3",
    "reach-wall-v3",
    "shelf-place-v3",
    "sweep-into-v3",
    "sweep-v3",
    "window-open-v3",
    "window-close-v3",
)
"""Meta-World v3's env names (``metaworld.ML1.ENV_NAMES``), kept here so that registering the
``metarl/MetaWorld-ML1-<env>-v0`` ids does not import Meta-World."""

# Meta-World benchmarks (metarl.envs.metaworld): id -> benchmark name
_METAWORLD_FAMILIES: dict[str, str] = {
    **{
        f"metarl/MetaWorld-ML1-{name.removesuffix('-v3')}-v0": f"ML1-{name}"
        for name in METAWORLD_ML1_ENVS
    },
    "metarl/MetaWorld-ML10-v0": "ML10",
    "metarl/MetaWorld-ML45-v0": "ML45",
}
METAWORLD_HORIZON = 500
"""Episode length of the Meta-World ids (Meta-World's ``max_path_length``, also the maximum)."""


def mujoco_available() -> bool:
    """Whether the ``mujoco`` extra is installed, so the MuJoCo ids can be made."""
    try:
        import_module("mujoco")
    except ImportError:
        return False
    return True


def metaworld_available() -> bool:
    """Whether the ``metaworld`` extra is installed, so the Meta-World ids can be made."""
    return mujoco_available() and find_spec("metaworld") is not None


def _register() -> None:
    for env_id, benchmark in _METAWORLD_FAMILIES.items():
        if env_id not in gym.registry:
            path = "metarl.envs.metaworld.env"
            gym.register(
                id=env_id,
                entry_point=f"{path}:MetaWorldEnv",
                vector_entry_point=f"{path}:MetaWorldVectorEnv",
                max_episode_steps=METAWORLD_HORIZON,
                kwargs={"benchmark": benchmark},
            )
    for env_id, (module, stem, kwargs) in _MUJOCO_FAMILIES.items():
        if env_id not in gym.registry:
            path = f"metarl.envs.mujoco.{module}"
            gym.register(
                id=env_id,
                entry_point=f"{path}:{stem}Env",
                vector_entry_point=f"{path}:{stem}VectorEnv",
                max_episode_steps=MUJOCO_HORIZON,
                kwargs=kwargs,
            )
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
    """The ids of metarl's own families (the MuJoCo ones need the ``mujoco`` extra to be made).

    The Meta-World ids are registered too; :func:`metaworld_ids` lists them.
    """
    return [*_FAMILIES, *_MUJOCO_FAMILIES]


def metaworld_ids() -> list[str]:
    """The ids of the Meta-World benchmarks (they need the ``metaworld`` extra to be made)."""
    return list(_METAWORLD_FAMILIES)


def mujoco_ids() -> list[str]:
    """The ids of the MuJoCo families (a subset of :func:`registered_ids`)."""
    return list(_MUJOCO_FAMILIES)


def require_family(env: str) -> None:
    """Check that ``env`` (an id, or ``module:id``) names a task family that can be made.

    A ``module:id`` is imported first (:func:`import_env`). Any registered id with a vector entry
    point passes here; the sampler then checks that its vector env has the task API
    (:func:`require_task_api`).

    Raises:
        NotATaskFamily: the id is not registered or has no vector env (naming how to register
            a family).
        ValueError: its extra (``mujoco``, ``metaworld``) is missing (naming the
            ``pip install``).
        ModuleNotFoundError: the module of a ``module:id`` cannot be imported.
    """
    env_id = import_env(env)
    if env_id in _METAWORLD_FAMILIES and not metaworld_available():
        raise ValueError(f"env {env_id} needs Meta-World: pip install 'metarl[metaworld]'")
    if env_id in _MUJOCO_FAMILIES and not mujoco_available():
        raise ValueError(f"env {env_id} needs MuJoCo: pip install 'metarl[mujoco]'")
    spec = gym.registry.get(env_id)
    if spec is None or spec.vector_entry_point is None:
        what = "not registered" if spec is None else "registered without a vector env"
        raise NotATaskFamily(
            f"env {env!r} is not a metarl task family ({what}; the sampler needs {TASK_API}). "
            "metarl's: see metarl envs; yours: write env as 'module:namespace/Name-v0' (or list "
            "the module in imports) so that the module registering it is imported"
        )


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
    """Describe every registered family (see also :func:`family_table`): metarl's, then those
    registered with :func:`register_family` in this process.

    The MuJoCo families are described only when the ``mujoco`` extra is installed (their task
    shapes come from the compiled models), the Meta-World ones only with the ``metaworld`` extra.
    """
    env_ids = [
        *_FAMILIES,
        *(_MUJOCO_FAMILIES if mujoco_available() else ()),
        *(_METAWORLD_FAMILIES if metaworld_available() else ()),
        *registered_families(),
    ]
    infos = []
    for env_id in env_ids:
        spec = gym.spec(env_id)
        source = _describer_of(spec)
        infos.append(
            FamilyInfo(
                id=env_id,
                family=source.family,
                varies=source.varies,
                parameters=source.task_distribution.describe(),
                horizon=spec.max_episode_steps,
                reference=source.reference,
            )
        )
    return infos


def _describer_of(spec: gym.envs.registration.EnvSpec) -> Any:
    """An object with ``family``, ``varies``, ``reference`` and ``task_distribution``."""
    env_class = spec.entry_point
    if isinstance(env_class, str):
        module, name = env_class.split(":")
        env_class = getattr(import_module(module), name)
    if isinstance(env_class, type) and issubclass(env_class, NumpyTaskEnv):
        return env_class.dynamics_class(1, **spec.kwargs)
    if hasattr(env_class, "describer"):  # Meta-World: described without building its goals
        return env_class.describer(**spec.kwargs)
    return env_class(**spec.kwargs)  # a MuJoCo family: its distribution needs the model


def family_table() -> str:
    """Markdown table of every registered family (allowed: what a task made by hand may hold)."""
    lines = [
        "| Id | Varies | Training distribution | test-ood | Allowed | Horizon | Reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for info in list_families():
        train = "; ".join(f"`{p['name']}` {p['train']}" for p in info.parameters)
        ood = "; ".join(
            f"`{p['name']}` {p['test-ood']}" for p in info.parameters if p["test-ood"] != "-"
        )
        allowed = "; ".join(f"`{p['name']}` {p['allowed']}" for p in info.parameters)
        lines.append(
            f"| `{info.id}` | {info.varies} | {train} | {ood or '-'} | {allowed} | {info.horizon} "
            f"| {info.reference} |"
        )
    return "\n".join(lines)


_register()
