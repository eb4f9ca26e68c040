"""Episodes of several tasks as one padded, time-major batch; per-task parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import torch
from torch.distributions import Distribution

__all__ = ["BatchedPolicy", "EpisodeBatch", "Params", "stack_params"]

Params = Mapping[str, torch.Tensor]
"""Parameter tensors by name, as in ``dict(module.named_parameters())``."""

_TIME_MAJOR = ("observations", "actions", "rewards", "terminated", "truncated", "mask")
"""The fields of shape ``[T, B, ...]``."""


class BatchedPolicy(Protocol):
    """A policy that evaluates per-task parameters (leading axis ``K``) on ``[K, N, obs_dim]``."""

    def batched(self, params: Params, obs: torch.Tensor) -> Distribution: ...

    def named_parameters(self) -> Any: ...


def stack_params(params: Params, num_tasks: int) -> dict[str, torch.Tensor]:
    """Shared parameters viewed as per-task parameters with a leading axis of ``num_tasks``.

    The result is a differentiable view: gradients w.r.t. the stacked tensors are per-task, and flow
    back to ``params`` summed over tasks.
    """
    return {name: p.unsqueeze(0).expand(num_tasks, *p.shape) for name, p in params.items()}


class EpisodeBatch(NamedTuple):
    """Episodes of several tasks, padded to a common length ``T`` (time-major).

    ``B = K * E`` episodes, task-major: episodes ``k*E ... (k+1)*E - 1`` belong to task ``k``
    (``task_index``). Steps ``t < lengths[b]`` are valid (``mask[t, b] == 1``). ``terminated`` /
    ``truncated`` are true only at an episode's last step. ``final_observations[b]`` is the
    observation after the last step, used to bootstrap the value of truncated episodes.
    Padding steps (``mask[t, b] == 0``) hold zeros. ``success[b]`` is 1 if the env reported
    ``info["success"]`` on any step of episode ``b`` (Meta-World), ``None`` for envs without it.
    """

    observations: torch.Tensor  # [T, B, obs_dim] float32
    actions: torch.Tensor  # [T, B, *action_shape] (float32 for Box, int64 for Discrete)
    rewards: torch.Tensor  # [T, B] float32
    terminated: torch.Tensor  # [T, B] bool
    truncated: torch.Tensor  # [T, B] bool
    mask: torch.Tensor  # [T, B] float32, 1 on valid steps
    final_observations: torch.Tensor  # [B, obs_dim] float32
    task_index: torch.Tensor  # [B] int64, index into the list of tasks sampled
    success: torch.Tensor | None = None  # [B] float32, 1 if info["success"] on any step

    @property
    def num_tasks(self) -> int:
        """``K``, the number of tasks."""
        return int(self.task_index[-1]) + 1

    @property
    def episodes_per_task(self) -> int:
        """``E``, the episodes of each task."""
        return self.task_index.shape[0] // self.num_tasks

    @property
    def lengths(self) -> torch.Tensor:
        """Number of valid steps of each episode, ``[B]``."""
        return self.mask.sum(0).long()

    @property
    def returns(self) -> torch.Tensor:
        """Undiscounted return of each episode, ``[B]``."""
        return (self.rewards * self.mask).sum(0)

    def task_returns(self) -> torch.Tensor:
        """Mean undiscounted return of each task's episodes, ``[K]``."""
        return self.returns.view(self.num_tasks, -1).mean(1)

    def task_success_rates(self) -> torch.Tensor | None:
        """Fraction of each task's episodes that succeeded, ``[K]`` (``None`` without ``success``)."""
        return None if self.success is None else self.success.view(self.num_tasks, -1).mean(1)

    def to(self, device: torch.device | str) -> EpisodeBatch:
        """The batch with every tensor on ``device`` (itself where they already are)."""
        return EpisodeBatch(*(None if t is None else t.to(device) for t in self))

    def episodes_of(self, k: int) -> EpisodeBatch:
        """The episodes of task ``k`` alone, as a one-task batch."""
        return self._tasks(k, k + 1)

    def head(self, num_tasks: int) -> EpisodeBatch:
        """The episodes of the first ``num_tasks`` tasks, as a batch of those tasks."""
        if not 1 <= num_tasks <= self.num_tasks:
            raise ValueError(f"num_tasks must lie in [1, {self.num_tasks}], got {num_tasks!r}")
        return self._tasks(0, num_tasks)

    def _tasks(self, start: int, stop: int) -> EpisodeBatch:
        """The episodes of tasks ``start .. stop - 1``, renumbered from 0."""
        per_task = self.mask.shape[1] // self.num_tasks
        cols = slice(start * per_task, stop * per_task)
        return self._replace(
            **{name: getattr(self, name)[:, cols] for name in _TIME_MAJOR},
            final_observations=self.final_observations[cols],
            task_index=self.task_index[cols] - start,
            success=None if self.success is None else self.success[cols],
        )

    def time_major(self, values: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`per_task` for per-step values: ``[K, T * E]`` -> ``[T, B]``."""
        steps = self.mask.shape[0]
        return values.view(self.num_tasks, steps, -1).transpose(0, 1).reshape(steps, -1)

    def per_task(self, tensor: torch.Tensor) -> torch.Tensor:
        """Reshape a ``[T, B, ...]`` tensor to ``[K, T * E, ...]`` (task-major, for batched policies)."""
        steps, _, *rest = tensor.shape
        per_task = tensor.reshape(steps, self.num_tasks, -1, *rest).transpose(0, 1)
        return per_task.reshape(self.num_tasks, -1, *rest)


