"""PEARL learns to infer an unseen task from context: a small seeded run on Navigation2D.

32 training goals on PEARL's half circle of radius 1 (``goal_region="semicircle"``, dense
rewards, 20-step episodes), 6,000 gradient steps with the ``mean`` aggregation. The graded agent
then plays one trial on each of 40 held-out goals of the test split: the first episode acts with
``z`` from the prior, the next two with ``z`` from the posterior of the trial's earlier episodes.
Recorded on this machine (seed 0; about 2.4 minutes on the busy 2-core machine): prior-only return
-15.74, after one and two episodes of context -13.75 and -11.09; gain 3.32, standard error 0.73
over the 40 goals (seed 1: gain 2.60, SE 0.57). The test asks for a gain of at least 1.5 and of at
least three standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents.adaptation import AdaptationSetting
from metarl.agents.pearl import PEARLOptions, PEARLTrainer


@pytest.mark.slow
def test_posterior_episodes_beat_the_prior_episode_on_held_out_goals():
    options = PEARLOptions(
        aggregation="mean", hidden_sizes=(64, 64), encoder_hidden_sizes=(32, 32),
        num_train_tasks=32, initial_episodes=5, tasks_per_iteration=4, prior_episodes=1,
        posterior_episodes=3, extra_posterior_episodes=0, gradient_steps=100, batch_size=64,
        context_batch_size=64, gamma=0.9, reward_scale=10.0, learning_rate=3e-3,
    )
    env_kwargs = {"max_episode_steps": 20, "goal_region": "semicircle"}
    trainer = PEARLTrainer("metarl/Navigation2D-v0", env_kwargs, options, 4, 0)
    for i in range(60):
        trainer.train_iteration(np.random.default_rng([0, i]))
    held_out = list(trainer.task_distribution.split("test").tasks[:40])
    assert not set(held_out) & set(trainer.train_tasks)
    curves = trainer.graded_agent().adaptation_curves(AdaptationSetting(held_out, 2, 1, 0, None))
    trainer.close()
    gain = curves.returns[:, 1:].mean(axis=1) - curves.returns[:, 0]
    stderr = gain.std(ddof=1) / np.sqrt(len(gain))
    print(f"returns {curves.returns.mean(axis=0)}, gain {gain.mean():.2f} (SE {stderr:.2f})")
    assert gain.mean() >= 1.5 and gain.mean() >= 3 * stderr
