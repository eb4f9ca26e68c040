"""The evaluation's report: mean and 95% CI per agent and adaptation step as tables, JSON, CSV and a plot."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metarl.evaluation.protocol import AdaptationCurves
from metarl.files import atomic_write, atomic_write_text, remove_stale_temps
from metarl.tasks import Task

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

__all__ = [
    "EvaluationResult",
    "adaptation_figure",
    "confidence_interval",
    "markdown_table",
    "output_paths",
    "paired_differences",
    "plot_adaptation",
    "table_digits",
    "write_tensorboard",
]


def confidence_interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of the 95% normal-approximation confidence interval along ``axis``.

    With fewer than two values the interval is undefined: its half-width is NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, 1.96 * values.std(axis=axis, ddof=1) / np.sqrt(n)


def _json_floats(values: np.ndarray) -> list[float | None]:
    """``values`` as a JSON-ready list, NaN (an undefined interval) as ``None``."""
    return [None if np.isnan(v) else float(v) for v in values]


def table_digits(results: Mapping[str, np.ndarray]) -> int:
    """Decimals that resolve the values of ``results`` (per-task values ``[tasks, steps + 1]``
    per agent): two significant digits of the smallest positive CI half-width or difference
    between two agents' means at one step, between 1 and 4."""
    means, halves = zip(*(confidence_interval(v) for v in results.values()), strict=True)
    means = np.stack(means)
    gaps = np.abs(means[:, None, :] - means[None, :, :]).ravel()
    scales = np.concatenate([np.ravel(halves), gaps])
    scales = scales[np.isfinite(scales) & (scales > 0)]
    if not scales.size:
        return 1
    return int(np.clip(1 - np.floor(np.log10(scales.min())), 1, 4))


def markdown_table(results: Mapping[str, np.ndarray], digits: int | None = None) -> str:
    """Mean and 95% CI per row (agents) and adaptation step (columns).

    ``results[name]`` holds per-task values ``[tasks, steps + 1]`` (returns, success rates); the
    CI of a single task is undefined and reads ``n/a``. ``digits``: decimals (default:
    :func:`table_digits`).
    """
    digits = table_digits(results) if digits is None else digits
    steps = next(iter(results.values())).shape[1]
    lines = [
        "| agent | " + " | ".join(f"step {k}" for k in range(steps)) + " |",
        "|---|" + "---|" * steps,
    ]
    for name, values in results.items():
        mean, half = confidence_interval(values, axis=0)
        cells = " | ".join(
            f"{m:.{digits}f} ± {'n/a' if np.isnan(h) else f'{h:.{digits}f}'}"
            for m, h in zip(mean, half, strict=True)
        )
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def paired_differences(
    results: Mapping[str, np.ndarray], reference: str
) -> dict[str, np.ndarray]:
    """Per-task differences ``results[name] - results[reference]`` of every other agent: the same
    tasks, so their CI is that of the paired difference.

    Raises:
        ValueError: ``reference`` is not one of the agents.
    """
    if reference not in results:
        raise ValueError(f"paired_with must be one of the agents {list(results)}, got {reference!r}")
    return {
        name: values - results[reference] for name, values in results.items() if name != reference
    }


def adaptation_figure(
    results: Mapping[str, np.ndarray],
    title: str,
    episodes_per_unit: Mapping[str, int] | None = None,
    caption: str | None = None,
) -> Figure:
    """Return vs adaptation steps, one line per agent with its 95% confidence band; with
    ``episodes_per_unit``, a second panel puts the same points at the episodes of experience on
    the new task (an agent whose unit costs no episodes, which does not adapt, is a dashed line).
    ``caption`` is written under the panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(next(iter(results.values())).shape[1])
    if len(steps) == 1:
        return _dot_figure(results, title, caption)
    panels = 1 if episodes_per_unit is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), dpi=120, squeeze=False)
    for name, returns in results.items():
        mean, half = confidence_interval(returns, axis=0)
        axes[0, 0].plot(steps, mean, marker="o", label=name)
        axes[0, 0].fill_between(steps, mean - half, mean + half, alpha=0.2)
        if episodes_per_unit is None:
            continue
        color = axes[0, 0].lines[-1].get_color()
        if episodes_per_unit[name] == 0:
            axes[0, 1].axhline(mean[0], linestyle="--", label=name, color=color)
        else:
            episodes = steps * episodes_per_unit[name]
            axes[0, 1].plot(episodes, mean, marker="o", label=name, color=color)
            axes[0, 1].fill_between(episodes, mean - half, mean + half, alpha=0.2, color=color)
    axes[0, 0].set_xlabel("adaptation steps")
    axes[0, 0].set_xticks(steps)
    if episodes_per_unit is not None:
        axes[0, 1].set_xlabel("episodes of experience on the new task")
    for ax in axes[0]:
        ax.set_ylabel("mean episode return")
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
        _keep_inside(ax, [line.get_ydata() for line in ax.lines])
    return _finish(fig, caption)


def _dot_figure(results: Mapping[str, np.ndarray], title: str, caption: str | None) -> Figure:
    """One value per agent (no adaptation steps): a dot with its 95% CI error bar per agent."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(results) + 2), 4), dpi=120)
    for index, (name, values) in enumerate(results.items()):
        mean, half = confidence_interval(values, axis=0)
        ax.errorbar([index], mean, yerr=np.nan_to_num(half), fmt="o", capsize=5, label=name)
    ax.set_xticks(range(len(results)), list(results), rotation=20, ha="right")
    ax.set_xlim(-0.5, len(results) - 0.5)
    ax.set_ylabel("mean episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    return _finish(fig, caption)


def _keep_inside(ax: Any, ys: list[Any]) -> None:
    """Y limits that hold every line of ``ys`` (reference lines too) with a margin."""
    values = np.concatenate([np.ravel(np.asarray(y, dtype=float)) for y in ys] or [np.zeros(1)])
    low, high = ax.get_ylim()
    low, high = min(low, np.nanmin(values)), max(high, np.nanmax(values))
    pad = 0.05 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)


def _finish(fig: Figure, caption: str | None) -> Figure:
    if caption:
        fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize=8, wrap=True)
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))
    return fig


def plot_adaptation(
    results: Mapping[str, np.ndarray],
    path: str | Path,
    title: str,
    episodes_per_unit: Mapping[str, int] | None = None,
    caption: str | None = None,
) -> None:
    """Write :func:`adaptation_figure` as a PNG, atomically."""
    import matplotlib.pyplot as plt

    fig = adaptation_figure(results, title, episodes_per_unit, caption)
    atomic_write(path, lambda file: fig.savefig(file, format="png"))
    plt.close(fig)


@dataclass
class EvaluationResult:
    """Per-task returns after 0..``steps`` adaptation steps for every agent, on one task set, and
    the episodes of experience each agent's step costs."""

    env: str
    split: str
    steps: int
    episodes: int
    tasks: list[Task]
    returns: dict[str, np.ndarray] = field(default_factory=dict)  # agent -> [tasks, steps + 1]
    success: dict[str, np.ndarray] = field(default_factory=dict)  # agent -> [tasks, steps + 1]
    groups: list[str] | None = None  # task class of each task (Meta-World ML10/ML45)
    episodes_per_unit: dict[str, int] = field(default_factory=dict)  # agent -> episodes per step
    evaluation_episodes: int | None = None  # Meta-World's protocol: separate measured episodes
    checkpoint: str | None = None  # the evaluated checkpoint (relative to its run folder)
    paired_with: str | None = None  # the agent the paired differences are taken against
    provenance: dict[str, Any] | None = None  # what produced it (metarl.provenance.provenance)

    def add(self, name: str, curves: AdaptationCurves, episodes_per_unit: int | None = None) -> None:
        """Record an agent's curves (its success rates only where the env reports success) and
        the episodes of experience one of its adaptation steps costs (default: ``episodes``)."""
        self.returns[name] = curves.returns
        if curves.success is not None:
            self.success[name] = curves.success
        self.episodes_per_unit[name] = self.episodes if episodes_per_unit is None else episodes_per_unit

    def caption(self) -> str:
        """What the plot shows: task and episode counts, the bands, the checkpoint."""
        measured = self.evaluation_episodes or self.episodes
        text = (
            f"{len(self.tasks)} {self.split} tasks; each point: the mean over tasks of {measured} "
            f"episodes per task; bands: 95% confidence intervals over tasks"
        )
        return text + (f"; checkpoint {self.checkpoint}" if self.checkpoint else "")

    def experience(self, name: str) -> list[int]:
        """Episodes of experience on the new task behind each step of agent ``name``."""
        return [step * self.episodes_per_unit[name] for step in range(self.steps + 1)]

    def table(self) -> str:
        """Markdown tables: mean return ± 95% CI per agent and step; success rates where the
        env reports success, overall and, for tasks of several classes, per class."""
        parts = [markdown_table(self.returns)]
        parts.append(
            "Episodes of experience on the new task per adaptation step: "
            + ", ".join(f"{name} {cost}" for name, cost in self.episodes_per_unit.items())
        )
        if self.evaluation_episodes is not None:
            parts.append(
                f"Each point is measured on {self.evaluation_episodes} separate evaluation "
                "episodes per task, which no agent adapts on (Meta-World's protocol)."
            )
        if self.paired_with is not None and len(self.returns) > 1:
            parts.append(
                f"Paired difference from {self.paired_with} (on the same tasks), mean ± 95% CI:"
                "\n\n" + markdown_table(paired_differences(self.returns, self.paired_with))
            )
        if self.success:
            parts.append("Success rate:\n\n" + markdown_table(self.success, digits=2))
        if self.success and self.groups and len(set(self.groups)) > 1:
            for group in sorted(set(self.groups)):
                rows = [i for i, g in enumerate(self.groups) if g == group]
                per_agent = {name: s[rows] for name, s in self.success.items()}
                parts.append(f"Success rate, {group}:\n\n" + markdown_table(per_agent, digits=2))
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        def summary(values: dict[str, np.ndarray]) -> dict[str, Any]:
            return {
                name: {"mean": m.tolist(), "ci95": _json_floats(h)}
                for name, (m, h) in ((n, confidence_interval(v)) for n, v in values.items())
            }

        return {
            "env": self.env,
            "split": self.split,
            "steps": self.steps,
            "episodes_per_step": self.episodes,
            "evaluation_episodes": self.evaluation_episodes,
            "checkpoint": self.checkpoint,
            "tasks": [t.to_dict() for t in self.tasks],
            "groups": self.groups,
            "episodes_per_unit": dict(self.episodes_per_unit),
            "experience": {name: self.experience(name) for name in self.returns},
            "returns": {name: r.tolist() for name, r in self.returns.items()},
            "summary": summary(self.returns),
            "success": {name: s.tolist() for name, s in self.success.items()},
            "success_summary": summary(self.success),
            "paired_with": self.paired_with,
            "paired_difference": (
                {} if self.paired_with is None
                else summary(paired_differences(self.returns, self.paired_with))
            ),
            "provenance": self.provenance,
        }

    def csv_text(self) -> str:
        """One row per task, agent and adaptation step."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "task_index", "task_id", "task_params", "group", "agent", "step", "episodes",
                "return", "success",
            ]
        )
        for name, returns in self.returns.items():
            success = self.success.get(name)
            experience = self.experience(name)
            for index, task in enumerate(self.tasks):
                params = json.dumps(task.to_dict()["params"])
                group = "" if self.groups is None else self.groups[index]
                for step, value in enumerate(returns[index]):
                    rate = "" if success is None else repr(float(success[index, step]))
                    writer.writerow(
                        [
                            index, task.id, params, group, name, step, experience[step],
                            repr(float(value)), rate,
                        ]
                    )
        return buffer.getvalue()

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write :func:`output_paths` in ``folder``, each atomically (an earlier evaluation's
        files are replaced, along with temporary files an interrupted write left); other files
        stay."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = output_paths(folder)
        remove_stale_temps(folder, [path.name for path in paths.values()])
        atomic_write_text(paths["json"], json.dumps(self.to_dict(), indent=1))
        atomic_write_text(paths["csv"], self.csv_text())
        plot_adaptation(
            self.returns, paths["plot"], f"{self.env} ({self.split} tasks)", self.episodes_per_unit,
            self.caption(),
        )
        return paths


def write_tensorboard(result: EvaluationResult, log_dir: str | Path) -> None:
    """Add ``result``'s mean returns (and success rates) to the TensorBoard events in
    ``log_dir``: ``eval/<split>/<agent>/return`` (``.../success``) at each adaptation step."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(log_dir))
    try:
        for what, values in (("return", result.returns), ("success", result.success)):
            for name, per_task in values.items():
                for step, mean in enumerate(np.asarray(per_task, dtype=float).mean(axis=0)):
                    writer.add_scalar(f"eval/{result.split}/{name}/{what}", mean, step)
    finally:
        writer.close()


def output_paths(folder: str | Path) -> dict[str, Path]:
    """The files an evaluation writes in ``folder``: ``eval.json``, ``eval.csv``,
    ``adaptation.png``."""
    folder = Path(folder)
    return {
        "json": folder / "eval.json",
        "csv": folder / "eval.csv",
        "plot": folder / "adaptation.png",
    }
