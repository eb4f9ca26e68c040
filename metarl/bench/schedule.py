"""Which jobs a ``metarl bench run`` holds, and where they run: one after another in this process,
or each as a Ray task (on a local Ray instance, or on a cluster).

A job whose result file exists is skipped; a job that stopped continues from its run folder's
last checkpoint. Result files are written here, by the caller, as each job finishes; the run
folders are written where a job runs (on a cluster: give ``--out`` a folder every node shares).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metarl.bench.results import result_path, write_result
from metarl.bench.runner import Job, run_job
from metarl.bench.suite import Suite

__all__ = ["plan", "run_jobs"]

logger = logging.getLogger(__name__)

Done = Callable[[Job, bool], None]
"""Called once per job: the job, and whether it was skipped (its result file existed)."""


def plan(
    suite: Suite,
    cells: Sequence[str],
    budget: str,
    seeds: Sequence[int] | None,
    out: str | Path,
    results: str | Path,
) -> list[Job]:
    """The jobs of ``cells`` (all for none) at ``budget``, for ``seeds`` (default: each cell's),
    with run folders ``<out>/<cell>/<budget>-seed<k>``.

    Raises:
        SuiteError: an unknown cell, a cell without ``budget``, or a seed the config refuses.
    """
    command = tuple(sys.argv)
    jobs = []
    for cell in suite.select(cells):
        cell_seeds = cell.seeds if seeds is None else list(dict.fromkeys(seeds))
        for seed in cell_seeds:  # a missing budget or a bad seed: before any job runs
            cell.train_config(budget, seed)
        for seed in cell_seeds:
            jobs.append(
                Job(
                    cell=cell, budget=budget, seed=seed, suite_version=suite.version,
                    run_dir=Path(out) / cell.name / f"{budget}-seed{seed}",
                    result_path=result_path(results, cell.name, budget, seed),
                    workdir=Path.cwd(), command=command,
                )
            )
    return jobs


def run_jobs(
    jobs: Sequence[Job], done: Done, ray: bool = False, ray_address: str | None = None
) -> None:
    """Run the ``jobs`` whose result file is missing and write each result; ``done`` hears of
    every job. With ``ray`` (or a ``ray_address``), each job is a Ray task of one CPU."""
    pending = []
    for job in jobs:
        if (job.workdir / job.result_path).is_file():
            done(job, True)
        else:
            pending.append(job)
    if not pending:
        return
    if ray or ray_address is not None:
        _run_on_ray(pending, done, ray_address)
        return
    for job in pending:
        _finish(job, run_job(job), done)


def _finish(job: Job, record: dict[str, Any], done: Done) -> None:
    write_result(job.workdir / job.result_path, record)
    done(job, False)


@contextmanager
def _ray_session(address: str | None) -> Iterator[Any]:
    """Ray, started here (``address`` ``None``: a local instance with this machine's CPUs) or
    joined (a cluster's address) for the ``with`` block; one already running is used and left
    running."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    if address is None:
        ray.init(address="local", num_cpus=os.cpu_count() or 1)
    else:
        try:
            ray.init(address=address)
        except ConnectionError as err:
            raise ConnectionError(
                f"cannot reach a Ray cluster at {address!r}: is `ray start --head` running there?"
            ) from err
    try:
        yield ray
    finally:
        ray.shutdown()


def _run_on_ray(jobs: Sequence[Job], done: Done, address: str | None) -> None:
    """Run ``jobs`` as Ray tasks; each result is written as its task finishes. A task's error is
    raised as itself (the results written so far stay; a rerun continues the others)."""
    with _ray_session(address) as ray:
        from ray.exceptions import RayTaskError

        task = ray.remote(num_cpus=1, max_retries=0)(run_job)
        running = {task.remote(job): job for job in jobs}
        logger.info("%d jobs submitted to Ray", len(running))
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            job = running.pop(ref)
            try:
                record = ray.get(ref)
            except RayTaskError as err:
                cause = err.cause if isinstance(err.cause, Exception) else err
                raise cause from None
            _finish(job, record, done)
