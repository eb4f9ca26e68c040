import numpy as np
import pytest
import torch

from metarl.agents import make_policy
from metarl.sampling import MultiTaskSampler, stack_params


@pytest.fixture
def sampler():
    s = MultiTaskSampler("metarl/Navigation2D-v0", episodes_per_task=4)
    yield s
    s.close()


def test_batch_layout_masks_and_task_index(sampler):
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    tasks = sampler.task_distribution.split("train").sample(3, seed=0)
    batch = sampler.sample(policy, tasks, seed=0)
    steps, episodes = batch.mask.shape
    assert episodes == 12 and steps <= 100
    assert batch.observations.shape == (steps, 12, 2) and batch.actions.shape == (steps, 12, 2)
    assert batch.task_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # every episode ends exactly once, at its last valid step
    ends = (batch.terminated | batch.truncated).float()
    assert torch.equal(ends.sum(0), torch.ones(12))
    last = batch.lengths - 1
    assert torch.equal(ends.argmax(0), last)
    assert not (batch.terminated & batch.truncated).any()
    # padding holds no reward; returns are the rewards of valid steps
    assert torch.equal(batch.rewards * (1 - batch.mask), torch.zeros_like(batch.rewards))
    # rewards follow the env's formula: -distance of the next position to each episode's goal
    goals = torch.tensor(np.stack([t["goal"] for t in tasks]), dtype=torch.float32)
    next_pos = torch.cat([batch.observations[1:], batch.final_observations[None]], 0)
    expected = -(next_pos - goals.repeat_interleave(4, 0)).norm(dim=-1)
    valid = batch.mask.bool() & (torch.arange(steps)[:, None] < last)
    torch.testing.assert_close(batch.rewards[valid], expected[valid], rtol=1e-5, atol=1e-5)


def test_sampling_is_seeded_and_reuses_envs(sampler):
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    tasks = sampler.task_distribution.split("train").sample(2, seed=0)
    sampler.seed(5)
    a = sampler.sample(policy, tasks, seed=1)
    sampler.seed(5)
    b = sampler.sample(policy, tasks, seed=1)
    assert a.success is None  # Navigation2D reports no success
    for x, y in zip(a[:-1], b[:-1], strict=True):
        assert torch.equal(x, y)
    c = sampler.sample(policy, tasks, seed=1)
    assert not torch.equal(a.actions, c.actions)
    assert len(sampler._envs) == 1


def test_per_task_params_drive_each_tasks_episodes(sampler):
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    tasks = sampler.task_distribution.split("train").sample(2, seed=0)
    params = stack_params({k: v.detach() for k, v in policy.named_parameters()}, 2)
    params = {k: v.clone() for k, v in params.items()}
    # Task 1's policy: zero mean, tiny noise, so its robot barely moves.
    for name in params:
        if name.startswith("mean"):
            params[name][1] = 0.0
    params["log_std"][1] = -10.0
    batch = sampler.sample(policy, tasks, params, seed=0)
    moved = batch.final_observations.norm(dim=1)
    assert moved[4:].max() < 1e-2 < moved[:4].min()


def test_bad_params_raise(sampler):
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    tasks = sampler.task_distribution.split("train").sample(2, seed=0)
    with pytest.raises(ValueError, match="policy's names"):
        sampler.sample(policy, tasks, {"w": torch.zeros(1)})
    params = stack_params(dict(policy.named_parameters()), 3)
    with pytest.raises(ValueError, match="leading axis of 2"):
        sampler.sample(policy, tasks, params)
    with pytest.raises(ValueError, match="at least one task"):
        sampler.sample(policy, [])


def _cycle_batch_sizes(sampler, sizes, seed=3):
    """One seeded batch per size; every vector env ever made, and the most open at once."""
    made, most_open = [], 0
    make = sampler._vector_env

    def tracking(num_envs):
        envs = make(num_envs)
        if all(envs is not e for e in made):
            made.append(envs)
        return envs

    sampler._vector_env = tracking
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    tasks = sampler.task_distribution.split("train").sample(max(sizes), seed=0)
    batches = []
    for size in sizes:
        sampler.seed(7)
        batches.append(sampler.sample(policy, tasks[:size], seed=seed))
        most_open = max(most_open, sum(not e.unwrapped.closed for e in made))
    return batches, made, most_open


def test_cycling_batch_sizes_keeps_a_bounded_pool_and_the_same_episodes():
    kwargs = {"max_episode_steps": 5}
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", 1, kwargs, max_envs=2)
    sizes = list(range(1, 13)) * 2
    batches, made, most_open = _cycle_batch_sizes(sampler, sizes)
    assert len(made) == 24 and most_open == 2  # every size was made again after eviction
    sampler.close()
    assert all(e.unwrapped.closed for e in made)
    for size, batch in zip(sizes, batches, strict=True):
        fresh = MultiTaskSampler("metarl/Navigation2D-v0", 1, kwargs)
        expected, _, _ = _cycle_batch_sizes(fresh, [size])
        fresh.close()
        for x, y in zip(batch[:-1], expected[0][:-1], strict=True):
            assert torch.equal(x, y)


def test_cycling_batch_sizes_keeps_the_worker_processes_bounded():
    pytest.importorskip("mujoco")
    import multiprocessing as mp

    sampler = MultiTaskSampler("metarl/HalfCheetahVel-v0", 1, {"max_episode_steps": 2})
    before = len(mp.active_children())
    _, made, most_open = _cycle_batch_sizes(sampler, list(range(1, 13)))
    workers = len(mp.active_children()) - before
    per_env = max(len(e.unwrapped.worker_pids) for e in made)
    assert most_open <= sampler.max_envs == 2 and 0 < workers <= 2 * per_env
    sampler.close()
    assert len(mp.active_children()) == before


def test_max_envs_must_be_positive():
    with pytest.raises(ValueError, match="max_envs must be a positive int, got 0"):
        MultiTaskSampler("metarl/Navigation2D-v0", 1, max_envs=0)
