"""A plain Gymnasium env as a family (GymTaskEnv): listed, trained, evaluated and loaded from a
module of one's own; register_family names the piece a class lacks."""

import json
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl
from metarl.cli import main
from metarl.envs import FamilyClassError, GymTaskEnv, register_family
from metarl.tasks import TaskDistribution, Uniform

SLIDING_MASS = '''
import gymnasium as gym
import numpy as np

from metarl.envs import GymTaskEnv, register_family
from metarl.tasks import TaskDistribution, Uniform


class SlidingMassEnv(GymTaskEnv):
    """A mass on a rail, to be pushed to the origin; how heavy it is varies per task."""

    varies = "mass"
    horizon = 50
    task_distribution = TaskDistribution(
        "SlidingMass", [Uniform("mass", 0.5, 2.0, default=1.0, ood=(0.25, 4.0))]
    )
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)  # position, velocity
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)  # force

    def _apply_task(self, task):
        self.mass = task["mass"]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.np_random.uniform(-1.0, 1.0, size=2)
        return self.state.astype(np.float32), {}

    def step(self, action):
        self.state[1] += 0.1 * np.clip(action[0], -1.0, 1.0) / self.mass
        self.state[0] += 0.1 * self.state[1]
        return self.state.astype(np.float32), -abs(float(self.state[0])), False, False, {}


register_family("my/SlidingMass-v0", SlidingMassEnv)
'''
TINY = [
    *("--set", "iterations=2", "--set", "meta_batch_size=2", "--set", "episodes_per_task=2"),
    *("--set", "hidden_sizes=[8]", "--set", "env_kwargs={max_episode_steps: 10}"),
    *("--set", "eval_tasks=2", "--set", "eval_steps=1"),
]


@pytest.fixture(scope="module")
def sliding_mass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gym_family")
    (folder / "my_gym_family.py").write_text(SLIDING_MASS)
    sys.path.insert(0, str(folder))
    yield "my_gym_family"
    sys.path.remove(str(folder))
    sys.modules.pop("my_gym_family", None)


def test_the_user_code_is_under_30_lines():
    assert len([line for line in SLIDING_MASS.splitlines() if line.strip()]) < 30


def test_a_plain_gymnasium_env_follows_the_task_api(sliding_mass):
    env = gym.make(f"{sliding_mass}:my/SlidingMass-v0")  # bare: the default task
    base = env.unwrapped
    assert env.spec.max_episode_steps == 50 and base.family == "SlidingMass"
    assert base.task == base.task_distribution.default_task() and base.mass == 1.0
    check_env(base, skip_render_check=True)
    heavy = base.task_distribution.task(mass=1.8)
    _, info = env.reset(seed=0, options={"task": heavy})
    assert info["task_id"] == heavy.id and base.task == heavy and base.mass == 1.8
    assert env.step(np.array([0.5], np.float32))[4] == {"task_id": heavy.id}
    with pytest.raises(ValueError, match="finite float32"):
        env.step([np.nan])
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"mass": 2.0})
    envs = gym.make_vec("my/SlidingMass-v0", num_envs=2, num_workers=0)
    assert type(envs).__name__ == "SlidingMassVectorEnv"
    tasks = base.task_distribution.split("train").sample(2, seed=0)
    obs, info = envs.reset(seed=3, options={"tasks": tasks})
    single, _ = env.reset(seed=4, options={"task": tasks[1]})  # sub-env i: seed + i
    np.testing.assert_array_equal(obs[1], single)
    assert list(info["task_id"]) == [t.id for t in tasks]
    envs.close()


def test_train_evaluate_list_and_load_a_plain_gymnasium_family(sliding_mass, tmp_path, capsys):
    run = tmp_path / "run"
    env = "--set", "env=my/SlidingMass-v0"
    assert main(["train", "--import", sliding_mass, *env, *TINY, "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--comparisons", "random", "--import", sliding_mass]) == 0
    result = json.loads((run / "eval" / "test" / "eval.json").read_text())
    assert result["env"] == "my/SlidingMass-v0" and len(result["tasks"]) == 2
    assert np.isfinite(np.array(result["returns"]["meta-trained"])).all()
    capsys.readouterr()
    assert main(["envs", "--import", sliding_mass]) == 0
    row = next(r for r in capsys.readouterr().out.splitlines() if "my/SlidingMass-v0" in r)
    assert "| mass |" in row and "| 50 |" in row
    agent = metarl.load(run)
    policy = agent.adapt(agent.task_distribution.task(mass=0.7), seed=0)
    action, _ = policy.predict(np.zeros(2, dtype=np.float32), deterministic=True)
    assert action.shape == (1,) and np.isfinite(action).all()


def _reset(self, *, seed=None, options=None):
    return np.zeros(1, np.float32), {}


def _step(self, action):
    return np.zeros(1, np.float32), 0.0, False, False, {}


WRITTEN = {  # what a GymTaskEnv subclass writes
    "task_distribution": TaskDistribution("M", [Uniform("mass", 0.5, 2.0, default=1.0)]),
    "observation_space": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
    "action_space": gym.spaces.Discrete(2),
    "_apply_task": lambda self, task: None,
    "reset": _reset,
    "step": _step,
}
DEFAULTS = {  # what GymTaskEnv provides, and a hand-written task env must declare
    "horizon": 10,
    "info_keys": (),
    "step_many": GymTaskEnv.step_many,
    "family": "M",
    "varies": "mass",
    "reference": "-",
}
HAND_WRITTEN = {**WRITTEN, **DEFAULTS, "set_task": lambda self, task: None, "close": lambda self: None}


def _family(base, body, name, value=None):
    """Class ``SlidingMassEnv`` on ``base`` with ``body`` less ``name`` (or ``name`` = ``value``)."""
    body = {k: v for k, v in body.items() if k != name}
    return type("SlidingMassEnv", (base,), body if value is None else {**body, name: value})


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("task_distribution", "a metarl.tasks.TaskDistribution of its tasks, a class attribute or "
         "set in __init__"),
        ("observation_space", "a gymnasium.spaces.Box"),
        ("action_space", "a gymnasium.spaces.Box or Discrete"),
        ("_apply_task", "_apply_task(task), which makes the env run a task"),
        ("reset", "Gymnasium's reset(*, seed=None, options=None)"),
        ("step", "Gymnasium's step(action)"),
    ],
)
def test_a_gym_task_env_without_what_it_must_write_is_refused(name, what):
    with pytest.raises(FamilyClassError) as refused:
        register_family("test/Incomplete-v0", _family(GymTaskEnv, WRITTEN, name))
    assert str(refused.value) == f"register_family: SlidingMassEnv lacks {name!r} ({what})"
    assert "test/Incomplete-v0" not in gym.registry


@pytest.mark.parametrize("name", DEFAULTS)
def test_a_hand_written_task_env_without_a_piece_is_refused_naming_it(name):
    # Before: registered, then `metarl envs` crashed: AttributeError: ... no attribute 'reference'.
    with pytest.raises(FamilyClassError, match=f"^register_family: SlidingMassEnv lacks '{name}' "
                       r"\(.*; GymTaskEnv provides a default\)$"):
        register_family("test/Incomplete-v0", _family(object, HAND_WRITTEN, name))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("horizon", 0, "horizon must be the default episode length, an int >= 1, got 0"),
        ("info_keys", ["x"], "info_keys must be a tuple of the names .str. .*, got \\['x'\\]"),
        ("reference", 2019, "reference must be a str naming the paper or source .*, got 2019"),
        ("action_space", gym.spaces.MultiBinary(2), "action_space must be a gymnasium.spaces.Box "
         "or Discrete, got MultiBinary"),
    ],
)
def test_a_piece_of_the_wrong_kind_is_refused_naming_it(name, value, message):
    family = _family(GymTaskEnv, WRITTEN, name, value)
    with pytest.raises(FamilyClassError, match=f"^register_family: SlidingMassEnv.{message}"):
        register_family("test/Incomplete-v0", family)


def test_other_classes_and_numpy_families_name_what_they_lack():
    with pytest.raises(FamilyClassError, match="BatchDynamics subclass .* GymTaskEnv subclass"):
        register_family("test/Incomplete-v0", gym.Env)
    from metarl.envs.navigation import Navigation2DDynamics

    nameless = type("NamelessDynamics", (Navigation2DDynamics,), {"family": None})
    with pytest.raises(FamilyClassError, match="NamelessDynamics.family must be a str"):
        register_family("test/Incomplete-v0", nameless)
    with pytest.raises(ValueError, match="max_episode_steps must be a positive int, got 0"):
        register_family("test/Incomplete-v0", Navigation2DDynamics, max_episode_steps=0)
