"""A run killed during an iteration, then resumed: the check every trainer's resume test makes."""

import csv
from pathlib import Path

import pytest

from metarl.runs.config import TrainConfig


def metrics_rows(run: Path) -> list[dict[str, str]]:
    """The rows of a run folder's ``metrics.csv``, without the ``time_*`` columns (seconds spent,
    which no two runs share)."""
    with open(run / "metrics.csv", newline="") as f:
        return [
            {k: v for k, v in row.items() if not k.startswith("time_")}
            for row in csv.DictReader(f)
        ]


def train_whole_and_resumed(config: TrainConfig, trainer_class: type, kill_after: int, root: Path,
                            monkeypatch):
    """Train ``config`` uninterrupted into ``root/whole``; train it again into ``root/part``,
    killed (``KeyboardInterrupt``) in the iteration after ``kill_after`` completed ones, then
    resumed. Asserts both ``metrics.csv`` are equal; returns ``(whole, resumed)`` trainers."""
    from metarl.runs.train import resume, train

    whole = train(config, root / "whole", progress=False)
    original = trainer_class.train_iteration

    def killed(self, rng):
        if self.iteration == kill_after:
            raise KeyboardInterrupt
        return original(self, rng)

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(trainer_class, "train_iteration", killed)
        train(config, root / "part", progress=False)
    resumed = resume(root / "part", progress=False)
    assert metrics_rows(root / "part") == metrics_rows(root / "whole")
    return whole, resumed
