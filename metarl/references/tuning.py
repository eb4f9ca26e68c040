"""Tuning a reference's hyperparameter on the training split, as the RL^2 paper tuned its baselines.

:func:`tune` runs a :class:`~metarl.references.agent.TunableReference` with each value of a grid
on the same tasks drawn from the family's ``train`` split (never its held-out splits) and the same
seeds, and picks the value of the best mean trial return (ties: the first). A
:class:`TunedReference` does this at evaluation time, on the evaluated family with the run's
``env_kwargs``, trials as long as the evaluation's, and the evaluation's seed, then is graded
with the value it chose on the held-out tasks. It logs the choice and keeps it in ``tuning``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.evaluation.protocol import AgentContext
from metarl.references.agent import TunableReference
from metarl.references.bandits import UCB1, EpsilonGreedy
from metarl.references.gittins import Gittins
from metarl.tasks import Task
from metarl.validation import require_int

logger = logging.getLogger(__name__)

__all__ = [
    "TASK_STREAM",
    "TUNING_TASKS",
    "EpsilonGreedyTuned",
    "GittinsTuned",
    "TunedReference",
    "Tuning",
    "UCB1Tuned",
    "checked_grid",
    "training_tasks",
    "tune",
]

TUNING_TASKS = 1000
"""Training tasks, one trial each, that a :class:`TunedReference` tunes on."""
TASK_STREAM = 0x74756E65
"""Mixed into the seed of the training tasks' generator (:func:`training_tasks`)."""


@dataclass(frozen=True)
class Tuning:
    """The outcome of :func:`tune`."""

    hyperparameter: str
    best: float
    """The grid value of the best mean trial return."""
    means: Mapping[float, float]
    """Mean trial return on the training tasks, per grid value (in grid order)."""
    num_tasks: int

    def __str__(self) -> str:
        means = ", ".join(f"{value:g}: {mean:.3f}" for value, mean in self.means.items())
        return (
            f"{self.hyperparameter} = {self.best:g} (mean trial return on {self.num_tasks} "
            f"training tasks per {self.hyperparameter}: {means})"
        )


def training_tasks(context: AgentContext, num_tasks: int, seed: int) -> list[Task]:
    """``num_tasks`` tasks of the ``train`` split of ``context``'s family (with its
    ``env_kwargs``), drawn with a generator seeded by ``seed`` and :data:`TASK_STREAM`.

    The stream is not ``seed``'s own: the actors' generators are seeded with ``seed``, and an
    actor whose first draws were the tasks' parameters would know them (greedy's tie-breaking
    keys would be the arm means).
    """
    env = gym.make(context.env, **context.env_kwargs)
    try:
        rng = np.random.default_rng([TASK_STREAM, seed])
        return env.unwrapped.task_distribution.split("train").sample(num_tasks, rng)
    finally:
        env.close()


def checked_grid(reference: type[TunableReference], grid: Sequence[float]) -> tuple[float, ...]:
    """``grid`` as floats; ``ValueError`` if it is empty or holds a value ``reference`` does not
    allow."""
    if not len(grid):
        raise ValueError(
            f"the grid of {reference.name}'s {reference.hyperparameter} must hold at least one "
            "value, got none"
        )
    return tuple(reference.check(value) for value in grid)


def tune(
    reference: type[TunableReference],
    context: AgentContext,
    grid: Sequence[float],
    num_tasks: int,
    seed: int,
    steps: int = 0,
) -> Tuning:
    """The value of ``grid`` with which ``reference`` has the best mean trial return (ties: the
    first) over one trial of ``steps + 1`` episodes on each of ``num_tasks`` training tasks
    (:func:`training_tasks`); every value sees the same tasks and ``seed``.

    Raises:
        ValueError: an empty ``grid``, a value ``reference`` does not allow, or ``num_tasks`` not
            a positive int.
    """
    values = checked_grid(reference, grid)
    num_tasks = require_int("num_tasks", num_tasks)
    setting = AdaptationSetting(training_tasks(context, num_tasks, seed), steps, 1, seed, None)
    means = {
        value: float(reference(context, value).adaptation_curves(setting).returns.sum(axis=1).mean())
        for value in values
    }
    best = max(means, key=means.__getitem__)
    return Tuning(reference.hyperparameter, best, means, num_tasks)


class TunedReference:
    """:attr:`reference` with its hyperparameter tuned by :func:`tune` on :attr:`num_tasks`
    training tasks of the evaluated family over ``grid`` (default: the reference's
    :attr:`~metarl.references.agent.TunableReference.grid`), then graded with the chosen value.

    After :meth:`adaptation_curves`, ``tuning`` holds the choice and the training means.
    """

    reference: ClassVar[type[TunableReference]]

    def __init__(
        self,
        context: AgentContext,
        grid: Sequence[float] | None = None,
        num_tasks: int = TUNING_TASKS,
    ):
        self.reference.require_family(context.env)
        self.context = context
        self.grid = checked_grid(self.reference, self.reference.grid if grid is None else grid)
        self.num_tasks = require_int("num_tasks", num_tasks)
        self.tuning: Tuning | None = None

    @property
    def name(self) -> str:
        """The registered name: the reference's, then ``-tuned``."""
        return f"{self.reference.name}-tuned"

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        self.tuning = tune(
            self.reference, self.context, self.grid, self.num_tasks, setting.seed, setting.steps
        )
        logger.info("%s: %s", self.name, self.tuning)
        return self.reference(self.context, self.tuning.best).adaptation_curves(setting)


class UCB1Tuned(TunedReference):
    """UCB1, exploration constant ``c`` tuned on the training split."""

    reference = UCB1


class EpsilonGreedyTuned(TunedReference):
    """epsilon-greedy, epsilon tuned on the training split."""

    reference = EpsilonGreedy


class GittinsTuned(TunedReference):
    """The Gittins index policy, discount ``gamma`` tuned on the training split."""

    reference = Gittins
