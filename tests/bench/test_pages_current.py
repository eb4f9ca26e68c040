"""The committed result pages, and the README's results matrix, are those the committed result
files make: rebuilt into a temporary folder, they must match docs/results and README.md (run
`metarl bench report --readme README.md` after new results)."""

from pathlib import Path

from metarl.bench.aggregate import summarise
from metarl.bench.matrix_page import matrix_tables
from metarl.bench.report import embed_matrix, write_report
from metarl.bench.results import read_results

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = ROOT / "docs" / "results"


def test_the_generated_pages_are_up_to_date_with_the_committed_results(tmp_path):
    written = write_report(RESULTS, tmp_path)
    for path in written:
        committed = PAGES / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} is missing: run metarl bench report"
        if path.suffix == ".md":  # the plots follow the same data; their bytes vary by version
            assert committed.read_text() == path.read_text(), (
                f"{committed} is out of date with {RESULTS}: run metarl bench report"
            )
    pages = {p.relative_to(tmp_path) for p in written}
    stale = sorted(p for p in (PAGES / "suite").iterdir() if p.relative_to(PAGES) not in pages)
    assert not stale, f"{stale} belong to no result file: delete them"


def test_the_readmes_matrix_is_up_to_date_with_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    tables = matrix_tables(summarise(read_results(RESULTS)), "###", "docs/results/")
    assert embed_matrix(readme, tables, "README.md") == readme, (
        "README.md's results matrix is out of date: run metarl bench report --readme README.md"
    )
