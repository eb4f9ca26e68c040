"""The headline matrix (``docs/results/matrix.md``): agents by families, the meta-trained agent's
normalised score after one adaptation unit with its interval, per budget; built from the result
files alone."""

from __future__ import annotations

from collections.abc import Sequence

from metarl.bench.aggregate import HEADLINE, MEASURED, CellSummary, by_cell
from metarl.bench.cell_page import GENERATED, format_interval
from metarl.bench.results import ResultError

__all__ = ["matrix_page", "matrix_tables"]

_LEGEND = (
    "Each entry: the normalised score of the meta-trained agent after one adaptation unit "
    f"(step {HEADLINE}; step 0 for a cell evaluated without adaptation steps, such as an RL^2 "
    "trial of one episode), (agent - pretrained) / (oracle - pretrained) of the means over "
    "seeds: the fraction of the gap between the pretrained agent (0) and the oracle (1) that "
    "meta-training closes (a cell may name other references, e.g. SAC's oracle: its page says); "
    "[low, high]: its 95% paired bootstrap interval over seeds. n/a: no "
    "results of that agent on that family; \"no reference\": its cell evaluated no pretrained or "
    "no oracle agent; \"undefined\": the oracle did not beat the pretrained agent. Each entry "
    "links to its cell's page."
)


def _entry(summary: CellSummary, pages: str) -> str:
    scores = summary.normalised
    if MEASURED not in scores:
        text = "no reference"
    else:
        score, step = scores[MEASURED], summary.headline_step
        text = format_interval(score.value[step], score.low[step], score.high[step], 2)
    return f"[{text}]({pages}suite/{summary.cell}.md)"


def _table(summaries: Sequence[CellSummary], pages: str) -> str:
    """Agents (rows) by families (columns, by group and label); links to ``pages``'s cell
    pages."""
    families = sorted(
        {(s.first["family"]["group"], s.first["family"]["label"]) for s in summaries}
    )
    agents = sorted({s.first["agent"] for s in summaries})
    entries: dict[tuple[str, str], CellSummary] = {}
    for summary in summaries:
        key = (summary.first["agent"], summary.first["family"]["label"])
        if key in entries:
            raise ResultError(
                f"cells {entries[key].cell!r} and {summary.cell!r} both put {key[0]} on {key[1]} "
                "in the matrix; set matrix: false on one of them in the suite"
            )
        entries[key] = summary
    lines = [
        "| agent | " + " | ".join(f"{label} ({group})" for group, label in families) + " |",
        "|---|" + "---|" * len(families),
    ]
    for agent in agents:
        cells = (
            _entry(entries[agent, label], pages) if (agent, label) in entries else "n/a"
            for _, label in families
        )
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def matrix_page(summaries: Sequence[CellSummary]) -> str:
    """The matrix page: a table per budget of the summaries of matrix cells, then every cell
    with results (links to their pages)."""
    parts = [
        "# Results matrix: which agent adapts where",
        GENERATED,
        _LEGEND,
        matrix_tables(summaries, "##"),
        "## Cells with results",
    ]
    parts.append("\n".join(
        f"- [{cell}](suite/{cell}.md): {group[0].first['agent']} on "
        f"{group[0].first['family']['label']}; budgets "
        + ", ".join(f"{s.budget} ({s.seeds_text})" for s in group)
        + ("" if group[0].first["matrix"] else "; not in the matrix")
        for cell, group in by_cell(summaries).items()
    ) or "None yet.")
    return "\n\n".join(parts) + "\n"


def matrix_tables(summaries: Sequence[CellSummary], heading: str, pages: str = "") -> str:
    """A table per budget (under ``heading``-level titles) of the summaries of matrix cells, the
    entries linking to the cell pages under the folder ``pages`` (``""``: the matrix page's
    own)."""
    in_matrix = [s for s in summaries if s.first["matrix"]]
    budgets = list(dict.fromkeys(s.budget for s in in_matrix))
    parts = []
    for budget in budgets:
        table = _table([s for s in in_matrix if s.budget == budget], pages)
        parts += [f"{heading} Budget `{budget}`", table]
    return "\n\n".join(parts) or "No cell of the matrix has results yet."
