"""What the classical references share: graded as trial agents, built from the run's context."""

from __future__ import annotations

from typing import ClassVar

from metarl.agents.trial_agent import TrialAgent
from metarl.evaluation.protocol import AgentContext

__all__ = ["ReferenceAgent"]


class ReferenceAgent(TrialAgent):
    """A classical algorithm graded beside a run's agent on the same tasks and seeds.

    ``env_ids`` names the families whose task structure the algorithm assumes (empty: any);
    building it for another family raises ``ValueError`` before anything runs.
    """

    name: ClassVar[str]
    env_ids: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: AgentContext):
        if self.env_ids and context.env not in self.env_ids:
            raise ValueError(
                f"{self.name} is a reference for {', '.join(self.env_ids)}, not {context.env}"
            )
        super().__init__(context.env, context.env_kwargs)
