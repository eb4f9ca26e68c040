import csv
import json

import numpy as np
import pytest
import torch

from metarl.agents import InnerLoop, make_policy
from metarl.evaluation import (
    AdaptationCurves,
    EvaluationResult,
    adaptation_returns,
    confidence_interval,
    markdown_table,
)
from metarl.sampling import MultiTaskSampler, stack_params
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


def test_adaptation_returns_follow_the_protocol():
    torch.manual_seed(0)
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", 3, {"max_episode_steps": 20})
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,))
    inner = InnerLoop(policy, step_size=0.1)
    tasks = sampler.task_distribution.split("test").tasks[:4]
    returns = adaptation_returns(policy, inner, sampler, tasks, num_steps=2, seed=5)
    assert returns.shape == (4, 3)
    # step 0: the unadapted policy's mean return over 3 episodes per task, with the seed given
    params = {k: v.detach() for k, v in stack_params(dict(policy.named_parameters()), 4).items()}
    sampler.sample(policy, tasks, params, seed=11)  # whatever ran before does not matter
    again = adaptation_returns(policy, inner, sampler, tasks, num_steps=2, seed=5)
    np.testing.assert_array_equal(again, returns)
    sampler.seed(5)
    batch = sampler.sample(policy, tasks, params, seed=5)
    np.testing.assert_allclose(returns[:, 0], batch.task_returns().numpy(), rtol=1e-6)
    # later steps use adapted parameters, so they differ
    assert not np.allclose(returns[:, 1], returns[:, 0])
    with pytest.raises(ValueError):
        adaptation_returns(policy, inner, sampler, [], num_steps=1, seed=0)


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


def test_comparison_agents_adapt_with_the_inner_loop_of_the_run(tmp_path, monkeypatch):
    """Every agent the evaluation adapts by the inner loop gets the meta-learner's inner loop
    settings, value baseline and weighting included (the ``random`` comparison once adapted with
    the linear baseline under ``baseline: mlp``)."""
    from metarl import evaluation
    from metarl.agents import MLPValueBaseline
    from metarl.config import TrainConfig
    from metarl.training import train

    config = TrainConfig(
        env="metarl/Navigation2D-v0", env_kwargs={"max_episode_steps": 5}, iterations=1,
        meta_batch_size=2, episodes_per_task=2, hidden_sizes=(4,), eval_tasks=2, eval_steps=1,
        baseline="mlp", weighting="step", bootstrap_truncated=True, inner_lr=0.05,
    )
    train(config, tmp_path / "run", progress=False)
    built = []

    class RecordingInnerLoop(InnerLoop):
        def __init__(self, policy, **kwargs):
            super().__init__(policy, **kwargs)
            built.append(self)

    monkeypatch.setattr(evaluation, "InnerLoop", RecordingInnerLoop)
    evaluation.evaluate_run(tmp_path / "run", baselines=["random"])
    assert len(built) == 1
    (random_inner,) = built
    assert isinstance(random_inner.baseline_factory(), MLPValueBaseline)
    assert (random_inner.weighting, random_inner.bootstrap_truncated) == ("step", True)
    assert random_inner.step_size == 0.05
