"""Fast-adaptation evaluation: returns on held-out tasks after 0, 1, ..., k adaptation steps."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from metarl.agents.inner import InnerLoop
from metarl.agents.policies import make_policy
from metarl.config import inner_loop_kwargs
from metarl.files import atomic_write, atomic_write_text, remove_stale_temps
from metarl.sampling import MultiTaskSampler, stack_params
from metarl.tasks import EnumeratedTaskDistribution, Task
from metarl.validation import require_int, require_seed

logger = logging.getLogger(__name__)

__all__ = [
    "BASELINES",
    "AdaptationCurves",
    "EvaluationResult",
    "adaptation_curves",
    "adaptation_returns",
    "confidence_interval",
    "evaluate_run",
    "markdown_table",
    "output_paths",
    "plot_adaptation",
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


def markdown_table(results: dict[str, np.ndarray], digits: int = 1) -> str:
    """Mean and 95% CI per row (agents) and adaptation step (columns).

    ``results[name]`` holds per-task values ``[tasks, steps + 1]`` (returns, success rates); the
    CI of a single task is undefined and reads ``n/a``.
    """
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


def plot_adaptation(results: dict[str, np.ndarray], path: str | Path, title: str) -> None:
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
    atomic_write(path, lambda file: fig.savefig(file, format="png"))
    plt.close(fig)


BASELINES = ("random", "pretrained", "oracle", "rl2", "scratch")
"""Baselines ``evaluate_run`` can add beside the meta-trained agent."""


@dataclass
class EvaluationResult:
    """Per-task returns after 0..``steps`` adaptation steps for every agent, on one task set."""

    env: str
    split: str
    steps: int
    episodes: int
    tasks: list[Task]
    returns: dict[str, np.ndarray] = field(default_factory=dict)  # agent -> [tasks, steps + 1]
    success: dict[str, np.ndarray] = field(default_factory=dict)  # agent -> [tasks, steps + 1]
    groups: list[str] | None = None  # task class of each task (Meta-World ML10/ML45)

    def add(self, name: str, curves: AdaptationCurves) -> None:
        """Record an agent's curves (its success rates only where the env reports success)."""
        self.returns[name] = curves.returns
        if curves.success is not None:
            self.success[name] = curves.success

    def table(self) -> str:
        """Markdown tables: mean return ± 95% CI per agent and step; success rates where the
        env reports success, overall and, for tasks of several classes, per class."""
        parts = [markdown_table(self.returns)]
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
            "tasks": [t.to_dict() for t in self.tasks],
            "groups": self.groups,
            "returns": {name: r.tolist() for name, r in self.returns.items()},
            "summary": summary(self.returns),
            "success": {name: s.tolist() for name, s in self.success.items()},
            "success_summary": summary(self.success),
        }

    def csv_text(self) -> str:
        """One row per task, agent and adaptation step."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["task_index", "task_id", "task_params", "group", "agent", "step", "return", "success"]
        )
        for name, returns in self.returns.items():
            success = self.success.get(name)
            for index, task in enumerate(self.tasks):
                params = json.dumps(task.to_dict()["params"])
                group = "" if self.groups is None else self.groups[index]
                for step, value in enumerate(returns[index]):
                    rate = "" if success is None else repr(float(success[index, step]))
                    writer.writerow(
                        [index, task.id, params, group, name, step, repr(float(value)), rate]
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
        plot_adaptation(self.returns, paths["plot"], f"{self.env} ({self.split} tasks)")
        return paths


def output_paths(folder: str | Path) -> dict[str, Path]:
    """The files an evaluation writes in ``folder``: ``eval.json``, ``eval.csv``,
    ``adaptation.png``."""
    folder = Path(folder)
    return {
        "json": folder / "eval.json",
        "csv": folder / "eval.csv",
        "plot": folder / "adaptation.png",
    }


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    num_tasks: int | None = None,
    steps: int | None = None,
    episodes: int | None = None,
    baselines: Sequence[str] = (),
    seed: int = 0,
    checkpoint: str = "last",
) -> EvaluationResult:
    """The fast-adaptation evaluation of a run folder's agent, beside the named ``baselines``.

    Every agent sees the same ``num_tasks`` tasks of ``split`` (default: the config's
    ``eval_tasks``), ``episodes`` episodes per adaptation step (default: the config's
    ``episodes_per_task``) and ``steps`` steps (default: the config's ``eval_steps``). SB3
    baseline models are trained once and cached in ``<run>/baselines``.
    """
    from metarl.training import RunFolder, load_run

    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; allowed: {list(BASELINES)}")
    if split == "train":
        raise ValueError("evaluate on held-out tasks: split must be 'test' or 'test-ood'")
    seed = require_seed("seed", seed)
    config, learner = load_run(run_dir, checkpoint)
    distribution = learner.sampler.task_distribution
    tasks = list(distribution.split(split).tasks)
    num_tasks = config.eval_tasks if num_tasks is None else require_int("num_tasks", num_tasks)
    if num_tasks > len(tasks):
        raise ValueError(f"split {split!r} holds {len(tasks)} tasks, asked for {num_tasks}")
    tasks = tasks[:num_tasks]
    steps = config.eval_steps if steps is None else require_int("steps", steps, minimum=0)
    episodes = config.episodes_per_task if episodes is None else require_int("episodes", episodes)
    sampler = MultiTaskSampler(config.env, episodes, config.env_kwargs)
    groups = None
    if isinstance(distribution, EnumeratedTaskDistribution) and distribution.has_groups:
        groups = [distribution.group(t) for t in tasks]
    result = EvaluationResult(config.env, split, steps, episodes, tasks, groups=groups)
    result.add(
        "meta-trained",
        adaptation_curves(learner.policy, learner.inner, sampler, tasks, steps, seed),
    )
    inner_kwargs = inner_loop_kwargs(config, int(sampler.observation_space.shape[0]))
    for name in baselines:
        logger.info("evaluating baseline %s", name)
        curves = _baseline_curves(
            name,
            config,
            inner_kwargs,
            sampler,
            tasks,
            steps,
            episodes,
            seed,
            RunFolder(run_dir).root / "baselines",
        )
        result.add(name, curves)
    sampler.close()
    return result


def _baseline_curves(
    name: str,
    config: Any,
    inner_kwargs: dict[str, Any],
    sampler: MultiTaskSampler,
    tasks: list[Task],
    steps: int,
    episodes: int,
    seed: int,
    cache: Path,
) -> AdaptationCurves:
    """The curves of baseline ``name``; success rates only for the sampler-based ones."""
    arch = {"hidden_sizes": config.hidden_sizes, "activation": config.activation}
    env, env_kwargs, budget = config.env, config.env_kwargs, config.baseline_timesteps
    if name == "random":
        torch.manual_seed(seed + 1)
        policy = make_policy(sampler.observation_space, sampler.action_space, **arch)
        return adaptation_curves(
            policy, InnerLoop(policy, **inner_kwargs), sampler, tasks, steps, seed
        )
    from metarl import baselines as sb3  # SB3 models, only for these baselines

    if name == "pretrained":
        model = sb3.train_pretrained(env, env_kwargs, budget, seed, cache, **arch)
        return sb3.pretrained_curves(model, inner_kwargs, sampler, tasks, steps, seed, **arch)
    if name == "oracle":
        model = sb3.train_oracle(env, env_kwargs, budget, seed, cache, **arch)
        returns = sb3.oracle_returns(model, env, env_kwargs, tasks, steps, episodes, seed)
    elif name == "rl2":
        model = sb3.train_rl2(env, env_kwargs, budget, seed, cache, trial_episodes=steps + 1)
        returns = sb3.rl2_returns(model, env, env_kwargs, tasks, steps, episodes, seed)
    else:
        returns = sb3.scratch_returns(env, env_kwargs, tasks, steps, episodes, seed, **arch)
    return AdaptationCurves(returns, None)
