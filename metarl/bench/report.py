"""``metarl bench report``: rebuild the generated pages from the result files alone:
``<pages>/suite/<cell>.md`` with a plot ``<cell>-<budget>.png`` per budget, and
``<pages>/matrix.md``; optionally the matrix's tables into a README between two marker lines.
Every file is written whole (atomically)."""

from __future__ import annotations

import os
from pathlib import Path

from metarl.bench.aggregate import by_cell, summarise
from metarl.bench.cell_page import cell_page, plot_name, training_plot_name
from metarl.bench.matrix_page import matrix_page, matrix_tables
from metarl.bench.plot import plot_cell, plot_training
from metarl.bench.results import read_results
from metarl.files import atomic_write_text

__all__ = ["MATRIX_END", "MATRIX_START", "embed_matrix", "write_report"]

MATRIX_START = "<!-- metarl bench report: matrix start -->"
MATRIX_END = "<!-- metarl bench report: matrix end -->"
"""The lines between which :func:`embed_matrix` writes the matrix into a README."""


def embed_matrix(text: str, tables: str, source: str) -> str:
    """``text`` with the lines between :data:`MATRIX_START` and :data:`MATRIX_END` replaced by
    ``tables``.

    Raises:
        ValueError: ``text`` (of the file ``source``) lacks a marker, or has them out of order.
    """
    start, end = text.find(MATRIX_START), text.find(MATRIX_END)
    if start < 0 or end < start:
        raise ValueError(
            f"{source} needs the lines {MATRIX_START!r} and then {MATRIX_END!r} around the "
            "place of the results matrix; nothing was written"
        )
    return text[: start + len(MATRIX_START)] + "\n\n" + tables + "\n\n" + text[end:]


def write_report(
    results: str | Path, pages: str | Path, readme: str | Path | None = None
) -> list[Path]:
    """Write the pages of the result files in ``results`` under ``pages``, and with ``readme``
    the matrix's tables between its markers (:func:`embed_matrix`, links relative to it); the
    paths written.

    Raises:
        ResultError: a result file is unreadable or inconsistent with its cell's others.
        ValueError: ``readme`` lacks the markers (checked before anything is written).
    """
    summaries = summarise(read_results(results))
    embedded = None
    if readme is not None:
        readme = Path(readme)
        link = Path(os.path.relpath(Path(pages), readme.parent)).as_posix() + "/"
        text = readme.read_text(encoding="utf-8")
        embedded = embed_matrix(text, matrix_tables(summaries, "###", link), str(readme))
    suite = Path(pages) / "suite"
    suite.mkdir(parents=True, exist_ok=True)
    written = []
    for cell, group in by_cell(summaries).items():
        for summary in group:
            plot_cell(summary, suite / plot_name(summary))
            written.append(suite / plot_name(summary))
            training = training_plot_name(summary)
            if training is not None:
                plot_training(summary, suite / training)
                written.append(suite / training)
        atomic_write_text(suite / f"{cell}.md", cell_page(group))
        written.append(suite / f"{cell}.md")
    atomic_write_text(Path(pages) / "matrix.md", matrix_page(summaries))
    written.append(Path(pages) / "matrix.md")
    if readme is not None:
        if embedded != text:
            atomic_write_text(readme, embedded)
        written.append(readme)
    return written
