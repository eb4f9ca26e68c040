"""``scale_range`` of the classic-control families: the training range and the test-ood envelope
it sets, the default's equality with the table, and its checks."""

import gymnasium as gym
import numpy as np
import pytest

import metarl  # noqa: F401  (registers the envs)
from metarl.envs.classic_control import SCALE_RANGE

DEFAULTS = {
    "metarl/CartPole-v0": {
        "gravity": 9.8, "masscart": 1.0, "masspole": 0.1, "length": 0.5, "force_mag": 10.0
    },
    "metarl/Pendulum-v0": {"g": 10.0, "m": 1.0, "l": 1.0},
    "metarl/MountainCarContinuous-v0": {"power": 0.0015, "gravity": 0.0025},
}


def _values(env_id, split, n=40, **kwargs):
    tasks = gym.make(env_id, **kwargs).unwrapped.task_distribution.split(split).sample(n, seed=0)
    return {name: np.array([t.params[name] for t in tasks]) for name in DEFAULTS[env_id]}


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_scale_range_sets_the_training_range_and_the_ood_envelope(env_id):
    wide = _values(env_id, "train", scale_range=[0.2, 3.0])
    ood = _values(env_id, "test-ood", scale_range=[0.2, 3.0])
    for name, default in DEFAULTS[env_id].items():
        assert wide[name].min() >= 0.2 * default and wide[name].max() <= 3.0 * default
        assert wide[name].min() < 0.5 * default and wide[name].max() > 2.5 * default
        assert ood[name].min() >= 0.1 * default - 1e-12 and ood[name].max() <= 4.0 * default
    # a test-ood task has at least one constant outside its training range
    outside = np.zeros(40, dtype=bool)
    for name, default in DEFAULTS[env_id].items():
        outside |= (ood[name] < 0.2 * default) | (ood[name] > 3.0 * default)
    assert outside.all()


@pytest.mark.parametrize("env_id", sorted(DEFAULTS))
def test_the_default_scale_range_is_the_documented_one(env_id):
    """Passing the default changes no task of any split (the same floats as before the option)."""
    for split in ("train", "test", "test-ood"):
        plain, given = _values(env_id, split), _values(env_id, split, scale_range=SCALE_RANGE)
        for name in plain:
            np.testing.assert_array_equal(plain[name], given[name])
    train = _values(env_id, "train")
    for name, default in DEFAULTS[env_id].items():
        assert train[name].min() >= 0.5 * default and train[name].max() <= 1.5 * default


@pytest.mark.parametrize(
    "bad", [[0.1, 2.0], [0.5, 0.9], [1.2, 2.0], [0.5, 8.0], [0.5], "wide", [True, 2.0]]
)
def test_a_bad_scale_range_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match=r"scale_range must be \[low, high\] with 0.2 <= low"):
        gym.make("metarl/Pendulum-v0", scale_range=bad)


def test_the_vector_env_takes_scale_range_too():
    envs = gym.make_vec("metarl/CartPole-v0", num_envs=3, scale_range=[0.2, 3.0])
    tasks = envs.unwrapped.task_distribution.split("train").sample(50, seed=1)
    assert max(t.params["length"] for t in tasks) > 1.0  # beyond the default range's 0.75
    envs.close()
