import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from metarl import TaskObservation, TaskResampling


def test_task_observation_appends_task_parameters():
    env = TaskObservation(gym.make("metarl/CartPole-v0"))
    task = env.unwrapped.task_distribution.task(gravity=12.0, length=0.6)
    obs, _ = env.reset(seed=0, options={"task": task})
    assert obs.shape == (9,) and obs in env.observation_space
    # parameters in name order: force_mag, gravity, length, masscart, masspole
    np.testing.assert_allclose(obs[4:], [10.0, 12.0, 0.6, 1.0, 0.1], rtol=1e-6)
    obs, *_ = env.step(0)
    np.testing.assert_allclose(obs[4:], [10.0, 12.0, 0.6, 1.0, 0.1], rtol=1e-6)


def test_task_observation_rejects_non_family_envs():
    with pytest.raises(TypeError, match="not a metarl family"):
        TaskObservation(gym.make("CartPole-v1"))


def test_task_resampling_draws_seeded_train_tasks_at_every_reset():
    def task_ids(seed):
        env = TaskResampling(gym.make("metarl/Navigation2D-v0"))
        ids = [env.reset(seed=seed)[1]["task_id"]]
        ids += [env.reset()[1]["task_id"] for _ in range(9)]
        return ids

    first = task_ids(3)
    assert first == task_ids(3)
    assert first != task_ids(4)
    assert len(set(first)) == 10
    env = TaskResampling(gym.make("metarl/Navigation2D-v0"), split="train")
    test_ids = {t.id for t in env.unwrapped.task_distribution.split("test").tasks}
    assert not test_ids & {env.reset(seed=i)[1]["task_id"] for i in range(200)}


def test_task_resampling_respects_an_explicit_task():
    env = TaskResampling(gym.make("metarl/Navigation2D-v0"), split="test")
    task = env.unwrapped.task_distribution.task(goal=(0.1, 0.1))
    assert env.reset(seed=0, options={"task": task})[1]["task_id"] == task.id


def test_sb3_ppo_trains_on_task_resampling_cartpole():
    env = TaskResampling(gym.make("metarl/CartPole-v0"), seed=0)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
