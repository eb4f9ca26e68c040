"""Per-task replay buffers preallocated in numpy, sampled for a batch of tasks in one indexing.

:class:`TaskReplay` holds ``capacity`` transitions for each of ``num_tasks`` tasks in arrays
``[num_tasks, capacity, ...]``; each task is a ring (oldest overwritten first). PEARL keeps two:
the RL buffer (all data of a task) and the context buffer (only the task's most recent
collection, cleared before each; the encoder's context is drawn from it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from metarl.validation import require_int

__all__ = ["FIELDS", "TaskReplay"]

FIELDS = ("obs", "action", "reward", "next_obs", "terminal")
"""The stored fields of a transition."""


class TaskReplay:
    """Ring buffers of transitions, one per task, in shared preallocated arrays.

    Args:
        num_tasks: tasks (rows).
        capacity: transitions kept per task.
        obs_dim, action_dim: sizes of an observation and an action.
    """

    def __init__(self, num_tasks: int, capacity: int, obs_dim: int, action_dim: int):
        self.num_tasks = require_int("num_tasks", num_tasks)
        self.capacity = require_int("capacity", capacity)
        shapes = {
            "obs": (obs_dim,), "action": (action_dim,), "reward": (), "next_obs": (obs_dim,),
            "terminal": (),
        }
        self.data = {
            name: np.zeros((num_tasks, capacity, *shape), dtype=np.float32)
            for name, shape in shapes.items()
        }
        self.size = np.zeros(num_tasks, dtype=np.int64)
        self.position = np.zeros(num_tasks, dtype=np.int64)

    def add(self, tasks: np.ndarray, transitions: dict[str, np.ndarray]) -> None:
        """Append one transition to each of ``tasks`` (distinct task indices, ``[n]``); each field
        of ``transitions`` has a leading axis ``n``."""
        tasks = np.asarray(tasks, dtype=np.int64)
        if len(np.unique(tasks)) != len(tasks):
            raise ValueError(f"add takes one transition per task, got tasks {tasks.tolist()}")
        for name in FIELDS:
            self.data[name][tasks, self.position[tasks]] = transitions[name]
        self.position[tasks] = (self.position[tasks] + 1) % self.capacity
        self.size[tasks] = np.minimum(self.size[tasks] + 1, self.capacity)

    def clear(self, tasks: np.ndarray) -> None:
        """Empty the buffers of ``tasks``."""
        self.size[tasks] = 0
        self.position[tasks] = 0

    def sample(
        self, tasks: np.ndarray, batch_size: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly with replacement from each of ``tasks``
        (``[T]``): every field ``[T, batch_size, ...]``."""
        tasks = np.asarray(tasks, dtype=np.int64)
        sizes = self.size[tasks]
        if (sizes == 0).any():
            raise ValueError(f"cannot sample tasks {tasks[sizes == 0].tolist()}: no data yet")
        rows = (rng.random((len(tasks), batch_size)) * sizes[:, None]).astype(np.int64)
        return {name: array[tasks[:, None], rows] for name, array in self.data.items()}

    def state_dict(self) -> dict[str, Any]:
        """Sizes, positions and the filled part of the arrays, as tensors (for checkpoints)."""
        filled = int(self.size.max(initial=0))
        return {
            "size": torch.from_numpy(self.size.copy()),
            "position": torch.from_numpy(self.position.copy()),
            **{name: torch.from_numpy(a[:, :filled].copy()) for name, a in self.data.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (``ValueError`` if the shapes differ)."""
        size = state["size"].numpy()
        if size.shape != self.size.shape or size.max(initial=0) > self.capacity:
            raise ValueError(
                f"replay state holds {size.shape[0]} tasks of up to {size.max(initial=0)} "
                f"transitions; this buffer has {self.num_tasks} tasks of {self.capacity}"
            )
        self.size[:] = size
        self.position[:] = state["position"].numpy()
        filled = int(size.max(initial=0))
        for name, array in self.data.items():
            array[:, :filled] = state[name].numpy()
