import csv

import pytest
import torch
import yaml

from metarl.agents import MetaLearner
from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.runs.config import ConfigError, TrainConfig, load_config
from metarl.runs.folder import RunFolder
from metarl.runs.train import load_run, resume, train

TINY = TrainConfig(
    env="metarl/Navigation2D-v0",
    env_kwargs={"max_episode_steps": 10},
    iterations=4,
    meta_batch_size=3,
    episodes_per_task=2,
    hidden_sizes=(8,),
    checkpoint_every=2,
    seed=3,
)


def read_metrics(path):
    with open(path, newline="") as f:
        return [
            {k: float(v) for k, v in row.items() if not k.startswith("time_")}
            for row in csv.DictReader(f)
        ]


def test_run_folder_holds_config_metrics_tensorboard_and_checkpoints(tmp_path):
    train(TINY, tmp_path / "run", progress=False)
    folder = RunFolder(tmp_path / "run")
    assert load_config(folder.config) == TINY
    rows = read_metrics(folder.metrics)
    assert [r["iteration"] for r in rows] == [1, 2, 3, 4]
    assert {"pre_return", "post_return", "loss_before", "kl_after"} <= set(rows[0])
    assert any(folder.tensorboard.iterdir())
    state = load_checkpoint(folder.last)
    assert state["iteration"] == 4 and state["config"] == TINY.to_dict()
    assert len(state["splits"]["test"]) == 40
    assert folder.best.is_file()
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(TINY, tmp_path / "run", progress=False)


def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    train(TINY, tmp_path / "full", progress=False)
    original = MetaLearner.meta_step

    def killed_after_three(self, tasks):
        if self.iteration == 3:  # killed during iteration 4; last checkpoint: iteration 2
            raise KeyboardInterrupt
        return original(self, tasks)

    monkeypatch.setattr(MetaLearner, "meta_step", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        train(TINY, tmp_path / "killed", progress=False)
    monkeypatch.undo()
    killed = RunFolder(tmp_path / "killed")
    assert load_checkpoint(killed.last)["iteration"] == 2
    assert len(read_metrics(killed.metrics)) == 3  # one row newer than the checkpoint
    resume(killed.root, progress=False)
    assert read_metrics(killed.metrics) == read_metrics(RunFolder(tmp_path / "full").metrics)


def test_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"value": 1}, path)

    def dying_save(obj, f):
        f.write(b"partial bytes")
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"value": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["value"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_corrupt_or_missing_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a metarl checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a run folder"):
        load_run(tmp_path)


def test_config_files_are_validated(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("env: metarl/Navigation2D-v0\ninner_lr: -1\n")
    with pytest.raises(ConfigError, match=r"c.yaml: inner_lr must be a finite number in \(0, 10\]"):
        load_config(path)
    path.write_text("innr_lr: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['innr_lr'\]"):
        load_config(path)
    path.write_text("outer: promp\n")
    with pytest.raises(ConfigError, match="needs estimator 'lvc'"):
        load_config(path)
    with pytest.raises(ConfigError, match="--set takes key=value"):
        TINY.with_overrides(["inner_lr"])
    assert TINY.with_overrides(["hidden_sizes=[4, 4]"]).hidden_sizes == (4, 4)


def test_runs_saved_before_a_config_key_existed_still_load(tmp_path):
    train(TINY, tmp_path / "run", progress=False)
    folder = RunFolder(tmp_path / "run")
    state = load_checkpoint(folder.last)
    del state["config"]["sampler"]  # as written by a version without that key
    save_checkpoint({k: v for k, v in state.items() if k != "format"}, folder.last)
    config, learner = load_run(folder.root)
    assert config == TINY and learner.iteration == 4


def test_resume_rewrites_metrics_atomically_and_removes_stale_temps(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path / "run")
    train(TINY, folder.root, progress=False)
    full = folder.metrics.read_text()
    last = load_checkpoint(folder.last)
    last["iteration"] = 2  # as if stopped after iteration 2's checkpoint: rows 3, 4 go
    last["learner"]["iteration"] = 2
    save_checkpoint({k: v for k, v in last.items() if k != "format"}, folder.last)
    stale = folder.checkpoints / ".last.pt.metarl-a1b2c3d4.tmp"  # a killed checkpoint write
    stale.write_bytes(b"partial")

    def killed_rename(src, dst):
        raise KeyboardInterrupt  # killed between writing the new metrics.csv and renaming it

    monkeypatch.setattr("metarl.files.os.replace", killed_rename)
    with pytest.raises(KeyboardInterrupt):
        resume(folder.root, progress=False)
    assert folder.metrics.read_text() == full  # the old file is whole, not truncated to 0 bytes
    assert not stale.exists()
    assert sorted(p.name for p in folder.root.iterdir()) == [
        ".metarl-lock", ".metarl-run", "checkpoints", "config.yaml", "metrics.csv", "tb"
    ]


def test_resume_adds_a_column_for_a_metric_the_older_run_did_not_log(tmp_path):
    """A run written by an older metarl, resumed by one that logs one more metric."""
    folder = RunFolder(tmp_path / "run")
    train(TINY, folder.root, progress=False)
    last = load_checkpoint(folder.last)
    last["iteration"] = last["learner"]["iteration"] = 2
    save_checkpoint({k: v for k, v in last.items() if k != "format"}, folder.last)
    with open(folder.metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    dropped = "step_fraction"  # as if the older metarl had not logged it
    assert dropped in rows[0]
    folder.metrics.write_text(
        "\n".join(",".join(v for k, v in row.items() if k != dropped) for row in [
            {k: k for k in rows[0]}, *rows[:2]
        ]) + "\n"
    )
    resume(folder.root, progress=False)
    with open(folder.metrics, newline="") as f:
        resumed = list(csv.DictReader(f))
    assert [row["iteration"] for row in resumed] == ["1", "2", "3", "4"]
    assert [row[dropped] == "" for row in resumed] == [True, True, False, False]


def test_resume_refuses_a_foreign_metrics_file(tmp_path):
    folder = RunFolder(tmp_path / "run")
    train(TINY, folder.root, progress=False)
    folder.metrics.write_text("a,b\n1,2\n")
    with pytest.raises(CheckpointError, match="no 'iteration' column"):
        resume(folder.root, progress=False)
    assert folder.metrics.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize(
    ("env", "env_kwargs", "match"),
    [
        ("metarl/Foo-v0", {}, "not a metarl task family"),
        ("CartPole-v1", {}, "has no task_distribution; the sampler needs"),
        ("metarl/Navigation2D-v0", {"foo": 1}, "does not accept env_kwargs {'foo': 1}"),
    ],
)
def test_bad_envs_fail_before_the_run_folder_is_made(tmp_path, env, env_kwargs, match):
    config = TrainConfig(env=env, env_kwargs=env_kwargs, iterations=1)
    with pytest.raises(ConfigError, match=match):
        train(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_run_written_with_the_old_key_names_loads(tmp_path):
    """A run folder whose config.yaml and checkpoint use ``baseline`` / ``baseline_timesteps``."""
    train(TINY, tmp_path / "run", progress=False)
    folder = RunFolder(tmp_path / "run")
    old = {"value_function": "baseline", "comparison_timesteps": "baseline_timesteps"}
    data = yaml.safe_load(folder.config.read_text())
    folder.config.write_text(yaml.safe_dump({old.get(k, k): v for k, v in data.items()}))
    state = load_checkpoint(folder.last)
    state["config"] = {old.get(k, k): v for k, v in state["config"].items()}
    save_checkpoint(state, folder.last)
    assert "baseline: linear" in folder.config.read_text()
    loaded, learner = load_run(folder.root)
    assert loaded == TINY and learner.iteration == TINY.iterations


def test_load_run_leaves_torch_global_random_state_alone(tmp_path):
    train(TINY, tmp_path / "run", progress=False)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_run(tmp_path / "run")
    assert torch.equal(torch.rand(3), expected)
