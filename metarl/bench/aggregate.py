"""The result files of one cell and budget, summarised over seeds: per agent and adaptation step,
each seed's mean over tasks, their mean and bootstrap interval, and the normalised score."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import Any

import numpy as np

from metarl.bench.results import ResultError
from metarl.bench.stats import Interval, bootstrap, normalised_score
from metarl.bench.suite import BUDGETS, REFERENCES

__all__ = ["HEADLINE", "MEASURED", "CellSummary", "by_cell", "summarise"]

MEASURED = "meta-trained"
"""The agent a cell measures (the others are its comparisons)."""


HEADLINE = 1
"""The headline adaptation step: after one adaptation unit (step 0 for an evaluation without
adaptation steps, such as an RL^2 trial that adapts within its one episode)."""


@dataclass(frozen=True)
class CellSummary:
    """The results of one cell at one budget, one record (result file) per seed."""

    records: tuple[dict[str, Any], ...]

    @property
    def first(self) -> dict[str, Any]:
        return self.records[0]

    @property
    def cell(self) -> str:
        return self.first["cell"]

    @property
    def budget(self) -> str:
        return self.first["budget"]

    @property
    def seeds(self) -> list[int]:
        return [record["seed"] for record in self.records]

    @property
    def seeds_text(self) -> str:
        """``seed 0`` or ``seeds 0, 1, 2``."""
        seeds = ", ".join(str(seed) for seed in self.seeds)
        return f"seed {seeds}" if len(self.seeds) == 1 else f"seeds {seeds}"

    @property
    def steps(self) -> int:
        """Adaptation steps of the evaluation (its points are steps ``0..steps``)."""
        return int(self.first["evaluation"]["steps"])

    @property
    def headline_step(self) -> int:
        return min(HEADLINE, self.steps)

    def per_seed(self, metric: str = "summary") -> dict[str, np.ndarray]:
        """Agent -> ``[seeds, steps + 1]``: each seed's mean over tasks of the returns
        (``metric`` ``"summary"``) or success rates (``"success_summary"``)."""
        agents = self.first["evaluation"][metric]
        return {
            agent: np.array([r["evaluation"][metric][agent]["mean"] for r in self.records])
            for agent in agents
        }

    def intervals(self, metric: str = "summary") -> dict[str, Interval]:
        """Agent -> mean over seeds per step with its bootstrap interval."""
        return {agent: bootstrap(values) for agent, values in self.per_seed(metric).items()}

    @property
    def references(self) -> tuple[str, str]:
        """The score's 0 and 1: the cell's ``references`` (default :data:`REFERENCES`)."""
        zero, one = self.first.get("references", REFERENCES)
        return zero, one

    @cached_property
    def normalised(self) -> dict[str, Interval]:
        """Agent -> normalised score per step, for every agent but the references; empty
        unless the cell evaluated both references."""
        returns = self.per_seed()
        if not all(name in returns for name in self.references):
            return {}
        zero, one = (returns[name] for name in self.references)
        return {
            agent: normalised_score(values, zero, one)
            for agent, values in returns.items()
            if agent not in self.references
        }


def _check_alike(records: list[dict[str, Any]]) -> None:
    """Refuse the records of one cell and budget that describe different evaluations."""
    def shape(record: dict[str, Any]) -> tuple[Any, ...]:
        evaluation = record["evaluation"]
        return (
            record["agent"], record["family"], record["matrix"], evaluation["steps"],
            tuple(record.get("references", REFERENCES)),
            sorted(evaluation["summary"]), sorted(evaluation["success_summary"]),
        )

    first = shape(records[0])
    for record in records[1:]:
        if shape(record) != first:
            raise ResultError(
                f"the results of cell {record['cell']!r} at budget {record['budget']!r} differ "
                f"between seeds {records[0]['seed']} and {record['seed']} (agent, family, "
                "evaluation steps, score references or evaluated agents); rerun the stale seeds"
            )


def summarise(records: Iterable[Mapping[str, Any]]) -> list[CellSummary]:
    """One summary per cell and budget present in ``records`` (result files' content), by cell
    and then budget (``cpu`` before ``paper``), each with its records by seed."""
    def key(record: Mapping[str, Any]) -> tuple[str, int, str]:
        budget = record["budget"]
        return record["cell"], BUDGETS.index(budget) if budget in BUDGETS else len(BUDGETS), budget

    ordered = sorted((dict(r) for r in records), key=lambda r: (*key(r), r["seed"]))
    summaries = []
    for _, group in groupby(ordered, key=key):
        group = list(group)
        _check_alike(group)
        summaries.append(CellSummary(tuple(group)))
    return summaries


def by_cell(summaries: Iterable[CellSummary]) -> dict[str, list[CellSummary]]:
    """``summaries`` grouped by cell, in their order."""
    cells: dict[str, list[CellSummary]] = {}
    for summary in summaries:
        cells.setdefault(summary.cell, []).append(summary)
    return cells
