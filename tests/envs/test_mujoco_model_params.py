"""Any MuJoCo env as a family: the docs' example, model writes and restores, clear errors."""

import importlib
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("mujoco")

from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

from metarl.envs.mujoco import (
    LocomotionEnv,
    ModelField,
    ModelParams,
    MujocoTaskEnv,
    register_family,
)
from metarl.envs.mujoco.locomotion import Heading
from metarl.tasks import Uniform
from tests.envs.test_mujoco_vector import assert_vector_matches_singles

DOCS = Path(__file__).parents[2] / "docs" / "mujoco_families.md"


@pytest.fixture(scope="module")
def docs_example(tmp_path_factory):
    """The "10 lines" example of the docs, verbatim, imported as the module ``my_families``."""
    section = DOCS.read_text().split("## Make your own MuJoCo family in 10 lines")[1]
    code = section.split("```python\n")[1].split("```")[0]
    folder = tmp_path_factory.mktemp("docs_example")
    (folder / "my_families.py").write_text(code)
    sys.path.insert(0, str(folder))  # worker processes inherit sys.path
    yield importlib.import_module("my_families")
    sys.path.remove(str(folder))


def test_the_docs_example_is_a_family(docs_example):
    env = gym.make("my/SlipperyHopper-v0")
    assert isinstance(env.unwrapped, docs_example.SlipperyHopperEnv)
    assert env.spec.max_episode_steps == 200
    dist = env.unwrapped.task_distribution
    assert set(dist.parameters) == {"geom_friction", "body_mass"}
    # One row (a single index) and one column: scalar parameters.
    assert dist.parameters["body_mass"].shape == () and dist.split_names[-1] == "test-ood"
    assert dist.default_task()["geom_friction"] == 2.0  # the nominal value
    task = dist.task(geom_friction=0.5, body_mass=2.0)
    _, info = env.reset(seed=0, options={"task": task})
    model = env.unwrapped.model
    assert info["task_id"] == task.id and model.geom("foot_geom").friction[0] == 0.5
    assert model.geom("foot_geom").friction[1] == 0.005  # other columns untouched
    assert model.body("torso").mass[0] == pytest.approx(2.0 * 3.66519143, rel=1e-6)
    assert env.step(env.action_space.sample())[4]["task_id"] == task.id


def test_the_docs_example_vector_env_equals_single_envs(docs_example):
    # The generic path: workers step each sub-env with the env's own step().
    assert_vector_matches_singles("my/SlipperyHopper-v0", num_envs=3, num_workers=2, steps=14)


def test_shared_log_scale_and_names_of_dof_rows():
    class Cheetah(MujocoTaskEnv, HalfCheetahEnv):
        family = "Cheetah"
        model_fields = (
            ModelField(
                "dof_damping",
                -1.0,
                1.0,
                mode="log-scale",
                base=2.0,
                shared=True,
                index=["bthigh", "fthigh"],
            ),
        )

    env = Cheetah()
    nominal = env.model.dof_damping.copy()
    assert env.task_distribution.parameters["dof_damping"].shape == ()
    env.set_task(env.task_distribution.task(dof_damping=1.0))  # takes effect at once
    rows = [env.model.joint(name).dofadr[0] for name in ("bthigh", "fthigh")]
    expected = nominal.copy()
    expected[rows] *= 2.0
    np.testing.assert_array_equal(env.model.dof_damping, expected)
    env.set_task(env.task_distribution.default_task())
    np.testing.assert_array_equal(env.model.dof_damping, nominal)


def test_unknown_fields_and_bad_specs_raise_clear_errors():
    with pytest.raises(
        ValueError, match=r"unknown MjModel field 'body_mas'; did you mean \['body_mass'"
    ):
        ModelField("body_mas", 0.5, 2.0)
    with pytest.raises(
        ValueError, match=r"mode must be one of \('scale', 'log-scale', 'set'\), got 'add'"
    ):
        ModelField("body_mass", 0.5, 2.0, mode="add")
    with pytest.raises(ValueError, match="scale factors must be > 0, got low=0"):
        ModelField("body_mass", 0, 2.0)
    with pytest.raises(ValueError, match="log-scale base must be > 0 and != 1"):
        ModelField("body_mass", -1, 1, mode="log-scale", base=1.0)
    with pytest.raises(TypeError, match="non-empty sequence of ModelField"):
        ModelParams([])
    model = gym.make("Hopper-v5").unwrapped.model
    cases = [
        (ModelField("body_parentid", 0.5, 2.0), "holds int32 values; only 1-D or 2-D float"),
        (
            ModelField("body_mass", 0.5, 2.0, index="tail"),
            r"no body named 'tail'.*\['world', 'torso'",
        ),
        (ModelField("body_mass", 0.5, 2.0, index=9), r"index 9 .* out of range; allowed: .* 0..4"),
        (ModelField("geom_friction", 0.5, 2.0, column=3), r"column 3 .* allowed: 0..2"),
        (ModelField("body_mass", 0.5, 2.0, column=0), r"column 0 .* allowed: none \(1-D field\)"),
        (ModelField("body_mass", 0.5, 2.0, index=[1, 1]), "distinct rows"),
        (ModelField("qpos0", 0.5, 2.0, index="x"), "rows of MjModel field 'qpos0' have no names"),
        (
            ModelField("geom_friction", 0.1, 0.5, mode="set"),
            "nominal model unless default= is given",
        ),
    ]
    for field, message in cases:
        with pytest.raises(ValueError, match=message):
            ModelParams([field]).bind(model)


def test_bad_family_classes_raise_clear_errors():
    class NoFamily(MujocoTaskEnv, HopperEnv):
        model_fields = (ModelField("body_mass", 0.5, 2.0),)

    class NoParameters(MujocoTaskEnv, HopperEnv):
        family = "Nothing"

    class PlanarHeading(LocomotionEnv, HalfCheetahEnv):
        family = "Spinning"
        objective = Heading(Uniform("angle", 0.0, 1.0, default=0.0))

    with pytest.raises(TypeError, match="NoFamily must set the class attribute `family`"):
        NoFamily()
    with pytest.raises(TypeError, match="declares no task parameters"):
        NoParameters()
    with pytest.raises(TypeError, match=r"Heading needs a robot that moves in \(x, y\)"):
        PlanarHeading()
    with pytest.raises(TypeError, match="MujocoTaskEnv subclass"):
        register_family("test/Nope-v0", HopperEnv)
