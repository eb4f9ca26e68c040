"""PEARL's per-task replay buffers and lockstep collection on the family's vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import metarl  # noqa: F401  (registers the families)
from metarl.agents.pearl.buffers import TaskReplay
from metarl.agents.pearl.collect import Collector


def _step(value: float, n: int) -> dict[str, np.ndarray]:
    return {
        "obs": np.full((n, 2), value), "action": np.full((n, 1), value),
        "reward": np.full(n, value), "next_obs": np.full((n, 2), value), "terminal": np.zeros(n),
    }


def test_each_task_is_a_ring_sampled_only_from_its_own_data():
    replay = TaskReplay(num_tasks=3, capacity=4, obs_dim=2, action_dim=1)
    for value in range(6):  # task 0 and 2 get 0..5; the ring keeps the last 4
        replay.add(np.array([0, 2]), _step(value, 2))
    replay.add(np.array([1]), _step(-1.0, 1))
    assert replay.size.tolist() == [4, 1, 4]
    batch = replay.sample(np.array([2, 1]), 50, np.random.default_rng(0))
    assert batch["obs"].shape == (2, 50, 2) and batch["reward"].shape == (2, 50)
    assert set(batch["reward"][0].tolist()) == {2.0, 3.0, 4.0, 5.0}
    assert set(batch["reward"][1].tolist()) == {-1.0}
    replay.clear(np.array([2]))
    with pytest.raises(ValueError, match=r"cannot sample tasks \[2\]: no data yet"):
        replay.sample(np.array([0, 2]), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one transition per task"):
        replay.add(np.array([1, 1]), _step(0.0, 2))


def test_state_round_trip():
    replay = TaskReplay(2, 8, 2, 1)
    for value in range(3):
        replay.add(np.array([0]), _step(value, 1))
    copy = TaskReplay(2, 8, 2, 1)
    copy.load_state_dict(replay.state_dict())
    for name in replay.data:
        np.testing.assert_array_equal(copy.data[name], replay.data[name])
    assert copy.size.tolist() == [3, 0] and copy.position.tolist() == [3, 0]
    with pytest.raises(ValueError, match="this buffer has 3 tasks of 8"):
        TaskReplay(3, 8, 2, 1).load_state_dict(replay.state_dict())


def test_collector_runs_one_task_per_sub_env_as_the_single_env_does():
    collector = Collector("metarl/Navigation2D-v0", {"max_episode_steps": 5})
    tasks = collector.task_distribution.split("train").sample(3, seed=0)
    actions = np.array([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5]], dtype=np.float32)
    episodes = collector.episodes(tasks, lambda obs: actions, seed=0)
    assert episodes.obs.shape == (5, 3, 2) and episodes.steps == 15
    for i, task in enumerate(tasks):
        env = gym.make("metarl/Navigation2D-v0", max_episode_steps=5)
        env.reset(seed=i, options={"task": task})
        rewards = [env.step(collector.to_env(actions[i]))[1] for _ in range(5)]
        np.testing.assert_allclose(episodes.reward[:, i], rewards, rtol=1e-6)
    np.testing.assert_allclose(episodes.action[0], actions)  # stored in [-1, 1]
    np.testing.assert_allclose(episodes.next_obs[0, 0], [0.1, 0.0], rtol=1e-6)  # rescaled to 0.1
    collector.close()
    with pytest.raises(ValueError, match="PEARL needs continuous"):
        Collector("metarl/Bandit-v0")


def test_critic_rewards_come_from_a_twin_env_in_lockstep():
    collector = Collector(
        "metarl/Navigation2DSparse-v0", {"max_episode_steps": 6},
        critic_env_kwargs={"reward_type": "dense"},
    )
    tasks = collector.task_distribution.split("train").sample(2, seed=1)
    episodes = collector.episodes(tasks, lambda obs: np.ones((2, 2), np.float32), seed=3)
    goals = np.stack([t.params["goal"] for t in tasks])
    distance = np.linalg.norm(episodes.next_obs - goals, axis=-1)
    np.testing.assert_allclose(episodes.critic_reward, -distance, rtol=1e-5)
    np.testing.assert_allclose(episodes.reward, np.where(distance <= 0.2, 1 - distance, 0), rtol=1e-5)
    assert (episodes.transitions(0, critic=True)["reward"] == episodes.critic_reward[0]).all()
    collector.close()
    drifting = Collector(
        "metarl/Navigation2D-v0", {"max_episode_steps": 6}, critic_env_kwargs={"max_episode_steps": 3}
    )
    with pytest.raises(ValueError, match="change metarl/Navigation2D-v0's dynamics"):
        drifting.episodes(tasks, lambda obs: np.ones((2, 2), np.float32), seed=3)
    drifting.close()
