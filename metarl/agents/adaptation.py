"""The adaptation protocol every graded agent follows (the MAML family's implementation included).

Given held-out tasks and an experience budget (:class:`AdaptationSetting`), a
:class:`GradedAgent` returns its per-task returns (and success rates where the env reports them)
after 0, 1, ..., ``steps`` units of adaptation, and says what one unit costs in episodes of
experience on the new task: ``E`` for a gradient step on ``E`` episodes, 1 for an in-context
agent that adapts after every episode, 0 for an agent that does not adapt. The report puts every
agent on both axes (units, episodes of experience).

Gradient-based agents adapted by an :class:`~metarl.agents.inner.InnerLoop` follow it through
:class:`InnerLoopAgent` and :func:`adaptation_curves`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

from metarl.agents.inner import InnerLoop
from metarl.sampling import MultiTaskSampler, stack_params
from metarl.tasks import Task

__all__ = [
    "AdaptationCurves",
    "AdaptationSetting",
    "GradedAgent",
    "InnerLoopAgent",
    "adaptation_curves",
    "adaptation_returns",
]


class AdaptationCurves(NamedTuple):
    """Per-task results after 0..k adaptation steps, each ``[K, k + 1]`` float64."""

    returns: np.ndarray
    """Mean episode return."""
    success: np.ndarray | None
    """Fraction of episodes with ``info["success"]`` on some step; ``None`` if the env has none."""


def adaptation_curves(
    policy: nn.Module,
    inner: InnerLoop,
    sampler: MultiTaskSampler,
    tasks: Sequence[Task],
    num_steps: int,
    seed: int,
    evaluation_sampler: MultiTaskSampler | None = None,
) -> AdaptationCurves:
    """Returns (and success rates) of each task after 0..``num_steps`` inner steps.

    Every step samples ``sampler.episodes_per_task`` fresh episodes per task with the current
    (adapted) parameters, records their mean return, then adapts on them. With an
    ``evaluation_sampler`` (Meta-World's protocol: adaptation episodes, then evaluation episodes),
    each point is measured instead on its own ``evaluation_sampler.episodes_per_task`` episodes,
    which the adaptation never sees. The same protocol serves every agent adapted by an inner
    loop: pass its policy and the inner loop to apply. ``seed`` seeds the envs and the action
    noise, so the result does not depend on the samplers' earlier use.
    """
    if not tasks:
        raise ValueError("adaptation needs at least one task")
    sampler.seed(seed)
    if evaluation_sampler is not None:
        evaluation_sampler.seed(seed + 1)
    params = {
        k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), len(tasks)).items()
    }
    returns, success = [], []
    for step in range(num_steps + 1):
        step_seed, adapting = seed + 7919 * step, step < num_steps
        if adapting or evaluation_sampler is None:
            batch = sampler.sample(policy, tasks, params, seed=step_seed)
        measured = (
            batch if evaluation_sampler is None
            else evaluation_sampler.sample(policy, tasks, params, seed=step_seed + 1)
        )
        returns.append(measured.task_returns().cpu().numpy())
        success.append(measured.task_success_rates())
        if adapting:
            params = inner.adapt(batch, params)
    return AdaptationCurves(
        np.stack(returns, axis=1).astype(np.float64),
        None if success[0] is None else torch.stack(success, dim=1).cpu().numpy().astype(np.float64),
    )


def adaptation_returns(
    policy: nn.Module,
    inner: InnerLoop,
    sampler: MultiTaskSampler,
    tasks: Sequence[Task],
    num_steps: int,
    seed: int,
) -> np.ndarray:
    """Mean episode return of each task after 0..``num_steps`` inner steps, ``[K, num_steps + 1]``.

    The returns of :func:`adaptation_curves` (same protocol and arguments).
    """
    return adaptation_curves(policy, inner, sampler, tasks, num_steps, seed).returns


@dataclass(frozen=True)
class AdaptationSetting:
    """What every graded agent is given: the same held-out tasks and experience budget."""

    tasks: Sequence[Task]
    """The held-out tasks."""
    steps: int
    """Units of adaptation: the curves hold the results after 0..``steps`` of them."""
    episodes: int
    """``E``: episodes per task behind each point of a curve (and per gradient step)."""
    seed: int
    """Seeds the envs and the agents' action noise."""
    sampler: MultiTaskSampler
    """The evaluation's episode sampler (``E`` episodes per task), for agents that sample
    through metarl."""
    evaluation_sampler: MultiTaskSampler | None = None
    """Meta-World's protocol (adaptation episodes, then evaluation episodes): a sampler of the
    separate episodes that each point of a curve is measured on, which no agent adapts on;
    ``None``: each point is the mean of the ``E`` episodes that the next unit adapts on."""


class GradedAgent(Protocol):
    """An agent the evaluation grades (the run's own and every comparison agent)."""

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        """Episodes of experience on the new task that one unit of adaptation costs."""
        ...

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        """Per-task results after 0..``setting.steps`` units of adaptation."""
        ...


class InnerLoopAgent:
    """A policy adapted by an inner loop: one unit is one inner step on ``E`` fresh episodes."""

    def __init__(self, policy: nn.Module, inner: InnerLoop):
        self.policy, self.inner = policy, inner

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return setting.episodes

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        return adaptation_curves(
            self.policy, self.inner, setting.sampler, setting.tasks, setting.steps, setting.seed,
            setting.evaluation_sampler,
        )
