"""The SAC oracle: trains on the train split with the task shown, is cached, and gives the same
return in every column on held-out tasks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import metarl  # noqa: F401  (registers the families)
from metarl.comparisons.sac_oracle import sac_oracle_returns, train_sac_oracle

TINY = {"learning_starts": 50, "batch_size": 32, "policy_kwargs": {"net_arch": [16]}}


def test_sac_oracle_trains_once_and_returns_constant_columns(tmp_path):
    env_id, kwargs = "metarl/Navigation2D-v0", {"max_episode_steps": 20}
    model = train_sac_oracle(env_id, kwargs, 120, 0, tmp_path, sac_kwargs=TINY)
    assert (tmp_path / "oracle-sac.pt").is_file() and (tmp_path / "oracle-sac.json").is_file()
    again = train_sac_oracle(env_id, kwargs, 120, 0, tmp_path, sac_kwargs=TINY)  # from the cache
    tasks = gym.make(env_id).unwrapped.task_distribution.split("test").tasks[:3]
    returns = sac_oracle_returns(model, env_id, kwargs, tasks, 2, 2, seed=0)
    assert returns.shape == (3, 3) and (returns == returns[:, :1]).all()
    np.testing.assert_array_equal(sac_oracle_returns(again, env_id, kwargs, tasks, 2, 2, 0), returns)


def test_sac_oracle_refuses_discrete_actions_and_reserved_kwargs(tmp_path):
    with pytest.raises(ValueError, match="SAC needs continuous"):
        train_sac_oracle("metarl/Bandit-v0", None, 100, 0, tmp_path)
    with pytest.raises(ValueError, match=r"sac_kwargs must not set \['seed'\]"):
        train_sac_oracle("metarl/Navigation2D-v0", None, 100, 0, tmp_path, sac_kwargs={"seed": 1})
