import csv
import json

import numpy as np
import pytest

from metarl.evaluation import (
    AdaptationCurves,
    EvaluationResult,
    adaptation_figure,
    confidence_interval,
    markdown_table,
    paired_differences,
    table_digits,
)
from metarl.tasks import Task


def test_confidence_interval_matches_the_normal_formula():
    mean, half = confidence_interval(np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0]]))
    np.testing.assert_allclose(mean, [2.5, 10.0])
    np.testing.assert_allclose(half, [1.96 * np.std([1, 2, 3, 4], ddof=1) / 2, 0.0])



def test_one_task_has_no_confidence_interval_n_a_in_tables_and_null_in_json():
    """With one task the CI is undefined: NaN, printed as n/a and stored as null (not ± 0.0)."""
    assert np.isnan(confidence_interval(np.array([[5.0, 6.0]]))[1]).all()
    result = EvaluationResult("toy", "test", 1, 2, [Task("Toy", {"goal": 0.0})])
    result.add("agent", AdaptationCurves(np.array([[-3.0, -2.0]]), np.array([[0.0, 1.0]])))
    lines = result.table().splitlines()
    assert lines[2] == "| agent | -3.0 ± n/a | -2.0 ± n/a |"
    assert "| agent | 0.00 ± n/a | 1.00 ± n/a |" in lines
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["summary"]["agent"] == {"mean": [-3.0, -2.0], "ci95": [None, None]}
    assert data["success_summary"]["agent"]["ci95"] == [None, None]


def test_markdown_table_lists_every_agent_and_step():
    table = markdown_table({"a": np.zeros((3, 2)), "b": np.ones((3, 2))})
    lines = table.splitlines()
    assert lines[0] == "| agent | step 0 | step 1 |"
    assert lines[3] == "| b | 1.0 ± 0.0 | 1.0 ± 0.0 |"


def test_success_rates_are_reported_overall_and_per_task_class(tmp_path):
    tasks = [Task("Toy", {"goal": float(i)}) for i in range(4)]
    result = EvaluationResult("toy", "test", 1, 2, tasks, groups=["push", "reach", "push", "reach"])
    returns = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    result.add(
        "meta-trained", AdaptationCurves(returns, np.array([[0, 1], [0, 0.5], [1, 1], [0, 0]]))
    )
    result.add("oracle", AdaptationCurves(returns, None))  # an SB3 baseline: no success rates
    table = result.table()
    assert "Success rate:\n\n| agent | step 0 | step 1 |" in table
    assert "| meta-trained | 0.25 ± 0.49 | 0.62 ± 0.47 |" in table
    assert "Success rate, push:" in table and "Success rate, reach:" in table
    assert "| meta-trained | 0.00 ± 0.00 | 0.25 ± 0.49 |" in table.split("Success rate, reach:")[1]
    paths = result.write(tmp_path)
    saved = json.loads(paths["json"].read_text())
    assert saved["success"]["meta-trained"][1] == [0.0, 0.5] and "oracle" not in saved["success"]
    assert saved["groups"] == ["push", "reach", "push", "reach"]
    rows = list(csv.DictReader(paths["csv"].open()))
    assert rows[3]["group"] == "reach" and rows[3]["success"] == "0.5"
    assert {row["success"] for row in rows if row["agent"] == "oracle"} == {""}


def test_paired_differences_match_a_hand_computation():
    tasks = [Task("Toy", {"goal": float(i)}) for i in range(3)]
    result = EvaluationResult("toy", "test", 1, 2, tasks, paired_with="thompson")
    result.add("meta-trained", AdaptationCurves(np.array([[5.0, 6.0], [7.0, 7.5], [6.0, 8.0]]), None))
    result.add("thompson", AdaptationCurves(np.array([[4.0, 5.0], [7.5, 7.0], [5.0, 6.0]]), None))
    # by hand: differences per task at step 1 are 1.0, 0.5, 2.0
    diffs = [1.0, 0.5, 2.0]
    mean = sum(diffs) / 3
    sd = (sum((d - mean) ** 2 for d in diffs) / 2) ** 0.5
    summary = result.to_dict()["paired_difference"]["meta-trained"]
    assert summary["mean"][1] == pytest.approx(mean)
    assert summary["ci95"][1] == pytest.approx(1.96 * sd / 3**0.5)
    table = result.table()
    assert "Paired difference from thompson (on the same tasks)" in table
    assert f"| meta-trained | 0.50 ± 0.98 | {mean:.2f} ± {1.96 * sd / 3**0.5:.2f} |" in table
    with pytest.raises(ValueError, match="paired_with must be one of the agents"):
        paired_differences(result.returns, "ucb1")


@pytest.mark.parametrize(
    "values, digits",
    [
        ({"a": np.array([[5.70], [5.72]]), "b": np.array([[5.87], [5.85]])}, 3),
        ({"a": np.array([[-300.0], [-340.0]]), "b": np.array([[-120.0], [-160.0]])}, 1),
        ({"a": np.array([[1.0]]), "b": np.array([[1.0]])}, 1),
    ],
)
def test_table_decimals_resolve_the_smallest_spread(values, digits):
    assert table_digits(values) == digits


def test_a_one_column_result_is_plotted_as_dots_with_error_bars_inside_the_axes():
    results = {"rl2": np.array([[5.7], [5.9], [5.8]]), "thompson": np.array([[5.8], [5.9], [6.0]])}
    figure = adaptation_figure(results, "bandit", {"rl2": 0, "thompson": 0})
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rl2", "thompson"]
    assert len(ax.containers) == 2  # one error bar per agent
    low, high = ax.get_ylim()
    assert low < 5.7 and high > 6.0


def test_reference_lines_stay_inside_the_axes():
    results = {"meta-trained": np.array([[-10.0, -5.0], [-12.0, -6.0]]), "oracle": np.full((2, 2), -1.0)}
    figure = adaptation_figure(results, "toy", {"meta-trained": 2, "oracle": 0})
    for ax in figure.axes:
        low, high = ax.get_ylim()
        assert high > -1.0 + 0.01 and low < -12.0
