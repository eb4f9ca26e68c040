"""The worker side of :class:`~metarl.envs.process_vector.ProcessVectorEnv`: each worker process
owns real single envs of a contiguous slice of sub-envs and steps them with the family's
``step_many``; actions and results travel through shared-memory buffers, and a pair of
semaphores per worker announces each command and its answer."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import time
import traceback
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from metarl.envs.task_env import TaskEnv
from metarl.tasks import Task

__all__ = [
    "BUFFERS",
    "ERROR",
    "OK",
    "PIPE",
    "STEP",
    "SubEnvSlice",
    "Worker",
    "WorkerError",
    "allocate",
    "run_worker",
    "view",
]

BUFFERS = ("actions", "observations", "rewards", "terminated", "truncated", "infos")
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


class WorkerError(RuntimeError):
    """An exception raised inside a worker process, re-raised in the parent (which closed the env).

    ``exc_type``, ``exc_message`` and ``worker_traceback`` hold the worker's exception type name,
    its message and its traceback text; the error's message includes all three.
    """

    def __init__(self, where: str, exc_type: str, exc_message: str, worker_traceback: str):
        super().__init__(
            f"{where} failed with {exc_type}: {exc_message}; the env is closed. "
            f"Worker traceback:\n{worker_traceback}"
        )
        self.exc_type, self.exc_message = exc_type, exc_message
        self.worker_traceback = worker_traceback


def _failure(err: BaseException) -> tuple[str, str, str]:
    """What a worker sends the parent about ``err``: type name, message, traceback text."""
    kind = type(err)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return name, str(err), "".join(traceback.format_exception(err))


class Worker(NamedTuple):
    process: Any
    conn: Any  # pipe for commands with arguments, and failures
    go: Any  # semaphore: a command is ready
    done: Any  # semaphore: the answer is ready


class SubEnvSlice:
    """The sub-envs ``rows`` of a vector env, stepped together (inside a worker or in-process)."""

    def __init__(
        self,
        env_class: type[TaskEnv],
        env_kwargs: dict[str, Any],
        buffers: dict[str, np.ndarray],
        rows: slice,
        max_episode_steps: int,
    ):
        self.envs = [env_class(**env_kwargs) for _ in range(rows.stop - rows.start)]
        self.step_many = env_class.step_many
        for name in BUFFERS:
            setattr(self, name, buffers[name][rows])
        self.max_episode_steps = max_episode_steps
        self.steps = np.zeros(len(self.envs), dtype=np.int64)
        self.done = np.zeros(len(self.envs), dtype=bool)

    def set_tasks(self, tasks: Sequence[Task]) -> None:
        for env, task in zip(self.envs, tasks, strict=True):
            env.set_task(task)

    def reset(self, seeds: Sequence[int | None]) -> None:
        for i, (env, seed) in enumerate(zip(self.envs, seeds, strict=True)):
            self.observations[i] = env.reset(seed=seed)[0]
        self.rewards[:] = 0.0
        self.terminated[:] = False
        self.truncated[:] = False
        self.infos[:] = 0.0
        self.steps[:] = 0
        self.done[:] = False

    def _store(self, rows: slice | np.ndarray, envs: Sequence[Any]) -> None:
        """Step ``envs`` (the sub-envs ``rows``) and write their results into the buffers."""
        results = self.step_many(envs, self.actions[rows])
        for name, value in zip(
            ("observations", "rewards", "terminated", "infos"), results, strict=True
        ):
            getattr(self, name)[rows] = value
        self.steps[rows] += 1

    def step(self) -> None:
        if not self.done.any():
            self._store(slice(None), self.envs)
        else:  # NEXT_STEP autoreset: sub-envs that finished last step only reset now
            active = np.flatnonzero(~self.done)
            if active.size:
                self._store(active, [self.envs[i] for i in active])
            for i in np.flatnonzero(self.done):
                self.observations[i] = self.envs[i].reset()[0]
                self.rewards[i] = 0.0
                self.terminated[i] = False
                self.infos[i] = 0.0
                self.steps[i] = 0
        np.greater_equal(self.steps, self.max_episode_steps, out=self.truncated)
        np.logical_or(self.terminated, self.truncated, out=self.done)

    def close(self) -> None:
        for env in self.envs:
            env.close()


STEP, PIPE = 1, 2  # commands: step the slice, or read (method, args) from the pipe
OK, ERROR = 1, 2  # statuses; an error's _failure() follows on the pipe


def run_worker(
    conn: Any,
    go: Any,
    done: Any,
    signals: tuple[Any, tuple[int, ...], str],
    k: int,
    spin_seconds: float,
    arrays: dict[str, tuple[Any, tuple[int, ...], str]],
    part: bytes,
) -> None:
    """Worker process ``k``: build the slice, then run commands until "close".

    ``part`` is the pickled ``(env_class, env_kwargs, rows, max_episode_steps)`` of its slice,
    unpickled here so that a failure to rebuild it (an import error, say) reaches the parent too.

    Each command is announced by ``go``; its code (step, or a method on the pipe) and the status
    of its answer live in the shared ``signals`` array; ``done`` announces the answer. Semaphores
    wake a process several times faster than pipes, which matters at a few ms per step.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and closes us
    command, status = view(*signals)
    parent = mp.parent_process()
    try:
        env_class, env_kwargs, rows, max_episode_steps = pickle.loads(part)
        buffers = {name: view(*spec) for name, spec in arrays.items()}
        envs = SubEnvSlice(env_class, env_kwargs, buffers, rows, max_episode_steps)
        status[k] = OK
    except BaseException as err:  # SystemExit too: the parent must learn why
        status[k] = ERROR
        conn.send(_failure(err))
        done.release()
        return
    done.release()
    while True:
        if not _acquire(go, spin_seconds):
            if parent is not None and not parent.is_alive():
                return  # orphaned
            continue
        try:
            if command[k] == STEP:
                envs.step()
            else:
                method, payload = conn.recv()
                if method == "close":
                    envs.close()
                    return
                getattr(envs, method)(*payload)
            status[k] = OK
        except Exception as err:
            status[k] = ERROR
            conn.send(_failure(err))
        done.release()


def _acquire(semaphore: Any, spin_seconds: float) -> bool:
    """Acquire ``semaphore`` within a second; poll it for ``spin_seconds`` before sleeping.

    Waking a sleeping process can take up to a millisecond on a virtual machine, as long as
    stepping a slice; a worker that polls briefly after its answer takes the next step at once.
    """
    if spin_seconds > 0:
        start = time.perf_counter()
        while time.perf_counter() - start < spin_seconds:
            if semaphore.acquire(False):
                return True
            _yield()  # let the parent (or anything else) run first
    return semaphore.acquire(timeout=1.0)


def view(raw: Any, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)


def allocate(
    ctx: Any, shape: tuple[int, ...], dtype: np.dtype
) -> tuple[Any, tuple[int, ...], str]:
    nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
    raw = ctx.RawArray("b", nbytes) if ctx is not None else bytearray(nbytes)
    return raw, tuple(shape), np.dtype(dtype).str


