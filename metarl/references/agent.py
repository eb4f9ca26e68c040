"""What the classical references share: graded as trial agents, built from the run's context."""

from __future__ import annotations

import math
from typing import ClassVar

from metarl.agents.trial_agent import TrialAgent
from metarl.evaluation.protocol import AgentContext
from metarl.validation import require_finite

__all__ = ["ReferenceAgent", "TunableReference"]


class ReferenceAgent(TrialAgent):
    """A classical algorithm graded beside a run's agent on the same tasks and seeds.

    ``env_ids`` names the families whose task structure the algorithm assumes (empty: any);
    building it for another family raises ``ValueError`` before anything runs.
    """

    name: ClassVar[str]
    env_ids: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: AgentContext):
        self.require_family(context.env)
        super().__init__(context.env, context.env_kwargs)

    @classmethod
    def require_family(cls, env: str) -> None:
        """Raise ``ValueError`` unless the algorithm applies to family ``env``."""
        if cls.env_ids and env not in cls.env_ids:
            raise ValueError(f"{cls.name} is a reference for {', '.join(cls.env_ids)}, not {env}")


class TunableReference(ReferenceAgent):
    """A reference with one hyperparameter, ``value`` (default: :attr:`default`, the untuned
    textbook value); :mod:`~metarl.references.tuning` picks it from :attr:`grid` on the training
    split.

    The allowed values are the finite numbers from :attr:`minimum` (excluded where
    :attr:`minimum_allowed` is false) to :attr:`maximum`.
    """

    hyperparameter: ClassVar[str]
    """Its name, e.g. ``"c"``."""
    default: ClassVar[float]
    """The untuned value."""
    grid: ClassVar[tuple[float, ...]]
    """The values tuning tries by default."""
    minimum: ClassVar[float] = 0.0
    minimum_allowed: ClassVar[bool] = True
    maximum: ClassVar[float] = math.inf

    def __init__(self, context: AgentContext, value: float | None = None):
        super().__init__(context)
        self.value = self.check(self.default if value is None else value)

    @classmethod
    def check(cls, value: float) -> float:
        """``value`` as a float if it is allowed; ``ValueError`` naming it and the range otherwise."""
        return require_finite(
            cls.hyperparameter, value, cls.minimum, maximum=cls.maximum,
            inclusive=cls.minimum_allowed,
        )
