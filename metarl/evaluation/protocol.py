"""What the evaluation hands the agents it grades.

The adaptation protocol itself (:class:`GradedAgent`, :class:`AdaptationSetting`,
:class:`AdaptationCurves`) lives with the agents, in :mod:`metarl.agents.adaptation`, which every
agent family implements; it is re-exported here for the evaluation's users.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metarl.agents.adaptation import (
    AdaptationCurves,
    AdaptationSetting,
    GradedAgent,
    InnerLoopAgent,
    adaptation_curves,
    adaptation_returns,
)

__all__ = [
    "AdaptationCurves",
    "AdaptationSetting",
    "AgentContext",
    "GradedAgent",
    "InnerLoopAgent",
    "adaptation_curves",
    "adaptation_returns",
]


@dataclass(frozen=True)
class AgentContext:
    """What a run offers an agent the evaluation builds beside it (see
    :func:`~metarl.evaluation.registry.register_agent`)."""

    env: str
    """Registered family id."""
    env_kwargs: Mapping[str, Any]
    """Arguments of the env (``max_episode_steps``, family options)."""
    hidden_sizes: tuple[int, ...]
    """The run's policy architecture."""
    activation: str
    """The run's policy activation."""
    inner_kwargs: Mapping[str, Any]
    """The run's :class:`~metarl.agents.inner.InnerLoop` arguments (all but the policy)."""
    timesteps: int
    """Training budget, in env steps, of agents trained for the comparison."""
    cache_dir: Path
    """Where trained comparison agents are cached."""
    device: str = "cpu"
    """Where agents trained for the comparison train and act: ``auto``, ``cpu`` or ``cuda``."""
    sac_timesteps: int | None = None
    """Training budget of SAC-trained comparisons; ``None``: :attr:`timesteps`."""
