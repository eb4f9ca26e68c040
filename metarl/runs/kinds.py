"""Agent kinds: what ``metarl train`` can meta-train, by the config's ``agent`` key.

An :class:`AgentKind` builds a :class:`Trainer` from a :class:`~metarl.runs.config.TrainConfig`;
the run plumbing (run folder, metrics, TensorBoard, checkpoints, resume, evaluation) drives any
trainer the same way. A kind's own hyperparameters live in the config's ``agent_options`` mapping,
checked against the kind's ``options`` dataclass; the MAML family's keys are the config's top-level
keys (it is the default kind).

>>> from metarl.runs.kinds import registered_agent_kinds
>>> "maml" in registered_agent_kinds()
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from metarl.lazy import resolve_entry

if TYPE_CHECKING:
    from metarl.evaluation.protocol import GradedAgent
    from metarl.runs.config import TrainConfig
    from metarl.tasks import TaskDistribution

__all__ = [
    "AgentKind",
    "Trainer",
    "agent_kind",
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
