"""Agent kinds: a kind registered from outside metarl trains, resumes and is evaluated by the run
plumbing, its options checked like the config's own keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.runs import kinds
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind, register_agent_kind
from metarl.tasks import TaskDistribution
from tests.runs.interrupted import train_whole_and_resumed


@dataclass(frozen=True)
class CounterOptions:
    step: float = 1.0
    """What each iteration adds to the score."""
    sizes: tuple[int, ...] = (2,)


class ConstantAgent:
    """Returns ``value`` after every unit of adaptation; one unit costs one episode."""

    def __init__(self, value: float):
        self.value = value

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        returns = np.full((len(setting.tasks), setting.steps + 1), self.value)
        return AdaptationCurves(returns, None)


class CounterTrainer:
    """A trainer whose score is a noisy running sum: enough to check the plumbing."""

    def __init__(self, config: TrainConfig):
        import gymnasium as gym

        self.options: CounterOptions = config.kind_options()
        env = gym.make(config.env)
        self._distribution: TaskDistribution = env.unwrapped.task_distribution
        env.close()
        self.iteration, self.total, self.closed = 0, 0.0, False

    @property
    def task_distribution(self) -> TaskDistribution:
        return self._distribution

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        self.iteration += 1
        self.total += self.options.step + float(rng.normal())
        return {"iteration": self.iteration, "score": self.total}

    def state_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "total": self.total}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iteration, self.total = state["iteration"], state["total"]

    def graded_agent(self) -> ConstantAgent:
        return ConstantAgent(self.total)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def counter_kind(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds._KINDS))
    register_agent_kind(
        "counter", AgentKind(CounterTrainer, CounterOptions, score="score", progress=("score",))
    )


def test_a_registered_kind_trains_resumes_and_is_evaluated(tmp_path, counter_kind, monkeypatch):
    from metarl.runs.evaluate import evaluate_run

    config = TrainConfig(
        agent="counter", agent_options={"step": 2.0}, iterations=4, checkpoint_every=2,
        eval_tasks=3, eval_steps=2, episodes_per_task=1,
    )
    # killed during iteration 4; last checkpoint: iteration 2
    whole, resumed = train_whole_and_resumed(config, CounterTrainer, 3, tmp_path, monkeypatch)
    assert whole.closed and whole.iteration == 4
    assert resumed.total == whole.total
    result = evaluate_run(tmp_path / "whole", episodes=1)
    np.testing.assert_allclose(result.returns["meta-trained"], np.full((3, 3), whole.total))


def test_kind_options_are_checked_like_config_keys(counter_kind):
    assert TrainConfig(agent="counter").kind_options() == CounterOptions()
    config = TrainConfig(agent="counter").with_overrides(
        ["agent_options.step=0.5", "agent_options.sizes=[3, 4]"]
    )
    assert config.kind_options() == CounterOptions(step=0.5, sizes=(3, 4))
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['stp'\]; allowed: \['step'"):
        TrainConfig(agent="counter", agent_options={"stp": 1.0})
    with pytest.raises(ConfigError, match="step must be of type float, got 'fast'"):
        TrainConfig(agent="counter", agent_options={"step": "fast"})
    with pytest.raises(ConfigError, match="'iterations' is not a mapping-valued key") as info:
        TrainConfig().with_overrides(["iterations.x=1"])
    assert "YAML" not in str(info.value)
    # a mapping-valued key left unset takes a dotted --set
    config = TrainConfig(env="metarl/Bandit-v0").with_overrides(["env_kwargs.max_episode_steps=100"])
    assert config.env_kwargs == {"max_episode_steps": 100}


def test_unknown_kinds_and_maml_options_are_refused():
    with pytest.raises(ConfigError, match=r"agent must be one of \[.*'maml'.*\], got 'mamll'"):
        TrainConfig(agent="mamll")
    with pytest.raises(ConfigError, match="agent 'maml' takes its hyperparameters as top-level"):
        TrainConfig(agent_options={"inner_lr": 0.1})
    with pytest.raises(ConfigError, match=r"device must be one of \['auto', 'cpu', 'cuda'\]"):
        TrainConfig(device="tpu")


def test_kind_names_are_registered_once(counter_kind):
    with pytest.raises(ValueError, match="'counter' is already registered"):
        register_agent_kind("counter", AgentKind(CounterTrainer))
    with pytest.raises(ValueError, match="must be an identifier"):
        register_agent_kind("my kind", AgentKind(CounterTrainer))
    with pytest.raises(ValueError, match="unknown agent kind 'nope'"):
        kinds.agent_kind("nope")
