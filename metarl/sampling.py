"""Multi-task episode sampling into :class:`EpisodeBatch`.

:class:`MultiTaskSampler` runs one vector env with one sub-env per episode: ``K`` tasks x ``E``
episodes step together, and each env step makes one batched policy forward for all tasks, each
with its own (possibly adapted) parameters.

Reproducible when split: each call draws one key from :attr:`MultiTaskSampler.generator`, and
task ``k`` of the call draws its action noise from its own generator seeded from ``(key, k)``
(:func:`task_generators`); sub-env ``b`` is reset with ``seed + b``; the policy forward always runs
on freshly allocated ``[K, ...]`` tensors of the whole call. :meth:`MultiTaskSampler.rollout` can
therefore collect any contiguous range of a call's tasks (as :mod:`metarl.ray_sampling`'s workers
do) and produce exactly those tasks' episodes of the whole call. (The forward covers all ``K``
tasks even for a range because BLAS results depend on memory alignment: a smaller batch gives
last-bit differences that grow over an episode.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical, Distribution, Independent, Normal

from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

__all__ = ["BatchedPolicy", "EpisodeBatch", "MultiTaskSampler", "stack_params", "task_generators"]

Params = Mapping[str, torch.Tensor]


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

    def task(self, k: int) -> EpisodeBatch:
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


def task_generators(key: int, task_indices: Sequence[int]) -> list[torch.Generator]:
    """The action-noise generators of tasks ``task_indices`` in a sampling call with ``key``."""
    seeds = (np.random.SeedSequence([key, k]).generate_state(1, np.uint64)[0] for k in task_indices)
    return [torch.Generator().manual_seed(int(seed)) for seed in seeds]


class _ActionNoise:
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


class _GaussianNoise(_ActionNoise):
    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((self.BLOCK, *self.shape), generator=generator)


class _UniformNoise(_ActionNoise):
    def _draw(self, generator: torch.Generator) -> torch.Tensor:
        return torch.rand((self.BLOCK, *self.shape), generator=generator)


def _action_noise(dist: Distribution, generators: Sequence[torch.Generator]) -> _ActionNoise:
    """The noise source for a batched ``[K, E]`` policy distribution like ``dist``."""
    if isinstance(dist, Independent) and isinstance(dist.base_dist, Normal):
        return _GaussianNoise(generators, tuple(dist.base_dist.loc.shape[1:]))
    if isinstance(dist, Categorical):
        return _UniformNoise(generators, tuple(dist.batch_shape[1:]))
    raise TypeError(
        f"cannot sample from {type(dist).__name__}; use a Gaussian or categorical policy"
    )


def _sample_actions(dist: Distribution, noise: torch.Tensor, rows: slice) -> torch.Tensor:
    """Actions of tasks ``rows`` of a batched ``[K, E]`` distribution from their step ``noise``."""
    if isinstance(dist, Categorical):
        cdf = dist.probs[rows].cumsum(-1)
        index = (cdf < noise.unsqueeze(-1)).sum(-1)
        return index.clamp_(max=cdf.shape[-1] - 1)  # u above a rounded-down total: last action
    return dist.base_dist.loc[rows] + dist.base_dist.scale[rows] * noise


_TIME_MAJOR = ("observations", "actions", "rewards", "terminated", "truncated", "mask")


class MultiTaskSampler:
    """Collect ``episodes_per_task`` episodes for each of a list of tasks.

    Args:
        env_id: a registered family id (``"metarl/Navigation2D-v0"``).
        episodes_per_task: ``E``, episodes collected per task and call.
        env_kwargs: passed to ``gymnasium.make_vec`` (e.g. ``max_episode_steps``, family options).
        max_envs: how many vector envs (one per batch size) stay open at once.

    A vector env is made per batch size and kept for later calls of that size; beyond
    ``max_envs`` sizes the least recently used one is closed (its worker processes too).
    Seeded calls give the same episodes either way; :meth:`close` closes every kept env.
    """

    def __init__(
        self,
        env_id: str,
        episodes_per_task: int,
        env_kwargs: Mapping[str, Any] | None = None,
        max_envs: int = 2,
    ):
        self.env_id = env_id
        self.episodes_per_task = require_int("episodes_per_task", episodes_per_task)
        self.max_envs = require_int("max_envs", max_envs)
        self.env_kwargs = dict(env_kwargs or {})
        probe = gym.make_vec(env_id, num_envs=1, **self.env_kwargs)
        self.observation_space = probe.single_observation_space
        self.action_space = probe.single_action_space
        self.max_episode_steps: int = self.env_kwargs.get(
            "max_episode_steps", gym.spec(env_id).max_episode_steps
        )
        self.task_distribution: TaskDistribution = probe.unwrapped.task_distribution
        probe.close()
        self._envs: OrderedDict[int, gym.vector.VectorEnv] = OrderedDict()  # least recent first
        self.generator = torch.Generator().manual_seed(0)

    def seed(self, seed: int) -> None:
        """Seed the action noise (envs are seeded per :meth:`sample` call)."""
        self.generator.manual_seed(seed)

    def next_key(self) -> int:
        """Draw the action-noise key of one sampling call from :attr:`generator`."""
        return int(torch.randint(0, 2**63 - 1, (), generator=self.generator))

    def per_task_params(
        self, policy: BatchedPolicy, params: Params | None, num_tasks: int
    ) -> dict[str, torch.Tensor]:
        """Detached parameters with a leading axis of ``num_tasks``; see :meth:`sample`."""
        if num_tasks < 1:
            raise ValueError("need at least one task to sample")
        own = dict(policy.named_parameters())
        params = own if params is None else params
        if set(params) != set(own):
            raise ValueError(
                f"params must have the policy's names {sorted(own)}, got {sorted(params)}"
            )
        stacked = {
            name: (
                p if p.dim() == own[name].dim() + 1 else stack_params({name: p}, num_tasks)[name]
            ).detach()
            for name, p in params.items()
        }
        if any(p.shape[0] != num_tasks for p in stacked.values()):
            raise ValueError(f"per-task params need a leading axis of {num_tasks} (one per task)")
        return stacked

    def _vector_env(self, num_envs: int) -> gym.vector.VectorEnv:
        """The kept vector env of ``num_envs`` sub-envs, made (closing the least recent) if none."""
        if num_envs in self._envs:
            self._envs.move_to_end(num_envs)
        else:
            if len(self._envs) >= self.max_envs:
                self._envs.popitem(last=False)[1].close()
            self._envs[num_envs] = gym.make_vec(self.env_id, num_envs=num_envs, **self.env_kwargs)
        return self._envs[num_envs]

    @torch.no_grad()
    def sample(
        self,
        policy: BatchedPolicy,
        tasks: Sequence[Task],
        params: Params | None = None,
        seed: int | None = None,
    ) -> EpisodeBatch:
        """Run ``E`` episodes of each task with ``policy``.

        Args:
            policy: the policy; ``params`` (if given) replace its own parameters.
            tasks: the ``K`` tasks.
            params: shared parameters (shapes as the policy's) or per-task parameters with a leading
                axis of size ``K`` (e.g. adapted parameters); ``None``: the policy's own.
            seed: seeds the envs (sub-env ``b`` with ``seed + b``); ``None`` continues their streams.
        """
        stacked = self.per_task_params(policy, params, len(tasks))
        return self.rollout(policy, tasks, stacked, seed, self.next_key())

    @torch.no_grad()
    def rollout(
        self,
        policy: BatchedPolicy,
        tasks: Sequence[Task],
        params: Params,
        seed: int | None,
        key: int,
        first: int = 0,
    ) -> EpisodeBatch:
        """The episodes of ``tasks`` as tasks ``first, first + 1, ...`` of a :meth:`sample` call.

        Args:
            policy, seed: as in :meth:`sample` (sub-env ``b`` of the call: ``seed + b``).
            tasks: a contiguous range of the call's ``K`` tasks, starting at task ``first``.
            params: per-task parameters of all ``K`` tasks of the call (leading axis ``K``).
            key: the call's action-noise key (:meth:`next_key`).
            first: index of ``tasks[0]`` among the call's tasks.
        """
        num_tasks, per_task = len(tasks), self.episodes_per_task
        total = next(iter(params.values())).shape[0]
        if not 0 <= first <= first + num_tasks <= total:
            raise ValueError(f"tasks {first}..{first + num_tasks - 1} exceed the {total} of params")
        rows = slice(first, first + num_tasks)
        # Fresh [K, ...] tensors: the same memory layout in every process, hence the same floats.
        params = {
            name: p.clone(memory_format=torch.contiguous_format) for name, p in params.items()
        }
        generators = task_generators(key, range(rows.start, rows.stop))
        num_envs = num_tasks * per_task
        envs = self._vector_env(num_envs)
        obs, _ = envs.reset(
            seed=None if seed is None else seed + first * per_task,
            options={"tasks": [t for t in tasks for _ in range(per_task)]},
        )
        policy_obs = torch.zeros(total, per_task, *obs.shape[1:])
        horizon = self.max_episode_steps
        obs_buf = np.zeros((horizon, num_envs, *obs.shape[1:]), dtype=np.float32)
        action_buf: np.ndarray | None = None
        reward_buf = np.zeros((horizon, num_envs), dtype=np.float32)
        terminated_buf = np.zeros((horizon, num_envs), dtype=bool)
        truncated_buf = np.zeros((horizon, num_envs), dtype=bool)
        mask_buf = np.zeros((horizon, num_envs), dtype=np.float32)
        final_obs = np.zeros_like(obs, dtype=np.float32)
        alive = np.ones(num_envs, dtype=bool)
        success: np.ndarray | None = None
        noise: _ActionNoise | None = None
        steps = 0
        for t in range(horizon):
            obs_buf[t] = obs
            policy_obs[rows] = torch.from_numpy(obs_buf[t]).view(num_tasks, per_task, -1)
            dist = policy.batched(params, policy_obs)
            noise = _action_noise(dist, generators) if noise is None else noise
            actions = _sample_actions(dist, noise(t), rows)
            actions = actions.reshape(num_envs, *self.action_space.shape).numpy()
            if action_buf is None:
                action_buf = np.zeros((horizon, *actions.shape), dtype=actions.dtype)
            action_buf[t] = actions
            obs, reward, terminated, truncated, info = envs.step(actions)
            if "success" in info:
                success = np.zeros(num_envs, dtype=bool) if success is None else success
                success |= alive & (np.asarray(info["success"]) > 0)
            mask_buf[t] = alive
            reward_buf[t] = np.where(alive, reward, 0.0)
            terminated_buf[t] = alive & terminated
            truncated_buf[t] = alive & truncated & ~terminated
            ended = alive & (terminated | truncated)
            final_obs[ended] = obs[ended]
            alive &= ~ended
            steps = t + 1
            if not alive.any():
                break
        # An episode still running at the sampler's horizon counts as truncated there.
        truncated_buf[steps - 1] |= alive
        final_obs[alive] = obs[alive]
        padding = mask_buf[:steps] == 0
        obs_buf[:steps][padding] = 0.0
        action_buf[:steps][padding] = 0
        return EpisodeBatch(
            observations=torch.from_numpy(obs_buf[:steps]),
            actions=torch.from_numpy(action_buf[:steps]),
            rewards=torch.from_numpy(reward_buf[:steps]),
            terminated=torch.from_numpy(terminated_buf[:steps]),
            truncated=torch.from_numpy(truncated_buf[:steps]),
            mask=torch.from_numpy(mask_buf[:steps]),
            final_observations=torch.from_numpy(final_obs),
            task_index=torch.arange(num_tasks).repeat_interleave(per_task),
            success=None if success is None else torch.from_numpy(success.astype(np.float32)),
        )

    def close(self) -> None:
        """Close every vector env this sampler opened."""
        for envs in self._envs.values():
            envs.close()
        self._envs.clear()
