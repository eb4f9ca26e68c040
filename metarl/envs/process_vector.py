"""The generic multi-process vector env of task envs: one task per sub-env, batched stepping.

Simulator families (MuJoCo, Meta-World) use it; the cheap numpy families have native vector envs.

:class:`ProcessVectorEnv` splits its sub-envs into contiguous slices, one per worker process.
Each worker owns real single envs of the family (so resets, seeding and task switching are the
single env's own code) and steps its whole slice with the family's ``step_many``: for the
batched locomotion families, raw ``mujoco.mj_step`` calls and one numpy computation of
observations and rewards. Actions and results travel through shared memory, and a pair of
semaphores per worker announces each command and its answer (a step needs nothing else); a pipe
carries the arguments of other commands (tasks, seeds) and failures. Sub-env ``i`` reset with
``seed + i`` reproduces the single env reset with ``seed + i`` under the same actions and tasks.

Workers start with the ``forkserver`` method (``spawn`` where it is missing): safe when torch or
other threaded libraries are loaded, and quick, since the server has this module imported. A
worker that dies or does not answer within ``timeout`` seconds raises ``RuntimeError`` /
``TimeoutError`` in the caller and closes the env; an exception inside a worker, from unpickling
its arguments on, comes back as :class:`WorkerError` with its type, message and traceback text.
``close()`` stops every worker, as does garbage collection of an env that was never closed.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import pickle
import time
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from metarl.envs.core import (
    check_actions,
    check_tasks,
    require_reset,
    sub_env_seeds,
    tasks_option,
)
from metarl.envs.process_workers import (
    ERROR,
    PIPE,
    STEP,
    SubEnvSlice,
    Worker,
    WorkerError,
    allocate,
    run_worker,
    view,
)
from metarl.envs.task_env import TaskEnv
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

__all__ = ["ProcessVectorEnv", "WorkerError", "default_start_method", "vector_env_class"]

_LIVENESS_SECONDS = 0.05  # how often a waiting parent checks that a worker is alive
_STARTUP_SECONDS = 120.0  # least time given to start the workers and build their envs


def default_start_method() -> str:
    """``forkserver`` where the platform has it, else ``spawn`` (never ``fork``, unsafe with torch)."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


class ProcessVectorEnv(VectorEnv):
    """Vector env of a task-env family whose sub-envs each hold their own task, on worker processes.

    Args:
        num_envs: number of sub-envs.
        max_episode_steps: episode length; the family's ``horizon`` by default.
        tasks: initial task of each sub-env (default task otherwise).
        env_class: the single env class (a :class:`~metarl.envs.task_env.TaskEnv` with ``step_many``,
            ``info_keys`` and ``horizon``, e.g. a ``MujocoTaskEnv`` or ``MetaWorldEnv``);
            subclasses set it as a class attribute instead. Its ``info_keys`` entries of every
            step come back in ``info[key]`` (one float per sub-env).
        num_workers: worker processes; ``0`` steps in this process. Default: ``0`` for one
            sub-env, else ``min(num_envs, os.cpu_count())``.
        start_method: multiprocessing start method; default :func:`default_start_method`.
        timeout: seconds to wait for a worker's answer before raising ``TimeoutError``
            (at least 120 s for starting the workers).
        spin_seconds: how long a worker polls for the next command before sleeping (waking a
            sleeping process is slow on virtual machines); ``0`` sleeps at once.
        **env_kwargs: passed to every single env.

    Tasks are set with ``reset(options={"tasks": [...]})`` (one per sub-env), ``reset(options=
    {"task": t})`` (``t`` in every sub-env) or :meth:`set_tasks`.
    Finished sub-envs reset on the next step (``AutoresetMode.NEXT_STEP``), keeping their task;
    ``terminated`` and ``truncated`` are kept apart. ``info["task_id"]`` holds every sub-env's task id.
    Stepping before the first ``reset`` raises ``gymnasium.error.ResetNeeded``; an env dropped
    without ``close()`` stops its workers when it is garbage-collected.
    """

    env_class: ClassVar[type[TaskEnv]]
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        tasks: Sequence[Task] | None = None,
        *,
        env_class: type[TaskEnv] | None = None,
        num_workers: int | None = None,
        start_method: str | None = None,
        timeout: float = 60.0,
        spin_seconds: float = 2e-4,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ):
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: None")
        env_class = env_class or getattr(type(self), "env_class", None)
        if not (
            isinstance(env_class, type)
            and all(hasattr(env_class, name) for name in ("step_many", "info_keys", "horizon"))
        ):
            raise TypeError(
                "env_class must be a single-env class with the task API, `step_many`, `info_keys` "
                f"and `horizon` (a MujocoTaskEnv or MetaWorldEnv subclass), got {env_class!r}"
            )
        self.env_class = env_class
        self.num_envs = require_int("num_envs", num_envs)
        self.max_episode_steps = require_int(
            "max_episode_steps",
            env_class.horizon if max_episode_steps is None else max_episode_steps,
        )
        if num_workers is None:
            num_workers = 0 if self.num_envs == 1 else min(self.num_envs, os.cpu_count() or 1)
        self.num_workers = min(require_int("num_workers", num_workers, minimum=0), self.num_envs)
        if not (isinstance(timeout, int | float) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        if not (isinstance(spin_seconds, int | float) and 0 <= spin_seconds <= 0.1):
            raise ValueError(f"spin_seconds must be a number in [0, 0.1], got {spin_seconds!r}")
        self.spin_seconds = float(spin_seconds)
        self.render_mode = None
        self.closed = True  # until the workers run
        probe = env_class(**env_kwargs)
        self.single_observation_space = probe.observation_space
        self.single_action_space = probe.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.task_distribution: TaskDistribution = probe.task_distribution
        probe.close()
        self._workers: list[Worker] = []
        self._local: SubEnvSlice | None = None
        self._has_reset = False
        self._start(env_kwargs, start_method)
        self.closed = False
        try:
            self.set_tasks(
                [self.task_distribution.default_task()] * self.num_envs if tasks is None else tasks
            )
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- workers
    def _start(self, env_kwargs: dict[str, Any], start_method: str | None) -> None:
        n = self.num_envs
        shapes = {
            "actions": ((n, *self.single_action_space.shape), self.single_action_space.dtype),
            "observations": (
                (n, *self.single_observation_space.shape),
                self.single_observation_space.dtype,
            ),
            "rewards": ((n,), np.float64),
            "terminated": ((n,), np.bool_),
            "truncated": ((n,), np.bool_),
            "infos": ((n, len(self.env_class.info_keys)), np.float64),
        }
        ctx = None
        if self.num_workers:
            method = start_method or default_start_method()
            if method not in mp.get_all_start_methods():
                raise ValueError(
                    f"start_method {method!r} is not available; allowed: {mp.get_all_start_methods()}"
                )
            ctx = mp.get_context(method)
            if method == "forkserver":
                ctx.set_forkserver_preload(["__main__", __name__])
        arrays = {name: allocate(ctx, *spec) for name, spec in shapes.items()}
        self._buffers = {name: view(*spec) for name, spec in arrays.items()}
        bounds = np.linspace(0, n, max(self.num_workers, 1) + 1).round().astype(int)
        self._rows = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        if not self.num_workers:
            self._local = SubEnvSlice(
                self.env_class, env_kwargs, self._buffers, self._rows[0], self.max_episode_steps
            )
            self._stop = weakref.finalize(self, self._local.close)
            return
        signals = allocate(ctx, (2, self.num_workers), np.dtype(np.int8))
        self._command, self._status = view(*signals)
        # Holds no reference to self: it runs on close() or when the env is garbage-collected.
        self._stop = weakref.finalize(self, _stop_workers, self._workers, self._command)
        try:
            for k, rows in enumerate(self._rows):
                parent, child = ctx.Pipe()
                go, done = ctx.Semaphore(0), ctx.Semaphore(0)
                part = pickle.dumps((self.env_class, env_kwargs, rows, self.max_episode_steps))
                process = ctx.Process(
                    target=run_worker,
                    args=(child, go, done, signals, k, self.spin_seconds, arrays, part),
                    name=f"metarl-{self.env_class.__name__}-worker-{k}",
                    daemon=True,
                )
                process.start()
                child.close()
                self._workers.append(Worker(process, parent, go, done))
            self._wait(max(self.timeout, _STARTUP_SECONDS))
        except BaseException:
            self._stop()
            raise

    def _call(self, method: str, payloads: Sequence[tuple[Any, ...]] | None = None) -> None:
        """Run ``method`` on every slice (``payloads[k]``: the arguments for slice ``k``)."""
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        payloads = payloads or [()] * len(self._rows)
        if self._local is not None:
            getattr(self._local, method)(*payloads[0])
            return
        for k, (worker, payload) in enumerate(zip(self._workers, payloads, strict=True)):
            self._command[k] = STEP if method == "step" else PIPE
            worker.go.release()
            if method != "step":
                try:  # after `go`: the worker reads while we write, whatever the size
                    worker.conn.send((method, payload))
                except (BrokenPipeError, OSError):
                    pass  # a dead worker is reported by _wait
        self._wait()

    def _wait(self, timeout: float | None = None) -> None:
        """Wait for every worker's answer; on failure close the env and raise."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for k, worker in enumerate(self._workers):
            failure = None
            while failure is None and not worker.done.acquire(timeout=_LIVENESS_SECONDS):
                name = f"worker {k} (pid {worker.process.pid}) of {type(self).__name__}"
                if not worker.process.is_alive():
                    failure = RuntimeError(
                        f"{name} died (exit code {worker.process.exitcode}); the env is closed"
                    )
                elif time.monotonic() > deadline:
                    worker.process.kill()  # unresponsive: it would not stop when asked
                    failure = TimeoutError(
                        f"{name} did not answer within {timeout:g} s; the env is closed"
                    )
            if failure is None and self._status[k] == ERROR:
                detail = worker.conn.recv() if worker.conn.poll(timeout) else ("?", "?", "(none)")
                name = f"worker {k} (pid {worker.process.pid}) of {type(self).__name__}"
                failure = WorkerError(name, *detail)
            if failure is not None:
                self.close()
                raise failure

    def close_extras(self, **kwargs: Any) -> None:
        """Stop every worker (see ``_stop_workers``), or close the in-process envs."""
        self._stop()
        self.closed = True

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers (empty when stepping in-process)."""
        return [worker.process.pid for worker in self._workers]

    # ---------------------------------------------------------------- tasks and the Gymnasium API
    @property
    def tasks(self) -> tuple[Task, ...]:
        """The task of each sub-env."""
        return self._tasks

    def set_tasks(self, tasks: Sequence[Task]) -> None:
        """Give sub-env ``i`` the task ``tasks[i]``; takes effect at once (call ``reset`` next)."""
        tasks = check_tasks(tasks, self.num_envs, self.task_distribution)
        self._call("set_tasks", [(tasks[rows],) for rows in self._rows])
        self._tasks = tasks
        task_ids = np.array([t.id for t in tasks], dtype=object)
        task_ids.setflags(write=False)
        self._all_envs = np.ones(self.num_envs, dtype=bool)
        self._info = {"task_id": task_ids, "_task_id": self._all_envs}

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        tasks = tasks_option(options, self.num_envs)
        seeds = sub_env_seeds(seed, self.num_envs) or [None] * self.num_envs
        super().reset(seed=seeds[0])
        if tasks is not None:
            self.set_tasks(tasks)
        self._call("reset", [(seeds[rows],) for rows in self._rows])
        self._has_reset = True
        return self._buffers["observations"].copy(), dict(self._info)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        require_reset(self, self._has_reset)
        self._buffers["actions"][:] = check_actions(
            self.single_action_space, actions, self.action_space.shape, what="actions"
        )
        self._call("step")
        b = self._buffers
        info = dict(self._info)
        for j, key in enumerate(self.env_class.info_keys):
            info[key], info[f"_{key}"] = b["infos"][:, j].copy(), self._all_envs
        return (
            b["observations"].copy(),
            b["rewards"].copy(),
            b["terminated"].copy(),
            b["truncated"].copy(),
            info,
        )


def _stop_workers(workers: Sequence[Worker], command: np.ndarray) -> None:
    """Stop ``workers`` (``command``: their shared command codes): ask politely, then terminate,
    then kill."""
    for k, worker in enumerate(workers):
        if worker.process.is_alive():
            command[k] = PIPE
            worker.go.release()
            try:
                worker.conn.send(("close", ()))
            except (BrokenPipeError, OSError):
                pass
    for worker in workers:
        worker.process.join(1.0)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(1.0)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()


def vector_env_class(env_class: type[TaskEnv]) -> type[ProcessVectorEnv]:
    """The :class:`ProcessVectorEnv` subclass of ``env_class``: ``<Family>VectorEnv``, which a
    registered id names as its ``vector_entry_point`` (so ``env_class`` is a class attribute)."""
    name = env_class.__name__.removesuffix("Env") + "VectorEnv"
    return type(
        name,
        (ProcessVectorEnv,),
        {
            "env_class": env_class,
            "__module__": env_class.__module__,
            "__qualname__": name,
            "__doc__": f"Multi-process vector version of :class:`{env_class.__name__}`.",
        },
    )
