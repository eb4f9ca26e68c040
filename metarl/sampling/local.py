"""Multi-task episode sampling into :class:`EpisodeBatch`.

:class:`MultiTaskSampler` runs one vector env with one sub-env per episode: ``K`` tasks x ``E``
episodes step together, and each env step makes one batched policy forward for all tasks, each
with its own (possibly adapted) parameters.

Reproducible when split: each call draws one key from :attr:`MultiTaskSampler.generator`, and
task ``k`` of the call draws its action noise from its own generator seeded from ``(key, k)``
(:func:`task_generators`); sub-env ``b`` is reset with ``seed + b``; the policy forward always runs
on freshly allocated ``[K, ...]`` tensors of the whole call. :meth:`MultiTaskSampler.rollout` can
therefore collect any contiguous range of a call's tasks (as :mod:`metarl.sampling.ray_sampler`'s workers
do) and produce exactly those tasks' episodes of the whole call. (The forward covers all ``K``
tasks even for a range because BLAS results depend on memory alignment: a smaller batch gives
last-bit differences that grow over an episode.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from metarl.envs.registration import import_env, require_task_api
from metarl.sampling.batch import BatchedPolicy, EpisodeBatch, Params, stack_params
from metarl.sampling.noise import ActionNoise, action_noise, sample_actions, task_generators
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

__all__ = ["MultiTaskSampler", "params_device"]


def params_device(policy: BatchedPolicy, params: Params | None) -> torch.device:
    """The device of ``params`` (default: of the policy's own parameters)."""
    source = dict(policy.named_parameters()) if params is None else params
    return next(iter(source.values())).device


class MultiTaskSampler:
    """Collect ``episodes_per_task`` episodes for each of a list of tasks.

    Args:
        env_id: a registered family id (``"metarl/Navigation2D-v0"``), or ``"module:id"`` to
            import the module that registers it first.
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
        try:
            require_task_api(probe, env_id)
        finally:
            probe.close()
        self.observation_space = probe.single_observation_space
        self.action_space = probe.single_action_space
        self.max_episode_steps: int = self.env_kwargs.get(
            "max_episode_steps", gym.spec(import_env(env_id)).max_episode_steps
        )
        self.task_distribution: TaskDistribution = probe.unwrapped.task_distribution
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
        """Detached CPU parameters with a leading axis of ``num_tasks``; see :meth:`sample`."""
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
            ).detach().cpu()
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

        The episodes run on the CPU whatever device the parameters live on; the batch comes back
        on the parameters' device (where the agent trains).
        """
        stacked = self.per_task_params(policy, params, len(tasks))
        batch = self.rollout(policy, tasks, stacked, seed, self.next_key())
        return batch.to(params_device(policy, params))

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
        noise: ActionNoise | None = None
        steps = 0
        for t in range(horizon):
            obs_buf[t] = obs
            policy_obs[rows] = torch.from_numpy(obs_buf[t]).view(num_tasks, per_task, -1)
            dist = policy.batched(params, policy_obs)
            noise = action_noise(dist, generators) if noise is None else noise
            actions = sample_actions(dist, noise(t), rows)
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
