"""What the comparison agents share: they are built from the run's :class:`AgentContext`."""

from __future__ import annotations

from dataclasses import dataclass

from metarl.evaluation.protocol import AdaptationSetting, AgentContext

__all__ = ["ComparisonAgent"]


@dataclass(frozen=True)
class ComparisonAgent:
    """A :class:`~metarl.evaluation.protocol.GradedAgent` built from the run's context; one unit
    of adaptation costs ``E`` episodes unless a subclass says otherwise."""

    context: AgentContext

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return setting.episodes
