"""PEARL learns to infer its task from context: a small seeded run on Navigation2D.

Four training goals, 1,200 gradient steps. The graded agent then
plays trials on each training goal (it is not told which): the first episode acts with ``z`` from
the prior, the next ones with ``z`` sampled from the posterior of the trial's earlier episodes.
Recorded on this machine (seed 0, 20 trials, 2.5 minutes on the busy 2-core machine): prior-only
return -8.68, after one and two episodes of context -3.53 and -3.34; gain 5.24, standard error
1.25 over the 20 trials. The test asks for a gain of at least 2.0 (2.6 standard errors below the
recorded one) and of at least three standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents.adaptation import AdaptationSetting
from metarl.agents.pearl import PEARLOptions, PEARLTrainer


@pytest.mark.slow
def test_posterior_episodes_beat_the_prior_episode():
    options = PEARLOptions(
        aggregation="mean", hidden_sizes=(64, 64), encoder_hidden_sizes=(32, 32),
        num_train_tasks=4, initial_episodes=5, tasks_per_iteration=4, prior_episodes=1,
        posterior_episodes=3, extra_posterior_episodes=0, gradient_steps=100, batch_size=64,
        context_batch_size=64, gamma=0.9, reward_scale=10.0, learning_rate=3e-3,
    )
    trainer = PEARLTrainer("metarl/Navigation2D-v0", {"max_episode_steps": 20}, options, 4, 0)
    for i in range(12):
        trainer.train_iteration(np.random.default_rng([0, i]))
    trials = list(trainer.train_tasks) * 5
    curves = trainer.graded_agent().adaptation_curves(AdaptationSetting(trials, 2, 1, 0, None))
    trainer.close()
    gain = curves.returns[:, 1:].mean(axis=1) - curves.returns[:, 0]
    stderr = gain.std(ddof=1) / np.sqrt(len(gain))
    print(f"returns {curves.returns.mean(axis=0)}, gain {gain.mean():.2f} (SE {stderr:.2f})")
    assert gain.mean() >= 2.0 and gain.mean() >= 3 * stderr
