"""``metarl bench report``: rebuild the generated pages from the result files alone:
``<pages>/suite/<cell>.md`` with a plot ``<cell>-<budget>.png`` per budget, and
``<pages>/matrix.md``. Every file is written whole (atomically)."""

from __future__ import annotations

from pathlib import Path

from metarl.bench.aggregate import by_cell, summarise
from metarl.bench.cell_page import cell_page, plot_name
from metarl.bench.matrix_page import matrix_page
from metarl.bench.plot import plot_cell
from metarl.bench.results import read_results
from metarl.files import atomic_write_text

__all__ = ["write_report"]


def write_report(results: str | Path, pages: str | Path) -> list[Path]:
    """Write the pages of the result files in ``results`` under ``pages``; the paths written.

    Raises:
        ResultError: a result file is unreadable or inconsistent with its cell's others.
    """
    summaries = summarise(read_results(results))
    suite = Path(pages) / "suite"
    suite.mkdir(parents=True, exist_ok=True)
    written = []
    for cell, group in by_cell(summaries).items():
        for summary in group:
            plot_cell(summary, suite / plot_name(summary))
            written.append(suite / plot_name(summary))
        atomic_write_text(suite / f"{cell}.md", cell_page(group))
        written.append(suite / f"{cell}.md")
    atomic_write_text(Path(pages) / "matrix.md", matrix_page(summaries))
    written.append(Path(pages) / "matrix.md")
    return written
