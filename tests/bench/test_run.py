"""metarl bench run on a tiny cell: the result file and its provenance, the skip of a finished
seed, and a killed run that continues to the uninterrupted run's result."""

import csv
import json
import re

import pytest
import yaml

from metarl.cli import main
from metarl.provenance import git_state
from metarl.runs.folder import RunFolder
from metarl.runs.kinds import AgentKind
from tests.bench.conftest import TINY_CELL, suite_data
from tests.runs.interrupted import metrics_rows

PROVENANCE = ("metarl_version", "git_commit", "git_dirty", "config", "seeds", "command", "started",
              "wall_s", "machine")
MACHINE = ("cpu_count", "torch_threads", "device", "platform", "python", "torch")


def bench_run(suite, root, *extra):
    """``metarl bench run tiny`` with run folders and results under ``root``."""
    return main(["bench", "run", "tiny", "--suite", str(suite), "--out", str(root / "runs"),
                 "--results", str(root / "results"), *extra])


def test_a_result_holds_the_evaluation_and_its_provenance_and_is_not_run_twice(
    tiny_suite, tmp_path, capsys
):
    assert bench_run(tiny_suite, tmp_path) == 0
    path = tmp_path / "results" / "tiny" / "cpu-seed0.json"
    assert f"tiny cpu seed 0: {path}\n" in capsys.readouterr().out
    record = json.loads(path.read_text())
    assert (record["cell"], record["budget"], record["seed"], record["agent"]) == (
        "tiny", "cpu", 0, "MAML-TRPO"
    )
    evaluation = record["evaluation"]
    assert set(evaluation["summary"]) == {"meta-trained", "random-actions"}
    assert len(evaluation["summary"]["meta-trained"]["mean"]) == 2 and evaluation["num_tasks"] == 3
    assert "returns" not in evaluation and "tasks" not in evaluation  # per task: in eval.json
    assert record["timings"]["train_s"] > 0 and record["timings"]["evaluate_s"] > 0
    prov = record["provenance"]
    assert set(PROVENANCE) <= set(prov) and set(MACHINE) <= set(prov["machine"])
    assert prov["seeds"] == {"train": 0, "evaluation": 0}
    assert prov["config"]["iterations"] == 3 and prov["config"]["env_kwargs"] == {
        "max_episode_steps": 10
    }
    assert prov["wall_s"] > record["timings"]["train_s"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", prov["started"])
    commit, dirty = git_state()
    assert prov["git_commit"] == commit and prov["git_dirty"] in (dirty, True)
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)
    run = tmp_path / "runs" / "tiny" / "cpu-seed0"
    eval_json = json.loads((run / "eval" / "test" / "eval.json").read_text())
    assert eval_json["summary"] == evaluation["summary"]
    assert eval_json["provenance"]["seeds"] == {"train": 0, "evaluation": 0}
    assert eval_json["provenance"]["config"] == prov["config"]
    # the training curve: the run's metrics.csv columns env_steps and *_return, every iteration
    # (3 <= MAX_POINTS)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert record["training"] == {
        name: [float(row[name]) for row in rows]
        for name in ("env_steps", "pre_return", "post_return")
    }

    written = path.stat().st_mtime_ns
    assert bench_run(tiny_suite, tmp_path) == 0
    assert f"tiny cpu seed 0: {path} (exists: skipped)" in capsys.readouterr().out
    assert path.stat().st_mtime_ns == written


def test_git_state_outside_a_checkout_is_null(monkeypatch, tmp_path):
    import metarl.provenance

    monkeypatch.setattr(metarl.provenance, "SOURCE_TREE", tmp_path)
    assert git_state() == (None, None)


def test_a_killed_run_continues_from_its_checkpoint_to_the_uninterrupted_result(
    tiny_suite, tmp_path, monkeypatch, capsys
):
    assert bench_run(tiny_suite, tmp_path / "whole") == 0
    original = AgentKind.train_iteration

    def killed(self, config, learner, rng):
        if learner.iteration == 2:
            raise KeyboardInterrupt
        return original(self, config, learner, rng)

    with monkeypatch.context() as patch:
        patch.setattr(AgentKind, "train_iteration", killed)
        assert bench_run(tiny_suite, tmp_path / "part") == 130
    run = tmp_path / "part" / "runs" / "tiny" / "cpu-seed0"
    assert (run / "checkpoints" / "last.pt").is_file()
    assert not (tmp_path / "part" / "results" / "tiny" / "cpu-seed0.json").exists()

    changed = suite_data(tiny={**TINY_CELL, "overrides": {"hidden_sizes": [16], "checkpoint_every": 1}})
    tiny_suite.write_text(yaml.safe_dump(changed))
    capsys.readouterr()
    assert bench_run(tiny_suite, tmp_path / "part") == 2  # the suite changed: the run is not its
    assert "holds a run of another config" in capsys.readouterr().err
    tiny_suite.write_text(yaml.safe_dump(suite_data()))

    run_id = RunFolder(run).run_id()
    assert bench_run(tiny_suite, tmp_path / "part") == 0
    assert RunFolder(run).run_id() == run_id  # continued, not started over
    assert metrics_rows(run) == metrics_rows(tmp_path / "whole" / "runs" / "tiny" / "cpu-seed0")
    whole, part = (
        json.loads((tmp_path / name / "results" / "tiny" / "cpu-seed0.json").read_text())
        for name in ("whole", "part")
    )
    assert part["evaluation"] == whole["evaluation"]
    assert part["provenance"]["config"] == whole["provenance"]["config"]


@pytest.mark.parametrize("seeds", [["-1"], ["0", "0"]])
def test_bad_seeds_on_the_command_line_are_refused_before_anything_runs(
    tiny_suite, tmp_path, capsys, seeds
):
    code = bench_run(tiny_suite, tmp_path, "--seeds", *seeds)
    if seeds == ["0", "0"]:  # a repeated seed is one job
        assert code == 0
        assert capsys.readouterr().out.count("tiny cpu seed 0:") == 1
        return
    assert code == 2 and "seed" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
