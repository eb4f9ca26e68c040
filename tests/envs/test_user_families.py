"""A family of one's own: register_family for numpy and MuJoCo families, the errors of an env
without the task API, ``module:id`` ids, MuJoCo ``opt`` fields and scalar parameters."""

import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl
from metarl.envs import TaskObservation, list_families, register_family, require_family
from metarl.sampling import MultiTaskSampler

GOAL1D = '''
import numpy as np
from gymnasium import spaces
from metarl.envs import BatchDynamics, register_family
from metarl.tasks import TaskDistribution, Uniform

class Goal1DDynamics(BatchDynamics):
    """A point on a line moves towards a goal it cannot see."""
    family = "Goal1D"
    horizon = 20

    def __init__(self, num_envs):
        super().__init__(num_envs)
        self.task_distribution = TaskDistribution(
            self.family, [Uniform("goal", -1.0, 1.0, default=0.5, ood=(-2.0, 2.0))])
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (1,), np.float32)
        self.single_action_space = spaces.Box(-0.2, 0.2, (1,), np.float32)
        self.position = np.zeros((num_envs, 1))

    def reset(self, index):
        self.position[index] = 0.0

    def step(self, action):
        self.position += np.clip(action, -0.2, 0.2)
        return -np.abs(self.position[:, 0] - self.params["goal"]), np.zeros(self.num_envs, bool)

    def observe(self):
        return self.position.astype(np.float32)

register_family("test/Goal1D-v0", Goal1DDynamics)
'''


@pytest.fixture(scope="module")
def goal1d(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_family")
    (folder / "user_goal1d.py").write_text(textwrap.dedent(GOAL1D))
    sys.path.insert(0, str(folder))
    yield "user_goal1d:test/Goal1D-v0"
    sys.path.remove(str(folder))
    sys.modules.pop("user_goal1d", None)


def test_a_numpy_family_from_batch_dynamics_alone(goal1d):
    env = gym.make(goal1d)  # module:id imports the module that registers it
    dist = env.unwrapped.task_distribution
    task = dist.task(goal=-0.6)
    _, info = env.reset(seed=0, options={"task": task})
    assert info["task_id"] == task.id and env.spec.max_episode_steps == 20
    check_env(env.unwrapped, skip_render_check=True)
    envs = gym.make_vec("test/Goal1D-v0", num_envs=3)  # native, one task per sub-env
    assert type(envs).__name__ == "Goal1DVectorEnv"
    tasks = dist.split("train").sample(3, seed=0)
    envs.reset(seed=0, options={"tasks": tasks})
    assert envs.tasks == tuple(tasks)
    sampler = MultiTaskSampler(goal1d, 2)
    batch = sampler.sample(_policy(sampler), tasks, seed=0)
    assert batch.num_tasks == 3 and batch.observations.shape[0] == 20
    assert "test/Goal1D-v0" in [f.id for f in list_families()]
    require_family(goal1d)
    register_family("test/Goal1D-v0", sys.modules["user_goal1d"].Goal1DDynamics)  # idempotent


def _policy(sampler):
    from metarl.agents import make_policy

    return make_policy(sampler.observation_space, sampler.action_space, (8,))


def test_an_env_without_the_task_api_is_refused_naming_what_the_sampler_needs():
    gym.register("test/PlainPendulum-v0", entry_point="gymnasium.envs.classic_control:PendulumEnv")
    # Before: AttributeError: 'SyncVectorEnv' object has no attribute 'task_distribution'.
    with pytest.raises(ValueError, match="SyncVectorEnv has no task_distribution.*register_family"):
        MultiTaskSampler("test/PlainPendulum-v0", 2)
    with pytest.raises(ValueError, match="not a metarl task family .registered without a vector"):
        require_family("test/PlainPendulum-v0")
    # Before: NamespaceNotFound: Namespace nosuchmodule:my not found.
    with pytest.raises(ModuleNotFoundError, match="cannot import module 'nosuchmodule'"):
        require_family("nosuchmodule:my/Goal1D-v0")
    with pytest.raises(TypeError, match="BatchDynamics subclass"):
        register_family("test/Nope-v0", gym.Env)


def test_allowed_values_are_described():
    rows = {r["name"]: r for r in gym.make("metarl/Pendulum-v0").unwrapped.task_distribution.describe()}
    assert rows["l"]["allowed"] == "[0.1, 10]" and rows["l"]["test-ood"] != rows["l"]["allowed"]
    assert "| Allowed |" in metarl.family_table().splitlines()[0]


mujoco = pytest.importorskip("mujoco")


def _heavy_pole_class():
    from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv

    from metarl.envs.mujoco import ModelField, MujocoTaskEnv

    class HeavyPoleEnv(MujocoTaskEnv, InvertedPendulumEnv):
        family = "HeavyPole"
        model_fields = (
            ModelField("opt.gravity", -14.0, -5.0, mode="set", index=2),
            ModelField("body_mass", 0.5, 2.0, index="pole"),
            ModelField("opt.timestep", 0.01, 0.03, mode="set"),
            ModelField("opt.wind", -1.0, 1.0, mode="set", index=0),
        )
        def on_task(self, task):
            self.seen = [*getattr(self, "seen", []), task]

    return HeavyPoleEnv


def test_opt_fields_and_single_index_parameters_are_scalars():
    env = _heavy_pole_class()()
    dist = env.task_distribution
    # Before: ValueError: unknown MjModel field 'opt.gravity'; index="pole" made shape (1,).
    assert {n: p.shape for n, p in dist.parameters.items()} == {
        "gravity": (), "body_mass": (), "timestep": (), "wind": ()
    }
    nominal_mass = env.model.body_mass.copy()
    task = dist.task(gravity=-7.5, body_mass=1.5, timestep=0.01, wind=0.5)
    env.reset(seed=0, options={"task": task})
    model = env.model
    assert model.opt.gravity.tolist() == [0.0, 0.0, -7.5] and model.opt.timestep == 0.01
    assert model.opt.wind.tolist() == [0.5, 0.0, 0.0]
    assert model.body("pole").mass[0] == pytest.approx(1.5 * nominal_mass[model.body("pole").id])
    assert env.seen[-1] == task  # the public per-task hook
    env.set_task(dist.default_task())
    assert model.opt.gravity[2] == -9.81 and model.opt.timestep == 0.02 and model.opt.wind[0] == 0
    with pytest.raises(ValueError, match="is a number: give no index or column"):
        from metarl.envs.mujoco import ModelField, ModelParams

        ModelParams([ModelField("opt.timestep", 0.01, 0.02, index=0)]).bind(model)


def test_mujoco_details_of_the_issue(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: float64 -> float32 precision warning
        oracle = TaskObservation(gym.make("metarl/HalfCheetahVel-v0"))
        obs, _ = oracle.reset(seed=0)
    assert obs.dtype == np.float64 and oracle.observation_space.dtype == np.float64
    assert "settotalmass" not in capfd.readouterr().err  # before: printed by every worker
    single = gym.make("metarl/HalfCheetahVel-v0")
    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=0)
    single.reset(seed=0)
    envs.reset(seed=0)
    action = np.full(single.action_space.shape, 0.3, dtype=np.float32)
    info = single.step(action)[4]
    vector_info = envs.step(np.stack([action, action]))[4]
    for key in ("reward_task", "reward_ctrl", "x_velocity"):  # before: dropped by the vector env
        assert vector_info[key][0] == pytest.approx(info[key])
    envs.close()

