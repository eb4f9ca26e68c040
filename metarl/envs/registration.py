"""Registering task families with Gymnasium: one function for numpy and simulator families.

:func:`register_family` takes what a family is written as and registers an id whose single env
(``gymnasium.make``) and vector env (``gymnasium.make_vec``, one task per sub-env) follow the task
API, so that metarl's sampler, ``metarl train`` and ``metarl evaluate`` run on it:

- a :class:`~metarl.envs.core.BatchDynamics` subclass (a numpy family written once in array
  operations): its single env is a :class:`~metarl.envs.core.NumpyTaskEnv`, its vector env a
  native :class:`~metarl.envs.core.NumpyTaskVectorEnv`;
- a single-env class with the task API and ``step_many`` (a
  :class:`~metarl.envs.gym_family.GymTaskEnv` subclass: a plain Gymnasium env; a
  :class:`~metarl.envs.mujoco.MujocoTaskEnv` subclass; or any env following
  :class:`~metarl.envs.task_env.TaskEnv`): its vector env is a
  :class:`~metarl.envs.process_vector.ProcessVectorEnv` on worker processes.

:func:`register_family` checks the class at once, building one env with the id's arguments: a
piece that ``metarl envs``, the samplers or the vector env read later and the class lacks (or
holds of the wrong kind) is a :class:`FamilyClassError` naming it.

An id may name the module that registers it, as Gymnasium's ``module:env-id``:
:func:`import_env` imports ``module`` and returns the id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import gymnasium as gym

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.envs.gym_family import GymTaskEnv
from metarl.envs.process_vector import vector_env_class
from metarl.envs.task_env import TaskSwitching
from metarl.tasks import TaskDistribution
from metarl.validation import require_int, short_repr

__all__ = [
    "TASK_API",
    "FamilyClassError",
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


class FamilyClassError(TypeError):
    """:func:`register_family` refused a class: it is no kind of family, or it lacks a piece that
    ``metarl envs``, the samplers or the vector env need (or holds one of the wrong kind)."""


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
            the task API and ``step_many`` (a :class:`~metarl.envs.gym_family.GymTaskEnv` or
            ``MujocoTaskEnv`` subclass; multi-process vector env). It must be defined at module
            level, so that worker processes can import it.
        max_episode_steps: episode length; the family's ``horizon`` by default.
        **kwargs: arguments of every env of the id (family options).

    The class is checked by building one env (one sub-env of a numpy family) with ``kwargs``.
    Registering the same class under the same id again (a worker process importing the module)
    does nothing.

    Raises:
        FamilyClassError: ``family`` is none of these, or lacks a piece that metarl reads
            (``horizon``, ``info_keys``, ``step_many``, ``reset``, ``step``, ``_apply_task``,
            ``task_distribution``, ``family``, ``varies``, ``reference``, the spaces) or holds
            one of the wrong kind; the message names it.
        ValueError: ``max_episode_steps`` is not a positive int.
    """
    if env_id in gym.registry and _REGISTERED.get(env_id) is family:
        return
    env_class, vector_entry_point, horizon = _entry_points(family, kwargs)
    gym.register(
        id=env_id,
        entry_point=env_class,
        vector_entry_point=vector_entry_point,
        max_episode_steps=(
            horizon
            if max_episode_steps is None
            else require_int("max_episode_steps", max_episode_steps)
        ),
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


@dataclass(frozen=True)
class _Piece:
    """An attribute that metarl reads of a family, and what it must hold."""

    name: str
    valid: Callable[[Any], bool]
    what: str


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


_MISSING = object()
_UNWRITTEN = (gym.Env.reset, gym.Env.step, TaskSwitching._apply_task)
"""Inherited methods that only raise ``NotImplementedError``: a class holding one lacks it."""


def _lacking(value: Any) -> bool:
    return value is _MISSING or any(value is method for method in _UNWRITTEN)


_HORIZON = _Piece(
    "horizon",
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "the default episode length, an int >= 1",
)
_TASK_ENV_CLASS = (
    _HORIZON,
    _Piece(
        "info_keys",
        lambda v: isinstance(v, tuple) and all(isinstance(key, str) for key in v),
        "a tuple of the names (str) of the numeric info entries the vector env passes on",
    ),
    _Piece(
        "step_many",
        callable,
        "a classmethod step_many(envs, actions) -> (observations, rewards, terminated, infos)",
    ),
    _Piece("reset", callable, "Gymnasium's reset(*, seed=None, options=None)"),
    _Piece("step", callable, "Gymnasium's step(action)"),
)
_DYNAMICS_CLASS = _Piece(
    "dynamics_class",
    lambda v: isinstance(v, type) and issubclass(v, BatchDynamics),
    "the BatchDynamics subclass it runs",
)
_APPLY_TASK = _Piece("_apply_task", callable, "_apply_task(task), which makes the env run a task")
_DESCRIPTION = (  # task_distribution first: GymTaskEnv's family is the distribution's
    _Piece(
        "task_distribution",
        lambda v: isinstance(v, TaskDistribution),
        "a metarl.tasks.TaskDistribution of its tasks, a class attribute or set in __init__",
    ),
    _Piece("family", _is_str, "a str naming the family"),
    _Piece("varies", _is_str, "a str saying what varies per task, for `metarl envs`"),
    _Piece("reference", _is_str, "a str naming the paper or source of the family"),
)


def _spaces(prefix: str) -> tuple[_Piece, _Piece]:
    """The observation and action space pieces (named ``{prefix}observation_space`` ...)."""
    return (
        _Piece(
            f"{prefix}observation_space",
            lambda v: isinstance(v, gym.spaces.Box),
            "a gymnasium.spaces.Box",
        ),
        _Piece(
            f"{prefix}action_space",
            lambda v: isinstance(v, gym.spaces.Box | gym.spaces.Discrete),
            "a gymnasium.spaces.Box or Discrete",
        ),
    )


def _require(owner: Any, name: str, pieces: Sequence[_Piece], base: type) -> None:
    """Raise :class:`FamilyClassError` naming the first of ``pieces`` that ``owner`` (a class or
    an env of class ``name``) lacks or holds wrongly; ``base`` is the class to suggest for
    defaults."""
    for piece in pieces:
        value = getattr(owner, piece.name, _MISSING)
        if _lacking(value):
            default = not _lacking(getattr(base, piece.name, _MISSING))
            hint = f"; {base.__name__} provides a default" if default else ""
            raise FamilyClassError(
                f"register_family: {name} lacks {piece.name!r} ({piece.what}{hint})"
            )
        if not piece.valid(value):
            raise FamilyClassError(
                f"register_family: {name}.{piece.name} must be {piece.what}, "
                f"got {short_repr(value)}"
            )


def _entry_points(family: type, kwargs: dict[str, Any]) -> tuple[type, Any, int]:
    """The single-env class, the vector entry point and the horizon of ``family``, checked."""
    if isinstance(family, type) and issubclass(family, BatchDynamics | NumpyTaskEnv):
        dynamics = family
        if issubclass(family, NumpyTaskEnv):
            _require(family, family.__name__, [_DYNAMICS_CLASS], NumpyTaskEnv)
            dynamics = family.dynamics_class
        _require(dynamics, dynamics.__name__, [_HORIZON], BatchDynamics)
        pieces = [*_DESCRIPTION, *_spaces("single_")]
        _require(dynamics(1, **kwargs), dynamics.__name__, pieces, BatchDynamics)
        env_class = family if family is not dynamics else _numpy_class(dynamics, NumpyTaskEnv)
        return env_class, _numpy_class(dynamics, NumpyTaskVectorEnv), dynamics.horizon
    if isinstance(family, type) and hasattr(family, "set_task"):
        pieces = [*_TASK_ENV_CLASS, *([_APPLY_TASK] if issubclass(family, TaskSwitching) else [])]
        _require(family, family.__name__, pieces, GymTaskEnv)
        probe = family(**kwargs)
        try:
            _require(probe, family.__name__, [*_DESCRIPTION, *_spaces("")], GymTaskEnv)
        finally:
            probe.close()
        return family, vector_env_class(family), family.horizon
    raise FamilyClassError(
        "register_family needs a BatchDynamics subclass (a numpy family), a NumpyTaskEnv "
        "subclass, a GymTaskEnv subclass (a plain Gymnasium env) or a MujocoTaskEnv subclass "
        f"(any single env with set_task and the task API), got {family!r}"
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

