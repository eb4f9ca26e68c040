"""The evaluation finds agents in a registry: an agent defined here, outside metarl, is graded
beside the run's agent and reported on both axes without editing metarl."""

import json

import numpy as np
import pytest

from metarl.evaluation import (
    AdaptationCurves,
    AdaptationSetting,
    AgentContext,
    adaptation_figure,
    agent_factory,
    register_agent,
    registered_agents,
    unregister_agent,
)
from metarl.runs.config import TrainConfig
from metarl.runs.evaluate import evaluate_run
from metarl.runs.train import train


class ConstantInContextAgent:
    """A toy in-context agent: one episode per unit of adaptation, return ``-10 + unit``."""

    def __init__(self, context: AgentContext):
        self.context = context

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        units = np.arange(setting.steps + 1, dtype=np.float64)
        return AdaptationCurves(np.tile(units - 10.0, (len(setting.tasks), 1)), None)


@pytest.fixture
def toy_agent():
    register_agent("toy", ConstantInContextAgent)
    yield "toy"
    unregister_agent("toy")


def test_a_registered_agent_is_graded_and_reported_on_both_axes(tmp_path, toy_agent):
    config = TrainConfig(
        env="metarl/Navigation2D-v0", env_kwargs={"max_episode_steps": 5}, iterations=1,
        meta_batch_size=2, episodes_per_task=3, hidden_sizes=(4,), eval_tasks=2, eval_steps=2,
    )
    train(config, tmp_path / "run", progress=False)
    result = evaluate_run(tmp_path / "run", comparisons=[toy_agent])
    paths = result.write(tmp_path / "eval")
    saved = json.loads(paths["json"].read_text())
    assert saved["returns"]["toy"] == [[-10.0, -9.0, -8.0]] * 2
    assert saved["episodes_per_unit"] == {"meta-trained": 3, "toy": 1}
    assert saved["experience"] == {"meta-trained": [0, 3, 6], "toy": [0, 1, 2]}
    assert "meta-trained 3, toy 1" in result.table()
    figure = adaptation_figure(result.returns, "toy", result.episodes_per_unit)
    steps_axis, episodes_axis = figure.axes
    assert [t.get_text() for t in steps_axis.get_legend().get_texts()] == ["meta-trained", "toy"]
    toy_line = episodes_axis.get_lines()[1]
    assert list(toy_line.get_xdata()) == [0, 1, 2] and list(toy_line.get_ydata()) == [-10, -9, -8]
    assert paths["plot"].stat().st_size > 0


def test_registry_names_what_it_holds():
    assert {"random", "pretrained", "oracle", "scratch", "thompson", "bayes-optimal", "psrl"} <= set(
        registered_agents()
    )
    message = r"unknown agent 'nope'; registered: \['bayes-optimal', 'epsilon-greedy'"
    with pytest.raises(ValueError, match=message):
        agent_factory("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_agent("random", ConstantInContextAgent)
    with pytest.raises(TypeError, match="callable"):
        register_agent("other", 3)
