"""Every registered id: Gymnasium's and SB3's env checkers, seeded determinism, make_vec."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import load_env_creator
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from metarl.envs import NumpyTaskVectorEnv, ProcessVectorEnv, mujoco_ids, registered_ids

IDS = registered_ids()
# Gymnasium's MuJoCo renderer needs an OpenGL display: its "human" mode aborts the process on a
# headless machine (as for Gymnasium's own HalfCheetah-v5), so the render check is skipped there.
HEADLESS_RENDER_SKIP = set(mujoco_ids())

# Warnings the checkers raise on purpose for these envs, each with its reason.
ALLOWED_WARNINGS = (
    # Unbounded positions/velocities, as in Gymnasium's own CartPole.
    "infinity",
    # Navigation2D keeps the MAML paper's [-0.1, 0.1] actions, Pendulum Gymnasium's [-2, 2].
    "symmetric and normalized",
)


def _rollout(env: gym.Env, seed: int, steps: int) -> list:
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace += [obs, reward, terminated, truncated, info["task_id"]]
        if terminated or truncated:
            trace.append(env.reset()[0])
    return trace


@pytest.mark.parametrize("env_id", IDS)
def test_env_checkers_pass_without_unexpected_warnings(env_id):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(env_id).unwrapped, skip_render_check=env_id in HEADLESS_RENDER_SKIP)
        sb3_check_env(gym.make(env_id), warn=True)
    unexpected = [
        str(w.message) for w in caught if not any(a in str(w.message) for a in ALLOWED_WARNINGS)
    ]
    assert not unexpected


@pytest.mark.parametrize("env_id", IDS)
def test_two_seeded_copies_give_identical_rollouts(env_id):
    a = _rollout(gym.make(env_id), seed=7, steps=300)
    b = _rollout(gym.make(env_id), seed=7, steps=300)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    c = _rollout(gym.make(env_id), seed=8, steps=300)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=False))


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_gives_native_vector_env(env_id):
    """``make_vec`` builds metarl's own vector env of the family (the registered
    ``vector_entry_point``), not Gymnasium's SyncVectorEnv / AsyncVectorEnv of single envs."""
    spec = gym.spec(env_id)
    envs = gym.make_vec(env_id, num_envs=8)
    assert type(envs) is load_env_creator(spec.vector_entry_point)
    assert isinstance(envs, NumpyTaskVectorEnv | ProcessVectorEnv) and envs.num_envs == 8
    if isinstance(envs, ProcessVectorEnv):  # the simulator families: one task env per sub-env
        assert envs.env_class is load_env_creator(spec.entry_point)
    obs, info = envs.reset(seed=0)
    assert obs in envs.observation_space
    assert len(info["task_id"]) == 8
    obs, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert obs.shape == envs.observation_space.shape and reward.shape == (8,)
    assert terminated.dtype == bool and truncated.dtype == bool
    envs.close()


@pytest.mark.parametrize("env_id", IDS)
def test_docstring_documents_every_task_parameter(env_id):
    env = gym.make(env_id).unwrapped
    doc = type(env).__doc__
    for section in (
        "## Action Space",
        "## Observation Space",
        "## Rewards",
        "## Episode End",
        "## Task distribution",
        "## Version History",
    ):
        assert section in doc
    for parameter in env.task_distribution.parameters.values():
        assert f"``{parameter.name}``" in doc
        assert parameter.describe().split("^")[0].split(" rows")[0].split(",")[0] in doc


def test_metaworld_ids_stay_registered_and_fail_clearly_without_the_extra():
    code = """
import sys
sys.modules["metaworld"] = None  # as if the extra were not installed
import gymnasium as gym
from metarl.envs import metaworld_available, metaworld_ids
assert not metaworld_available() and "metarl/MetaWorld-ML10-v0" in metaworld_ids()
try:
    gym.make("metarl/MetaWorld-ML1-reach-v0")
except gym.error.DependencyNotInstalled as err:
    print(err)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'metarl[metaworld]'" in out.stdout
