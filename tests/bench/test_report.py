"""metarl bench report: summaries over seeds against a hand computation, the pages they make, and
refusals of result files that do not fit."""

import json

import numpy as np
import pytest
import yaml

from metarl.bench.aggregate import summarise
from metarl.bench.report import MATRIX_END, MATRIX_START
from metarl.bench.results import ResultError, read_results, result_path, result_record, write_result
from metarl.bench.suite import load_suite
from metarl.bench.training import training_curve
from metarl.cli import main
from metarl.provenance import provenance, utc_now
from tests.bench.conftest import TINY_CELL, suite_data
from tests.bench.test_stats import _naive_interval

MEANS = {  # seed -> agent -> mean return over tasks at steps 0 and 1
    0: {"meta-trained": [-5.0, -2.0], "pretrained": [-8.0, -7.0], "oracle": [-1.0, -1.0]},
    1: {"meta-trained": [-6.0, -3.0], "pretrained": [-9.0, -8.0], "oracle": [-2.0, -2.0]},
    2: {"meta-trained": [-4.0, -1.0], "pretrained": [-7.0, -6.5], "oracle": [-1.5, -1.5]},
}


def _evaluation(means, steps=1):
    return {
        "env": "metarl/Navigation2D-v0", "split": "test", "steps": steps, "episodes_per_step": 2,
        "evaluation_episodes": None, "checkpoint": "checkpoints/last.pt",
        "episodes_per_unit": {agent: 2 for agent in means},
        "experience": {agent: [0, 2] for agent in means},
        "summary": {agent: {"mean": m, "ci95": [None] * len(m)} for agent, m in means.items()},
        "success_summary": {}, "paired_with": "pretrained", "paired_difference": {},
        "num_tasks": 3,
    }


def write_records(suite_path, results, means=MEANS, cell="tiny"):
    suite = load_suite(suite_path)
    for seed, by_agent in means.items():
        record = result_record(
            suite.cells[cell], "cpu", seed, suite.version, _evaluation(by_agent),
            {"train_s": 1.0, "evaluate_s": 2.0},
            provenance({"seed": seed}, {"train": seed, "evaluation": seed}, utc_now(), 3.0,
                       ["metarl", "bench", "run", cell]),
        )
        write_result(result_path(results, cell, "cpu", seed), record)


def test_the_summary_over_seeds_is_the_hand_computation(tiny_suite, tmp_path):
    write_records(tiny_suite, tmp_path / "results")
    (summary,) = summarise(read_results(tmp_path / "results"))
    assert (summary.cell, summary.budget, summary.seeds) == ("tiny", "cpu", [0, 1, 2])
    rows = {agent: np.array([MEANS[s][agent] for s in range(3)]) for agent in MEANS[0]}
    for agent, interval in summary.intervals().items():
        np.testing.assert_allclose(interval.value, rows[agent].mean(axis=0))
        for step in range(2):
            low, high = _naive_interval(lambda picked, s=step: np.mean([r[s] for r in picked]),
                                        rows[agent])
            assert interval.low[step] == pytest.approx(low)
            assert interval.high[step] == pytest.approx(high)
    score = summary.normalised["meta-trained"]
    agent, pretrained, oracle = (rows[a].mean(axis=0) for a in ("meta-trained", "pretrained", "oracle"))
    np.testing.assert_allclose(score.value, (agent - pretrained) / (oracle - pretrained))
    assert set(summary.normalised) == {"meta-trained"}  # the references get none


def test_report_writes_the_cell_page_plot_and_matrix(tiny_suite, tmp_path, capsys):
    write_records(tiny_suite, tmp_path / "results")
    pages = tmp_path / "pages"
    assert main(["bench", "report", "--results", str(tmp_path / "results"), "--pages", str(pages)]) == 0
    page = (pages / "suite" / "tiny.md").read_text()
    assert (pages / "suite" / "tiny-cpu.png").stat().st_size > 5_000
    assert "# Suite cell `tiny`: MAML-TRPO on Navigation2D" in page
    assert "## Budget `cpu`: seeds 0, 1, 2" in page
    # the 2.5th percentile of 3 seeds' resampled means is their minimum (27 equally likely
    # resamples, one of which repeats the lowest seed)
    assert "| meta-trained | -5.00 [-6.00, -4.00] | -2.00 [-3.00, -1.00] |" in page
    assert "![Adaptation curves of tiny, cpu budget](tiny-cpu.png)" in page
    assert "metarl bench run tiny" in page and "```bash" not in page  # docs tests run bash blocks
    score = (-2.0 - (-43 / 6)) / (-1.5 - (-43 / 6))  # means over seeds at step 1
    assert f"| meta-trained | {(-5 + 8) / (-1.5 + 8):.2f} [" in page and f"| {score:.2f} [" in page
    matrix = (pages / "matrix.md").read_text()
    assert "| agent | Navigation2D (goal) |" in matrix
    assert f"| MAML-TRPO | [{score:.2f} [" in matrix and "](suite/tiny.md) |" in matrix
    assert str(pages / "matrix.md") in capsys.readouterr().out


def test_report_writes_the_matrix_between_a_readmes_markers_only(tiny_suite, tmp_path, capsys):
    """--readme: the matrix's tables replace what lies between the two marker lines (links
    relative to the README), the rest of the file stays byte for byte; a second report changes
    nothing; a README without the markers is refused in one line before any page is written."""
    write_records(tiny_suite, tmp_path / "results")
    readme = tmp_path / "README.md"
    head, tail = "# My project\n\nText before.\n\n", "\n\nText after.\n"
    readme.write_text(head + f"{MATRIX_START}\nold table\n{MATRIX_END}" + tail)
    args = ["bench", "report", "--results", str(tmp_path / "results"),
            "--pages", str(tmp_path / "docs" / "results"), "--readme", str(readme)]
    assert main(args) == 0
    text = readme.read_text()
    assert text.startswith(head + MATRIX_START + "\n\n### Budget `cpu`\n\n| agent |")
    assert text.endswith(f"\n\n{MATRIX_END}" + tail) and "old table" not in text
    assert "](docs/results/suite/tiny.md) |" in text
    assert main(args) == 0 and readme.read_text() == text
    capsys.readouterr()
    plain = tmp_path / "plain.md"
    plain.write_text("no markers here\n")
    pages = tmp_path / "other-pages"
    args[5], args[7] = str(pages), str(plain)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "plain.md needs the lines" in err
    assert plain.read_text() == "no markers here\n" and not pages.exists()


def test_a_training_curve_is_thinned_and_plotted_on_the_cell_page(tmp_path, tiny_suite):
    """``training_curve`` keeps env_steps and the *_return columns of at most MAX_POINTS evenly
    spaced iterations, the last among them; the report plots each seed's curve beside the page."""
    metrics = tmp_path / "metrics.csv"
    lines = ["iteration,env_steps,pre_return,post_return,kl_after"]
    lines += [f"{i},{100 * i},{-i},{-i / 2},0.01" for i in range(1, 251)]
    metrics.write_text("\n".join(lines) + "\n")
    curve = training_curve(metrics, max_points=100)
    assert set(curve) == {"env_steps", "pre_return", "post_return"}
    assert len(curve["env_steps"]) == 100
    assert curve["env_steps"][0] == 100.0 and curve["env_steps"][-1] == 25_000.0
    assert np.all(np.diff(curve["env_steps"]) > 0)
    assert curve["pre_return"] == [-s / 100 for s in curve["env_steps"]]
    write_records(tiny_suite, tmp_path / "results")
    for path in (tmp_path / "results" / "tiny").glob("*.json"):
        record = json.loads(path.read_text())
        write_result(path, {**record, "training": curve})
    pages = tmp_path / "pages"
    assert main(["bench", "report", "--results", str(tmp_path / "results"),
                 "--pages", str(pages)]) == 0
    assert (pages / "suite" / "tiny-cpu-training.png").stat().st_size > 5_000
    page = (pages / "suite" / "tiny.md").read_text()
    assert "![Training curves of tiny, cpu budget](tiny-cpu-training.png)" in page


def test_a_cell_names_the_references_of_its_score(tmp_path):
    """``evaluation.references: [pretrained, oracle-sac]``: the score is taken between those two
    (the hand computation at step 1), the result files and the cell page say which, and the
    plain ``oracle`` counts as one more comparison."""
    cell = {**TINY_CELL, "evaluation": {"comparisons": ["pretrained", "oracle", "oracle-sac"],
                                        "references": ["pretrained", "oracle-sac"]}}
    suite_path = tmp_path / "suite.yaml"
    suite_path.write_text(yaml.safe_dump(suite_data(tiny=cell)))
    means = {seed: {**by_agent, "oracle-sac": [0.0, 0.0]} for seed, by_agent in MEANS.items()}
    write_records(suite_path, tmp_path / "results", means)
    (summary,) = summarise(read_results(tmp_path / "results"))
    assert summary.references == ("pretrained", "oracle-sac")
    assert summary.first["references"] == ["pretrained", "oracle-sac"]
    assert set(summary.normalised) == {"meta-trained", "oracle"}
    pretrained = np.mean([m["pretrained"][1] for m in MEANS.values()])
    expected = (np.mean([m["meta-trained"][1] for m in MEANS.values()]) - pretrained) / (
        0.0 - pretrained
    )
    assert summary.normalised["meta-trained"].value[1] == pytest.approx(expected)
    assert main(["bench", "report", "--results", str(tmp_path / "results"),
                 "--pages", str(tmp_path / "pages")]) == 0
    page = (tmp_path / "pages" / "suite" / "tiny.md").read_text()
    assert "(agent - pretrained) / (oracle-sac - pretrained)" in page


def test_a_cell_without_references_has_no_score_and_reads_so_in_the_matrix(tiny_suite, tmp_path):
    means = {s: {"meta-trained": m["meta-trained"]} for s, m in MEANS.items()}
    write_records(tiny_suite, tmp_path / "results", means)
    (summary,) = summarise(read_results(tmp_path / "results"))
    assert summary.normalised == {}
    assert main(["bench", "report", "--results", str(tmp_path / "results"),
                 "--pages", str(tmp_path / "pages")]) == 0
    assert "[no reference](suite/tiny.md)" in (tmp_path / "pages" / "matrix.md").read_text()


def test_result_files_that_do_not_fit_are_refused(tiny_suite, tmp_path, capsys):
    results = tmp_path / "results"
    write_records(tiny_suite, results)
    moved = results / "tiny" / "cpu-seed7.json"
    (results / "tiny" / "cpu-seed2.json").rename(moved)
    with pytest.raises(ResultError, match="its name says otherwise"):
        read_results(results)
    record = json.loads(moved.read_text())
    record["evaluation"]["steps"] = 2
    moved.rename(results / "tiny" / "cpu-seed2.json")
    write_result(results / "tiny" / "cpu-seed2.json", record)
    with pytest.raises(ResultError, match="differ between seeds 0 and 2"):
        summarise(read_results(results))
    (results / "tiny" / "cpu-seed2.json").write_text("{")
    assert main(["bench", "report", "--results", str(results), "--pages", str(tmp_path / "p")]) == 2
    assert "cpu-seed2.json is unreadable" in capsys.readouterr().err
