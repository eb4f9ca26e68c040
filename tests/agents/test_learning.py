"""Each algorithm meta-learns: on held-out test tasks one adaptation step beats no adaptation, and
beats the same inner step from a randomly initialised policy. Small seeded budgets.

Measured (seed 0, 10 test tasks x 10 episodes; gain = post - pre, SE over tasks; per-task
action-noise streams; pytorch-maml-rl's conventions: per-episode averaging, no bootstrapping at the
time limit):
- MAML-TRPO Navigation2D, 15 iterations: pre -48.2, post -23.8, gain 24.4 (SE 3.9); random-init
  post -234.5.
- MAML-PPO Navigation2D, 30 iterations: pre -47.2, post -37.6, gain 9.5 (SE 1.6).
- ProMP Navigation2D, 30 iterations: pre -48.5, post -32.4, gain 16.1 (SE 2.2).
- MAML-TRPO Bandit (5 arms, 10 pulls, 20 episodes/task), 15 iterations: pre 4.71, post 6.85,
  gain 2.1 (SE 0.29); random-init post 5.07.
Thresholds sit well below the measured gains and require the gain to exceed 2 standard errors.
"""

import numpy as np
import pytest

from tests.agents.learning import meta_train

pytestmark = pytest.mark.slow

CASES = {
    # name: (algorithm, env id, iterations, kwargs, min gain, min lead over random-init post)
    "maml-trpo-navigation": ("trpo", "metarl/Navigation2D-v0", 15, {}, 8.0, 50.0),
    "maml-ppo-navigation": ("ppo", "metarl/Navigation2D-v0", 30, {}, 2.0, 50.0),
    "promp-navigation": ("promp", "metarl/Navigation2D-v0", 30, {}, 2.0, 50.0),
    "maml-trpo-bandit": (
        "trpo",
        "metarl/Bandit-v0",
        15,
        {"step_size": 0.5, "episodes": 20},
        1.0,
        1.0,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_meta_training_beats_no_adaptation_and_random_init(case):
    algorithm, env_id, iterations, kwargs, min_gain, min_lead = CASES[case]
    result = meta_train(algorithm, env_id, iterations, **kwargs)
    pre, post = result.meta_trained[:, 0], result.meta_trained[:, 1]
    gain = post - pre
    standard_error = gain.std(ddof=1) / np.sqrt(len(gain))
    assert gain.mean() > min_gain, (gain.mean(), standard_error)
    assert gain.mean() > 2 * standard_error, (gain.mean(), standard_error)
    lead = post.mean() - result.random_init[:, 1].mean()
    assert lead > min_lead, lead
