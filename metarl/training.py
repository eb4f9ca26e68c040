"""Meta-training runs: a run folder with config, metrics, TensorBoard events and checkpoints.

Layout of a run folder::

    config.yaml              the resolved config
    metrics.csv              one row per meta-iteration
    tb/                      TensorBoard events (same scalars)
    checkpoints/last.pt      written every ``checkpoint_every`` iterations and at the end
    checkpoints/best.pt      the iteration with the best post-update return
    eval/                    written by ``metarl evaluate``

``train(config, out)`` starts a run; ``resume(out)`` continues a stopped one from ``last.pt`` and
produces the same later metrics as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from metarl.agents import MetaLearner
from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.config import TrainConfig, build_learner, load_config

__all__ = ["RunFolder", "load_run", "resume", "train"]

logger = logging.getLogger(__name__)

TIMING_PREFIX = "time_"


class RunFolder:
    """Paths of a run folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.metrics = self.root / "metrics.csv"
        self.tensorboard = self.root / "tb"
        self.last = self.root / "checkpoints" / "last.pt"
        self.best = self.root / "checkpoints" / "best.pt"
        self.eval = self.root / "eval"


def _checkpoint_state(learner: MetaLearner, config: TrainConfig, best: float) -> dict[str, Any]:
    distribution = learner.sampler.task_distribution
    return {
        "learner": learner.state_dict(),
        "config": config.to_dict(),
        "iteration": learner.iteration,
        "best_post_return": best,
        "torch_rng": torch.get_rng_state(),
        "splits": {
            name: [t.id for t in distribution.split(name).tasks]
            for name in distribution.split_names
            if name != "train"
        },
    }


def load_run(root: str | Path, checkpoint: str = "last") -> tuple[TrainConfig, MetaLearner]:
    """The config and learner of a run folder, restored from ``checkpoints/<checkpoint>.pt``."""
    config, learner, _ = _restore(root, checkpoint)
    return config, learner


def _restore(
    root: str | Path, checkpoint: str
) -> tuple[TrainConfig, MetaLearner, dict[str, Any]]:
    """:func:`load_run`, plus the checkpoint's state (read once)."""
    folder = RunFolder(root)
    if not folder.config.is_file():
        raise CheckpointError(f"{folder.root} is not a run folder: {folder.config} is missing")
    config = load_config(folder.config)
    path = {"last": folder.last, "best": folder.best}.get(checkpoint)
    if path is None:
        raise ValueError(f"checkpoint must be 'last' or 'best', got {checkpoint!r}")
    state = load_checkpoint(path, required=("learner", "config", "iteration", "torch_rng"))
    # Compared as configs, so keys added to TrainConfig later (with defaults) do not matter.
    if TrainConfig.from_dict(state["config"]) != config:
        raise CheckpointError(f"{path} was written by a different config than {folder.config}")
    learner = build_learner(config)
    learner.load_state_dict(state["learner"])
    torch.set_rng_state(state["torch_rng"])
    return config, learner, state


def train(config: TrainConfig, out: str | Path, progress: bool = True) -> MetaLearner:
    """Start a run in the new or empty folder ``out``; returns the trained learner."""
    folder = RunFolder(out)
    if folder.config.exists():
        raise FileExistsError(
            f"{folder.root} already holds a run; continue it with resume() / --resume, "
            "or choose another --out"
        )
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.config.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    learner = build_learner(config)
    return _run(config, learner, folder, best=-np.inf, progress=progress)


def resume(out: str | Path, progress: bool = True) -> MetaLearner:
    """Continue the run in ``out`` from its last checkpoint."""
    folder = RunFolder(out)
    config, learner, state = _restore(folder.root, "last")
    best = float(state["best_post_return"])
    _truncate_metrics(folder.metrics, learner.iteration)
    logger.info("resuming %s at iteration %d", folder.root, learner.iteration)
    return _run(config, learner, folder, best=best, progress=progress)


def _truncate_metrics(path: Path, iteration: int) -> None:
    """Drop rows written after the checkpoint (the run may have stopped between the two)."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [row for row in rows if int(float(row["iteration"])) <= iteration]
    with open(path, "w", newline="") as f:
        if kept:
            writer = csv.DictWriter(f, fieldnames=list(kept[0]))
            writer.writeheader()
            writer.writerows(kept)


def _run(
    config: TrainConfig, learner: MetaLearner, folder: RunFolder, best: float, progress: bool
) -> MetaLearner:
    from torch.utils.tensorboard import SummaryWriter

    train_tasks = learner.sampler.task_distribution.split("train")
    writer = SummaryWriter(str(folder.tensorboard), purge_step=learner.iteration + 1)
    bar = tqdm(
        total=config.iterations, initial=learner.iteration, disable=not progress,
        desc=f"{config.outer} on {config.env}",
    )
    try:
        while learner.iteration < config.iterations:
            rng = np.random.default_rng([config.seed, learner.iteration])
            metrics = learner.meta_step(train_tasks.sample(config.meta_batch_size, seed=rng))
            _append_metrics(folder.metrics, metrics)
            for key, value in metrics.items():
                if key != "iteration":
                    writer.add_scalar(key, value, learner.iteration)
            bar.update(1)
            bar.set_postfix(pre=f"{metrics['pre_return']:.2f}", post=f"{metrics['post_return']:.2f}")
            if metrics["post_return"] > best:
                best = metrics["post_return"]
                save_checkpoint(_checkpoint_state(learner, config, best), folder.best)
            if learner.iteration % config.checkpoint_every == 0 or (
                learner.iteration == config.iterations
            ):
                save_checkpoint(_checkpoint_state(learner, config, best), folder.last)
    finally:
        bar.close()
        writer.close()
        learner.sampler.close()
    return learner


def _append_metrics(path: Path, metrics: dict[str, float]) -> None:
    new = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(metrics))
        if new:
            writer.writeheader()
        writer.writerow(metrics)
