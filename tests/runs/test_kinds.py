"""Agent kinds: a kind registered from outside metarl trains, resumes and is evaluated by the run
plumbing, its options checked like the config's own keys; the memory a kind's config needs is
estimated before building, and a diverging iteration names the settings that scale its steps."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from metarl import memory
from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.memory import Need, require_memory
from metarl.runs import kinds
from metarl.runs.build import MAML_KIND, build
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind, TrainingDiverged, register_agent_kind
from metarl.runs.pearl import PEARL_KIND
from metarl.runs.rl2 import RL2_KIND
from metarl.tasks import Choice, TaskDistribution, Uniform
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
    with pytest.raises(ConfigError, match="agent .maml. takes its hyperparameters as keyword"):
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


# --------------------------------------------------------------------------- memory estimates
def test_require_memory_names_the_first_need_too_large_then_the_total():
    policy = Need("hidden_sizes [8]", "the policy", 3 * 2**30)
    batch = Need("meta_batch_size 9", "the batches", 4 * 2**30)
    require_memory([policy, batch], available=8 * 2**30)
    with pytest.raises(ConfigError) as info:
        require_memory([policy, batch], ConfigError, available=2 * 2**30)
    assert str(info.value) == (
        "hidden_sizes [8] would need about 3 GiB of memory for the policy; this machine has 2 GiB"
    )
    with pytest.raises(ValueError) as info:
        require_memory([policy, batch], available=6 * 2**30)
    assert str(info.value) == (
        "the run would need about 7 GiB of memory: 3 GiB for the policy (hidden_sizes [8]), 4 GiB "
        "for the batches (meta_batch_size 9); this machine has 6 GiB"
    )
    assert memory.physical_memory() > 2**30


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        (TrainConfig(hidden_sizes=(100_000, 100_000)), "hidden_sizes [100000, 100000]"),
        (TrainConfig(num_inner_steps=10**9), "meta_batch_size 20 x num_inner_steps 1000000000"),
        (
            TrainConfig(agent="rl2", agent_options={"trials_per_task": 10**9}),
            "meta_batch_size 20 x agent_options.trials_per_task 1000000000 x",
        ),
        (
            TrainConfig(agent="pearl", agent_options={"encoder_hidden_sizes": [10**6, 10**6]}),
            "agent_options.hidden_sizes [300, 300, 300] with agent_options.encoder_hidden_sizes",
        ),
        (
            TrainConfig(agent="pearl", agent_options={"batch_size": 10**9}),
            "meta_batch_size 20 x (agent_options.batch_size 1000000000 +",
        ),
    ],
)
def test_build_refuses_a_config_beyond_memory_before_allocating(monkeypatch, config, setting):
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * 2**30)
    with pytest.raises(ConfigError, match=rf"^{re.escape(setting)}.* would need about .* GiB of "
                       r"memory for .*; this machine has 16 GiB$"):
        build(config)


def test_a_held_out_split_too_large_for_memory_is_refused(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * 2**30)
    speed = Uniform("speed", 0.0, 2.0, default=1.0)
    with pytest.raises(ValueError, match=r"^Toy: num_test 1000000000 would need about 492 GiB"):
        TaskDistribution("Toy", [speed], num_test=10**9)
    assert TaskDistribution("Toy", [speed], num_test=10**6).num_test == 10**6  # drawn lazily
    directions = Choice("direction", [-1.0, 1.0], default=1.0)
    assert TaskDistribution("Toy", [directions], num_test=10**9).split("test").tasks  # all tasks


# --------------------------------------------------------------------------- divergence
class Diverging:
    """A trainer whose iterations return ``metrics`` or raise ``error``."""

    iteration = 3

    def __init__(self, metrics: dict[str, float] | None = None, error: Exception | None = None):
        self.metrics, self.error = metrics, error

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        if self.error is not None:
            raise self.error
        return self.metrics


RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("config", "settings"),
    [
        (TrainConfig(max_kl=10.0), "inner_lr 0.1, max_kl 10"),
        (TrainConfig(outer="ppo", outer_lr=1.0), "inner_lr 0.1, outer_lr 1"),
        (
            TrainConfig(outer="promp", estimator="lvc", kl_coeff=1000.0),
            "inner_lr 0.1, outer_lr 0.001, kl_coeff 1000",
        ),
    ],
)
def test_a_maml_divergence_names_the_iteration_and_the_step_settings(config, settings):
    error = FloatingPointError("meta-iteration 3: inner loss is nan")
    with pytest.raises(TrainingDiverged) as info:
        MAML_KIND.train_iteration(config, Diverging(error=error), RNG)
    assert str(info.value) == (
        f"meta-iteration 3: inner loss is nan: training diverged; try smaller steps ({settings})"
    )
    assert isinstance(info.value, ValueError) and info.value.__cause__ is error
    with pytest.raises(TrainingDiverged, match=r"^iteration 3: loss_after is inf: training div"):
        MAML_KIND.train_iteration(config, Diverging({"loss_after": math.inf}), RNG)


def test_a_nonfinite_loss_stops_rl2_and_pearl_but_not_a_metric_that_may_be_nan():
    rl2 = TrainConfig(agent="rl2", agent_options={"reward_scale": 1e4})
    metrics = {"value_loss": 1.0, "policy_loss": 0.1, "explained_variance": math.nan}
    assert RL2_KIND.train_iteration(rl2, Diverging(metrics), RNG) is metrics
    with pytest.raises(TrainingDiverged) as info:
        RL2_KIND.train_iteration(rl2, Diverging({**metrics, "value_loss": math.inf}), RNG)
    assert str(info.value) == (
        "iteration 3: value_loss is inf: training diverged; try smaller steps "
        "(agent_options.learning_rate 0.003, agent_options.reward_scale 10000)"
    )
    pearl = TrainConfig(agent="pearl")
    metrics = {"critic_loss": 1.0, "pre_return": math.nan}  # no prior episodes this iteration
    assert PEARL_KIND.train_iteration(pearl, Diverging(metrics), RNG) is metrics
    with pytest.raises(TrainingDiverged, match=r"critic_loss is nan: .*entropy_coef 1\)$"):
        PEARL_KIND.train_iteration(pearl, Diverging({"critic_loss": math.nan}), RNG)


def test_a_kind_without_step_settings_still_names_the_divergence(counter_kind):
    config = TrainConfig(agent="counter")
    kind = AgentKind(CounterTrainer, CounterOptions, finite=("score",))
    with pytest.raises(TrainingDiverged, match=r"^iteration 3: score is nan: training diverged$"):
        kind.train_iteration(config, Diverging({"score": math.nan}), RNG)
