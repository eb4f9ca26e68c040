"""The env side of the task API: task switching, hidden tasks, clear errors on bad input."""

import gymnasium as gym
import numpy as np
import pytest

from metarl import Task
from metarl.envs import registered_ids


@pytest.mark.parametrize("env_id", registered_ids())
def test_reset_with_task_switches_task_and_reports_its_id(env_id):
    env = gym.make(env_id)
    distribution = env.unwrapped.task_distribution
    task = distribution.split("train").sample(1, seed=0)[0]
    _, info = env.reset(seed=0, options={"task": task})
    assert env.unwrapped.task == task and info["task_id"] == task.id
    other = distribution.split("test").tasks[0]
    env.unwrapped.set_task(other)
    _, info = env.reset()
    assert info["task_id"] == other.id
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["task_id"] == other.id


@pytest.mark.parametrize("env_id", registered_ids())
def test_task_is_hidden_from_observations(env_id):
    """Two tasks give the same first observation: nothing of the task leaks into it."""
    env = gym.make(env_id)
    a, b = env.unwrapped.task_distribution.split("test").tasks[:2]
    obs_a, _ = env.reset(seed=3, options={"task": a})
    obs_b, _ = env.reset(seed=3, options={"task": b})
    np.testing.assert_array_equal(obs_a, obs_b)


def test_tasks_change_the_dynamics():
    env = gym.make("metarl/CartPole-v0")
    dist = env.unwrapped.task_distribution
    traces = []
    for task in (dist.task(masspole=0.05), dist.task(masspole=0.15)):
        env.reset(seed=0, options={"task": task})
        traces.append([env.step(1)[0] for _ in range(5)])
    assert not np.allclose(traces[0], traces[1])


def test_bad_reset_options_raise_clear_errors():
    env = gym.make("metarl/Navigation2D-v0")
    with pytest.raises(TypeError, match="expected a metarl.Task.*dict"):
        env.reset(options={"task": {"goal": [0.1, 0.1]}})
    with pytest.raises(
        ValueError, match=r"unknown reset option\(s\) \['goal'\].*allowed: \['task'\]"
    ):
        env.reset(options={"goal": [0.1, 0.1]})
    with pytest.raises(ValueError, match="family 'CartPole'.*'Navigation2D'"):
        cart = gym.make("metarl/CartPole-v0").unwrapped.task
        env.reset(options={"task": cart})
    with pytest.raises(ValueError, match=r"'goal'.*\[-1, 1\]"):
        env.reset(options={"task": Task("Navigation2D", {"goal": [3.0, 0.0]})})
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        env.reset(options={"task": Task("Navigation2D", {"goal": [0.1, 0.0, 0.0]})})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['mass'\]"):
        env.reset(options={"task": Task("Navigation2D", {"goal": [0.1, 0.0], "mass": 1.0})})
    # The env still works with its previous task after every rejected input.
    env.reset(seed=0)
    assert env.unwrapped.task == env.unwrapped.task_distribution.default_task()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="reward_type.*'dense', 'sparse'.*'shaped'"):
        gym.make("metarl/Navigation2D-v0", reward_type="shaped")
    with pytest.raises(ValueError, match="num_arms must be an int >= 2, got 1"):
        gym.make("metarl/Bandit-v0", num_arms=1)
    with pytest.raises(gym.error.Error):
        gym.make("metarl/NoSuchFamily-v0")


def test_vector_env_bad_inputs():
    envs = gym.make_vec("metarl/Navigation2D-v0", num_envs=4)
    tasks = envs.unwrapped.task_distribution.split("test").tasks
    with pytest.raises(ValueError, match=r"one task per sub-env \(4\), got 3"):
        envs.reset(options={"tasks": list(tasks[:3])})
    with pytest.raises(TypeError, match="sequence of 4 metarl.Task"):
        envs.reset(options={"tasks": tasks[0]})
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['goal'\]"):
        envs.reset(options={"goal": tasks[0]})
    with pytest.raises(TypeError, match="reset option 'task' must be a metarl.Task"):
        envs.reset(options={"task": list(tasks[:4])})
    envs.reset(options={"task": tasks[1]})  # every sub-env, as SyncVectorEnv passes it on
    assert envs.unwrapped.tasks == (tasks[1],) * 4
    envs.reset(seed=0, options={"tasks": list(tasks[:4])})
    with pytest.raises(ValueError, match=r"actions must have shape \(4, 2\), got \(2,\)"):
        envs.step(np.zeros(2))


def test_sparse_navigation_rewards_only_near_the_goal():
    env = gym.make("metarl/Navigation2DSparse-v0")
    task = env.unwrapped.task_distribution.task(goal=(0.3, 0.0))
    env.reset(seed=0, options={"task": task})
    rewards = [env.step(np.array([0.1, 0.0], dtype=np.float32))[1] for _ in range(3)]
    # distances after each step: 0.2, 0.1, 0.0 -> inside radius 0.2: 1 - d
    np.testing.assert_allclose(rewards, [0.8, 0.9, 1.0], atol=1e-6)
    env.reset(options={"task": task})
    assert env.step(np.array([-0.1, 0.0], dtype=np.float32))[1] == 0.0


def test_navigation_goals_on_pearls_semicircle():
    envs = gym.make_vec("metarl/Navigation2DSparse-v0", num_envs=2, goal_region="semicircle")
    goals = np.array([t["goal"] for t in envs.unwrapped.task_distribution.split("test").tasks])
    np.testing.assert_allclose(np.hypot(*goals.T), 1.0)
    assert np.all(goals[:, 1] >= 0.0)
    with pytest.raises(ValueError, match=r"goal_region must be one of \('square', 'semicircle'\)"):
        gym.make("metarl/Navigation2D-v0", goal_region="circle")


def test_navigation_terminates_at_the_goal():
    env = gym.make("metarl/Navigation2D-v0")
    task = env.unwrapped.task_distribution.task(goal=(0.2, -0.1))
    env.reset(seed=0, options={"task": task})
    _, reward, terminated, _, _ = env.step(np.array([0.1, -0.1], dtype=np.float32))
    assert not terminated and reward == pytest.approx(-0.1, abs=1e-6)
    _, reward, terminated, _, _ = env.step(np.array([0.1, 0.05], dtype=np.float32))
    assert terminated is False or reward == pytest.approx(-0.05, abs=1e-6)
    _, reward, terminated, _, _ = env.step(np.array([0.0, -0.05], dtype=np.float32))
    assert terminated and reward == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("offset", "ends"),
    [((0.009, 0.009), True), ((0.0095, -0.0095), True), ((0.011, 0.0), False), ((0.0, -0.0101), False)],
)
def test_navigation_ends_inside_the_square_around_the_goal(offset, ends):
    """Both references (rllab's point_env_randgoal, pytorch-maml-rl) end an episode when both
    coordinates are within 0.01 of the goal: (0.009, 0.009), 0.0127 away, ends it too."""
    env = gym.make("metarl/Navigation2D-v0")
    task = env.unwrapped.task_distribution.task(goal=(0.05, 0.05))
    env.reset(seed=0, options={"task": task})
    action = np.array([0.05 + offset[0], 0.05 + offset[1]], dtype=np.float32)
    _, _, terminated, _, _ = env.step(action)
    assert terminated is ends


def test_bandit_pays_arm_means():
    envs = gym.make_vec("metarl/Bandit-v0", num_envs=4000)
    task = envs.unwrapped.task_distribution.task(arm_means=[0.1, 0.3, 0.5, 0.7, 0.9])
    envs.reset(seed=0, options={"tasks": [task] * 4000})
    arms = np.arange(4000) % 5
    rewards = np.mean([envs.step(arms)[1] for _ in range(5)], axis=0)
    means = [rewards[arms == k].mean() for k in range(5)]
    np.testing.assert_allclose(means, [0.1, 0.3, 0.5, 0.7, 0.9], atol=0.03)


def test_tabular_mdp_follows_its_transitions_and_reward_means():
    envs = gym.make_vec("metarl/TabularMDP-v0", num_envs=5000)
    task = envs.unwrapped.task_distribution.sample(1, seed=4)[0]
    envs.reset(seed=0, options={"tasks": [task] * 5000})
    obs, reward, *_ = envs.step(np.full(5000, 2))
    next_state = obs.argmax(axis=1)
    frequencies = np.bincount(next_state, minlength=10) / 5000
    np.testing.assert_allclose(frequencies, task["transitions"][0, 2], atol=0.025)
    assert reward.mean() == pytest.approx(task["reward_means"][0, 2], abs=0.05)
    assert reward.std() == pytest.approx(1.0, abs=0.05)


NUMPY_FAMILIES = [
    "metarl/Navigation2D-v0",
    "metarl/Bandit-v0",
    "metarl/TabularMDP-v0",
    "metarl/CartPole-v0",
    "metarl/Pendulum-v0",
    "metarl/MountainCarContinuous-v0",
]


@pytest.mark.parametrize("action", [5, -1, 0.7, 2, np.nan, "1"])
def test_cartpole_refuses_the_actions_gymnasium_cartpole_refuses(action):
    theirs = gym.make("CartPole-v1").unwrapped
    theirs.reset(seed=0)
    with pytest.raises(AssertionError):  # Gymnasium's own check: action_space.contains
        theirs.step(action)
    env = gym.make("metarl/CartPole-v0")
    obs, _ = env.reset(seed=0)
    with pytest.raises((ValueError, TypeError), match=r"action must hold integers in \[0, 1\]"):
        env.step(action)
    np.testing.assert_array_equal(env.unwrapped._dynamics.observe()[0], obs)  # nothing moved


def _bad_actions(space: gym.spaces.Space) -> list:
    if isinstance(space, gym.spaces.Discrete):
        return [np.nan, space.n, -1, 0.5, np.float32(1.0)]
    return [np.full(space.shape, np.nan), np.full(space.shape, -np.inf), np.full(space.shape, 1e39)]


@pytest.mark.parametrize("env_id", NUMPY_FAMILIES)
def test_vector_envs_refuse_an_action_exactly_where_single_envs_do(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    envs = gym.make_vec(env_id, num_envs=3)
    obs, _ = envs.reset(seed=0)
    good = envs.action_space.sample()
    for bad in _bad_actions(env.action_space):
        with pytest.raises((ValueError, TypeError), match="action must hold"):
            env.step(bad)
        batch = list(good)
        batch[1] = bad
        with pytest.raises((ValueError, TypeError), match="actions must hold"):
            envs.step(np.array(batch))
        np.testing.assert_array_equal(envs.unwrapped._dynamics.observe(), obs)
    # Box actions outside the bounds stay allowed (clipped, as in Gymnasium's classic control).
    envs.step(good)


def test_navigation_nan_action_raises_instead_of_poisoning_the_state():
    env = gym.make("metarl/Navigation2D-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must hold finite float32 numbers, got \[nan, 0\]"):
        env.step([np.nan, 0])
    obs, reward, *_ = env.step([0.05, 0.0])
    assert np.isfinite(obs).all() and np.isfinite(reward)


@pytest.mark.parametrize("seed", [[], [1, 2, 3], [0, 1, 2, -3], -1, "0123"])
def test_vector_reset_refuses_seeds_that_do_not_fit(seed):
    envs = gym.make_vec("metarl/CartPole-v0", num_envs=4)
    with pytest.raises(ValueError, match=r"seed.* must be .*int >= 0"):
        envs.reset(seed=seed)
    with pytest.raises(ValueError, match="a sequence of 4 of them"):
        envs.reset(seed=[])
    envs.reset(seed=[5, 6, 7, 8])  # one per sub-env is fine
