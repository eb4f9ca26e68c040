"""The classical references: closed forms on degenerate bandits, PSRL's value iteration against a
naive loop, its posterior, and the evaluation registry."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import metarl  # noqa: F401  (registers the envs)
from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.evaluation import AgentContext, agent_factory
from metarl.references.psrl import PSRLActor, value_iteration

BANDIT = "metarl/Bandit-v0"
MDP = "metarl/TabularMDP-v0"
BANDITS = ["thompson", "ucb1", "epsilon-greedy", "random-actions"]


def _context(env: str, **env_kwargs) -> AgentContext:
    return AgentContext(env, env_kwargs, (), "tanh", {}, 1, Path("."))


def _bandit_returns(name: str, arm_means: list[float], pulls: int, trials: int) -> AdaptationCurves:
    """The curves (one column: the mean trial return) of ``trials`` trials on ``arm_means``."""
    context = _context(BANDIT, max_episode_steps=pulls, num_arms=len(arm_means))
    agent = agent_factory(name)(context)
    env = gym.make(BANDIT, num_arms=len(arm_means))
    task = env.unwrapped.task_distribution.task(arm_means=arm_means)
    setting = AdaptationSetting([task], 0, trials, 0, None)
    curves = agent.adaptation_curves(setting)
    assert agent.episodes_per_unit(setting) == 1 and curves.returns.shape == (1, 1)
    return curves


@pytest.mark.parametrize("name", BANDITS)
@pytest.mark.parametrize("mean", [0.0, 1.0])
def test_bandits_where_every_arm_pays_the_same_sure_amount(name, mean):
    assert _bandit_returns(name, [mean] * 5, 10, 20).returns[0, 0] == 10 * mean


@pytest.mark.parametrize("name", BANDITS)
def test_bandits_where_every_arm_pays_with_the_same_probability(name):
    """Whatever the policy, the trial return is Binomial(n, p): mean n p, variance n p (1 - p)."""
    n, p, trials = 20, 0.3, 2000
    mean = _bandit_returns(name, [p] * 5, n, trials).returns[0, 0]
    assert abs(mean - n * p) < 4 * math.sqrt(n * p * (1 - p) / trials)


def _ucb1_naive(arm_means: list[float], pulls: int) -> float:
    """UCB1 on arms that pay 0 or 1 surely (no randomness), one pull at a time."""
    counts, sums, total = [0] * len(arm_means), [0.0] * len(arm_means), 0.0
    for t in range(pulls):
        untried = [a for a in range(len(arm_means)) if counts[a] == 0]
        if untried:
            arm = untried[0]
        else:
            bounds = [sums[a] / counts[a] + math.sqrt(2 * math.log(t) / counts[a])
                      for a in range(len(arm_means))]
            arm = bounds.index(max(bounds))
        counts[arm] += 1
        sums[arm] += arm_means[arm]
        total += arm_means[arm]
    return total


@pytest.mark.parametrize("pulls", [10, 37, 100])
def test_ucb1_when_one_arm_always_pays_equals_a_naive_loop(pulls):
    arms = [0.0, 0.0, 1.0, 0.0, 0.0]
    assert _bandit_returns("ucb1", arms, pulls, 3).returns[0, 0] == _ucb1_naive(arms, pulls)


def test_greedy_references_when_one_arm_always_pays():
    """Once it has paid, the paying arm is the greedy one: Thompson and epsilon-greedy pull it
    far more than chance; random arms get n / k (within 4 SE)."""
    arms, n, trials = [0.0, 1.0, 0.0, 0.0, 0.0], 50, 1000
    uniform = _bandit_returns("random-actions", arms, n, trials).returns[0, 0]
    assert abs(uniform - n / 5) < 4 * math.sqrt(n * 0.2 * 0.8 / trials)
    # epsilon-greedy: after the first success it exploits, exploring with probability 0.1 and
    # then missing 4 times in 5 (an upper bound of the loss after the arm is found).
    assert _bandit_returns("epsilon-greedy", arms, n, trials).returns[0, 0] > 0.8 * n
    assert _bandit_returns("thompson", arms, n, trials).returns[0, 0] > 0.8 * n


def _value_iteration_naive(transitions, rewards, horizon):
    batch, states, actions = rewards.shape
    q = np.zeros((batch, horizon, states, actions))
    for b in range(batch):
        value = [0.0] * states
        for h in range(horizon - 1, -1, -1):
            for s in range(states):
                for a in range(actions):
                    q[b, h, s, a] = rewards[b, s, a] + sum(
                        transitions[b, s, a, n] * value[n] for n in range(states)
                    )
            value = [max(q[b, h, s]) for s in range(states)]
    return q


def test_value_iteration_equals_a_naive_loop():
    rng = np.random.default_rng(0)
    transitions = rng.dirichlet(np.ones(4), size=(3, 4, 2))
    rewards = rng.normal(size=(3, 4, 2))
    np.testing.assert_allclose(
        value_iteration(transitions, rewards, 5), _value_iteration_naive(transitions, rewards, 5)
    )


def test_psrl_posterior_concentrates_on_what_it_observed():
    actor = PSRLActor(1, 2, 2, 3, np.random.default_rng(0))
    actor.counts[0, 0, 1, 1] = 1e6
    actor.visits[0, 0, 1] = 1e6
    actor.reward_sums[0, 0, 1] = 3e6
    transitions, rewards = actor.sample_mdps(np.array([0]))
    assert transitions[0, 0, 1, 1] > 0.999 and abs(rewards[0, 0, 1] - 3.0) < 0.01
    # unvisited pairs keep the prior: uniform rows on average, reward mean N(1, 1)
    draws = np.stack([actor.sample_mdps(np.array([0]))[1][0, 1, 0] for _ in range(2000)])
    assert abs(draws.mean() - 1.0) < 0.1 and abs(draws.std() - 1.0) < 0.1


def test_psrl_beats_random_actions_on_mdps():
    tasks = list(gym.make(MDP).unwrapped.task_distribution.split("test").tasks)[:20]
    setting = AdaptationSetting(tasks, 9, 4, 0, None)
    psrl = agent_factory("psrl")(_context(MDP)).adaptation_curves(setting).returns
    uniform = agent_factory("random-actions")(_context(MDP)).adaptation_curves(setting).returns
    assert psrl.shape == (20, 10)
    assert psrl[:, 5:].mean() > uniform[:, 5:].mean() + 2.0, (psrl.mean(0), uniform.mean(0))


def test_references_refuse_other_families():
    with pytest.raises(ValueError, match="thompson is a reference for metarl/Bandit-v0"):
        agent_factory("thompson")(_context(MDP))
    with pytest.raises(ValueError, match="psrl is a reference for metarl/TabularMDP-v0"):
        agent_factory("psrl")(_context(BANDIT))
