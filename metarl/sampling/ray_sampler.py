"""Multi-task sampling on Ray: the tasks of each call are spread over Ray actors.

:class:`RaySampler` has the local :class:`~metarl.sampling.MultiTaskSampler`'s interface and returns
the same :class:`~metarl.sampling.EpisodeBatch`, equal to the local sampler's for the same seed. The
``K`` tasks of a call are split into contiguous chunks, one per worker (a Ray actor holding a local
sampler, i.e. vector envs for its tasks, and running the batched policy forward itself). The policy
module goes to the object store once, the per-task parameters once per call; every worker reads
them from there.

Exact equality: the local sampler draws task ``k``'s action noise from a generator derived from
``(call key, k)`` and resets sub-env ``b`` with ``seed + b``, so a worker holding tasks
``k0 .. k1 - 1`` resets its vector env with ``seed + k0 * E`` and derives the generators of
``k0 .. k1 - 1`` from the same call key (:meth:`MultiTaskSampler.rollout`). Its policy forward runs
on the call's whole ``[K, ...]`` parameters with its own rows of observations filled in: BLAS
results depend on memory alignment, and only the same tensor layout as the local sampler's gives
the same floats (the forward is cheap next to stepping the envs that make Ray worth using). The
chunks are padded to a common length (zeros, as in the local batch) and concatenated.

Faults: a worker that dies (or, with ``timeout``, does not answer in time) is replaced and its chunk
re-collected with the same seeds and keys, so the batch is unchanged (for calls with a ``seed``, as
the meta-learner's and the evaluation's; with ``seed=None`` the replacement's envs start new
streams). After ``max_retries`` failures of one chunk in one call, ``RuntimeError`` names the tasks
and the worker. :meth:`RaySampler.close` stops the workers and shuts Ray down if this sampler
started or connected it.

>>> sampler = RaySampler("metarl/Navigation2D-v0", episodes_per_task=20, workers=4)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from metarl.sampling.batch import BatchedPolicy, EpisodeBatch, Params
from metarl.sampling.local import MultiTaskSampler, params_device
from metarl.tasks import Task
from metarl.validation import require_int

try:
    import ray
    import ray.exceptions
    from ray.actor import ActorHandle
    from ray.exceptions import ObjectLostError, RayActorError, RayError
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise ImportError("the Ray sampler needs Ray: pip install 'metarl[ray]'") from err

__all__ = ["WORKER_FAILURES", "RaySampler"]

logger = logging.getLogger(__name__)

# An actor unreachable for a while (newer Ray versions): treated as dead, it may never come back.
_UNAVAILABLE: tuple[type[Exception], ...] = tuple(
    e for e in [getattr(ray.exceptions, "ActorUnavailableError", None)] if e is not None
)
WORKER_FAILURES: tuple[type[Exception], ...] = (RayActorError, ObjectLostError, *_UNAVAILABLE)
"""Errors that mean a worker (or its node) is gone: the worker is replaced and its tasks retried."""

_CLOSE_TIMEOUT = 10.0  # seconds the workers get to close their envs before they are killed


class _SamplerWorker:
    """Body of a Ray actor: a local sampler for a contiguous chunk of a call's tasks."""

    def __init__(self, env_id: str, episodes_per_task: int, env_kwargs: Mapping[str, Any]):
        self._sampler = MultiTaskSampler(env_id, episodes_per_task, env_kwargs)

    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def sample(
        self,
        policy: BatchedPolicy,
        params: Params,
        tasks: Sequence[Task],
        first: int,
        seed: int | None,
        key: int,
    ) -> EpisodeBatch:
        """Episodes of ``tasks``, tasks ``first, first + 1, ...`` of the call (see
        :meth:`MultiTaskSampler.rollout`; ``params`` hold all the call's tasks)."""
        return self._sampler.rollout(policy, tasks, params, seed, key, first)

    def close(self) -> None:
        """Close the worker's envs."""
        self._sampler.close()


_RemoteWorker = ray.remote(num_cpus=1, max_restarts=0)(_SamplerWorker)


def _concatenate(batches: Sequence[EpisodeBatch]) -> EpisodeBatch:
    """Join the batches of consecutive task chunks, zero-padding them to a common length."""
    steps = max(batch.mask.shape[0] for batch in batches)

    def joined(name: str) -> torch.Tensor:
        parts = []
        for batch in batches:
            value = getattr(batch, name)
            pad = value.new_zeros((steps - value.shape[0], *value.shape[1:]))
            parts.append(torch.cat([value, pad]))
        return torch.cat(parts, dim=1)

    offsets = np.cumsum([0] + [batch.num_tasks for batch in batches[:-1]])
    return EpisodeBatch(
        observations=joined("observations"),
        actions=joined("actions"),
        rewards=joined("rewards"),
        terminated=joined("terminated"),
        truncated=joined("truncated"),
        mask=joined("mask"),
        final_observations=torch.cat([batch.final_observations for batch in batches]),
        task_index=torch.cat(
            [batch.task_index + int(o) for batch, o in zip(batches, offsets, strict=True)]
        ),
        success=None
        if batches[0].success is None
        else torch.cat([batch.success for batch in batches]),
    )


class RaySampler(MultiTaskSampler):
    """Collect ``episodes_per_task`` episodes per task on ``workers`` Ray actors.

    Args:
        env_id: a registered family id (importable on every node: install metarl there too).
        episodes_per_task: ``E``, episodes collected per task and call.
        env_kwargs: passed to ``gymnasium.make_vec`` in every worker.
        workers: Ray actors (one CPU each); a call's tasks are split evenly over them.
        address: Ray cluster to connect to (``"HOST:6379"``, ``"auto"``); ``None`` starts a local
            Ray instance with ``max(workers, cpu_count)`` CPUs. Ignored if Ray is already initialised
            in this process (the sampler then leaves Ray running on :meth:`close`).
        max_retries: re-collections of one chunk of tasks per call after its worker failed.
        timeout: seconds a worker may take for its chunk before it counts as failed; ``None``: no
            limit (a dead worker is still detected at once).

    Ray is started and the workers are created at the first :meth:`sample` (or :meth:`start`).
    """

    def __init__(
        self,
        env_id: str,
        episodes_per_task: int,
        env_kwargs: Mapping[str, Any] | None = None,
        workers: int = 2,
        address: str | None = None,
        max_retries: int = 3,
        timeout: float | None = None,
    ):
        super().__init__(env_id, episodes_per_task, env_kwargs)
        self.workers = require_int("workers", workers)
        if address is not None and (not isinstance(address, str) or not address):
            raise ValueError(f"address must be a non-empty string or None, got {address!r}")
        self.address = address
        self.max_retries = require_int("max_retries", max_retries, minimum=0)
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        self.timeout = timeout
        self.restarts = 0
        """Workers replaced after a failure, over the sampler's life."""
        self._actors: list[ActorHandle] = []
        self._owns_ray = False
        self._policy: BatchedPolicy | None = None
        self._policy_ref: ray.ObjectRef | None = None
        self._pending: dict[ray.ObjectRef, int] = {}  # results of the current call, by worker

    # ------------------------------------------------------------------ workers
    def start(self) -> None:
        """Connect to (or start) Ray and create the workers, if not done yet."""
        if self._actors:
            return
        if not ray.is_initialized():
            if self.address is None:
                num_cpus = max(self.workers, os.cpu_count() or 1)
                logger.info("starting a local Ray instance with %d CPUs", num_cpus)
                ray.init(address="local", num_cpus=num_cpus)
            else:
                logger.info("connecting to the Ray cluster at %s", self.address)
                try:
                    ray.init(address=self.address)
                except ConnectionError as err:
                    raise ConnectionError(
                        f"cannot reach a Ray cluster at {self.address!r}: is `ray start --head` "
                        "running there? With token authentication set RAY_AUTH_MODE=token and "
                        "the cluster's token (RAY_AUTH_TOKEN or ~/.ray/auth_token) here too"
                    ) from err
            self._owns_ray = True
        elif self.address is not None:
            logger.warning("Ray is already initialised here; address %r is not used", self.address)
        self._actors = [self._new_worker() for _ in range(self.workers)]

    def _new_worker(self) -> ActorHandle:
        return _RemoteWorker.options(scheduling_strategy="SPREAD").remote(
            self.env_id, self.episodes_per_task, self.env_kwargs
        )

    def worker_pids(self) -> list[int]:
        """Process ids of the workers (starting them if needed)."""
        self.start()
        return ray.get([actor.pid.remote() for actor in self._actors])

    def _replace(self, slot: int) -> None:
        try:
            ray.kill(self._actors[slot], no_restart=True)
        except RayError as err:  # already gone: nothing to stop
            logger.debug("killing failed worker %d: %s", slot, err)
        self._actors[slot] = self._new_worker()
        self.restarts += 1

    # ------------------------------------------------------------------ sampling
    def _submit(
        self,
        slot: int,
        params_ref: ray.ObjectRef,
        tasks: Sequence[Task],
        first: int,
        seed: int | None,
        key: int,
    ) -> ray.ObjectRef:
        """Send tasks ``first, ...`` of a call to worker ``slot``; the reference to its batch."""
        return self._actors[slot].sample.remote(
            self._policy_ref, params_ref, tasks, first, seed, key
        )

    @torch.no_grad()
    def sample(
        self,
        policy: BatchedPolicy,
        tasks: Sequence[Task],
        params: Params | None = None,
        seed: int | None = None,
    ) -> EpisodeBatch:
        """Run ``E`` episodes of each task with ``policy``, exactly as
        :meth:`MultiTaskSampler.sample` (same arguments, same batch) but on the workers."""
        tasks = list(tasks)
        stacked = self.per_task_params(policy, params, len(tasks))
        key = self.next_key()
        self.start()
        if policy is not self._policy:  # the module itself only carries the architecture
            self._policy, self._policy_ref = policy, ray.put(copy.deepcopy(policy).cpu())
        params_ref = ray.put(stacked)
        split = np.array_split(np.arange(len(tasks)), min(self.workers, len(tasks)))
        chunks = [(int(c[0]), int(c[-1]) + 1) for c in split]
        results: list[EpisodeBatch | None] = [None] * len(chunks)
        failures = [0] * len(chunks)
        pending, deadlines = self._pending, {}
        pending.clear()

        def submit(slot: int) -> None:
            first, stop = chunks[slot]
            ref = self._submit(slot, params_ref, tasks[first:stop], first, seed, key)
            pending[ref] = slot
            if self.timeout is not None:
                deadlines[ref] = time.monotonic() + self.timeout

        for slot in range(len(chunks)):
            submit(slot)
        while pending:
            wait = None if not deadlines else max(0.0, min(deadlines.values()) - time.monotonic())
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=wait)
            ref = ready[0] if ready else min(deadlines, key=deadlines.__getitem__)
            slot = pending.pop(ref)
            deadlines.pop(ref, None)
            if ready:
                try:
                    results[slot] = ray.get(ref)
                    continue
                except WORKER_FAILURES as err:
                    reason = f"{type(err).__name__}: {next(iter(str(err).splitlines()), '')}"
            else:
                reason = f"no result within timeout={self.timeout} s"
            failures[slot] += 1
            first, stop = chunks[slot]
            if failures[slot] > self.max_retries:
                raise RuntimeError(
                    f"Ray sampler gave up on tasks {first}..{stop - 1} of {len(tasks)} "
                    f"({self.env_id}): worker {slot} failed {failures[slot]} times "
                    f"(max_retries={self.max_retries}); last failure: {reason}"
                )
            logger.warning(
                "Ray sampler: worker %d failed on tasks %d..%d (%s); replacing it and "
                "re-collecting them (retry %d of %d)",
                slot,
                first,
                stop - 1,
                reason,
                failures[slot],
                self.max_retries,
            )
            self._replace(slot)
            submit(slot)
        batch = _concatenate([batch for batch in results if batch is not None])
        return batch.to(params_device(policy, params))

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stop the workers and shut Ray down if this sampler started (or connected) it.

        Idle workers first close their envs; after an interrupted or failed call they are killed
        at once (their env processes exit with them).
        """
        actors, self._actors = self._actors, []
        self._policy = self._policy_ref = None
        if actors and not self._pending:
            try:
                ray.get([actor.close.remote() for actor in actors], timeout=_CLOSE_TIMEOUT)
            except (RayError, TimeoutError) as err:  # a dead or stuck worker: killed below
                logger.debug("closing the Ray workers: %s", err)
        self._pending.clear()
        for actor in actors:
            try:
                ray.kill(actor, no_restart=True)
            except RayError as err:
                logger.debug("killing a Ray worker: %s", err)
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False
        super().close()
