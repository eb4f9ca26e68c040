"""The committed result pages are those the committed result files make: rebuilt into a temporary
folder, they must match docs/results (run `metarl bench report` after new results)."""

from pathlib import Path

from metarl.bench.report import write_report

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
