"""Per-task action-noise streams: task ``k`` of a sampling call draws from its own generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.distributions import Categorical, Distribution, Independent, Normal


def task_generators(key: int, task_indices: Sequence[int]) -> list[torch.Generator]:
    """The action-noise generators of tasks ``task_indices`` in a sampling call with ``key``."""
    seeds = (np.random.SeedSequence([key, k]).generate_state(1, np.uint64)[0] for k in task_indices)
    return [torch.Generator().manual_seed(int(seed)) for seed in seeds]


class ActionNoise:
    """Per-task action noise: standard normals (Gaussian policies) or uniforms (categorical, by
    inverse CDF), drawn from each task's generator in blocks of steps so that a step costs one
    tensor operation for all tasks, and task ``k``'s draws do not depend on the other tasks."""

    BLOCK = 32  # steps drawn at once; part of the stream definition, the same in every process

    def __init__(self, generators: Sequence[torch.Generator], shape: tuple[int, ...]):
        self.generators, self.shape = generators, shape
        self._block = torch.empty(0)

    def __call__(self, t: int) -> torch.Tensor:
        """``[K, *shape]`` noise of step ``t`` (steps are taken in order from 0)."""
        if t % self.BLOCK == 0:
            self._block = torch.stack([self._draw(g) for g in self.generators])
        return self._block[:, t % self.BLOCK]

    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


class _GaussianNoise(ActionNoise):
    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((self.BLOCK, *self.shape), generator=generator)


class _UniformNoise(ActionNoise):
    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        return torch.rand((self.BLOCK, *self.shape), generator=generator)


def action_noise(dist: Distribution, generators: Sequence[torch.Generator]) -> ActionNoise:
    """The noise source for a batched ``[K, E]`` policy distribution like ``dist``."""
    if isinstance(dist, Independent) and isinstance(dist.base_dist, Normal):
        return _GaussianNoise(generators, tuple(dist.base_dist.loc.shape[1:]))
    if isinstance(dist, Categorical):
        return _UniformNoise(generators, tuple(dist.batch_shape[1:]))
    raise TypeError(
        f"cannot sample from {type(dist).__name__}; use a Gaussian or categorical policy"
    )


def sample_actions(dist: Distribution, noise: torch.Tensor, rows: slice) -> torch.Tensor:
    """Actions of tasks ``rows`` of a batched ``[K, E]`` distribution from their step ``noise``."""
    if isinstance(dist, Categorical):
        cdf = dist.probs[rows].cumsum(-1)
        index = (cdf < noise.unsqueeze(-1)).sum(-1)
        return index.clamp_(max=cdf.shape[-1] - 1)  # u above a rounded-down total: last action
    return dist.base_dist.loc[rows] + dist.base_dist.scale[rows] * noise

