"""Native vector envs reproduce the single envs, and the defaults reproduce Gymnasium's physics."""

import gymnasium as gym
import numpy as np
import pytest

from metarl.envs import registered_ids


@pytest.mark.parametrize("env_id", registered_ids())
def test_vector_env_trajectories_equal_single_envs(env_id):
    num_envs, steps, seed = 6, 250, 11
    envs = gym.make_vec(env_id, num_envs=num_envs, max_episode_steps=40)
    tasks = envs.unwrapped.task_distribution.split("train").sample(num_envs, seed=0)
    singles = [gym.make(env_id, max_episode_steps=40) for _ in range(num_envs)]
    obs, _ = envs.reset(seed=seed, options={"tasks": tasks})
    single_obs = [
        e.reset(seed=seed + i, options={"task": t})[0]
        for i, (e, t) in enumerate(zip(singles, tasks, strict=True))
    ]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    envs.action_space.seed(0)
    done = np.zeros(num_envs, dtype=bool)
    episodes_ended = 0
    for _ in range(steps):
        actions = envs.action_space.sample()
        obs, reward, terminated, truncated, _ = envs.step(actions)
        for i, env in enumerate(singles):
            if done[i]:  # NEXT_STEP autoreset: this step is the reset
                expected_obs, _ = env.reset()
                expected = (expected_obs, 0.0, False, False)
            else:
                expected = env.step(actions[i])[:4]
            np.testing.assert_array_equal(obs[i], expected[0])
            assert reward[i] == expected[1]
            assert (terminated[i], truncated[i]) == (expected[2], expected[3])
        done = terminated | truncated
        episodes_ended += done.sum()
    assert episodes_ended >= num_envs  # the comparison crossed episode boundaries


@pytest.mark.parametrize("env_id", registered_ids())
def test_step_before_the_first_reset_raises_reset_needed(env_id):
    """As Gymnasium's OrderEnforcing does for single envs (one sub-env: the simulator
    families step it in-process, no worker to start)."""
    envs = gym.make_vec(env_id, num_envs=1)
    actions = envs.action_space.sample()
    with pytest.raises(gym.error.ResetNeeded, match=r"step\(\) before calling reset\(\)"):
        envs.step(actions)
    envs.reset(seed=0)
    envs.step(actions)
    envs.close()


GYMNASIUM_TWINS = {
    "metarl/CartPole-v0": ("CartPole-v1", lambda e, s: setattr(e, "state", s)),
    "metarl/Pendulum-v0": ("Pendulum-v1", lambda e, s: setattr(e, "state", s)),
    "metarl/MountainCarContinuous-v0": (
        "MountainCarContinuous-v0",
        lambda e, s: setattr(e, "state", s.astype(np.float32)),
    ),
}


@pytest.mark.parametrize("env_id", sorted(GYMNASIUM_TWINS))
def test_default_task_reproduces_gymnasium_dynamics(env_id):
    twin_id, set_state = GYMNASIUM_TWINS[env_id]
    ours = gym.make(env_id).unwrapped
    theirs = gym.make(twin_id).unwrapped
    ours.reset(seed=0)
    theirs.reset(seed=0)
    dynamics = ours._dynamics
    state = {
        "metarl/CartPole-v0": lambda: dynamics.state[:, 0].copy(),
        "metarl/Pendulum-v0": lambda: np.array([dynamics.theta[0], dynamics.theta_dot[0]]),
        "metarl/MountainCarContinuous-v0": lambda: np.array(
            [dynamics.position[0], dynamics.velocity[0]]
        ),
    }[env_id]()
    set_state(theirs, state)
    ours.action_space.seed(1)
    for _ in range(60):
        action = ours.action_space.sample()
        if env_id == "metarl/MountainCarContinuous-v0":
            action = action * 3.0  # exercise clipping of the force
        a = ours.step(action)
        b = theirs.step(action)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)
        assert a[1] == pytest.approx(b[1], rel=1e-5, abs=1e-6)
        assert a[2] == b[2]
        if a[2]:
            break
