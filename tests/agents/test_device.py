"""``device``: the MAML family trains on the config's device; sampling stays on the CPU and hands
its batches to that device. Every test runs on CPU; the CUDA ones where a GPU is present."""

import numpy as np
import pytest
import torch

from metarl.agents import make_policy
from metarl.runs.build import build
from metarl.runs.config import ConfigError, TrainConfig
from metarl.sampling import MultiTaskSampler

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
TINY = TrainConfig(
    env_kwargs={"max_episode_steps": 10}, iterations=2, meta_batch_size=3, episodes_per_task=2,
    hidden_sizes=(8,), seed=1,
)


def _metrics(config: TrainConfig) -> list[dict[str, float]]:
    learner = build(config)
    try:
        return [learner.train_iteration(np.random.default_rng([1, i])) for i in range(2)]
    finally:
        learner.close()


def test_the_batch_comes_back_on_the_parameters_device():
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", 2, {"max_episode_steps": 5})
    policy = make_policy(sampler.observation_space, sampler.action_space, (4,))
    tasks = sampler.task_distribution.split("test").tasks[:2]
    batch = sampler.sample(policy, tasks, seed=0)
    assert all(t.device.type == "cpu" for t in batch if t is not None)
    moved = batch.to("cpu")
    assert all(torch.equal(a, b) for a, b in zip(moved, batch, strict=True) if a is not None)
    sampler.close()


def test_device_cpu_is_the_default_and_auto_resolves():
    assert TINY.device == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    learner = build(TINY.with_overrides(["device=auto"]))
    assert next(learner.policy.parameters()).device.type == expected
    learner.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match="device 'cuda' needs CUDA, which this machine lacks"):
        build(TINY.with_overrides(["device=cuda"]))


@CUDA
@pytest.mark.parametrize("outer", ["trpo", "ppo"])
def test_training_on_cuda_matches_cpu(outer):
    cpu = _metrics(TINY.with_overrides([f"outer={outer}"]))
    cuda = _metrics(TINY.with_overrides([f"outer={outer}", "device=cuda"]))
    for a, b in zip(cpu, cuda, strict=True):
        assert a["pre_return"] == pytest.approx(b["pre_return"], rel=1e-3)
        assert a["post_return"] == pytest.approx(b["post_return"], rel=1e-3)
