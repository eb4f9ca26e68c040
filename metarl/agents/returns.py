"""Discounted returns and generalised advantage estimation over padded, time-major episodes.

All inputs are ``[T, B]`` tensors laid out like :class:`metarl.sampling.EpisodeBatch`: ``mask`` is 1
on valid steps, ``terminated`` / ``truncated`` are true only at an episode's last step. An episode
that ends by termination has terminal value 0; one that ends by truncation is bootstrapped with
``bootstrap_values[b]`` = V(final observation). Outputs are 0 where ``mask`` is 0, whatever the
padded entries hold. Both functions scan backwards over ``T`` and are vectorised over ``B``;
gradients flow through ``values`` and ``bootstrap_values``.
"""

from __future__ import annotations

import torch

__all__ = ["discounted_returns", "gae"]


def _check(rewards: torch.Tensor, **others: torch.Tensor) -> None:
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape [T, B], got {tuple(rewards.shape)}")
    for name, tensor in others.items():
        if tensor.shape != rewards.shape:
            raise ValueError(
                f"{name} must have the shape of rewards {tuple(rewards.shape)}, "
                f"got {tuple(tensor.shape)}"
            )


def _end_values(
    rewards: torch.Tensor, truncated: torch.Tensor, bootstrap_values: torch.Tensor | None
) -> torch.Tensor:
    """``[T, B]`` value after each step if the episode ends there (bootstrap on truncation only)."""
    if bootstrap_values is None:
        return torch.zeros_like(rewards)
    if bootstrap_values.shape != rewards.shape[1:]:
        raise ValueError(
            f"bootstrap_values must have shape [B] = {tuple(rewards.shape[1:])}, "
            f"got {tuple(bootstrap_values.shape)}"
        )
    zero = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    return torch.where(truncated.bool(), bootstrap_values.to(rewards.dtype), zero)


def discounted_returns(
    rewards: torch.Tensor,
    mask: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    bootstrap_values: torch.Tensor | None = None,
) -> torch.Tensor:
    """``[T, B]`` discounted reward-to-go ``G_t = r_t + gamma * G_{t+1}``.

    At an episode's last step ``G_{t+1}`` is ``bootstrap_values[b]`` if it was truncated (0 if
    ``bootstrap_values`` is None) and 0 if it terminated.
    """
    _check(rewards, mask=mask, terminated=terminated, truncated=truncated)
    ends = terminated.bool() | truncated.bool()
    end_values = _end_values(rewards, truncated, bootstrap_values)
    valid = mask > 0
    zero = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    out = []
    ret = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = torch.where(ends[t], end_values[t], ret)
        ret = torch.where(valid[t], rewards[t] + gamma * following, zero)
        out.append(ret)
    return torch.stack(out[::-1]) if out else torch.zeros_like(rewards)


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    lam: float,
    bootstrap_values: torch.Tensor | None = None,
) -> torch.Tensor:
    """``[T, B]`` generalised advantage estimates (Schulman et al. 2016).

    ``A_t = delta_t + gamma * lam * A_{t+1}`` with ``delta_t = r_t + gamma * V_{t+1} - V_t``, where
    ``values[t, b]`` = V(s_t); past an episode's last step ``A`` is 0 and ``V`` is
    ``bootstrap_values[b]`` after truncation (0 if None) or 0 after termination. ``lam=1`` gives
    discounted returns minus values, ``lam=0`` the one-step TD errors.
    """
    _check(rewards, values=values, mask=mask, terminated=terminated, truncated=truncated)
    ends = terminated.bool() | truncated.bool()
    end_values = _end_values(rewards, truncated, bootstrap_values)
    valid = mask > 0
    zero = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    out = []
    adv = torch.zeros_like(rewards[0])
    next_value = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        following_value = torch.where(ends[t], end_values[t], next_value)
        following_adv = torch.where(ends[t], zero, adv)
        delta = rewards[t] + gamma * following_value - values[t]
        adv = torch.where(valid[t], delta + gamma * lam * following_adv, zero)
        out.append(adv)
        next_value = values[t]
    return torch.stack(out[::-1]) if out else torch.zeros_like(rewards)
