"""One job of the suite: train a cell at a budget for one seed into its run folder (resuming it
where it stopped), evaluate it, and return its result record."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metarl.bench.results import evaluation_summary, result_record
from metarl.bench.suite import Cell
from metarl.provenance import provenance, utc_now

if TYPE_CHECKING:
    from metarl.evaluation import EvaluationResult

__all__ = ["BenchError", "Job", "run_job"]

logger = logging.getLogger(__name__)


class BenchError(ValueError):
    """A job cannot run as asked (its run folder holds another config's run)."""


@dataclass(frozen=True)
class Job:
    """Train and evaluate ``cell`` at ``budget`` for ``seed`` in ``run_dir``; its result goes to
    ``result_path``. Relative paths are taken from ``workdir`` (the folder the command ran in),
    so that a job means the same in a Ray worker."""

    cell: Cell
    budget: str
    seed: int
    suite_version: int
    run_dir: Path
    result_path: Path
    workdir: Path
    command: tuple[str, ...]  # the command line that started the suite's jobs

    def describe(self) -> str:
        """``cell budget seed k``, for progress lines."""
        return f"{self.cell.name} {self.budget} seed {self.seed}"


def _train(job: Job, run: Path) -> None:
    """Train ``job``'s config into ``run``: continue a run that has a checkpoint, start over one
    that stopped before its first, start a new one otherwise.

    Raises:
        BenchError: ``run`` holds a run of another config (the suite changed since).
    """
    from metarl.runs.config import load_config
    from metarl.runs.folder import RunFolder
    from metarl.runs.train import resume, train

    config = job.cell.train_config(job.budget, job.seed)
    folder = RunFolder(run)
    if not folder.last.is_file():
        train(config, run, progress=False, overwrite=folder.marker.is_file())
        return
    held = load_config(folder.config, trusted=False)
    if held != config:
        ours, theirs = config.to_dict(), held.to_dict()
        keys = [key for key in ours if ours[key] != theirs.get(key)]
        raise BenchError(
            f"{run} holds a run of another config than {job.describe()} (differing in {keys}); "
            "delete that folder to start over, or pass another --out"
        )
    logger.info("%s: continuing %s", job.describe(), run)
    resume(run, progress=False)


def _evaluate(job: Job, run: Path) -> EvaluationResult:
    """Evaluate the run in ``run`` with the cell's settings; its ``eval.json``, ``eval.csv`` and
    plot are written to the run folder too."""
    from metarl.files import hold_lock
    from metarl.runs.evaluate import evaluate_run, output_folders
    from metarl.runs.folder import LOCK

    settings = job.cell.evaluation
    result = evaluate_run(
        run, settings.split, settings.tasks, settings.steps, settings.episodes,
        settings.comparisons, seed=job.seed, evaluation_episodes=settings.evaluation_episodes,
    )
    folder = output_folders(run, settings.split)[0]
    folder.mkdir(parents=True, exist_ok=True)
    with hold_lock(folder / LOCK, f"the evaluation in {folder}"):
        result.write(folder)
    return result


def run_job(job: Job) -> dict[str, Any]:
    """Train (or continue) and evaluate ``job``; its result record
    (:func:`~metarl.bench.results.result_record`), which the caller writes."""
    from metarl.bench.training import training_curve
    from metarl.runs.folder import RunFolder
    from metarl.runs.metrics import last_value

    started, clock = utc_now(), time.perf_counter()
    run = job.workdir / job.run_dir
    logger.info("%s: training in %s", job.describe(), run)
    _train(job, run)
    logger.info("%s: evaluating", job.describe())
    result = _evaluate(job, run)
    timings = {
        "train_s": last_value(RunFolder(run).metrics, "time_total"),
        "evaluate_s": result.provenance["wall_s"],
    }
    return result_record(
        job.cell, job.budget, job.seed, job.suite_version, evaluation_summary(result), timings,
        provenance(
            result.provenance["config"], {"train": job.seed, "evaluation": job.seed}, started,
            time.perf_counter() - clock, job.command,
        ),
        training_curve(RunFolder(run).metrics),
    )
