"""Tests of metarl.agents.returns against per-episode Python loops and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl.agents.returns import discounted_returns, gae

GARBAGE = 1e3  # value written into padded steps; it must never leak into outputs


def _random_batch(seed: int, steps: int = 12, batch: int = 16):
    """Padded episodes of random lengths, half terminated and half truncated, garbage padding."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps  # at least one full-length episode
    is_truncated = rng.random(batch) < 0.5
    is_truncated[:2] = [True, False]
    rewards = rng.normal(size=(steps, batch))
    values = rng.normal(size=(steps, batch))
    bootstrap = rng.normal(size=batch)
    mask = np.arange(steps)[:, None] < lengths[None]
    rewards[~mask] = GARBAGE
    values[~mask] = GARBAGE
    last = np.zeros((steps, batch), dtype=bool)
    last[lengths - 1, np.arange(batch)] = True
    return dict(
        rewards=rewards,
        values=values,
        bootstrap=bootstrap,
        mask=mask.astype(np.float64),
        terminated=last & ~is_truncated,
        truncated=last & is_truncated,
        lengths=lengths,
        is_truncated=is_truncated,
    )


def _naive_returns(data, gamma: float) -> np.ndarray:
    out = np.zeros_like(data["rewards"])
    for b, length in enumerate(data["lengths"]):
        following = data["bootstrap"][b] if data["is_truncated"][b] else 0.0
        for t in reversed(range(length)):
            following = data["rewards"][t, b] + gamma * following
            out[t, b] = following
    return out


def _naive_gae(data, gamma: float, lam: float) -> np.ndarray:
    out = np.zeros_like(data["rewards"])
    for b, length in enumerate(data["lengths"]):
        r, v = data["rewards"][:length, b], data["values"][:length, b]
        end_value = data["bootstrap"][b] if data["is_truncated"][b] else 0.0
        next_values = [*v[1:], end_value]
        advantage = 0.0
        for t in reversed(range(length)):
            delta = r[t] + gamma * next_values[t] - v[t]
            advantage = delta + gamma * lam * advantage
            out[t, b] = advantage
    return out


def _tensors(data, dtype=torch.float64):
    def as_tensor(key):
        return (
            torch.as_tensor(data[key])
            if data[key].dtype == bool
            else torch.tensor(data[key], dtype=dtype)
        )

    return {k: as_tensor(k) for k in ("rewards", "values", "mask", "terminated", "truncated")} | {
        "bootstrap": torch.tensor(data["bootstrap"], dtype=dtype)
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_discounted_returns_match_naive_loop(seed, gamma):
    data = _random_batch(seed)
    x = _tensors(data)
    returns = discounted_returns(
        x["rewards"], x["mask"], x["terminated"], x["truncated"], gamma, x["bootstrap"]
    )
    np.testing.assert_allclose(returns.numpy(), _naive_returns(data, gamma), rtol=1e-12, atol=1e-12)
    assert float(returns[x["mask"] == 0].abs().max()) == 0.0


def test_discounted_returns_without_bootstrap_treat_truncation_as_zero_value():
    data = _random_batch(3)
    x = _tensors(data)
    returns = discounted_returns(x["rewards"], x["mask"], x["terminated"], x["truncated"], 0.95)
    expected = _naive_returns({**data, "bootstrap": np.zeros_like(data["bootstrap"])}, 0.95)
    np.testing.assert_allclose(returns.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.9, 0.0), (0.95, 0.5), (1.0, 0.9)])
def test_gae_matches_naive_loop(seed, gamma, lam):
    data = _random_batch(seed)
    x = _tensors(data)
    advantages = gae(
        x["rewards"],
        x["values"],
        x["mask"],
        x["terminated"],
        x["truncated"],
        gamma,
        lam,
        x["bootstrap"],
    )
    np.testing.assert_allclose(
        advantages.numpy(), _naive_gae(data, gamma, lam), rtol=1e-12, atol=1e-12
    )
    assert float(advantages[x["mask"] == 0].abs().max()) == 0.0


@pytest.mark.parametrize("seed", [4, 5])
def test_gae_with_lambda_one_is_returns_minus_values(seed):
    data = _random_batch(seed)
    x = _tensors(data, dtype=torch.float32)
    args = (x["mask"], x["terminated"], x["truncated"])
    advantages = gae(x["rewards"], x["values"], *args, 0.97, 1.0, x["bootstrap"])
    returns = discounted_returns(x["rewards"], *args, 0.97, x["bootstrap"])
    assert advantages.dtype == torch.float32
    torch.testing.assert_close(advantages, (returns - x["values"]) * x["mask"])


@pytest.mark.parametrize("truncated", [False, True])
@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.9, 0.5)])
def test_constant_reward_and_value_closed_form(truncated, gamma, lam):
    """Reward r every step, V = v everywhere (bootstrap v too), episode of n steps."""
    n, r, v, steps = 7, 1.0, 2.0, 10
    rewards = torch.full((steps, 1), r, dtype=torch.float64)
    values = torch.full((steps, 1), v, dtype=torch.float64)
    mask = (torch.arange(steps) < n).double().unsqueeze(1)
    last = torch.zeros(steps, 1, dtype=torch.bool)
    last[n - 1] = True
    never = torch.zeros_like(last)
    term, trunc = (never, last) if truncated else (last, never)
    boot = torch.tensor([v], dtype=torch.float64)
    advantages = gae(rewards, values, mask, term, trunc, gamma, lam, boot)
    returns = discounted_returns(rewards, mask, term, trunc, gamma, boot)

    gl = gamma * lam
    remaining = n - 1 - np.arange(n)  # steps after t within the episode
    delta = r + gamma * v - v
    if truncated:
        expected_adv = delta * (1 - gl ** (remaining + 1)) / (1 - gl)
        expected_ret = (
            r * (1 - gamma ** (remaining + 1)) / (1 - gamma) + gamma ** (remaining + 1) * v
        )
    else:
        expected_adv = delta * (1 - gl**remaining) / (1 - gl) + gl**remaining * (r - v)
        expected_ret = r * (1 - gamma ** (remaining + 1)) / (1 - gamma)
    np.testing.assert_allclose(advantages[:n, 0].numpy(), expected_adv, rtol=1e-12)
    np.testing.assert_allclose(returns[:n, 0].numpy(), expected_ret, rtol=1e-12)
    assert float(advantages[n:].abs().max()) == 0.0 and float(returns[n:].abs().max()) == 0.0


def test_true_value_of_endless_constant_reward_gives_zero_advantage():
    """Truncating an endless stream of reward r with V = r / (1 - gamma): nothing is left over."""
    gamma, r, steps = 0.9, 0.5, 6
    v = r / (1 - gamma)
    rewards = torch.full((steps, 2), r, dtype=torch.float64)
    values = torch.full((steps, 2), v, dtype=torch.float64)
    mask = torch.ones(steps, 2, dtype=torch.float64)
    trunc = torch.zeros(steps, 2, dtype=torch.bool)
    trunc[-1] = True
    term = torch.zeros_like(trunc)
    boot = torch.full((2,), v, dtype=torch.float64)
    for lam in (0.0, 0.7, 1.0):
        advantages = gae(rewards, values, mask, term, trunc, gamma, lam, boot)
        assert float(advantages.abs().max()) < 1e-12
    returns = discounted_returns(rewards, mask, term, trunc, gamma, boot)
    np.testing.assert_allclose(returns.numpy(), np.full((steps, 2), v), rtol=1e-12)


def test_gradient_reaches_bootstrap_only_for_truncated_episodes():
    data = _random_batch(6)
    x = _tensors(data)
    values = x["values"].clone().requires_grad_()
    boot = x["bootstrap"].clone().requires_grad_()
    advantages = gae(
        x["rewards"], values, x["mask"], x["terminated"], x["truncated"], 0.99, 0.95, boot
    )
    advantages.sum().backward()
    assert torch.equal(boot.grad != 0, torch.as_tensor(data["is_truncated"]))
    assert float(values.grad[x["mask"] == 0].abs().max()) == 0.0
    assert float(values.grad[x["mask"] == 1].abs().min()) > 0.0


def test_shape_errors_name_the_argument():
    rewards = torch.zeros(5, 3)
    flags = torch.zeros(5, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="mask"):
        discounted_returns(rewards, torch.ones(5, 2), flags, flags, 0.9)
    with pytest.raises(ValueError, match="bootstrap_values"):
        gae(rewards, rewards, torch.ones(5, 3), flags, flags, 0.9, 0.9, torch.zeros(5))
    with pytest.raises(ValueError, match=r"\[T, B\]"):
        discounted_returns(torch.zeros(5), torch.ones(5), flags[:, 0], flags[:, 0], 0.9)
