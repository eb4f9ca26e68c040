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


class _RecordTasks(gym.Wrapper):
    """Records the task of every reset and the observation that starts it."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.starts: list[tuple[str, np.ndarray]] = []

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.starts.append((info["task_id"], obs))
        return obs, info


def test_sb3_ppo_sees_a_new_train_task_each_episode_and_the_oracle_sees_it():
    """Through SB3's own resets, every episode draws a train task, and TaskObservation shows it."""
    env = _RecordTasks(TaskObservation(TaskResampling(gym.make("metarl/CartPole-v0"), seed=0)))
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    distribution = env.unwrapped.task_distribution
    test_ids = {t.id for t in distribution.split("test").tasks}
    ids = [task_id for task_id, _ in env.starts]
    assert len(ids) > 5 and len(set(ids)) == len(ids) and not test_ids & set(ids)
    shown = {tuple(obs[4:].round(4)) for _, obs in env.starts}
    assert len(shown) == len(ids)  # the observation carries each episode's own task
    buffer = model.rollout_buffer.observations.reshape(256, -1)
    assert {tuple(row) for row in buffer[:, 4:].round(4)} <= shown
