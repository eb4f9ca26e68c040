"""The adaptation protocol: returns (and success) on held-out tasks after 0, 1, ..., k adaptation steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from metarl.agents.inner import InnerLoop
from metarl.sampling import MultiTaskSampler, stack_params
from metarl.tasks import Task

__all__ = ["AdaptationCurves", "adaptation_curves", "adaptation_returns"]


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
) -> AdaptationCurves:
    """Returns (and success rates) of each task after 0..``num_steps`` inner steps.

    Every step samples ``sampler.episodes_per_task`` fresh episodes per task with the current
    (adapted) parameters, records their mean return, then adapts on them. The same protocol serves
    every agent and baseline: pass its policy and the inner loop to apply. ``seed`` seeds the
    envs and the action noise, so the result does not depend on the sampler's earlier use.
    """
    if not tasks:
        raise ValueError("adaptation needs at least one task")
    sampler.seed(seed)
    params = {
        k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), len(tasks)).items()
    }
    returns, success = [], []
    for step in range(num_steps + 1):
        batch = sampler.sample(policy, tasks, params, seed=seed + 7919 * step)
        returns.append(batch.task_returns().numpy())
        success.append(batch.task_success_rates())
        if step < num_steps:
            params = inner.adapt(batch, params)
    return AdaptationCurves(
        np.stack(returns, axis=1).astype(np.float64),
        None if success[0] is None else torch.stack(success, dim=1).numpy().astype(np.float64),
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
