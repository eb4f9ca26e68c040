"""Meta-training runs: a run folder with config, metrics, TensorBoard events and checkpoints.

Layout of a run folder::

    .metarl-run              marker: metarl made this folder (see metarl.runs.folder)
    config.yaml              the resolved config
    metrics.csv              one row per meta-iteration
    tb/                      TensorBoard events (same scalars)
    checkpoints/last.pt      written every ``checkpoint_every`` iterations and at the end
    checkpoints/best.pt      the iteration with the best post-update return
    eval/                    written by ``metarl evaluate``
    baselines/               SB3-trained comparison agents cached by ``metarl evaluate``

Every file is written through :func:`metarl.files.atomic_write` (temp file, fsync, rename).

``train(config, out)`` starts a run; ``resume(out)`` continues a stopped one from ``last.pt`` and
produces the same later metrics as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.files import atomic_write_text
from metarl.runs.build import build
from metarl.runs.config import ConfigError, TrainConfig, load_config, require_imported
from metarl.runs.describe import check_spaces, check_state, env_spaces
from metarl.runs.folder import RunFolder, config_header
from metarl.runs.kinds import Trainer, agent_kind
from metarl.runs.metrics import (
    append_metrics,
    last_value,
    metrics_text,
    read_metrics,
    tensorboard_tag,
)

__all__ = ["checkpoint_path", "load_run", "resume", "train"]

logger = logging.getLogger(__name__)

def _checkpoint_state(
    learner: Trainer, config: TrainConfig, run_id: str | None, best: float, spaces: dict[str, Any]
) -> dict[str, Any]:
    """A self-describing checkpoint (see :mod:`metarl.runs.describe`)."""
    distribution = learner.task_distribution
    return {
        "run_id": run_id,
        "agent": config.agent,
        "env": {"id": config.env, "kwargs": config.env_kwargs},
        "spaces": spaces,
        "config": config.to_dict(),
        "learner": learner.state_dict(),
        "iteration": learner.iteration,
        "best_post_return": best,
        "torch_rng": torch.get_rng_state(),
        "splits": {
            name: [t.id for t in distribution.split(name).tasks]
            for name in distribution.split_names
            if name != "train"
        },
    }


def load_run(source: str | Path, checkpoint: str = "last") -> tuple[TrainConfig, Trainer]:
    """The config and trainer of a run folder, restored from ``checkpoints/<checkpoint>.pt``, or
    of a checkpoint file (``source`` ending in ``.pt``; its own config rebuilds the trainer).

    Torch's global random state is left as it was (only :func:`resume` restores the run's).

    Raises:
        CheckpointError: ``source`` is neither a run folder nor a checkpoint, or the checkpoint
            does not fit the agent its config builds (naming the difference).
    """
    with torch.random.fork_rng(devices=[]):
        config, learner, _ = _restore(source, checkpoint)
    return config, learner


def checkpoint_path(source: str | Path, checkpoint: str) -> tuple[Path, TrainConfig | None]:
    """The checkpoint file of ``source`` (a checkpoint file, or a run folder's
    ``checkpoints/<checkpoint>.pt``) and, for a run folder, the folder's config."""
    source = Path(source)
    if source.is_file():
        return source, None
    folder = RunFolder(source)
    if not folder.config.is_file():
        raise CheckpointError(
            f"{folder.root} is not a run folder ({folder.config} is missing) nor a checkpoint "
            "file"
        )
    path = {"last": folder.last, "best": folder.best}.get(checkpoint)
    if path is None:
        raise ValueError(f"checkpoint must be 'last' or 'best', got {checkpoint!r}")
    if not path.is_file():
        raise CheckpointError(
            f"{folder.root} holds no checkpoint yet ({path} is missing); start the run over "
            f"with metarl train --config FILE --out {folder.root} --overwrite"
        )
    return path, load_config(folder.config, trusted=False)


def _restore(
    source: str | Path, checkpoint: str
) -> tuple[TrainConfig, Trainer, dict[str, Any]]:
    """:func:`load_run`, plus the checkpoint's state (read once and checked whole)."""
    path, folder_config = checkpoint_path(source, checkpoint)
    state = load_checkpoint(
        path, required=("learner", "config", "iteration", "torch_rng", "best_post_return")
    )
    if not isinstance(state["config"], dict):
        raise CheckpointError(
            f"{path} holds a config of type {type(state['config']).__name__}, not a mapping"
        )
    require_imported(state["config"], str(path))
    try:
        config = TrainConfig.from_dict(state["config"])
    except ConfigError as err:
        raise CheckpointError(f"{path} holds a config this version refuses: {err}") from None
    # Compared as configs, so keys added to TrainConfig later (with defaults) do not matter.
    if folder_config is not None and config != folder_config:
        raise CheckpointError(f"{path} was written by a different config than the run folder's")
    check_state(state, config.iterations, str(path))
    learner = build(config)
    try:
        if "spaces" in state:  # recorded since format metarl-checkpoint/2
            check_spaces(state["spaces"], env_spaces(config.env, config.env_kwargs), config.env)
        learner.load_state_dict(state["learner"])
        if learner.iteration != state["iteration"]:
            raise CheckpointError(
                f"its learner is at iteration {learner.iteration!r}, the checkpoint at "
                f"{state['iteration']}"
            )
    except CheckpointError as err:
        learner.close()
        raise CheckpointError(f"{path}: {err}") from None
    except (KeyError, IndexError, RuntimeError, TypeError, ValueError, AttributeError) as err:
        learner.close()
        raise CheckpointError(
            f"{path} does not fit the {config.agent} agent its config builds "
            f"({type(err).__name__}: {err})"
        ) from err
    torch.set_rng_state(state["torch_rng"])
    return config, learner, state


def train(
    config: TrainConfig, out: str | Path, progress: bool = True, overwrite: bool = False
) -> Trainer:
    """Start a run in ``out``: a new or empty folder, or with ``overwrite`` a run folder metarl
    made (:meth:`RunFolder.claim`); returns the trained learner.

    The env is made before anything is written, so a bad env id or ``env_kwargs`` leaves no folder.
    """
    folder = RunFolder(out)
    learner = build(config)
    try:
        with folder.claim(overwrite) as run_id:
            text = config_header(run_id) + yaml.safe_dump(config.to_dict(), sort_keys=False)
            atomic_write_text(folder.config, text)
            _run(config, learner, folder, run_id, best=-np.inf, progress=progress)
    finally:
        learner.close()
    return learner


def resume(out: str | Path, progress: bool = True) -> Trainer:
    """Continue the run in ``out`` from its last checkpoint.

    Everything read (checkpoint, config, ``metrics.csv``) is checked before any file is touched.
    """
    folder = RunFolder(out)
    checkpoint_path(folder.root, "last")  # a run folder with a checkpoint, before the lock file
    with folder.locked():
        config, learner, state = _restore(folder.root, "last")
        try:
            run_id = folder.run_id()
            if run_id is not None and state.get("run_id") not in (None, run_id):
                raise CheckpointError(
                    f"{folder.last} belongs to run {state['run_id']!r}, the run folder to "
                    f"{run_id!r}"
                )
            header, rows = read_metrics(folder.metrics) if folder.metrics.is_file() else ([], [])
            kept = [row for row in rows if int(row["iteration"]) <= learner.iteration]
            folder.remove_temps(".", "checkpoints")
            if len(kept) < len(rows):  # the run stopped between a metrics row and its checkpoint
                atomic_write_text(folder.metrics, metrics_text(header, kept))
            if learner.iteration == config.iterations:
                logger.info("%s finished all %d iterations", folder.root, config.iterations)
            else:
                logger.info("resuming %s at iteration %d", folder.root, learner.iteration)
            _run(
                config, learner, folder, run_id, best=float(state["best_post_return"]),
                progress=progress,
            )
        finally:
            learner.close()
    return learner


def _run(
    config: TrainConfig,
    learner: Trainer,
    folder: RunFolder,
    run_id: str | None,
    best: float,
    progress: bool,
) -> None:
    """Train ``learner`` to ``config.iterations``, writing metrics (with the cumulative seconds of
    training, ``time_total``) and checkpoints to ``folder``."""
    from torch.utils.tensorboard import SummaryWriter

    kind = agent_kind(config.agent)
    spaces = env_spaces(config.env, config.env_kwargs)
    wall = last_value(folder.metrics, "time_total")  # seconds of training before a resume
    writer = SummaryWriter(str(folder.tensorboard), purge_step=learner.iteration + 1)
    bar = tqdm(
        total=config.iterations, initial=learner.iteration, disable=not progress,
        desc=f"{config.agent if config.agent != 'maml' else config.outer} on {config.env}",
    )
    try:
        while learner.iteration < config.iterations:
            rng = np.random.default_rng([config.seed, learner.iteration])
            started = time.perf_counter()
            metrics = kind.train_iteration(config, learner, rng)
            wall += time.perf_counter() - started
            metrics["time_total"] = wall
            append_metrics(folder.metrics, metrics)
            for key, value in metrics.items():
                if key != "iteration":
                    writer.add_scalar(tensorboard_tag(key), value, learner.iteration)
            bar.update(1)
            bar.set_postfix({key: f"{metrics[key]:.2f}" for key in kind.progress if key in metrics})
            if metrics[kind.score] > best:
                best = metrics[kind.score]
                save_checkpoint(_checkpoint_state(learner, config, run_id, best, spaces), folder.best)
            if learner.iteration % config.checkpoint_every == 0 or (
                learner.iteration == config.iterations
            ):
                save_checkpoint(_checkpoint_state(learner, config, run_id, best, spaces), folder.last)
    finally:
        bar.close()
        writer.close()
