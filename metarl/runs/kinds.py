"""Agent kinds: what ``metarl train`` can meta-train, by the config's ``agent`` key.

An :class:`AgentKind` builds a :class:`Trainer` from a :class:`~metarl.runs.config.TrainConfig`;
the run plumbing (run folder, metrics, TensorBoard, checkpoints, resume, evaluation) drives any
trainer the same way. A kind's own hyperparameters live in the config's ``agent_options`` mapping,
checked against the kind's ``options`` dataclass; the MAML family's keys are the config's top-level
keys (it is the default kind). A kind may also estimate the memory a config needs (checked before it
is built) and name the metrics that must stay finite and the settings that scale its steps (named
when training diverges).

>>> from metarl.runs.kinds import registered_agent_kinds
>>> "maml" in registered_agent_kinds()
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from metarl.lazy import resolve_entry
from metarl.memory import Need

if TYPE_CHECKING:
    from metarl.evaluation.protocol import GradedAgent
    from metarl.runs.config import TrainConfig
    from metarl.tasks import TaskDistribution

__all__ = [
    "AgentKind",
    "EnvSizes",
    "Trainer",
    "TrainingDiverged",
    "agent_kind",
    "option_settings",
    "register_agent_kind",
    "registered_agent_kinds",
]


class Trainer(Protocol):
    """What a run meta-trains: one :meth:`train_iteration` at a time, checkpointed in between.

    A trainer may also offer ``adaptive_agent() -> AdaptiveAgent``
    (:mod:`metarl.agents.inference`): the agent :func:`metarl.load` returns, which adapts to one
    task and acts with ``predict``.
    """

    iteration: int
    """Completed training iterations."""

    @property
    def task_distribution(self) -> TaskDistribution:
        """The family's tasks (the run trains on its ``train`` split)."""
        ...

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        """One training iteration; ``rng`` draws its tasks. The metrics (with ``iteration``) go
        to ``metrics.csv`` and TensorBoard."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue identically."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        ...

    def graded_agent(self) -> GradedAgent:
        """The agent ``metarl evaluate`` grades as ``meta-trained``."""
        ...

    def close(self) -> None:
        """Release the trainer's envs and workers."""
        ...


class TrainingDiverged(ValueError):
    """A training iteration gave a nan or inf loss: the settings that scale its steps are too
    large for this problem."""


@dataclass(frozen=True)
class EnvSizes:
    """What the memory of an agent depends on in its env."""

    obs_dim: int
    """Floats of an observation."""
    action_dim: int
    """Floats of an action (of its one-hot vector for ``Discrete`` actions)."""
    horizon: int
    """Steps of an episode (``max_episode_steps``)."""

    @classmethod
    def of(cls, env: str, env_kwargs: Mapping[str, Any]) -> EnvSizes:
        """The sizes of ``env`` made with ``env_kwargs`` (one sub-env, closed again)."""
        import gymnasium as gym

        from metarl.envs.registration import import_env

        envs = gym.make_vec(env, num_envs=1, **env_kwargs)
        try:
            horizon = (
                env_kwargs.get("max_episode_steps") or gym.spec(import_env(env)).max_episode_steps
            )
            return cls(
                gym.spaces.flatdim(envs.single_observation_space),
                gym.spaces.flatdim(envs.single_action_space),
                int(horizon or 1),  # an env without a time limit: its episodes' length is unknown
            )
        finally:
            envs.close()


@dataclass(frozen=True)
class AgentKind:
    """How to build and follow one kind of agent."""

    build: Callable[[TrainConfig], Trainer]
    """Builds the trainer of a config (its ``agent_options`` already checked against
    ``options``)."""
    options: type | None = None
    """Frozen dataclass of the kind's hyperparameters (the config's ``agent_options``); ``None``:
    the kind takes none."""
    score: str = "post_return"
    """The metric whose best value writes ``checkpoints/best.pt``."""
    progress: tuple[str, ...] = ("pre_return", "post_return")
    """Metrics shown on the progress bar."""
    memory: Callable[[TrainConfig, EnvSizes], list[Need]] | None = None
    """The memory a config's trainer needs, setting by setting, each need before the needs it
    multiplies (:func:`metarl.memory.require_memory`, checked before building); ``None``: not
    estimated."""
    finite: tuple[str, ...] = ()
    """Metrics that stay finite while training is sound: a nan or inf one stops the run
    (:meth:`train_iteration`)."""
    step_settings: Callable[[TrainConfig], dict[str, Any]] | None = None
    """The settings that scale a training step and their values, named when training diverges."""

    def train_iteration(
        self, config: TrainConfig, learner: Trainer, rng: np.random.Generator
    ) -> dict[str, float]:
        """``learner.train_iteration(rng)``; a ``FloatingPointError`` it raises, or a nan or inf
        metric of :attr:`finite`, raised as :class:`TrainingDiverged` naming the iteration and the
        :attr:`step_settings` of ``config``."""
        try:
            metrics = learner.train_iteration(rng)
        except FloatingPointError as err:
            raise TrainingDiverged(self._diverged(config, str(err))) from err
        for name in self.finite:
            if name in metrics and not math.isfinite(metrics[name]):
                problem = f"iteration {learner.iteration}: {name} is {metrics[name]}"
                raise TrainingDiverged(self._diverged(config, problem))
        return metrics

    def _diverged(self, config: TrainConfig, problem: str) -> str:
        settings = {} if self.step_settings is None else self.step_settings(config)
        named = ", ".join(f"{name} {value:g}" for name, value in settings.items())
        return f"{problem}: training diverged" + (f"; try smaller steps ({named})" if named else "")


def option_settings(*names: str) -> Callable[[TrainConfig], dict[str, Any]]:
    """:attr:`AgentKind.step_settings` of a kind whose step settings are the ``agent_options``
    ``names``: ``{"agent_options.NAME": value}``."""

    def settings(config: TrainConfig) -> dict[str, Any]:
        options = config.kind_options()
        return {f"agent_options.{name}": getattr(options, name) for name in names}

    return settings


_KINDS: dict[str, AgentKind | str] = {
    "maml": "metarl.runs.build:MAML_KIND",
    "pearl": "metarl.runs.pearl:PEARL_KIND",
    "rl2": "metarl.runs.rl2:RL2_KIND",
}


def register_agent_kind(name: str, kind: AgentKind | str) -> None:
    """Make ``agent: name`` a valid config value.

    Args:
        name: the kind's name; not yet registered.
        kind: the :class:`AgentKind`, or the ``"module:attribute"`` path of one (imported on
            first use, so that registering costs nothing).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an agent kind name must be an identifier, got {name!r}")
    if name in _KINDS:
        raise ValueError(f"agent kind {name!r} is already registered")
    if not (isinstance(kind, AgentKind) or (isinstance(kind, str) and ":" in kind)):
        raise TypeError(f"kind must be an AgentKind or a 'module:attribute' path, got {kind!r}")
    _KINDS[name] = kind


def registered_agent_kinds() -> list[str]:
    """The names :func:`agent_kind` knows, sorted."""
    return sorted(_KINDS)


def agent_kind(name: str) -> AgentKind:
    """The kind registered as ``name`` (``ValueError`` naming the registered ones)."""
    return resolve_entry(_KINDS, name, "agent kind")
