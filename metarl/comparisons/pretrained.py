"""The pretrained comparison: multi-task PPO fine-tuned by the run's inner loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stable_baselines3 import PPO

from metarl.agents.inner import InnerLoop
from metarl.comparisons.agent import ComparisonAgent
from metarl.comparisons.checks import (
    check_inner_kwargs,
    check_tasks,
)
from metarl.comparisons.multitask_ppo import train_pretrained
from metarl.comparisons.sb3_policy import policy_from_sb3
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting, adaptation_curves
from metarl.sampling import MultiTaskSampler
from metarl.tasks import Task
from metarl.validation import require_int


def pretrained_curves(
    model: PPO,
    inner_kwargs: Mapping[str, Any],
    sampler: MultiTaskSampler,
    tasks: Sequence[Task],
    num_steps: int,
    seed: int,
    hidden_sizes: Sequence[int],
    activation: str,
    evaluation_sampler: MultiTaskSampler | None = None,
) -> AdaptationCurves:
    """Pretrained PPO fine-tuned by ``InnerLoop(policy, **inner_kwargs)``: returns (and success
    rates) ``[K, num_steps + 1]``.

    Runs :func:`metarl.evaluation.adaptation_curves` unchanged (the meta-learners' protocol,
    which seeds the sampler's envs and action noise from ``seed``).
    """
    inner_kwargs = check_inner_kwargs(inner_kwargs)
    if not isinstance(sampler, MultiTaskSampler):
        raise ValueError(f"sampler must be a metarl MultiTaskSampler, got {sampler!r}")
    tasks = check_tasks(tasks, sampler.task_distribution)
    num_steps = require_int("num_steps", num_steps, minimum=0)
    seed = require_int("seed", seed, minimum=0)
    policy = policy_from_sb3(
        model, sampler.observation_space, sampler.action_space, hidden_sizes, activation
    )
    inner = InnerLoop(policy, **inner_kwargs)
    return adaptation_curves(policy, inner, sampler, tasks, num_steps, seed, evaluation_sampler)


class PretrainedAgent(ComparisonAgent):
    """Multi-task PPO (cached), fine-tuned by the run's inner loop; one unit is one inner step on
    ``E`` episodes."""

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        c = self.context
        model = train_pretrained(
            c.env, c.env_kwargs, c.timesteps, setting.seed, c.cache_dir, c.hidden_sizes,
            c.activation, device=c.device,
        )
        return pretrained_curves(
            model, c.inner_kwargs, setting.sampler, setting.tasks, setting.steps, setting.seed,
            c.hidden_sizes, c.activation, setting.evaluation_sampler,
        )
