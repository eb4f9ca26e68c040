"""Fast-adaptation evaluation: returns on held-out tasks after 0, 1, ..., k adaptation steps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from metarl.agents.inner import InnerLoop
from metarl.sampling import MultiTaskSampler, stack_params
from metarl.tasks import Task

__all__ = ["adaptation_returns", "confidence_interval", "markdown_table", "plot_adaptation"]


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


def markdown_table(results: dict[str, np.ndarray]) -> str:
    """Mean and 95% CI of the return per agent (rows) and adaptation step (columns).

    ``results[name]`` holds per-task returns ``[tasks, steps + 1]``.
    """
    steps = next(iter(results.values())).shape[1]
    lines = [
        "| agent | " + " | ".join(f"step {k}" for k in range(steps)) + " |",
        "|---|" + "---|" * steps,
    ]
    for name, returns in results.items():
        mean, half = confidence_interval(returns, axis=0)
        cells = " | ".join(f"{m:.1f} ± {h:.1f}" for m, h in zip(mean, half, strict=True))
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def plot_adaptation(results: dict[str, np.ndarray], path: str, title: str) -> None:
    """Return vs adaptation step, one line per agent with its 95% confidence band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, returns in results.items():
        mean, half = confidence_interval(returns, axis=0)
        steps = np.arange(len(mean))
        ax.plot(steps, mean, marker="o", label=name)
        ax.fill_between(steps, mean - half, mean + half, alpha=0.2)
    ax.set_xlabel("adaptation steps")
    ax.set_ylabel("mean episode return")
    ax.set_xticks(np.arange(next(iter(results.values())).shape[1]))
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
