"""Registering task families with Gymnasium: one function for numpy and simulator families.

:func:`register_family` takes what a family is written as and registers an id whose single env
(``gymnasium.make``) and vector env (``gymnasium.make_vec``, one task per sub-env) follow the task
API, so that metarl's sampler, ``metarl train`` and ``metarl evaluate`` run on it:

- a :class:`~metarl.envs.core.BatchDynamics` subclass (a numpy family written once in array
  operations): its single env is a :class:`~metarl.envs.core.NumpyTaskEnv`, its vector env a
  native :class:`~metarl.envs.core.NumpyTaskVectorEnv`;
- a single-env class with the task API and ``step_many`` (a
  :class:`~metarl.envs.mujoco.MujocoTaskEnv` subclass, or any env following
  :class:`~metarl.envs.task_env.TaskEnv`): its vector env is a
  :class:`~metarl.envs.process_vector.ProcessVectorEnv` on worker processes.

An id may name the module that registers it, as Gymnasium's ``module:env-id``:
:func:`import_env` imports ``module`` and returns the id.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from importlib import import_module
from typing import Any

import gymnasium as gym

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.envs.process_vector import ProcessVectorEnv

__all__ = [
    "TASK_API",
    "NotATaskFamily",
    "import_env",
    "import_modules",
    "register_family",
    "registered_families",
    "require_task_api",
]

TASK_API = (
    "a vector env with `task_distribution` whose reset takes options={'tasks': [...]} (one task "
    "per sub-env); make one with metarl.envs.register_family (see the README's 'Bring your own "
    "family')"
)
"""What the sampler needs of an env, for error messages."""


class NotATaskFamily(ValueError):
    """An env id names no task family: unregistered, or its vector env lacks the task API."""


_REGISTERED: dict[str, type] = {}
"""Id -> the family :func:`register_family` registered under it, in order."""


def import_modules(modules: Iterable[str], what: str = "imports") -> None:
    """Import ``modules`` (which register families, agent kinds, comparison agents).

    Raises:
        ModuleNotFoundError: one cannot be found (naming it and ``what`` asked for it).
        ImportError: importing one raised an error, a syntax error included (naming the module
            and the error; the original is its ``__cause__``).
    """
    for module in modules:
        try:
            import_module(module)
        except ModuleNotFoundError as err:
            raise ModuleNotFoundError(
                f"{what}: cannot import module {module!r} ({err}); it must be importable from "
                "the current folder or the Python path"
            ) from err
        except Exception as err:  # the user's module failed while running
            raise ImportError(
                f"{what}: importing module {module!r} raised {type(err).__name__}: {err}"
            ) from err


def import_env(env: str) -> str:
    """The env id of ``env``, after importing its module if it is written ``module:env-id``.

    Raises:
        ModuleNotFoundError: the module cannot be imported (naming it).
    """
    module, sep, env_id = env.rpartition(":")
    if sep:
        import_modules([module], what=f"env {env!r}")
    return env_id


def register_family(
    env_id: str, family: type, max_episode_steps: int | None = None, **kwargs: Any
) -> None:
    """Register ``family`` as ``env_id`` (``"namespace/Name-v0"``), with its single and vector env.

    Args:
        env_id: the new id.
        family: a :class:`~metarl.envs.core.BatchDynamics` subclass (numpy family, native vector
            env), a :class:`~metarl.envs.core.NumpyTaskEnv` subclass, or a single-env class with
            the task API and ``step_many`` (a ``MujocoTaskEnv`` subclass; multi-process vector
            env). It must be defined at module level, so that worker processes can import it.
        max_episode_steps: episode length; the family's ``horizon`` by default.
        **kwargs: arguments of every env of the id (family options).

    Registering the same class under the same id again (a worker process importing the module)
    does nothing.

    Raises:
        TypeError: ``family`` is none of these.
    """
    env_class, vector_entry_point = _entry_points(family)
    if env_id not in gym.registry or _REGISTERED.get(env_id) is not family:
        gym.register(
            id=env_id,
            entry_point=env_class,
            vector_entry_point=vector_entry_point,
            max_episode_steps=max_episode_steps or family.horizon,
            kwargs=kwargs,
        )
    _REGISTERED[env_id] = family


def registered_families() -> list[str]:
    """The ids registered through :func:`register_family` in this process, in order."""
    return [env_id for env_id in _REGISTERED if env_id in gym.registry]


def require_task_api(envs: Any, env: str) -> None:
    """Raise :class:`NotATaskFamily` naming what the sampler needs if vector env ``envs`` (made
    from ``env``) lacks the task API."""
    if not hasattr(envs.unwrapped, "task_distribution"):
        raise NotATaskFamily(
            f"env {env!r} is not a metarl task family (its vector env "
            f"{type(envs.unwrapped).__name__} has no task_distribution; the sampler needs "
            f"{TASK_API})"
        )


def _entry_points(family: type) -> tuple[type, Any]:
    """The single-env class and the vector entry point of ``family``."""
    if isinstance(family, type) and issubclass(family, BatchDynamics):
        return _numpy_class(family, NumpyTaskEnv), _numpy_class(family, NumpyTaskVectorEnv)
    if isinstance(family, type) and issubclass(family, NumpyTaskEnv):
        return family, _numpy_class(family.dynamics_class, NumpyTaskVectorEnv)
    api = ("task_distribution", "set_task", "step_many", "info_keys", "horizon", "family")
    if isinstance(family, type) and all(hasattr(family, n) for n in api if n != "task_distribution"):
        return family, partial(ProcessVectorEnv, env_class=family)
    raise TypeError(
        "register_family needs a BatchDynamics subclass (a numpy family), a NumpyTaskEnv subclass "
        f"or a single-env class with the task API ({', '.join(api)}; e.g. a MujocoTaskEnv "
        f"subclass), got {family!r}"
    )


def _numpy_class(dynamics: type[BatchDynamics], base: type) -> type:
    """``<Stem>Env`` / ``<Stem>VectorEnv``: ``base`` running ``dynamics``."""
    stem = dynamics.__name__.removesuffix("Dynamics")
    name = stem + base.__name__.removeprefix("NumpyTask")
    doc = dynamics.__doc__ if base is NumpyTaskEnv else f"Native vector version of {stem}Env."
    return type(
        name,
        (base,),
        {
            "dynamics_class": dynamics,
            "__module__": dynamics.__module__,
            "__qualname__": name,
            "__doc__": doc,
        },
    )

