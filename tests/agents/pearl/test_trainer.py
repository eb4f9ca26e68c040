"""PEARL as a run's agent kind: trains through ``metarl train``, resumes identically (replay
buffers included), is graded by the adaptation protocol, and refuses bad options."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl.agents.adaptation import AdaptationSetting
from metarl.agents.pearl import PEARLOptions, PEARLTrainer
from metarl.runs.config import ConfigError, TrainConfig
from tests.runs.interrupted import train_whole_and_resumed

TINY = {
    "hidden_sizes": [16], "encoder_hidden_sizes": [16], "num_train_tasks": 6,
    "initial_episodes": 1, "tasks_per_iteration": 2, "prior_episodes": 1,
    "posterior_episodes": 2, "extra_posterior_episodes": 1, "gradient_steps": 3,
    "batch_size": 8, "context_batch_size": 8,
}


def _config(**changes) -> TrainConfig:
    keys = {
        "agent": "pearl", "env": "metarl/Navigation2DSparse-v0",
        "env_kwargs": {"max_episode_steps": 10}, "agent_options": TINY, "iterations": 3,
        "meta_batch_size": 3, "checkpoint_every": 2, "eval_tasks": 2, "eval_steps": 2,
        "episodes_per_task": 2,
    }
    return TrainConfig(**{**keys, **changes})


def test_resume_continues_identically(tmp_path, monkeypatch):
    # killed in the third iteration; the last checkpoint was written after iteration 2
    whole, resumed = train_whole_and_resumed(_config(), PEARLTrainer, 2, tmp_path, monkeypatch)
    for name, tensor in whole.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    for name in whole.replay.data:
        np.testing.assert_array_equal(whole.replay.data[name], resumed.replay.data[name])
    assert resumed.env_steps == whole.env_steps


def test_graded_agent_follows_the_protocol(tmp_path):
    from metarl.runs.evaluate import evaluate_run
    from metarl.runs.train import train

    trainer = train(_config(iterations=1), tmp_path / "run", progress=False)
    tasks = trainer.task_distribution.split("test").tasks[:3]
    agent = trainer.graded_agent()
    setting = AdaptationSetting(tasks, steps=2, episodes=2, seed=5, sampler=None)
    curves = agent.adaptation_curves(setting)
    assert curves.returns.shape == (3, 3) and curves.success is None
    np.testing.assert_array_equal(agent.adaptation_curves(setting).returns, curves.returns)
    assert agent.episodes_per_unit(setting) == 1
    result = evaluate_run(tmp_path / "run")
    assert result.returns["meta-trained"].shape == (2, 3)


def test_bad_options_are_refused_naming_the_value():
    with pytest.raises(ConfigError, match=r"aggregation must be one of \['product', 'mean'\]"):
        _config(agent_options={"aggregation": "max"})
    with pytest.raises(ConfigError, match="tasks_per_iteration \\(9\\) must not exceed"):
        _config(agent_options={**TINY, "tasks_per_iteration": 9})
    with pytest.raises(ConfigError, match="meta_batch_size \\(7\\) must not exceed"):
        from metarl.runs.build import build

        build(_config(meta_batch_size=7))
    with pytest.raises(ValueError, match="tau must be in"):
        PEARLOptions(tau=0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_and_is_graded_on_cuda():
    trainer = PEARLTrainer(
        "metarl/Navigation2DSparse-v0", {"max_episode_steps": 10}, PEARLOptions(**{
            k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()
        }), 3, 0, device="cuda",
    )
    metrics = trainer.train_iteration(np.random.default_rng(0))
    assert np.isfinite(metrics["critic_loss"])
    assert next(trainer.model.parameters()).device.type == "cuda"
    tasks = trainer.task_distribution.split("test").tasks[:2]
    curves = trainer.graded_agent().adaptation_curves(AdaptationSetting(tasks, 1, 1, 0, None))
    assert curves.returns.shape == (2, 2)
    trainer.close()
