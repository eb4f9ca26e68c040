"""metarl: meta-reinforcement learning on Gymnasium task families.

Importing ``metarl`` registers every ``metarl/...`` env id with Gymnasium and loads nothing heavy
(no torch): the names below that need more are imported on first use.

- Families and tasks: :func:`list_families`, :func:`family_table`, :class:`Task`,
  :class:`TaskDistribution`; wrappers :class:`TaskObservation` (the task in the observation) and
  :class:`TaskResampling` (a new task at every reset).
- Your own families: :func:`register_family` (numpy, a plain Gymnasium env: :class:`GymTaskEnv`,
  or MuJoCo; see :mod:`metarl.envs.registration`).
- Runs: :class:`TrainConfig` and :func:`load_config`, :func:`train`, :func:`resume`,
  :func:`load_run` (a run folder's config and trainer), :func:`evaluate` (``evaluate_run``: the
  fast-adaptation evaluation of a run beside comparison agents).
- Trained agents: :func:`load` (a run folder or checkpoint file) gives an agent whose
  ``adapt(task | env=... | episodes=[Episode, ...])`` returns a policy with ``predict``, and whose
  own ``predict`` acts before adapting; :class:`Episode` holds experience you collected, as arrays.
"""

from importlib import import_module
from typing import Any

from metarl import envs
from metarl.envs import (
    GymTaskEnv,
    TaskObservation,
    TaskResampling,
    family_table,
    list_families,
    register_family,
)
from metarl.tasks import Task, TaskDistribution

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": ("metarl.runs.config", "TrainConfig"),
    "load_config": ("metarl.runs.config", "load_config"),
    "train": ("metarl.runs.train", "train"),
    "resume": ("metarl.runs.train", "resume"),
    "load_run": ("metarl.runs.train", "load_run"),
    "evaluate": ("metarl.runs.evaluate", "evaluate_run"),
    "load": ("metarl.runs.load", "load"),
    "Episode": ("metarl.sampling.episodes", "Episode"),
}
"""Public name -> (module, attribute), imported by :func:`__getattr__` on first use."""

__all__ = [
    "Episode",
    "GymTaskEnv",
    "Task",
    "TaskDistribution",
    "TaskObservation",
    "TaskResampling",
    "TrainConfig",
    "__version__",
    "envs",
    "evaluate",
    "family_table",
    "list_families",
    "load",
    "load_config",
    "load_run",
    "register_family",
    "resume",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'metarl' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
