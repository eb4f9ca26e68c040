"""The plots of a cell page: the adaptation curves (mean return over seeds per adaptation step,
one line per agent, with its 95% bootstrap band; dots with error bars for an evaluation without
steps) and the training curves (each seed's returns during meta-training against env steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from metarl.bench.aggregate import CellSummary
from metarl.files import atomic_write

__all__ = ["plot_cell", "plot_training"]


def _figure() -> tuple[Any, Any]:
    """A 600x400 figure and its axes (matplotlib without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4), dpi=100)


def _save(fig: Any, path: str | Path) -> None:
    """Write ``fig`` to ``path`` as a PNG, atomically, with no timestamp or version in its
    metadata (the same results give the same file), and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    atomic_write(path, lambda file: fig.savefig(file, format="png", metadata={"Software": None}))
    plt.close(fig)


def plot_cell(summary: CellSummary, path: str | Path) -> None:
    """Write the plot of ``summary`` to ``path`` as a PNG (atomically; no timestamp or version in
    its metadata, so the same results give the same file)."""
    intervals = summary.intervals()
    steps = np.arange(summary.steps + 1)
    fig, ax = _figure()
    for index, (agent, interval) in enumerate(intervals.items()):
        # an undefined interval (one seed) is drawn as none
        low = np.where(np.isnan(interval.low), interval.value, interval.low)
        high = np.where(np.isnan(interval.high), interval.value, interval.high)
        if len(steps) == 1:
            error = np.abs(np.stack([interval.value - low, high - interval.value]))
            ax.errorbar([index], interval.value, yerr=error, fmt="o", capsize=5, label=agent)
        else:
            ax.plot(steps, interval.value, marker="o", label=agent)
            ax.fill_between(steps, low, high, alpha=0.2)
    if len(steps) == 1:
        ax.set_xticks(range(len(intervals)), list(intervals), rotation=20, ha="right")
    else:
        ax.set_xticks(steps)
        ax.set_xlabel("adaptation steps")
        ax.legend()
    ax.set_ylabel("mean episode return")
    ax.set_title(f"{summary.cell}, {summary.budget} budget ({summary.seeds_text})")
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_training(summary: CellSummary, path: str | Path) -> None:
    """Write the training curves of ``summary``'s seeds (their result files' ``training``) to
    ``path`` as a PNG: one colour per return column, one line per seed."""
    fig, ax = _figure()
    curves = [record["training"] for record in summary.records if record.get("training")]
    columns = [name for name in curves[0] if name != "env_steps"]
    for index, column in enumerate(columns):
        for number, curve in enumerate(curves):
            ax.plot(
                curve["env_steps"], curve[column], color=f"C{index}", alpha=0.7, linewidth=1,
                label=column if number == 0 else None,
            )
    ax.set_xlabel("env steps of meta-training")
    ax.set_ylabel("mean return")
    ax.set_title(f"{summary.cell}, {summary.budget} budget: training ({len(curves)} seeds)")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)
