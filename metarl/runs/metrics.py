"""A run's ``metrics.csv`` (one row per iteration, every file write atomic) and the names its
metrics take in TensorBoard.

Every agent kind logs one schema: ``iteration``, cumulative ``env_steps``, cumulative seconds of
training ``time_total``, its returns and losses, and ``time_*`` breakdowns. In TensorBoard a metric
is grouped by :func:`tensorboard_tag`: ``time/`` (seconds), ``loss/`` (optimisation diagnostics)
or ``train/`` (returns and counts); ``metarl evaluate`` adds ``eval/``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from metarl.checkpoint import CheckpointError
from metarl.files import atomic_write_text
from metarl.validation import short_repr

__all__ = ["append_metrics", "last_value", "metrics_text", "read_metrics", "tensorboard_tag"]

_LOSS_WORDS = ("loss", "kl", "entropy", "clip", "explained_variance", "grad", "step_fraction")


def tensorboard_tag(metric: str) -> str:
    """The TensorBoard tag of a ``metrics.csv`` column: ``time/...`` for ``time_*`` columns,
    ``loss/...`` for optimisation diagnostics (losses, KLs, entropies, clip fractions, ...),
    ``train/...`` for the rest (returns, ``env_steps``)."""
    if metric.startswith("time_"):
        return "time/" + metric.removeprefix("time_")
    if any(word in metric for word in _LOSS_WORDS):
        return "loss/" + metric
    return "train/" + metric


def read_metrics(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of a run's ``metrics.csv``.

    Raises:
        CheckpointError: it is not a metarl metrics file: no ``iteration`` column, a row with
            more or fewer fields than the header, or an iteration that is not an int.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except (UnicodeDecodeError, csv.Error) as err:
        raise CheckpointError(f"{path} is not a metarl metrics file: {err}") from None
    if "iteration" not in header:
        raise CheckpointError(
            f"{path} has no 'iteration' column ({short_repr(header)}); it is not a metarl "
            "metrics file"
        )
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values():  # DictReader's marks of a longer, shorter row
            given = sum(v is not None for k, v in row.items() if k is not None)
            raise CheckpointError(
                f"{path} line {line} has {given + len(row.get(None) or [])} fields, the header "
                f"{len(header)}: the file was edited or damaged"
            )
        row["iteration"] = _iteration(row["iteration"], f"{path} line {line}")
    return header, rows


def _iteration(text: str, where: str) -> int:
    """A metrics row's iteration (``"3"``, or ``"3.0"`` as older runs of some agents wrote it)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value.is_integer() and value >= 0):
        raise CheckpointError(f"{where}: iteration {short_repr(text)} is not a non-negative int")
    return int(value)


def _csv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def metrics_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV under ``header``; integral counts are written as integers."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def append_metrics(path: Path, metrics: dict[str, float]) -> None:
    """Add a row to ``metrics.csv``, rewriting the file atomically (a kill leaves it whole). A
    metric the file has no column for yet (a run resumed by a newer metarl) gets a new column."""
    header, rows = read_metrics(path) if path.is_file() else ([], [])
    header += [key for key in metrics if key not in header]
    atomic_write_text(path, metrics_text(header, [*rows, metrics]))


def last_value(path: Path, metric: str) -> float:
    """The last row's ``metric`` in ``metrics.csv`` (0 without the file, the row or the column)."""
    if not path.is_file():
        return 0.0
    rows = read_metrics(path)[1]
    text = rows[-1].get(metric) if rows else None
    try:
        value = float(text) if text else 0.0
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0
