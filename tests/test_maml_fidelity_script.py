"""scripts/maml_fidelity.py: window means and the table, from finished run folders."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "maml_fidelity.py"


@pytest.fixture(scope="module")
def fidelity():
    spec = importlib.util.spec_from_file_location("maml_fidelity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finished_run(folder: Path, post_returns: list[float], held_out: tuple[float, float]) -> None:
    """A run folder as train + evaluate leave it (only the files the script reads)."""
    (folder / "eval" / "test").mkdir(parents=True)
    rows = ["iteration,pre_return,post_return"]
    rows += [f"{i},-40.0,{value}" for i, value in enumerate(post_returns, start=1)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    summary = {"meta-trained": {"mean": [-40.0, held_out[0]], "ci95": [1.0, held_out[1]]}}
    (folder / "eval" / "test" / "eval.json").write_text(json.dumps({"summary": summary}))


def test_windows_are_inclusive_iteration_ranges(fidelity):
    assert fidelity.parse_windows("1-2, 3-6") == [(1, 2), (3, 6)]
    means = fidelity.window_means({1: -4.0, 2: -2.0, 3: -1.0, 4: -1.0, 5: -1.0, 6: -3.0},
                                  [(1, 2), (3, 6)])
    assert means == {"1-2": -3.0, "3-6": -1.5}
    with pytest.raises(SystemExit, match="FIRST-LAST"):
        fidelity.parse_windows("5-2")


def test_table_and_summary_from_finished_runs(fidelity, tmp_path, capsys):
    finished_run(tmp_path / "quick-s0", [-20.0, -18.0, -16.0, -15.0], (-14.5, 1.5))
    finished_run(tmp_path / "quick-s1", [-19.0, -17.0, -17.0, -18.0], (-16.0, 2.0))
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({"seeds": {"0": {"1-2": -19.5, "3-4": -15.0, "held-out": -14.0}}}))
    output = tmp_path / "figures.json"
    status = fidelity.main([
        "--config", "configs/quick.yaml", "--seeds", "0", "1", "--iterations", "4",
        "--windows", "1-2,3-4", "--stable-window", "1-2", "--runs", str(tmp_path),
        "--reference", str(reference), "--json", str(output),
    ])
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "| post-update return | seed 0: reference | seed 0: metarl | seed 1: metarl |"
    )
    assert lines[2] == "| iterations 1-2 | -19.5 | -19.0 | -18.0 |"
    assert lines[3] == "| iterations 3-4 | -15.0 | -15.5 | -17.5 |"
    assert lines[4] == "| held-out, after 1 step | -14.0 | -14.5 ± 1.5 | -16.0 ± 2.0 |"
    assert "mean over seeds: window 3-4 -16.50, held-out -15.25" in lines
    assert "seed 1: window 3-4 minus window 1-2 = +0.50" in lines
    assert json.loads(output.read_text())["results"]["0"]["windows"] == {"1-2": -19.0, "3-4": -15.5}
