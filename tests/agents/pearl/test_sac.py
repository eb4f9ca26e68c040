"""SAC's target and losses against a hand computation, the tanh-Gaussian policy's density, and
which networks each of PEARL's losses trains."""

from __future__ import annotations

import math

import pytest
import torch

from metarl.agents.pearl.model import PEARLModel
from metarl.agents.pearl.networks import TanhGaussianPolicy
from metarl.agents.pearl.options import PEARLOptions
from metarl.agents.pearl.sac import (
    actor_loss,
    critic_loss,
    critic_target,
    entropy_coef_loss,
    soft_update,
)
from metarl.agents.pearl.update import PEARLUpdate

T = torch.tensor


def test_critic_target_by_hand():
    # y = scale * r + gamma * (1 - done) * (min(Q1', Q2') - alpha * log pi')
    y = critic_target(
        reward=T([1.0, 2.0]), terminal=T([0.0, 1.0]), next_q1=T([3.0, 5.0]),
        next_q2=T([4.0, 1.0]), next_log_prob=T([0.5, -1.0]), alpha=0.2, gamma=0.9,
        reward_scale=2.0,
    )
    torch.testing.assert_close(y, T([2.0 + 0.9 * (3.0 - 0.1), 4.0]))


def test_losses_by_hand():
    target = T([4.61, 4.0])
    loss = critic_loss(T([4.0, 4.0]), T([5.0, 3.0]), target)
    assert loss.item() == pytest.approx((0.61**2 + 0.0) / 2 + (0.39**2 + 1.0) / 2)
    loss = actor_loss(T([0.5, -1.0]), T([1.0, 2.0]), T([2.0, 0.0]), alpha=0.2)
    assert loss.item() == pytest.approx(((0.1 - 1.0) + (-0.2 - 0.0)) / 2)
    log_alpha = torch.tensor(math.log(0.2), requires_grad=True)
    loss = entropy_coef_loss(log_alpha, T([0.5, -1.0]), target_entropy=-2.0)
    assert loss.item() == pytest.approx(-math.log(0.2) * (-1.5 - 3.0) / 2)
    loss.backward()  # d/d log_alpha = -mean(log pi + target) = 2.25 > 0: alpha shrinks
    assert log_alpha.grad.item() == pytest.approx(2.25)


def test_soft_update_by_hand():
    source, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    expected = [0.9 * t + 0.1 * s for t, s in zip(target.parameters(), source.parameters(), strict=True)]
    soft_update(target, source, 0.1)
    for got, want in zip(target.parameters(), expected, strict=True):
        torch.testing.assert_close(got, want.detach())


def test_tanh_gaussian_log_prob_matches_torch_transformed_distribution():
    torch.manual_seed(0)
    policy = TanhGaussianPolicy(3, 2, 2, (16,))
    obs, z = torch.randn(5, 3), torch.randn(5, 2)
    out = policy(obs, z, generator=torch.Generator().manual_seed(1))
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(out.mean, out.log_std.exp()),
        [torch.distributions.TanhTransform()],
    )
    torch.testing.assert_close(out.log_prob, dist.log_prob(out.action).sum(-1), atol=1e-4, rtol=1e-4)
    assert (policy(obs, z, deterministic=True).action == torch.tanh(out.mean)).all()


def _batch(tasks: int, rows: int, obs_dim: int = 3, action_dim: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(tasks * 100 + rows)
    return {
        "obs": torch.randn(tasks, rows, obs_dim, generator=g),
        "action": torch.rand(tasks, rows, action_dim, generator=g) * 2 - 1,
        "reward": torch.randn(tasks, rows, generator=g),
        "next_obs": torch.randn(tasks, rows, obs_dim, generator=g),
        "terminal": (torch.rand(tasks, rows, generator=g) < 0.2).float(),
    }


def test_critic_gradients_train_the_encoder_and_the_actor_loss_does_not():
    torch.manual_seed(0)
    options = PEARLOptions(hidden_sizes=(16,), encoder_hidden_sizes=(16,), auto_entropy=True)
    model = PEARLModel(3, 2, options)
    update = PEARLUpdate(model, options)
    encoder_before = [p.detach().clone() for p in model.encoder.parameters()]
    policy_before = [p.detach().clone() for p in model.policy.parameters()]
    target_before = [p.detach().clone() for p in model.critic_target.parameters()]
    stats = update.step(_batch(4, 8), _batch(4, 6), torch.Generator().manual_seed(0))
    assert set(stats) >= {"critic_loss", "actor_loss", "kl", "alpha", "entropy"}
    for before, after in zip(encoder_before, model.encoder.parameters(), strict=True):
        assert not torch.equal(before, after)
    for before, after in zip(policy_before, model.policy.parameters(), strict=True):
        assert not torch.equal(before, after)
    for before, after in zip(target_before, model.critic_target.parameters(), strict=True):
        assert not torch.equal(before, after)
    assert model.log_alpha.item() != 0.0  # auto_entropy moved it from log(1)
    # The actor's loss reaches the encoder only through z, which it takes detached.
    model.zero_grad()
    z = model.posterior(_batch(4, 6)).sample().repeat_interleave(8, 0).detach()
    obs = _batch(4, 8)["obs"].reshape(32, 3)
    pi = model.policy(obs, z)
    actor_loss(pi.log_prob, *model.critic(obs, pi.action, z), 1.0).backward()
    assert all(p.grad is None for p in model.encoder.parameters())


def test_the_grouped_update_has_the_gradients_of_the_batched_one():
    """One forward for all tasks or one per task: the same loss, so the same gradients (the
    benchmark's loop-over-tasks update). Checked with the mean encoder and no entropy term, so
    that no random draw enters the critic's loss."""
    torch.manual_seed(0)
    options = PEARLOptions(
        hidden_sizes=(16,), encoder_hidden_sizes=(16,), aggregation="mean", entropy_coef=1e-30,
    )
    grads = []
    for groups in (None, [slice(t, t + 1) for t in range(4)]):
        torch.manual_seed(0)
        model = PEARLModel(3, 2, options)
        model.policy.net[-1].bias.data[2:] = -30.0  # std clamped to e^-20: no noise to speak of
        update = PEARLUpdate(model, options)
        update.optimizers["critic"].step = lambda: None
        update.optimizers["encoder"].step = lambda: None
        update.optimizers["policy"].step = lambda: None
        update.step(_batch(4, 8), _batch(4, 6), torch.Generator().manual_seed(0), groups)
        trained = [*model.critic.parameters(), *model.encoder.parameters()]
        grads.append([p.grad.clone() for p in trained])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
