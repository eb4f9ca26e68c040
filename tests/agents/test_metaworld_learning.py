"""MAML-TRPO meta-learns Meta-World ML1 ``reach``: on held-out goals, adaptation helps, and the
meta-trained policy adapts far better than the same policy before meta-training.

Budget: 15 meta-iterations of 5 training goals x 5 episodes, horizon 100 (not 500), 2x64 tanh
policy, inner lr 0.1. Evaluation: the first 20 test goals, 10 episodes per step, seed 1.
Measured (seed 0, pytorch-maml-rl's conventions): before meta-training pre 70.9, post 143.2;
after, pre 432.6, post 617.5: gain (post - pre) 184.9 (SE 21.7 over goals), post-adaptation lead
over the untrained policy 474.3 (SE 27.4). About 2.5 minutes on the 2-core machine.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("metaworld")

from metarl.agents import TRPO, InnerLoop, MetaLearner, make_policy
from metarl.evaluation import adaptation_returns
from metarl.sampling import MultiTaskSampler

pytestmark = pytest.mark.slow

REACH = "metarl/MetaWorld-ML1-reach-v0"
HORIZON = {"max_episode_steps": 100}


def test_maml_trpo_meta_learns_ml1_reach():
    torch.manual_seed(0)
    sampler = MultiTaskSampler(REACH, episodes_per_task=5, env_kwargs=HORIZON)
    evaluation = MultiTaskSampler(REACH, episodes_per_task=10, env_kwargs=HORIZON)
    policy = make_policy(sampler.observation_space, sampler.action_space, (64, 64), "tanh")
    inner = InnerLoop(policy, step_size=0.1)
    agent = MetaLearner(policy, sampler, inner, TRPO(), seed=0)
    test_goals = sampler.task_distribution.split("test").tasks[:20]
    before = adaptation_returns(policy, inner, evaluation, test_goals, 1, seed=1)
    train = sampler.task_distribution.split("train")
    for i in range(15):
        agent.meta_step(train.sample(5, seed=i))
    after = adaptation_returns(policy, inner, evaluation, test_goals, 1, seed=1)
    sampler.close()
    evaluation.close()

    gain = after[:, 1] - after[:, 0]
    gain_se = gain.std(ddof=1) / np.sqrt(len(gain))
    assert gain.mean() > max(50.0, 2 * gain_se), (gain.mean(), gain_se)
    lead = after[:, 1] - before[:, 1]
    lead_se = lead.std(ddof=1) / np.sqrt(len(lead))
    assert lead.mean() > max(200.0, 2 * lead_se), (lead.mean(), lead_se)
