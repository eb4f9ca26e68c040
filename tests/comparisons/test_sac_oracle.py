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


@pytest.mark.parametrize(("sac_timesteps", "trained_for"), [(None, 5000), (300, 300)])
def test_the_sac_comparison_trains_for_sac_timesteps_if_set(
    monkeypatch, tmp_path, sac_timesteps, trained_for
):
    """``sac_timesteps`` (config key) sets the SAC comparison's budget; unset, it trains for
    ``comparison_timesteps`` as the PPO comparisons do."""
    from metarl.comparisons import sac_oracle
    from metarl.evaluation import AgentContext
    from metarl.evaluation.protocol import AdaptationSetting

    budgets = []

    def fake_train(env, env_kwargs, timesteps, seed, cache_dir, device="cpu"):
        budgets.append(timesteps)
        return None

    monkeypatch.setattr(sac_oracle, "train_sac_oracle", fake_train)
    monkeypatch.setattr(sac_oracle, "sac_oracle_returns", lambda *args: np.zeros((1, 1)))
    context = AgentContext(
        "metarl/Navigation2D-v0", {}, (8,), "tanh", {}, 5000, tmp_path, sac_timesteps=sac_timesteps
    )
    setting = AdaptationSetting([], 0, 1, 0, None)
    sac_oracle.SACOracleAgent(context).adaptation_curves(setting)
    assert budgets == [trained_for]


def test_sac_timesteps_is_checked_in_the_config():
    from metarl.runs.config import ConfigError, TrainConfig

    assert TrainConfig(sac_timesteps=20_000).sac_timesteps == 20_000
    with pytest.raises(ConfigError, match="sac_timesteps must be >= 1 or null, got 0"):
        TrainConfig(sac_timesteps=0)
