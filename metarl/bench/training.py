"""The training curve a result file keeps: a run's returns during meta-training against env
steps, read from its ``metrics.csv`` and thinned to a few points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metarl.runs.metrics import read_metrics

__all__ = ["MAX_POINTS", "training_curve"]

MAX_POINTS = 100
"""Most iterations a result file keeps (evenly spaced, the last one always among them)."""


def training_curve(metrics: Path, max_points: int = MAX_POINTS) -> dict[str, list[float]]:
    """``env_steps`` and every ``*_return`` column of the run's ``metrics`` file (e.g. MAML's
    ``pre_return`` / ``post_return``, RL^2's ``first_return`` / ``last_return``), at most
    ``max_points`` iterations of it; empty for a file without ``env_steps``."""
    header, rows = read_metrics(metrics)
    columns = ["env_steps"] + [name for name in header if name.endswith("_return")]
    if "env_steps" not in header or not rows:
        return {}
    keep = np.unique(np.linspace(0, len(rows) - 1, min(max_points, len(rows))).round().astype(int))
    return {name: [float(rows[i][name]) for i in keep] for name in columns}
