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
from metarl.references.bandits import UCB1, EpsilonGreedy
from metarl.references.bayes_optimal import BayesOptimalValues
from metarl.references.psrl import PSRLActor, value_iteration

BANDIT = "metarl/Bandit-v0"
MDP = "metarl/TabularMDP-v0"
BANDITS = [
    "thompson", "ucb1", "epsilon-greedy", "greedy", "gittins", "bayes-optimal", "random-actions",
]
TUNED = ["ucb1-tuned", "epsilon-greedy-tuned", "gittins-tuned"]


def _context(env: str, **env_kwargs) -> AgentContext:
    return AgentContext(env, env_kwargs, (), "tanh", {}, 1, Path("."))


def _bandit_returns(
    name: str, arm_means: list[float], pulls: int, trials: int, steps: int = 0
) -> AdaptationCurves:
    """The curves (``steps + 1`` columns: the mean return of each episode of the trial) of
    ``trials`` trials on ``arm_means``."""
    context = _context(BANDIT, max_episode_steps=pulls, num_arms=len(arm_means))
    agent = agent_factory(name)(context)
    env = gym.make(BANDIT, num_arms=len(arm_means))
    task = env.unwrapped.task_distribution.task(arm_means=arm_means)
    setting = AdaptationSetting([task], steps, trials, 0, None)
    curves = agent.adaptation_curves(setting)
    assert agent.episodes_per_unit(setting) == 1 and curves.returns.shape == (1, steps + 1)
    return curves


@pytest.mark.parametrize("name", BANDITS + TUNED)
@pytest.mark.parametrize("mean", [0.0, 1.0])
def test_bandits_where_every_arm_pays_the_same_sure_amount(name, mean):
    assert _bandit_returns(name, [mean] * 5, 10, 20).returns[0, 0] == 10 * mean


def test_gittins_over_trials_longer_than_its_table():
    """A fresh arm's index beats a failed one's: arms 0-2 fail, arm 3 pays and is kept over the
    trial's 4 episodes of 10 pulls (its index table, made for 10 pulls, grows on the way)."""
    returns = _bandit_returns("gittins", [0.0, 0.0, 0.0, 1.0, 0.0], 10, 5, steps=3).returns[0]
    assert returns.tolist() == [7.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize("name", BANDITS)
def test_bandits_where_every_arm_pays_with_the_same_probability(name):
    """Whatever the policy, the trial return is Binomial(n, p): mean n p, variance n p (1 - p)."""
    n, p, trials = 10, 0.3, 2000  # n = 10: within what bayes-optimal solves exactly
    mean = _bandit_returns(name, [p] * 5, n, trials).returns[0, 0]
    assert abs(mean - n * p) < 4 * math.sqrt(n * p * (1 - p) / trials)


def _ucb1_naive(arm_means: list[float], pulls: int, c: float = math.sqrt(2)) -> float:
    """UCB1 with exploration constant ``c`` on arms that pay 0 or 1 surely (no randomness), one
    pull at a time."""
    counts, sums, total = [0] * len(arm_means), [0.0] * len(arm_means), 0.0
    for t in range(pulls):
        untried = [a for a in range(len(arm_means)) if counts[a] == 0]
        if untried:
            arm = untried[0]
        else:
            bounds = [sums[a] / counts[a] + c * math.sqrt(math.log(t) / counts[a])
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


@pytest.mark.parametrize("c", [0.0, 0.3, 2.0])
def test_ucb1_with_its_exploration_constant_equals_a_naive_loop(c):
    arms, pulls = [0.0, 1.0, 0.0, 1.0, 0.0], 60
    context = _context(BANDIT, max_episode_steps=pulls)
    task = gym.make(BANDIT).unwrapped.task_distribution.task(arm_means=arms)
    returns = UCB1(context, c).adaptation_curves(AdaptationSetting([task], 0, 2, 0, None)).returns
    assert returns[0, 0] == _ucb1_naive(arms, pulls, c)


def test_greedy_is_epsilon_greedy_with_epsilon_zero():
    context = _context(BANDIT, max_episode_steps=30)
    tasks = gym.make(BANDIT).unwrapped.task_distribution.sample(50, seed=3)
    setting = AdaptationSetting(tasks, 0, 4, 5, None)
    greedy = agent_factory("greedy")(context).adaptation_curves(setting).returns
    zero = EpsilonGreedy(context, 0.0).adaptation_curves(setting).returns
    default = EpsilonGreedy(context).adaptation_curves(setting).returns
    np.testing.assert_array_equal(greedy, zero)
    assert not np.array_equal(greedy, default)


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


def _bayes_optimal_naive(arms: int, horizon: int) -> float:
    """The Bayes-optimal value by recursion over ordered count vectors (no symmetry, no cache)."""

    def value(successes: list[int], failures: list[int]) -> float:
        if sum(successes) + sum(failures) == horizon:
            return 0.0
        best = -1.0
        for a in range(arms):
            p = (1 + successes[a]) / (2 + successes[a] + failures[a])
            successes[a] += 1
            win = value(successes, failures)
            successes[a] -= 1
            failures[a] += 1
            loss = value(successes, failures)
            failures[a] -= 1
            best = max(best, p * (1 + win) + (1 - p) * loss)
        return best

    return value([0] * arms, [0] * arms)


def test_bayes_optimal_values_equal_closed_forms_and_a_naive_recursion():
    # one pull: any arm, 1/2; two pulls of two arms: pull one, keep it after a success (2/3),
    # switch after a failure (1/2): 1/2 (1 + 2/3) + 1/2 * 1/2 = 13/12
    assert BayesOptimalValues(2, 1).prior_value() == pytest.approx(0.5)
    assert BayesOptimalValues(2, 2).prior_value() == pytest.approx(13 / 12)
    for arms, horizon in [(2, 6), (3, 5), (4, 4)]:
        exact = BayesOptimalValues(arms, horizon).prior_value()
        assert exact == pytest.approx(_bayes_optimal_naive(arms, horizon), rel=1e-12)
    # after a success the arm that paid is the one to pull again; after a failure, another
    values = BayesOptimalValues(3, 5)
    assert values.best_arm(np.array([0, 1, 0]), np.array([0, 0, 0])) == 1
    assert values.best_arm(np.array([0, 0, 0]), np.array([1, 0, 0])) == 1


def test_bayes_optimal_policy_earns_its_value_on_tasks_drawn_from_the_prior():
    """Its mean trial return over the family's own task distribution is the DP's prior value
    (within 4 standard errors), and above Thompson sampling's on the same tasks and seeds."""
    arms, n, count = 5, 10, 3000
    tasks = gym.make(BANDIT, num_arms=arms).unwrapped.task_distribution.sample(count, seed=0)
    setting = AdaptationSetting(tasks, 0, 1, 0, None)
    context = _context(BANDIT, max_episode_steps=n, num_arms=arms)
    optimal = agent_factory("bayes-optimal")(context).adaptation_curves(setting).returns[:, 0]
    thompson = agent_factory("thompson")(context).adaptation_curves(setting).returns[:, 0]
    value = BayesOptimalValues(arms, n).prior_value()
    assert abs(optimal.mean() - value) < 4 * optimal.std() / math.sqrt(count), (optimal.mean(), value)
    difference = optimal - thompson
    assert difference.mean() > 4 * difference.std() / math.sqrt(count), difference.mean()


def test_bayes_optimal_refuses_what_it_cannot_solve_exactly():
    with pytest.raises(ValueError, match="5 arms and 100 pulls .* at most 5,000,000"):
        BayesOptimalValues(5, 100)
    tasks = [gym.make(BANDIT).unwrapped.task_distribution.task()]
    agent = agent_factory("bayes-optimal")(_context(BANDIT))
    with pytest.raises(ValueError, match="one episode of pulls per trial"):
        agent.adaptation_curves(AdaptationSetting(tasks, 2, 1, 0, None))


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
    with pytest.raises(ValueError, match="bayes-optimal is a reference for metarl/Bandit-v0"):
        agent_factory("bayes-optimal")(_context(MDP))
    with pytest.raises(ValueError, match="psrl is a reference for metarl/TabularMDP-v0"):
        agent_factory("psrl")(_context(BANDIT))
