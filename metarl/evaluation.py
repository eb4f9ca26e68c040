"""Fast-adaptation evaluation: returns on held-out tasks after 0, 1, ..., k adaptation steps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from metarl.agents.inner import InnerLoop
from metarl.sampling import MultiTaskSampler, stack_params
from metarl.tasks import Task

__all__ = ["adaptation_returns", "confidence_interval"]


def adaptation_returns(
    policy: nn.Module,
    inner: InnerLoop,
    sampler: MultiTaskSampler,
    tasks: Sequence[Task],
    num_steps: int,
    seed: int,
) -> np.ndarray:
    """Mean episode return of each task after 0..``num_steps`` inner steps, ``[K, num_steps + 1]``.

    Every step samples ``sampler.episodes_per_task`` fresh episodes per task with the current
    (adapted) parameters, records their mean return, then adapts on them. The same protocol serves
    every agent and baseline: pass its policy and the inner loop to apply.
    """
    params = {
        k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), len(tasks)).items()
    }
    returns = []
    for step in range(num_steps + 1):
        batch = sampler.sample(policy, tasks, params, seed=seed + 7919 * step)
        returns.append(batch.task_returns().numpy())
        if step < num_steps:
            params = inner.adapt(batch, params)
    return np.stack(returns, axis=1).astype(np.float64)


def confidence_interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of the 95% normal-approximation confidence interval along ``axis``."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    return mean, 1.96 * values.std(axis=axis, ddof=1) / np.sqrt(n)
