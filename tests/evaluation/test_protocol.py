"""The adaptation protocol every graded agent follows."""

import numpy as np
import pytest
import torch

from metarl.agents import InnerLoop, make_policy
from metarl.evaluation import adaptation_returns
from metarl.sampling import MultiTaskSampler, stack_params


def test_adaptation_returns_follow_the_protocol():
    torch.manual_seed(0)
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", 3, {"max_episode_steps": 20})
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    inner = InnerLoop(policy, step_size=0.1)
    tasks = sampler.task_distribution.split("test").tasks[:4]
    returns = adaptation_returns(policy, inner, sampler, tasks, num_steps=2, seed=5)
    assert returns.shape == (4, 3)
    # step 0: the unadapted policy's mean return over 3 episodes per task, with the seed given
    params = {k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), 4).items()}
    sampler.sample(policy, tasks, params, seed=11)  # whatever ran before does not matter
    again = adaptation_returns(policy, inner, sampler, tasks, num_steps=2, seed=5)
    np.testing.assert_array_equal(again, returns)
    sampler.seed(5)
    batch = sampler.sample(policy, tasks, params, seed=5)
    np.testing.assert_allclose(returns[:, 0], batch.task_returns().numpy(), rtol=1e-6)
    # later steps use adapted parameters, so they differ
    assert not np.allclose(returns[:, 1], returns[:, 0])
    with pytest.raises(ValueError):
        adaptation_returns(policy, inner, sampler, [], num_steps=1, seed=0)


def test_evaluation_episodes_are_measured_apart_from_the_adaptation_episodes():
    """Meta-World's protocol: each point is the mean return of separate evaluation episodes with
    the parameters adapted on the adaptation episodes (a naive loop of the same steps)."""
    from metarl.evaluation import adaptation_curves

    torch.manual_seed(0)
    env_kwargs = {"max_episode_steps": 20}
    adaptation = MultiTaskSampler("metarl/Navigation2D-v0", 2, env_kwargs)
    evaluation = MultiTaskSampler("metarl/Navigation2D-v0", 3, env_kwargs)
    policy = make_policy(adaptation.observation_space, adaptation.action_space, (8,))
    inner = InnerLoop(policy, step_size=0.1)
    tasks = adaptation.task_distribution.split("test").tasks[:4]
    curves = adaptation_curves(policy, inner, adaptation, tasks, 2, seed=5, evaluation_sampler=evaluation)
    adaptation.seed(5)
    evaluation.seed(6)
    params = {k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), 4).items()}
    expected = []
    for step in range(3):
        measured = evaluation.sample(policy, tasks, params, seed=5 + 7919 * step + 1)
        assert (measured.num_tasks, measured.episodes_per_task) == (4, 3)
        expected.append(measured.task_returns().numpy())
        if step < 2:
            params = inner.adapt(adaptation.sample(policy, tasks, params, seed=5 + 7919 * step), params)
    np.testing.assert_allclose(curves.returns, np.stack(expected, axis=1), rtol=1e-6)
    plain = adaptation_curves(policy, inner, adaptation, tasks, 2, seed=5).returns
    assert not np.allclose(plain, curves.returns)
    adaptation.close()
    evaluation.close()
