"""PEARL's context encoder: per-transition Gaussian factors aggregated into a task posterior.

Each transition ``(s, a, r[, s'])`` of a task's context is embedded by one MLP into a Gaussian
factor ``N(mu_n, sigma_n^2)`` over the latent task variable ``z``. The factors of a task are
aggregated:

- ``product`` (Rakelly et al. 2019, eq. 4): the normalised product of the factors,
  ``sigma^2 = 1 / sum_n 1/sigma_n^2`` and ``mu = sigma^2 sum_n mu_n / sigma_n^2``; permutation
  invariant, and narrower with every transition. Training adds ``kl_weight * KL(q(z|c) || N(0, I))``.
- ``mean``: the arithmetic mean of the ``mu_n`` as a deterministic embedding (variance 0), the
  "prototype" of prototypical networks.

Every function works on a batch of tasks at once: contexts ``[T, N, D]`` with a mask ``[T, N]``
(1 for a real transition), so tasks with different amounts of context share one forward. A task
without context gets the prior: ``N(0, I)`` for ``product``, ``z = 0`` for ``mean`` (as in PEARL's
deterministic variant).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from metarl.agents.pearl.networks import mlp

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "ContextEncoder",
    "Gaussian",
    "kl_to_unit_gaussian",
    "mean_embedding",
    "product_of_gaussians",
]

Aggregation = Literal["product", "mean"]
AGGREGATIONS: tuple[str, ...] = ("product", "mean")

MIN_VARIANCE = 1e-7
"""Lower clamp of a factor's variance (PEARL's), keeping its precision finite."""


class Gaussian(NamedTuple):
    """A diagonal Gaussian per task: ``mean`` and ``variance``, each ``[T, L]``."""

    mean: torch.Tensor
    variance: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A reparameterised sample ``mean + sqrt(variance) * eps`` (``eps`` from ``generator``)."""
        eps = torch.randn(
            self.mean.shape, generator=generator, dtype=self.mean.dtype
        ).to(self.mean.device)
        return self.mean + self.variance.sqrt() * eps


def _mask(mean: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``mask`` as ``[T, N, 1]`` floats (all ones if ``None``)."""
    if mask is None:
        return torch.ones(*mean.shape[:2], 1, dtype=mean.dtype, device=mean.device)
    if mask.shape != mean.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(mean.shape[:2])}, got {tuple(mask.shape)}")
    return mask.to(mean.dtype).unsqueeze(-1)


def product_of_gaussians(
    mean: torch.Tensor, variance: torch.Tensor, mask: torch.Tensor | None = None
) -> Gaussian:
    """The normalised product of the factors ``N(mean[t, n], variance[t, n])`` over ``n``.

    ``mean``, ``variance``: ``[T, N, L]``; ``mask``: ``[T, N]`` (1 keeps a factor). A task with no
    factor gets the unit Gaussian prior.
    """
    weight = _mask(mean, mask)
    precision = weight / variance.clamp(min=MIN_VARIANCE)
    total = precision.sum(dim=1)
    empty = (weight.sum(dim=1) == 0).expand_as(total)
    total = torch.where(empty, torch.ones_like(total), total)
    post_mean = torch.where(empty, torch.zeros_like(total), (precision * mean).sum(dim=1) / total)
    return Gaussian(post_mean, 1.0 / total)


def mean_embedding(mean: torch.Tensor, mask: torch.Tensor | None = None) -> Gaussian:
    """The arithmetic mean of the embeddings ``mean[t, n]`` over ``n`` (``[T, N, L]``), with zero
    variance; ``z = 0`` for a task with no context."""
    weight = _mask(mean, mask)
    count = weight.sum(dim=1)
    embedding = (weight * mean).sum(dim=1) / count.clamp(min=1.0)
    return Gaussian(embedding, torch.zeros_like(embedding))


def kl_to_unit_gaussian(posterior: Gaussian) -> torch.Tensor:
    """``KL(N(mean, variance) || N(0, I))`` of each task, summed over the latent dimensions: ``[T]``."""
    mean, variance = posterior
    return 0.5 * (variance + mean.pow(2) - 1.0 - variance.log()).sum(dim=-1)


class ContextEncoder(nn.Module):
    """An MLP from a transition to a Gaussian factor over ``z``, and the aggregation of a task's
    factors into its posterior.

    Args:
        input_dim: size of one context transition (``obs + action + 1 [+ obs]``).
        latent_size: ``L``, size of ``z``.
        hidden_sizes: hidden layers of the MLP (ReLU).
        aggregation: ``product`` or ``mean`` (see the module docstring).
    """

    def __init__(
        self,
        input_dim: int,
        latent_size: int,
        hidden_sizes: Sequence[int],
        aggregation: Aggregation = "product",
    ):
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.latent_size = latent_size
        self.aggregation = aggregation
        outputs = 2 * latent_size if aggregation == "product" else latent_size
        self.net = mlp(input_dim, outputs, hidden_sizes)

    def factors(self, context: torch.Tensor) -> Gaussian:
        """The per-transition factors of ``context`` ``[T, N, D]``: mean and variance ``[T, N, L]``
        (variance 0 under ``mean`` aggregation)."""
        out = self.net(context)
        if self.aggregation == "mean":
            return Gaussian(out, torch.zeros_like(out))
        mean, raw = out.split(self.latent_size, dim=-1)
        return Gaussian(mean, F.softplus(raw))

    def forward(self, context: torch.Tensor, mask: torch.Tensor | None = None) -> Gaussian:
        """The posterior of each task from its context ``[T, N, D]`` (``mask`` ``[T, N]``)."""
        factors = self.factors(context)
        if self.aggregation == "mean":
            return mean_embedding(factors.mean, mask)
        return product_of_gaussians(factors.mean, factors.variance, mask)

    def prior(self, num_tasks: int, device: torch.device | None = None) -> Gaussian:
        """The prior of ``num_tasks`` tasks: ``N(0, I)``, or ``z = 0`` (variance 0) under ``mean``."""
        mean = torch.zeros(num_tasks, self.latent_size, device=device)
        variance = torch.ones_like(mean) if self.aggregation == "product" else torch.zeros_like(mean)
        return Gaussian(mean, variance)
