import csv
import json

import numpy as np

from metarl.evaluation import (
    AdaptationCurves,
    EvaluationResult,
    confidence_interval,
    markdown_table,
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
