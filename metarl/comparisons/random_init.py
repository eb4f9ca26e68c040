"""The ``random`` comparison: a randomly *initialised* policy adapted by the run's inner loop.

It is the meta-learner's starting point without meta-training (the run's architecture, a fresh
initialisation seeded from the evaluation seed), adapted exactly as the meta-trained agent is.
"""

from __future__ import annotations

import torch

from metarl.agents.inner import InnerLoop
from metarl.agents.policies import make_policy
from metarl.comparisons.agent import ComparisonAgent
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting, adaptation_curves

__all__ = ["RandomInitAgent"]


class RandomInitAgent(ComparisonAgent):
    """A randomly initialised policy; one unit is one inner step on ``E`` episodes."""

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        sampler, context = setting.sampler, self.context
        torch.manual_seed(setting.seed + 1)
        policy = make_policy(
            sampler.observation_space, sampler.action_space, context.hidden_sizes,
            context.activation,
        )
        inner = InnerLoop(policy, **context.inner_kwargs)
        return adaptation_curves(
            policy, inner, sampler, setting.tasks, setting.steps, setting.seed,
            setting.evaluation_sampler,
        )
