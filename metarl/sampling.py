"""Multi-task episode sampling into :class:`EpisodeBatch`."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["EpisodeBatch"]


class EpisodeBatch(NamedTuple):
    """Episodes of several tasks, padded to a common length ``T`` (time-major).

    ``B`` episodes; episode ``b`` belongs to ``task_index[b]`` and its steps ``t < lengths[b]`` are
    valid (``mask[t, b] == 1``). ``terminated`` / ``truncated`` are true only at an episode's last
    step. ``final_observations[b]`` is the observation after the last step, used to bootstrap the
    value of truncated episodes.
    """

    observations: torch.Tensor  # [T, B, obs_dim] float32
    actions: torch.Tensor  # [T, B, *action_shape] (float32 for Box, int64 for Discrete)
    rewards: torch.Tensor  # [T, B] float32
    terminated: torch.Tensor  # [T, B] bool
    truncated: torch.Tensor  # [T, B] bool
    mask: torch.Tensor  # [T, B] float32, 1 on valid steps
    final_observations: torch.Tensor  # [B, obs_dim] float32
    task_index: torch.Tensor  # [B] int64, index into the list of tasks sampled

    @property
    def lengths(self) -> torch.Tensor:
        """Number of valid steps of each episode, ``[B]``."""
        return self.mask.sum(0).long()

    @property
    def returns(self) -> torch.Tensor:
        """Undiscounted return of each episode, ``[B]``."""
        return (self.rewards * self.mask).sum(0)
