"""PEARL through ``metarl.load``: adapt from a task, an env or episodes, then ``predict``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import metarl
from metarl.agents.pearl.adaptive import LatentPolicy, PEARLAdaptiveAgent
from metarl.agents.pearl.collect import to_env_units
from metarl.runs.train import train
from metarl.sampling import Episode
from tests.agents.pearl.test_trainer import _config

ENV = "metarl/Navigation2DSparse-v0"


@pytest.fixture(scope="module")
def agent(tmp_path_factory) -> PEARLAdaptiveAgent:
    root = tmp_path_factory.mktemp("pearl") / "run"
    train(_config(iterations=1), root, progress=False).close()
    loaded = metarl.load(root)
    yield loaded
    loaded.close()


def _episodes(rng: np.random.Generator, task, count: int = 2) -> list[Episode]:
    """Random-action episodes of ``task`` in a plain Gymnasium loop."""
    env = gym.make(ENV, max_episode_steps=10)
    episodes = []
    for i in range(count):
        obs, _ = env.reset(seed=i, options={"task": task})
        observations, actions, rewards, done = [], [], [], False
        while not done:
            action = rng.uniform(-0.1, 0.1, size=2).astype(np.float32)
            observations.append(obs)
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
        episodes.append(Episode(np.array(observations), np.array(actions), np.array(rewards),
                                terminated, obs))
    return episodes


def test_adapt_to_a_task_is_seeded_and_acts_within_the_bounds(agent):
    assert isinstance(agent, PEARLAdaptiveAgent)
    task = agent.task_distribution.split("test").tasks[0]
    first, again = agent.adapt(task, seed=4), agent.adapt(task, seed=4)
    assert isinstance(first, LatentPolicy)
    torch.testing.assert_close(first.z, again.z)
    obs = np.array([[0.0, 0.0], [0.3, -0.2], [1.0, 1.0]], dtype=np.float32)
    actions, state = first.predict(obs, deterministic=True)
    assert state is None and actions.shape == (3, 2)
    assert np.all(np.abs(actions) <= 0.1 + 1e-7)
    np.testing.assert_allclose(first.predict(obs[1], deterministic=True)[0], actions[1], rtol=1e-6)
    assert not torch.equal(agent.adapt(task, seed=5).z, first.z)


def test_adapt_from_episodes_is_the_product_of_the_encoders_factors_by_hand(agent):
    task = agent.task_distribution.split("test").tasks[1]
    episodes = _episodes(np.random.default_rng(0), task)
    policy = agent.adapt(episodes=episodes, seed=0)
    # The context by hand: (s, a scaled to [-1, 1], r, s') of every step of both episodes.
    rows = []
    for e in episodes:
        next_obs = np.concatenate([e.observations[1:], e.final_observation[None]])
        for t in range(len(e)):
            rows.append(np.concatenate([e.observations[t], e.actions[t] / 0.1, [e.rewards[t]],
                                        next_obs[t]]))
    context = torch.tensor(np.array(rows), dtype=torch.float32)
    with torch.no_grad():
        factors = agent.model.encoder.factors(context)
    precision = 1.0 / factors.variance.clamp(min=1e-7)
    mean = (precision * factors.mean).sum(0) / precision.sum(0)
    torch.testing.assert_close(policy.posterior.mean[0], mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(policy.posterior.variance[0], 1.0 / precision.sum(0), rtol=1e-4,
                               atol=1e-6)


def test_adapt_in_a_user_env_runs_the_context_episodes_there(agent):
    env = gym.make(ENV, max_episode_steps=10)
    task = agent.task_distribution.split("test").tasks[2]
    env.reset(options={"task": task})
    policy = agent.adapt(env=env, seed=1)
    assert policy.posterior.variance.shape == (1, agent.model.encoder.latent_size)
    # two episodes of context narrow the unit prior
    assert float(policy.posterior.variance.max()) < 1.0
    torch.testing.assert_close(agent.adapt(env=env, seed=1).z, policy.z)


def test_bad_sources_are_refused(agent):
    task = agent.task_distribution.split("test").tasks[0]
    with pytest.raises(ValueError, match="exactly one of task, env, episodes; got none"):
        agent.adapt()
    with pytest.raises(ValueError, match=r"got \['task', 'episodes'\]"):
        agent.adapt(task, episodes=_episodes(np.random.default_rng(0), task, 1))
    short = Episode(np.zeros((3, 3)), np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="observations have size 3, the policy's 2"):
        agent.adapt(episodes=[short])
    with pytest.raises(ValueError, match=r"episodes\[0\].actions must have shape \(3, 2\), got \(3,\)"):
        agent.adapt(episodes=[Episode(np.zeros((3, 2)), np.zeros(3, dtype=np.int64), np.zeros(3))])
    with pytest.raises(ValueError, match=r"observation must have shape \(2,\)"):
        agent.adapt(task).predict(np.zeros(3))


def test_non_finite_or_overflowing_inputs_raise_instead_of_giving_nan_actions(agent):
    task = agent.task_distribution.split("test").tasks[0]
    policy = agent.adapt(task, seed=0)
    with pytest.raises(ValueError, match=r"observation must hold finite .*observation\[1, 0\] is nan"):
        policy.predict(np.array([[0.0, 0.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"observation\[1\] is inf"):
        policy.predict([0.0, np.inf])
    e = _episodes(np.random.default_rng(0), task, 1)[0]
    steps = len(e)
    with pytest.raises(ValueError, match=r"actions must hold finite .*actions\[0, 1\] is -inf"):
        Episode(e.observations, np.array([[0.0, -np.inf]] * steps), e.rewards)
    with pytest.raises(ValueError, match=r"rewards\[0\] is nan"):
        Episode(e.observations, e.actions, np.full(steps, np.nan))
    with pytest.raises(ValueError, match=rf"actions must have shape \({steps}, 2\), got \({steps}, 1\)"):
        agent.adapt(episodes=[Episode(e.observations, e.actions[:, :1], e.rewards)])
    huge = np.full_like(e.observations, 3e38)
    huge[::2] *= -1
    with pytest.raises(ValueError, match="the task posterior is not finite: .* too large"):
        agent.adapt(episodes=[Episode(huge, e.actions, e.rewards)])


def test_predict_before_adapting_acts_with_the_prior(agent):
    """Deterministic: the mean action given the prior's mean ``z``; sampled: a new ``z`` from
    the prior for every row at every call, then a sampled action, from one stream seeded with 0
    when the agent is made."""
    model, space = agent.model, agent.collector.action_space
    obs = np.array([[0.0, 0.0], [0.3, -0.2], [1.0, 1.0]], dtype=np.float32)
    actions, state = agent.predict(obs, deterministic=True)
    prior_mean = torch.zeros(3, model.encoder.latent_size)
    assert state is None and actions.shape == (3, 2)
    np.testing.assert_allclose(
        actions, to_env_units(model.act(obs, prior_mean, True, None), space), rtol=1e-6
    )
    single, _ = agent.predict(obs[1], deterministic=True)
    assert single.shape == (2,)
    np.testing.assert_allclose(single, actions[1], rtol=1e-6)
    fresh, generator = PEARLAdaptiveAgent(model, agent.collector), torch.Generator().manual_seed(0)
    for _ in range(2):
        z = model.encoder.prior(3).sample(generator)
        expected = to_env_units(model.act(obs, z, False, generator), space)
        np.testing.assert_array_equal(fresh.predict(obs)[0], expected)
    assert np.all(np.abs(expected) <= 0.1 + 1e-7) and not np.allclose(expected, actions)
    with pytest.raises(ValueError, match=r"observation must have shape \(2,\) or \(n, 2\)"):
        agent.predict(np.zeros(3))
    with pytest.raises(ValueError, match=r"observation\[1, 0\] is nan"):
        agent.predict([[0.0, 0.0], [np.nan, 0.0]])
