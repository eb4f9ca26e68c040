"""MuJoCo families: rewards follow their formulas, defaults reproduce Gymnasium, tasks change physics."""

import copy
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from metarl import Task

pytest.importorskip("mujoco")


def _env(env_id: str, **kwargs):
    return gym.make(env_id, **kwargs).unwrapped


# Default task == Gymnasium's nominal env: RandParams at u = 0, direction families along +x.
GYMNASIUM_TWINS = [
    ("metarl/HalfCheetahRandParams-v0", "HalfCheetah-v5", {}),
    ("metarl/HopperRandParams-v0", "Hopper-v5", {}),
    ("metarl/Walker2dRandParams-v0", "Walker2d-v5", {}),
    ("metarl/AntRandParams-v0", "Ant-v5", {}),
    ("metarl/AntDir-v0", "Ant-v5", {}),
    ("metarl/HalfCheetahDir-v0", "HalfCheetah-v5", {"ctrl_cost_weight": 0.1}),
    ("metarl/HumanoidDir-v0", "Humanoid-v5", {}),
]


@pytest.mark.parametrize(("env_id", "twin_id", "kwargs"), GYMNASIUM_TWINS)
def test_default_task_reproduces_gymnasium_v5(env_id, twin_id, kwargs):
    ours, theirs = _env(env_id, **kwargs), gym.make(twin_id).unwrapped
    np.testing.assert_array_equal(ours.reset(seed=5)[0], theirs.reset(seed=5)[0])
    ours.action_space.seed(0)
    for _ in range(25):
        action = ours.action_space.sample()
        a, b = ours.step(action), theirs.step(action)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-10, atol=1e-12)
        assert a[1] == pytest.approx(b[1], rel=1e-10, abs=1e-12)
        assert a[2] == b[2]
        assert a[4]["x_velocity"] == pytest.approx(b[4]["x_velocity"], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("env_id", ["metarl/HalfCheetahVel-v0", "metarl/AntGoal-v0"])
def test_actions_follow_the_rule_of_every_family(env_id):
    """As in the numpy families (``check_actions``): NaN, inf, values beyond float32, booleans
    and other shapes raise before the physics moves; a finite action outside the bounds (1e30)
    moves the robot as the bound does (MuJoCo's ctrlrange) and its control cost charges it as
    given, finitely (Gymnasium's cost, in float64 where float32 overflows)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    qpos = env.unwrapped.data.qpos.copy()
    shape = env.action_space.shape
    for bad in (np.full(shape, np.nan), np.full(shape, -np.inf), np.full(shape, 1e39)):
        with pytest.raises(ValueError, match=r"action must hold finite float32 .*action\[0\] is"):
            env.step(bad)
    with pytest.raises(TypeError, match="action must hold real numbers"):
        env.step(np.ones(shape, dtype=bool))
    with pytest.raises(ValueError, match=rf"action must have shape \({shape[0]},\), got \(1,\)"):
        env.step([0.5])
    np.testing.assert_array_equal(env.unwrapped.data.qpos, qpos)  # nothing moved
    at_bound = _env(env_id)
    at_bound.reset(seed=0)
    huge, bound = env.step(np.full(shape, 1e30)), at_bound.step(np.ones(shape, dtype=np.float32))
    np.testing.assert_array_equal(huge[0], bound[0])
    assert np.isfinite(huge[1])
    assert huge[4]["reward_ctrl"] == pytest.approx(bound[4]["reward_ctrl"] * 1e60, rel=1e-6)


def _shoved_rollout(env, task, steps=10, shove=(2.0, 0.0)):
    """Zero torques after a push of the root along ``shove``: a scripted motion, equal for every
    task of a goal family (the task changes only the reward)."""
    env.reset(seed=0, options={"task": task})
    env.unwrapped.data.qvel[: len(shove)] = shove
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    return [env.step(zero) for _ in range(steps)]


def test_direction_reward_follows_the_direction():
    env = _env("metarl/HalfCheetahDir-v0")
    dist = env.task_distribution
    forward = _shoved_rollout(env, dist.task(direction=1.0))
    backward = _shoved_rollout(env, dist.task(direction=-1.0))
    assert sum(r for _, r, *_ in forward) > 0 > sum(r for _, r, *_ in backward)
    for (_, r_fwd, *_, info), (_, r_bwd, *_) in zip(forward, backward, strict=True):
        # zero action: no control cost, so the rewards are +-v_x
        assert r_fwd == pytest.approx(info["x_velocity"]) and r_bwd == pytest.approx(-r_fwd)


def test_velocity_reward_peaks_at_the_target():
    env = _env("metarl/HalfCheetahVel-v0")
    dist = env.task_distribution
    targets = np.linspace(0.0, 2.0, 9)
    action = np.full(env.action_space.shape, 0.5, dtype=np.float32)
    rewards, velocities = [], []
    for target in targets:
        env.reset(seed=0, options={"task": dist.task(velocity=target)})
        env.unwrapped.data.qvel[0] = 1.0
        _, reward, _, _, info = env.step(action)
        rewards.append(reward)
        velocities.append(info["x_velocity"])
    assert np.ptp(velocities) == 0.0  # the same motion under every task
    v = velocities[0]
    expected = -np.abs(v - targets) - 0.05 * np.sum(action.astype(np.float64) ** 2)
    np.testing.assert_allclose(rewards, expected, rtol=1e-6)
    assert np.argmax(rewards) == np.argmin(np.abs(targets - v))


def test_heading_reward_is_the_velocity_along_the_angle():
    env = _env("metarl/AntDir2D-v0")
    dist = env.task_distribution
    rollouts = {
        angle: _shoved_rollout(env, dist.task(angle=angle), steps=3, shove=(1.0, 1.0))
        for angle in (0.0, np.pi / 2, np.pi)
    }
    for step in range(3):
        info = {angle: rollout[step][4] for angle, rollout in rollouts.items()}
        assert info[0.0]["reward_task"] == pytest.approx(info[0.0]["x_velocity"])
        assert info[np.pi / 2]["reward_task"] == pytest.approx(info[0.0]["y_velocity"])
        assert info[np.pi]["reward_task"] == pytest.approx(-info[0.0]["x_velocity"])


def test_goal_reward_is_minus_the_distance_to_the_goal():
    env = _env("metarl/AntGoal-v0")
    goal = np.array([1.0, -2.0])
    env.reset(seed=1, options={"task": env.task_distribution.task(goal=goal)})
    _, reward, _, _, info = env.step(np.zeros(8, dtype=np.float32))
    torso = env.data.body("torso").xpos[:2]
    assert info["reward_task"] == pytest.approx(-np.linalg.norm(torso - goal), rel=1e-3)
    costs = info["reward_ctrl"] + info["reward_contact"]
    assert reward == pytest.approx(info["reward_task"] + info["reward_survive"] + costs)


def test_humanoid_direction_uses_the_centre_of_mass():
    env = _env("metarl/HumanoidDir-v0")
    dist = env.task_distribution
    east = _shoved_rollout(env, dist.task(angle=0.0), steps=2, shove=(1.0, 0.0))
    west = _shoved_rollout(env, dist.task(angle=np.pi), steps=2, shove=(1.0, 0.0))
    for a, b in zip(east, west, strict=True):
        assert a[4]["reward_task"] > 0 and b[4]["reward_task"] == pytest.approx(
            -a[4]["reward_task"]
        )
        # Gymnasium's Humanoid weight 1.25 on the forward term
        assert a[4]["reward_task"] == pytest.approx(1.25 * a[4]["x_velocity"])


def _rand_params_task(dist, **exponents):
    values = {name: np.zeros(p.shape) for name, p in dist.parameters.items()}
    values.update(exponents)
    return dist.task(**values)


def _trajectory(env, task, steps=15):
    env.reset(seed=3, options={"task": task})
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    return np.array([env.step(a.astype(np.float32))[0] for a in actions])


def test_rand_params_write_scaled_fields_into_the_model():
    env = _env("metarl/HalfCheetahRandParams-v0")
    nominal = {f: getattr(env.model, f).copy() for f in ("body_mass", "dof_damping")}
    u = np.linspace(-3, 3, env.model.nbody)
    env.reset(options={"task": _rand_params_task(env.task_distribution, body_mass=u)})
    np.testing.assert_allclose(env.model.body_mass, nominal["body_mass"] * 1.5**u)
    np.testing.assert_array_equal(env.model.dof_damping, nominal["dof_damping"])
    # derived constants follow the new masses
    np.testing.assert_allclose(env.model.body_subtreemass[0], env.model.body_mass.sum())


@pytest.mark.parametrize(
    "env_id", ["metarl/HalfCheetahRandParams-v0", "metarl/HopperRandParams-v0"]
)
def test_rand_params_change_the_dynamics_and_restore_the_nominal_model(env_id):
    env = _env(env_id)
    dist = env.task_distribution
    nbody = env.model.nbody
    light = _rand_params_task(dist, body_mass=np.full(nbody, -2.0))
    heavy = _rand_params_task(dist, body_mass=np.full(nbody, 2.0))
    slippery = dist.split("test").tasks[0]
    assert not np.allclose(_trajectory(env, light), _trajectory(env, heavy))
    # A, then B, then A again equals a fresh env on A: nothing leaks from one task to the next.
    for a, b in ((light, heavy), (heavy, slippery)):
        _trajectory(env, a)
        _trajectory(env, b)
        np.testing.assert_array_equal(_trajectory(env, a), _trajectory(_env(env_id), a))
    env.reset(options={"task": dist.default_task()})
    fresh = _env(env_id).model
    for field in (
        "body_mass",
        "body_inertia",
        "dof_damping",
        "geom_friction",
        "body_subtreemass",
        "dof_invweight0",
        "body_invweight0",
        "actuator_acc0",
    ):
        np.testing.assert_array_equal(
            getattr(env.model, field), getattr(fresh, field), err_msg=field
        )


def test_splits_of_the_mujoco_families():
    direction = _env("metarl/AntDir-v0").task_distribution
    assert [t["direction"] for t in direction.split("test").tasks] == [-1.0, 1.0]
    assert {t["direction"] for t in direction.split("train").sample(20, seed=0)} == {-1.0, 1.0}
    assert direction.split_names == ("train", "test")
    velocity = _env("metarl/HalfCheetahVel-v0").task_distribution
    assert all(2.0 < t["velocity"] <= 3.0 for t in velocity.split("test-ood").tasks)
    goal = _env("metarl/AntGoal-v0").task_distribution
    radii = [np.hypot(*t["goal"]) for t in goal.split("train").sample(200, seed=0)]
    assert max(radii) <= 3.0 and np.mean(np.array(radii) < 1.5) == pytest.approx(0.25, abs=0.08)
    assert all(3.0 < np.hypot(*t["goal"]) <= 4.0 for t in goal.split("test-ood").tasks)
    rand = _env("metarl/HopperRandParams-v0").task_distribution
    for task in rand.split("test-ood").tasks[:5]:
        for value in task.params.values():
            assert np.all((np.abs(value) > 3.0) & (np.abs(value) <= 4.0))
    assert all(np.all(np.abs(v) <= 3) for t in rand.sample(5, seed=0) for v in t.params.values())


def test_bad_task_parameters_raise_clear_errors():
    env = gym.make("metarl/AntVel-v0")
    with pytest.raises(ValueError, match=r"'velocity' of AntVel must lie in \[0, 4\], got 5"):
        env.reset(options={"task": Task("AntVel", {"velocity": 5.0})})
    with pytest.raises(
        ValueError, match=r"'direction' of AntDir must be one of \{-1, 1\}, got 0.5"
    ):
        gym.make("metarl/AntDir-v0").reset(options={"task": Task("AntDir", {"direction": 0.5})})
    with pytest.raises(ValueError, match=r"'goal' of AntGoal must lie within distance 4"):
        gym.make("metarl/AntGoal-v0").reset(options={"task": Task("AntGoal", {"goal": [5, 0]})})
    rand = gym.make("metarl/HopperRandParams-v0")
    good = rand.unwrapped.task.params
    with pytest.raises(ValueError, match=r"'body_mass' of HopperRandParams must have shape \(5,\)"):
        rand.reset(options={"task": Task("HopperRandParams", {**good, "body_mass": [0.0]})})
    with pytest.raises(ValueError, match=r"'dof_damping' .* must lie in \[-4, 4\]"):
        rand.reset(options={"task": Task("HopperRandParams", {**good, "dof_damping": [9.0] * 6})})
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['goal'\]"):
        env.reset(options={"goal": 1.0})
    with pytest.raises(ValueError, match=r"action must have shape \(8,\), got \(3,\)"):
        env.reset(seed=0)
        env.unwrapped.step(np.zeros(3))
    assert env.unwrapped.task == env.unwrapped.task_distribution.default_task()


def test_without_mujoco_the_ids_stay_registered_and_fail_clearly():
    code = """
import sys
sys.modules["mujoco"] = None  # as if the extra were not installed
import gymnasium as gym
from metarl.envs import list_families, mujoco_available, registered_ids
assert not mujoco_available() and "metarl/AntGoal-v0" in registered_ids()
assert [f.id for f in list_families()][-1] == "metarl/MountainCarContinuous-v0"
try:
    gym.make("metarl/AntGoal-v0")
except gym.error.DependencyNotInstalled as err:
    print(err)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'metarl[mujoco]'" in out.stdout


def test_single_envs_copy_with_their_arguments():
    env = _env("metarl/AntGoal-v0", healthy_reward=0.05)
    clone = copy.deepcopy(env)
    assert clone.robot.healthy_reward == 0.05 and clone.task == env.task
