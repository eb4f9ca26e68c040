"""PEARL's networks in one module: the context encoder, the latent-conditioned policy, the twin
critics with their targets, and SAC's entropy coefficient."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from metarl.agents.pearl.encoder import ContextEncoder, Gaussian
from metarl.agents.pearl.networks import TanhGaussianPolicy, TwinQ
from metarl.agents.pearl.options import PEARLOptions

__all__ = ["PEARLModel"]


class PEARLModel(nn.Module):
    """Encoder, policy, critics, target critics and ``log_alpha`` of one PEARL agent.

    Args:
        obs_dim, action_dim: sizes of the env's observations and actions.
        options: the architecture (``latent_size``, hidden sizes, ``aggregation``,
            ``context_next_obs``) and the initial ``entropy_coef``.
    """

    def __init__(self, obs_dim: int, action_dim: int, options: PEARLOptions):
        super().__init__()
        self.context_next_obs = options.context_next_obs
        latent = options.latent_size
        context_dim = obs_dim + action_dim + 1 + (obs_dim if options.context_next_obs else 0)
        self.encoder = ContextEncoder(
            context_dim, latent, options.encoder_hidden_sizes, options.aggregation
        )
        self.policy = TanhGaussianPolicy(obs_dim, latent, action_dim, options.hidden_sizes)
        self.critic = TwinQ(obs_dim, latent, action_dim, options.hidden_sizes)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(options.entropy_coef)))

    def context(self, transitions: dict[str, torch.Tensor]) -> torch.Tensor:
        """Context vectors ``[T, N, D]`` from transitions whose fields are ``[T, N, ...]``:
        ``(s, a, r)``, with ``s'`` appended under ``context_next_obs``."""
        parts = [transitions["obs"], transitions["action"], transitions["reward"].unsqueeze(-1)]
        if self.context_next_obs:
            parts.append(transitions["next_obs"])
        return torch.cat(parts, dim=-1)

    def posterior(
        self, transitions: dict[str, torch.Tensor], mask: torch.Tensor | None = None
    ) -> Gaussian:
        """The task posterior of each of ``T`` tasks from its context transitions."""
        return self.encoder(self.context(transitions), mask)

    @torch.no_grad()
    def act(
        self,
        obs: np.ndarray,
        z: torch.Tensor,
        deterministic: bool,
        generator: torch.Generator | None,
    ) -> np.ndarray:
        """Actions in ``[-1, 1]`` for ``obs`` ``[n, O]`` (numpy) given ``z`` ``[n, L]``."""
        device = z.device
        out = self.policy(torch.as_tensor(obs, device=device), z, deterministic, generator)
        return out.action.cpu().numpy()
