"""Result files of the suite: ``<results>/<cell>/<budget>-seed<k>.json``, one per cell, budget and
seed, each the evaluation's summary plus its provenance; written whole (atomically) and checked
when read back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metarl.bench.suite import Cell
from metarl.files import atomic_write_text

if TYPE_CHECKING:
    from metarl.evaluation import EvaluationResult

__all__ = [
    "FORMAT",
    "ResultError",
    "evaluation_summary",
    "read_results",
    "result_path",
    "result_record",
    "write_result",
]

FORMAT = "metarl-bench-result/1"
"""The ``format`` every result file names."""

_FILE = re.compile(r"(?P<budget>[a-z]+)-seed(?P<seed>\d+)\.json")

PER_TASK = ("tasks", "groups", "returns", "success", "provenance")
"""Keys of ``eval.json`` a result file leaves out: the per-task values (they stay in the run's
``eval.json``) and the evaluation's own provenance (the result file has the job's)."""

REQUIRED = ("format", "cell", "budget", "seed", "agent", "family", "matrix", "timings",
            "evaluation", "provenance")
"""Keys every result file holds."""


class ResultError(ValueError):
    """A result file is unreadable or does not hold a result of the suite."""


def result_path(results: str | Path, cell: str, budget: str, seed: int) -> Path:
    """Where the result of ``cell`` at ``budget`` for ``seed`` is written."""
    return Path(results) / cell / f"{budget}-seed{seed}.json"


def evaluation_summary(result: EvaluationResult) -> dict[str, Any]:
    """``result``'s ``eval.json`` without the per-task values, with the number of tasks."""
    data = {key: value for key, value in result.to_dict().items() if key not in PER_TASK}
    return {**data, "num_tasks": len(result.tasks)}


def result_record(
    cell: Cell,
    budget: str,
    seed: int,
    suite_version: int,
    evaluation: Mapping[str, Any],
    timings: Mapping[str, float],
    provenance: Mapping[str, Any],
    training: Mapping[str, list[float]] | None = None,
) -> dict[str, Any]:
    """The content of a result file: what the cell is, its evaluation summary, how long training
    and evaluation took (seconds), the provenance and the training curve
    (:func:`~metarl.bench.training.training_curve`; files written before it hold none)."""
    family = cell.family
    return {
        "format": FORMAT,
        "suite_version": suite_version,
        "cell": cell.name,
        "budget": budget,
        "seed": seed,
        "agent": cell.agent,
        "family": {
            "name": family.name, "label": family.label, "group": family.group,
            "env": family.env, "env_kwargs": family.env_kwargs,
        },
        "matrix": cell.matrix,
        "references": list(cell.evaluation.references),
        "timings": dict(timings),
        "evaluation": dict(evaluation),
        "provenance": dict(provenance),
        "training": dict(training or {}),
    }


def write_result(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` to ``path`` (its folder made if needed), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")


def _read(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ResultError(f"result file {path} is unreadable: {err}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ResultError(f"{path} is not a result file of format {FORMAT!r}")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise ResultError(f"result file {path} lacks the key(s) {missing}")
    name = _FILE.fullmatch(path.name)
    expected = (path.parent.name, name and name["budget"], name and int(name["seed"]))
    if (record["cell"], record["budget"], record["seed"]) != expected:
        raise ResultError(
            f"{path} holds the result of cell {record['cell']!r}, budget {record['budget']!r}, "
            f"seed {record['seed']!r}; its name says otherwise (<cell>/<budget>-seed<k>.json)"
        )
    return record


def read_results(results: str | Path) -> list[dict[str, Any]]:
    """Every result file under ``results`` (``<cell>/*.json``), sorted by cell, budget and seed.

    Raises:
        ResultError: ``results`` is not a folder, or a file is unreadable, lacks a key or sits
            under another name than its content says.
    """
    results = Path(results)
    if not results.is_dir():
        raise ResultError(f"results folder {results} does not exist")
    records = [_read(path) for path in sorted(results.glob("*/*.json"))]
    return sorted(records, key=lambda r: (r["cell"], r["budget"], r["seed"]))
