"""Tests of the SB3-trained comparison agents (metarl.comparisons): tiny budgets, seeded."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from metarl.comparisons import (
    CacheError,
    oracle_returns,
    policy_from_sb3,
    pretrained_curves,
    scratch_returns,
    train_oracle,
    train_pretrained,
)
from metarl.comparisons import cache as model_cache
from metarl.comparisons.sb3_policy import policy_kwargs
from metarl.sampling import MultiTaskSampler

torch.set_num_threads(1)

NAV = "metarl/Navigation2D-v0"
BANDIT = "metarl/Bandit-v0"
HIDDEN = (16, 16)
TINY_PPO = {"n_steps": 256, "batch_size": 64, "n_epochs": 2}
NUM_STEPS, EPISODES = 2, 2


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("baselines")


@pytest.fixture(scope="module")
def nav_tasks():
    return list(gym.make(NAV).unwrapped.task_distribution.split("test").tasks[:3])


@pytest.fixture(scope="module")
def pretrained(cache):
    return train_pretrained(NAV, None, 512, 0, cache, HIDDEN, "tanh", ppo_kwargs=TINY_PPO)


@pytest.fixture(scope="module")
def oracle(cache):
    return train_oracle(NAV, None, 512, 0, cache, HIDDEN, "tanh", ppo_kwargs=TINY_PPO)


def _perturbed_ppo(env_id: str, activation: str) -> PPO:
    """An untrained PPO whose actor weights (biases and log_std too) are all non-trivial."""
    model = PPO(
        "MlpPolicy",
        gym.make(env_id),
        seed=1,
        device="cpu",
        policy_kwargs=policy_kwargs(HIDDEN, activation),
    )
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.policy.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator))
    return model


# --------------------------------------------------------------------------- policy_from_sb3
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_policy_from_sb3_gaussian_equals_sb3_distribution(activation):
    model = _perturbed_ppo(NAV, activation)
    policy = policy_from_sb3(
        model, model.observation_space, model.action_space, HIDDEN, activation.upper()
    )
    assert {n for n, _ in policy.named_parameters()} == {
        "mean.0.weight", "mean.0.bias", "mean.2.weight", "mean.2.bias",
        "mean.4.weight", "mean.4.bias", "log_std",
    }  # fmt: skip
    obs = torch.randn(64, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        theirs = model.policy.get_distribution(obs).distribution
        ours = policy(obs).base_dist
    torch.testing.assert_close(ours.loc, theirs.loc)
    torch.testing.assert_close(ours.scale, theirs.scale)
    assert not torch.allclose(ours.scale, torch.ones_like(ours.scale))  # log_std was copied


def test_policy_from_sb3_categorical_equals_sb3_distribution():
    model = _perturbed_ppo(BANDIT, "tanh")
    policy = policy_from_sb3(model, model.observation_space, model.action_space, HIDDEN, "tanh")
    obs = torch.rand(64, 1, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        theirs = model.policy.get_distribution(obs).distribution
        ours = policy(obs)
    torch.testing.assert_close(ours.probs, theirs.probs)
    assert ours.probs.std(0).sum() > 0  # the logits depend on the observation


def test_policy_from_sb3_rejects_other_architectures():
    model = _perturbed_ppo(NAV, "tanh")
    spaces = (model.observation_space, model.action_space)
    with pytest.raises(ValueError, match=r"do not match hidden_sizes \[32, 16\]"):
        policy_from_sb3(model, *spaces, (32, 16), "tanh")
    with pytest.raises(ValueError, match="activation 'relu'"):
        policy_from_sb3(model, *spaces, HIDDEN, "relu")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        policy_from_sb3(model, *spaces, HIDDEN, "gelu")
    with pytest.raises(ValueError, match="observation space"):
        policy_from_sb3(model, gym.spaces.Box(-1, 1, (3,)), model.action_space, HIDDEN, "tanh")


# --------------------------------------------------------------------------- returns
def test_pretrained_curves_shape_adaptation_and_determinism(pretrained, nav_tasks):
    sampler = MultiTaskSampler(NAV, episodes_per_task=EPISODES)

    def run() -> np.ndarray:
        return pretrained_curves(
            pretrained, {"step_size": 0.5}, sampler, nav_tasks, NUM_STEPS, 0, HIDDEN, "tanh"
        ).returns

    first = run()
    assert first.shape == (3, NUM_STEPS + 1) and first.dtype == np.float64
    assert np.all(np.isfinite(first)) and np.all(first < 0)  # dense reward: minus a distance
    assert not np.allclose(first[:, 0], first[:, 1])  # the inner loop changed the policy
    np.testing.assert_array_equal(first, run())
    sampler.close()


def test_oracle_returns_shape_and_constant_columns(oracle, nav_tasks):
    returns = oracle_returns(oracle, NAV, None, nav_tasks, NUM_STEPS, EPISODES, seed=0)
    assert returns.shape == (3, NUM_STEPS + 1) and returns.dtype == np.float64
    assert np.all(returns == returns[:, :1])  # no adaptation
    np.testing.assert_array_equal(returns, oracle_returns(oracle, NAV, {}, nav_tasks, 2, 2, 0))
    assert not np.array_equal(returns, oracle_returns(oracle, NAV, {}, nav_tasks, 2, 2, 1))


def test_scratch_returns_shape_and_learning_changes_columns(nav_tasks):
    returns = scratch_returns(
        NAV, None, nav_tasks, NUM_STEPS, EPISODES, 0, HIDDEN, "tanh", ppo_kwargs={"n_epochs": 2}
    )
    assert returns.shape == (3, NUM_STEPS + 1) and returns.dtype == np.float64
    assert np.all(np.isfinite(returns)) and np.all(returns < 0)
    assert not np.allclose(returns[:, 0], returns[:, 1])  # one PPO update per column


def test_oracle_beats_random_policy_after_a_modest_budget(tmp_path):
    """6k steps (about 7 s on one core); 20k steps took about 25 s, too slow for this suite."""
    model = train_oracle(
        NAV,
        None,
        6144,
        0,
        tmp_path,
        (32, 32),
        "tanh",
        ppo_kwargs={"n_steps": 512, "batch_size": 64, "n_epochs": 4, "learning_rate": 1e-3},
    )
    env = gym.make(NAV)
    tasks = env.unwrapped.task_distribution.split("test").tasks[:5]
    trained = oracle_returns(model, NAV, None, tasks, 0, 4, seed=0).mean()
    random_returns = []
    for i, task in enumerate(tasks):
        env.reset(seed=i, options={"task": task})
        env.action_space.seed(i)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + reward, terminated or truncated
        random_returns.append(total)
    assert trained > np.mean(random_returns) + 20, (trained, random_returns)


# --------------------------------------------------------------------------- caching
@pytest.fixture
def learn_calls(monkeypatch):
    calls: list[int] = []
    original = PPO.learn

    def spy(self, total_timesteps, *args, **kwargs):
        calls.append(total_timesteps)
        return original(self, total_timesteps, *args, **kwargs)

    monkeypatch.setattr(PPO, "learn", spy)
    return calls


def _train_tiny(folder: Path, timesteps: int = 128, seed: int = 0) -> PPO:
    kwargs = {"n_steps": 128, "batch_size": 64, "n_epochs": 1}
    return train_pretrained(NAV, None, timesteps, seed, folder, (8,), "tanh", ppo_kwargs=kwargs)


def test_second_train_call_loads_the_cached_model(tmp_path, learn_calls):
    first = _train_tiny(tmp_path)
    model_path = tmp_path / "pretrained.pt"
    stamp = model_path.stat().st_mtime_ns
    second = _train_tiny(tmp_path)
    assert learn_calls == [128]  # trained once, loaded the second time
    assert model_path.stat().st_mtime_ns == stamp
    for (name, a), (_, b) in zip(
        first.policy.state_dict().items(), second.policy.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    meta = json.loads((tmp_path / "pretrained.json").read_text())
    assert meta["config"]["hidden_sizes"] == [8] and meta["config"]["timesteps"] == 128
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretrained.json", "pretrained.pt"]


def test_changed_metadata_triggers_retraining(tmp_path, learn_calls):
    _train_tiny(tmp_path, timesteps=128)
    _train_tiny(tmp_path, timesteps=256)  # different budget: retrain and overwrite
    assert learn_calls == [128, 256]
    meta_path = tmp_path / "pretrained.json"
    assert json.loads(meta_path.read_text())["config"]["timesteps"] == 256
    meta = json.loads(meta_path.read_text())
    meta["config"]["seed"] = 7  # as if the cache had been trained with another seed
    meta_path.write_text(json.dumps(meta))
    _train_tiny(tmp_path, timesteps=256)
    assert learn_calls == [128, 256, 256]
    _train_tiny(tmp_path, timesteps=256)
    assert learn_calls == [128, 256, 256]


def test_training_is_deterministic_for_a_seed(tmp_path):
    first, second = _train_tiny(tmp_path / "a"), _train_tiny(tmp_path / "b")
    other = _train_tiny(tmp_path / "c", seed=1)
    for name, value in first.policy.state_dict().items():
        torch.testing.assert_close(value, second.policy.state_dict()[name], msg=name)
    assert not torch.equal(first.policy.action_net.weight, other.policy.action_net.weight)


def test_damaged_cache_raises_cache_error(tmp_path, learn_calls):
    _train_tiny(tmp_path)
    model_path, meta_path = tmp_path / "pretrained.pt", tmp_path / "pretrained.json"
    model_path.write_bytes(b"not a state_dict")
    with pytest.raises(CacheError, match=r"pretrained\.pt does not match the SHA-256"):
        _train_tiny(tmp_path)
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = model_cache._sha256(model_path)  # damaged weights that the metadata vouch for
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CacheError, match=r"cannot load the cached pretrained policy .*pretrained\.pt"):
        _train_tiny(tmp_path)
    for damaged in ("{broken", "[" * 100_000 + "]" * 100_000):  # the second: RecursionError
        (tmp_path / "pretrained.json").write_text(damaged)
        with pytest.raises(CacheError, match=r"cannot read the cache metadata .*pretrained\.json"):
            _train_tiny(tmp_path)
    assert learn_calls == [128]


# --------------------------------------------------------------------------- validation
def test_arguments_are_validated(tmp_path, nav_tasks, pretrained, oracle):
    bandit_task = gym.make(BANDIT).unwrapped.task_distribution.default_task()
    cases = [
        (lambda: train_pretrained(NAV, None, 64, 0, tmp_path, HIDDEN, "gelu"), "activation 'gelu'"),
        (lambda: train_oracle(NAV, None, 0, 0, tmp_path, HIDDEN, "tanh"), "timesteps .* got 0"),
        (lambda: train_pretrained("CartPole-v1", None, 64, 0, tmp_path, HIDDEN, "tanh"), "env_id"),
        (
            lambda: train_oracle(NAV, None, 64, -1, tmp_path, HIDDEN, "tanh"),
            "seed must be an int >= 0",
        ),
        (
            lambda: train_oracle(
                NAV, None, 64, 0, tmp_path, HIDDEN, "tanh", ppo_kwargs={"seed": 1}
            ),
            r"must not set \['seed'\]",
        ),
        (
            lambda: train_pretrained(NAV, {"task": 1}, 64, 0, tmp_path, HIDDEN, "tanh"),
            "must not set 'task'",
        ),
        (
            lambda: oracle_returns(oracle, NAV, None, [*nav_tasks, bandit_task], 2, 2, 0),
            r"tasks\[3\]: task belongs to family 'Bandit'",
        ),
        (lambda: oracle_returns(oracle, NAV, None, nav_tasks, 2, 0, 0), "episodes"),
        (lambda: oracle_returns(oracle, NAV, None, [], 2, 2, 0), "non-empty sequence"),
        (lambda: oracle_returns(oracle, NAV, None, [{"goal": 0}], 2, 2, 0), r"tasks\[0\]"),
        (lambda: oracle_returns(pretrained, NAV, None, nav_tasks, 2, 2, 0), "spaces"),
        (
            lambda: scratch_returns(NAV, None, nav_tasks, -1, 2, 0, HIDDEN, "tanh"),
            "num_steps must be an int >= 0",
        ),
        (
            lambda: pretrained_curves(
                pretrained, {"lr": 1}, MultiTaskSampler(NAV, 2), nav_tasks, 2, 0, HIDDEN, "tanh"
            ),
            r"unknown inner_kwargs \['lr'\]",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert list(tmp_path.iterdir()) == []  # nothing was trained


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_sb3_comparisons_train_and_act_on_the_device(tmp_path, device):
    tasks = MultiTaskSampler(NAV, 1).task_distribution.split("test").tasks[:2]
    model = train_oracle(
        NAV, None, 256, 0, tmp_path, HIDDEN, "tanh", ppo_kwargs=TINY_PPO, device=device
    )
    assert model.device.type == device
    assert np.isfinite(oracle_returns(model, NAV, None, tasks, 1, 2, 0)).all()
    returns = scratch_returns(NAV, None, tasks[:1], 1, 1, 0, HIDDEN, "tanh", device=device)
    assert np.isfinite(returns).all()
    with pytest.raises(ValueError, match="device must be one of"):
        train_pretrained(NAV, None, 256, 0, tmp_path, HIDDEN, "tanh", device="gpu")
