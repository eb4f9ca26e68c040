"""The latent-conditioned networks of PEARL's SAC: a tanh-Gaussian policy and twin Q-functions.

Both take the task variable ``z`` beside their inputs (concatenated), so one forward serves a
whole meta-batch of tasks: rows of different tasks simply carry different ``z``. Actions live in
``[-1, 1]^A`` (the tanh range); the agent rescales them to the env's bounds when it steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import torch
from torch import nn

from metarl.validation import require_int

__all__ = ["PolicyOutput", "TanhGaussianPolicy", "TwinQ", "mlp"]

LOG_STD_RANGE = (-20.0, 2.0)
"""Clamp of the policy's log standard deviation (PEARL's and SB3's)."""


def mlp(in_dim: int, out_dim: int, hidden_sizes: Sequence[int]) -> nn.Sequential:
    """A ReLU MLP ``in_dim -> hidden_sizes -> out_dim`` with PyTorch's default initialisation."""
    sizes = [in_dim, *hidden_sizes, out_dim]
    for size in sizes:
        require_int("layer size", size)
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class PolicyOutput(NamedTuple):
    """What the policy gives for a batch of observations: each ``[B, A]`` or ``[B]``."""

    action: torch.Tensor
    """``tanh(mean + std * eps)`` (or ``tanh(mean)`` when deterministic), in ``[-1, 1]``."""
    log_prob: torch.Tensor
    """Log density of ``action`` with the tanh change of variables, ``[B]``."""
    mean: torch.Tensor
    """Pre-tanh mean (for PEARL's mean regulariser)."""
    log_std: torch.Tensor
    """Pre-tanh log standard deviation (for PEARL's log-std regulariser)."""


class TanhGaussianPolicy(nn.Module):
    """``pi(a | s, z)``: a Gaussian over pre-tanh actions, squashed by tanh."""

    def __init__(self, obs_dim: int, latent_size: int, action_dim: int, hidden_sizes: Sequence[int]):
        super().__init__()
        self.action_dim = action_dim
        self.obs_dim = obs_dim
        self.net = mlp(obs_dim + latent_size, 2 * action_dim, hidden_sizes)

    def forward(
        self,
        obs: torch.Tensor,
        z: torch.Tensor,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> PolicyOutput:
        """Actions for ``obs`` ``[B, O]`` given ``z`` ``[B, L]``; noise from ``generator``."""
        mean, log_std = self.net(torch.cat([obs, z], dim=-1)).split(self.action_dim, dim=-1)
        log_std = log_std.clamp(*LOG_STD_RANGE)
        std = log_std.exp()
        if deterministic:
            eps = torch.zeros_like(mean)
        else:
            eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype).to(mean.device)
        pre_tanh = mean + std * eps
        action = torch.tanh(pre_tanh)
        gaussian = -0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|
        jacobian = 2.0 * (math.log(2.0) - pre_tanh - nn.functional.softplus(-2.0 * pre_tanh))
        return PolicyOutput(action, (gaussian - jacobian).sum(dim=-1), mean, log_std)


class TwinQ(nn.Module):
    """Two independent ``Q(s, a, z)`` networks (clipped double Q)."""

    def __init__(self, obs_dim: int, latent_size: int, action_dim: int, hidden_sizes: Sequence[int]):
        super().__init__()
        in_dim = obs_dim + action_dim + latent_size
        self.q1 = mlp(in_dim, 1, hidden_sizes)
        self.q2 = mlp(in_dim, 1, hidden_sizes)

    def forward(
        self, obs: torch.Tensor, action: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both Q-values, each ``[B]``."""
        x = torch.cat([obs, action, z], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)
