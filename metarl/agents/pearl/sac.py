"""Soft actor-critic's losses (Haarnoja et al. 2018), written once as functions of tensors.

With rewards scaled by ``reward_scale`` (PEARL's) and entropy coefficient ``alpha``:

- critic target: ``y = reward_scale * r + gamma * (1 - terminal) * (min(Q1', Q2')(s', a') -
  alpha * log pi(a' | s'))``, ``a' ~ pi(. | s')``, ``Q'`` the target critics;
- critic loss: ``mean((Q1(s, a) - y)^2) + mean((Q2(s, a) - y)^2)`` (PEARL's sum of the two MSEs);
- actor loss: ``mean(alpha * log pi(a~ | s) - min(Q1, Q2)(s, a~))``, ``a~ ~ pi(. | s)``;
- entropy-coefficient loss (automatic tuning): ``-mean(log alpha * (log pi(a~ | s) + H_target))``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["actor_loss", "critic_loss", "critic_target", "entropy_coef_loss", "soft_update"]


def critic_target(
    reward: torch.Tensor,
    terminal: torch.Tensor,
    next_q1: torch.Tensor,
    next_q2: torch.Tensor,
    next_log_prob: torch.Tensor,
    alpha: float | torch.Tensor,
    gamma: float,
    reward_scale: float,
) -> torch.Tensor:
    """The soft Bellman target ``y`` of each transition (all arguments ``[B]``)."""
    soft_value = torch.min(next_q1, next_q2) - alpha * next_log_prob
    return reward_scale * reward + gamma * (1.0 - terminal) * soft_value


def critic_loss(q1: torch.Tensor, q2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The twin critics' squared Bellman errors, each averaged, summed."""
    return (q1 - target).pow(2).mean() + (q2 - target).pow(2).mean()


def actor_loss(
    log_prob: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, alpha: float | torch.Tensor
) -> torch.Tensor:
    """The policy's loss: entropy-regularised negative clipped Q of its own actions."""
    return (alpha * log_prob - torch.min(q1, q2)).mean()


def entropy_coef_loss(
    log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float
) -> torch.Tensor:
    """The loss whose gradient moves ``alpha`` so that the policy's entropy tracks the target."""
    return -(log_alpha * (log_prob.detach() + target_entropy)).mean()


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging: ``target <- (1 - tau) * target + tau * source``, parameter by parameter."""
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        t.lerp_(s, tau)
