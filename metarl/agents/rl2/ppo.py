"""PPO on whole trials (Duan et al. 2016 with Schulman et al. 2017's clipped objective).

The trial is the episode of the meta-MDP: advantages come from GAE over the whole trial, across
the boundaries of its episodes, and only the trial's last step ends it. The policy is optimised
with truncated backpropagation through time: each trial is cut into segments of ``segment``
steps, and each segment is re-run from the recurrent state it started with when sampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from metarl.agents.returns import gae
from metarl.agents.rl2.network import RecurrentActorCritic
from metarl.agents.rl2.rollout import TrialBatch

__all__ = ["PPOSettings", "explained_variance", "ppo_update", "trial_advantages"]


@dataclass(frozen=True)
class PPOSettings:
    """The PPO hyperparameters of an update."""

    gamma: float
    gae_lambda: float
    clip: float
    epochs: int
    minibatches: int
    value_coeff: float
    entropy_coeff: float
    max_grad_norm: float
    reward_scale: float
    target_kl: float | None = None
    standardize_advantages: bool = True


def trial_advantages(
    batch: TrialBatch, gamma: float, lam: float, reward_scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE advantages and value targets ``[T, B]`` over whole trials (rewards times
    ``reward_scale``); episode ends inside a trial are not terminal."""
    advantages = gae(
        batch.rewards * reward_scale,
        batch.values,
        batch.mask,
        batch.trial_end,
        torch.zeros_like(batch.trial_end),
        gamma,
        lam,
    )
    return advantages, advantages + batch.values


def explained_variance(values: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """``1 - Var(targets - values) / Var(targets)`` over the steps where ``mask`` is 1: 1 for a
    perfect critic, 0 for one no better than the targets' mean, negative for worse (as SB3's
    ``explained_variance``); nan when the targets do not vary."""
    valid = mask > 0
    target_var = targets[valid].var()
    return float(1 - (targets - values)[valid].var() / target_var) if target_var > 0 else math.nan


def _segments(tensor: torch.Tensor, length: int, count: int) -> torch.Tensor:
    """``[T, B, ...]`` padded to ``count * length`` steps and cut into ``[length, count * B, ...]``
    (column ``s * B + b`` is segment ``s`` of trial ``b``)."""
    pad = count * length - tensor.shape[0]
    if pad:
        tensor = torch.cat([tensor, tensor.new_zeros(pad, *tensor.shape[1:])])
    tail = tensor.shape[2:]
    chunks = tensor.reshape(count, length, tensor.shape[1], *tail).transpose(0, 1)
    return chunks.reshape(length, -1, *tail)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum()


def ppo_update(
    network: RecurrentActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: TrialBatch,
    settings: PPOSettings,
    generator: torch.Generator,
) -> dict[str, float]:
    """``settings.epochs`` epochs of clipped PPO over the batch's trial segments, in
    ``settings.minibatches`` shuffled minibatches (order drawn from ``generator``). With
    ``settings.target_kl`` set, the update stops at the first minibatch whose approximate KL to
    the sampling policy exceeds ``1.5 * target_kl``, before stepping on it (SB3's rule). Returns
    the mean losses, entropy, approximate KL and clip fraction over the minibatches stepped on,
    ``epochs``, the epochs begun, and ``explained_variance``, the sampled values' explained
    variance of the value targets (:func:`explained_variance`), before the update."""
    advantages, targets = trial_advantages(
        batch, settings.gamma, settings.gae_lambda, settings.reward_scale
    )
    explained = explained_variance(batch.values, targets, batch.mask)
    if settings.standardize_advantages:
        valid = batch.mask > 0
        advantages = (advantages - advantages[valid].mean()) / (advantages[valid].std() + 1e-8)
    count = batch.states.shape[0]
    length = -(-batch.mask.shape[0] // count)
    cut = {
        name: _segments(tensor, length, count)
        for name, tensor in {
            "inputs": batch.inputs, "actions": batch.actions, "log_probs": batch.log_probs,
            "mask": batch.mask, "advantages": advantages, "targets": targets,
        }.items()
    }
    states = batch.states.reshape(-1, batch.states.shape[-1])
    nonempty = torch.nonzero(cut["mask"].sum(0) > 0).squeeze(1).cpu()
    totals: dict[str, float] = {}
    updates = 0
    limit = float("inf") if settings.target_kl is None else 1.5 * settings.target_kl
    for epochs in range(1, settings.epochs + 1):
        order = nonempty[torch.randperm(len(nonempty), generator=generator)]
        for index in order.tensor_split(min(settings.minibatches, len(order))):
            index = index.to(states.device)
            part = {name: tensor[:, index] for name, tensor in cut.items()}
            features, _ = network(part["inputs"], states[index])
            dist = network.distribution(features)
            log_probs = dist.log_prob(part["actions"])
            log_ratio = log_probs - part["log_probs"]
            ratio = log_ratio.exp()
            adv, mask = part["advantages"], part["mask"]
            surrogate = torch.min(
                ratio * adv, ratio.clamp(1 - settings.clip, 1 + settings.clip) * adv
            )
            policy_loss = -_masked_mean(surrogate, mask)
            value_loss = _masked_mean((network.value(features) - part["targets"]) ** 2, mask)
            entropy = _masked_mean(dist.entropy(), mask)
            # KL(sampling || current) by Schulman's non-negative estimator (as SB3)
            approx_kl = _masked_mean((ratio - 1 - log_ratio).detach(), mask)
            if approx_kl > limit and updates:
                return _means(totals, updates, epochs, explained)
            loss = (
                policy_loss + settings.value_coeff * value_loss - settings.entropy_coeff * entropy
            )
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), settings.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                stats = {
                    "policy_loss": policy_loss.detach(),
                    "value_loss": value_loss.detach(),
                    "entropy": entropy.detach(),
                    "approx_kl": approx_kl,
                    "clip_fraction": _masked_mean(
                        ((ratio - 1).abs() > settings.clip).float(), mask
                    ),
                }
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + float(value)
            updates += 1
    return _means(totals, updates, settings.epochs, explained)


def _means(
    totals: dict[str, float], updates: int, epochs: int, explained: float
) -> dict[str, float]:
    return {
        **{key: value / updates for key, value in totals.items()},
        "epochs": float(epochs),
        "explained_variance": explained,
    }
