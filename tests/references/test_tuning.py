"""Tuning on the training split: the choice against means computed by hand, the tasks it uses, ties,
the refusals, and the tuned references' report of their choice."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest

from metarl.agents.adaptation import AdaptationSetting
from metarl.evaluation import AgentContext, agent_factory
from metarl.references.bandits import UCB1, EpsilonGreedy, UCB1Actor
from metarl.references.gittins import Gittins
from metarl.references.tuning import TASK_STREAM, GittinsTuned, UCB1Tuned, tune
from metarl.sampling.trials import make_trial_envs, run_trials

BANDIT = "metarl/Bandit-v0"
MDP = "metarl/TabularMDP-v0"
KWARGS = {"max_episode_steps": 20, "num_arms": 4, "num_test_tasks": 30}


def _context(env: str = BANDIT, **env_kwargs) -> AgentContext:
    return AgentContext(env, env_kwargs or KWARGS, (), "tanh", {}, 1, Path("."))


def _split(name: str):
    return gym.make(BANDIT, **KWARGS).unwrapped.task_distribution.split(name)


def test_the_choice_is_the_best_training_mean_computed_by_hand():
    grid, num_tasks, seed = (0.1, 0.5, math.sqrt(2), 3.0), 200, 7
    tuning = tune(UCB1, _context(), grid, num_tasks, seed)
    tasks = _split("train").sample(num_tasks, np.random.default_rng([TASK_STREAM, seed]))
    by_hand = {}
    for c in grid:
        envs = make_trial_envs(BANDIT, num_tasks, KWARGS)
        actor = UCB1Actor(num_tasks, 4, np.random.default_rng(seed), c=c)
        by_hand[c] = run_trials(envs, tasks, 1, actor, seed).mean()
        envs.close()
    assert tuning.means == pytest.approx(by_hand, rel=1e-12)
    assert tuning.best == max(by_hand, key=by_hand.__getitem__)
    assert len(set(by_hand.values())) == len(grid)  # the grid's values differ: a real choice
    assert str(tuning).startswith(f"c = {tuning.best:g} (mean trial return on 200 training tasks")


class _Recorded(UCB1):
    """UCB1 that records the tasks of every setting it is graded on."""

    settings: ClassVar[list[AdaptationSetting]] = []

    def adaptation_curves(self, setting):
        self.settings.append(setting)
        return super().adaptation_curves(setting)


class _RecordedTuned(UCB1Tuned):
    reference = _Recorded


def test_tuning_uses_training_tasks_and_grades_on_the_evaluations():
    test = _split("test").tasks
    evaluation = AdaptationSetting(list(test[:5]), 0, 3, 11, None)
    agent = _RecordedTuned(_context(), grid=(0.2, 1.0), num_tasks=50)
    curves = agent.adaptation_curves(evaluation)
    tuned_on, graded_on = _Recorded.settings[:2], _Recorded.settings[2:]
    assert curves.returns.shape == (5, 1) and graded_on == [evaluation]
    for setting in tuned_on:
        assert len(setting.tasks) == 50 and setting.seed == 11 and setting.episodes == 1
        assert not set(setting.tasks) & set(test)  # none of the held-out tasks
        assert setting.tasks == _split("train").sample(50, np.random.default_rng([TASK_STREAM, 11]))


def test_ties_go_to_the_first_value():
    """One pull per trial: UCB1 pulls arm 0 whatever c is."""
    context = _context(max_episode_steps=1, num_arms=4, num_test_tasks=30)
    tuning = tune(UCB1, context, (2.0, 0.1, 1.0), 100, 0)
    assert len(set(tuning.means.values())) == 1 and tuning.best == 2.0


def test_tuned_references_report_their_choice(caplog):
    tasks = list(_split("test").tasks[:10])
    agent = agent_factory("ucb1-tuned")(_context())
    with caplog.at_level(logging.INFO, logger="metarl.references.tuning"):
        curves = agent.adaptation_curves(AdaptationSetting(tasks, 0, 2, 0, None))
    assert agent.name == "ucb1-tuned" and agent.tuning.best in UCB1.grid
    assert list(agent.tuning.means) == list(UCB1.grid) and agent.tuning.num_tasks == 1000
    assert caplog.messages == [f"ucb1-tuned: {agent.tuning}"]
    plain = UCB1(_context(), agent.tuning.best).adaptation_curves(AdaptationSetting(tasks, 0, 2, 0, None))
    np.testing.assert_array_equal(curves.returns, plain.returns)


def test_gittins_tuned_over_a_small_grid():
    tasks = list(_split("test").tasks[:10])
    agent = GittinsTuned(_context(), grid=(0.5, 0.9), num_tasks=100)
    agent.adaptation_curves(AdaptationSetting(tasks, 0, 1, 0, None))
    assert agent.name == "gittins-tuned" and list(agent.tuning.means) == [0.5, 0.9]


def test_tuning_refuses_bad_grids_and_other_families():
    with pytest.raises(ValueError, match="the grid of ucb1's c must hold at least one value"):
        tune(UCB1, _context(), (), 10, 0)
    with pytest.raises(ValueError, match=r"c must be a finite number >= 0, got -1"):
        UCB1Tuned(_context(), grid=(0.5, -1))
    with pytest.raises(ValueError, match=r"epsilon must be a finite number in \[0, 1\], got 1.5"):
        tune(EpsilonGreedy, _context(), (0.1, 1.5), 10, 0)
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \(0, 0.99\], got 1"):
        Gittins(_context(), 1)
    with pytest.raises(ValueError, match="num_tasks must be a positive int, got 0"):
        tune(UCB1, _context(), (0.5,), 0, 0)
    with pytest.raises(ValueError, match="ucb1 is a reference for metarl/Bandit-v0, not"):
        agent_factory("ucb1-tuned")(_context(MDP, max_episode_steps=10))


def test_metarl_evaluate_records_the_tuned_value_in_eval_json(tmp_path):
    import json

    from metarl.cli import main

    run = tmp_path / "run"
    assert main([
        "train", "--config", str(Path(__file__).parents[2] / "configs" / "rl2" / "smoke.yaml"),
        "--set", "env=metarl/Bandit-v0", "--set", "env_kwargs={max_episode_steps: 10}",
        "--out", str(run),
    ]) == 0
    assert main(["evaluate", str(run), "--tasks", "4", "--comparisons", "ucb1-tuned"]) == 0
    tuned = json.loads((run / "eval" / "test" / "eval.json").read_text())["provenance"]["tuned"]
    choice = tuned["ucb1-tuned"]
    assert choice["hyperparameter"] == "c" and choice["num_tasks"] > 0
    means = {float(value): mean for value, mean in choice["means"].items()}  # JSON keys: strings
    assert means[choice["best"]] == max(means.values())
