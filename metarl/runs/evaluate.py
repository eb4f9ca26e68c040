"""``metarl evaluate``: the fast-adaptation evaluation of a run folder's agent beside comparison agents."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from metarl.agents.inner import InnerLoop
from metarl.agents.policies import make_policy
from metarl.evaluation import AdaptationCurves, EvaluationResult, adaptation_curves
from metarl.runs.build import inner_loop_kwargs
from metarl.runs.folder import RunFolder
from metarl.runs.train import load_run
from metarl.sampling import MultiTaskSampler
from metarl.tasks import EnumeratedTaskDistribution, Task
from metarl.validation import require_int, require_seed

logger = logging.getLogger(__name__)

__all__ = ["COMPARISONS", "evaluate_run"]


COMPARISONS = ("random", "pretrained", "oracle", "rl2", "scratch")
"""Baselines ``evaluate_run`` can add beside the meta-trained agent."""


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    num_tasks: int | None = None,
    steps: int | None = None,
    episodes: int | None = None,
    comparisons: Sequence[str] = (),
    seed: int = 0,
    checkpoint: str = "last",
) -> EvaluationResult:
    """The fast-adaptation evaluation of a run folder's agent, beside the named ``comparisons``.

    Every agent sees the same ``num_tasks`` tasks of ``split`` (default: the config's
    ``eval_tasks``), ``episodes`` episodes per adaptation step (default: the config's
    ``episodes_per_task``) and ``steps`` steps (default: the config's ``eval_steps``). SB3
    baseline models are trained once and cached in ``<run>/baselines``.
    """
    unknown = sorted(set(comparisons) - set(COMPARISONS))
    if unknown:
        raise ValueError(f"unknown comparison(s) {unknown}; allowed: {list(COMPARISONS)}")
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
    for name in comparisons:
        logger.info("evaluating comparison %s", name)
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
    env, env_kwargs, budget = config.env, config.env_kwargs, config.comparison_timesteps
    if name == "random":
        torch.manual_seed(seed + 1)
        policy = make_policy(sampler.observation_space, sampler.action_space, **arch)
        return adaptation_curves(
            policy, InnerLoop(policy, **inner_kwargs), sampler, tasks, steps, seed
        )
    from metarl import comparisons as sb3  # SB3 models, only for these comparisons

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
