"""End to end through the command line: train, evaluate, envs; every config file validates."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metarl.cli import main
from metarl.config import load_config
from metarl.envs import metaworld_ids, registered_ids

CONFIGS = sorted(Path(__file__).parents[1].glob("configs/**/*.yaml"))
QUICK = str(Path(__file__).parents[1] / "configs" / "maml-trpo" / "navigation2d-quick.yaml")
TINY = [
    "--set",
    "iterations=2",
    "--set",
    "meta_batch_size=3",
    "--set",
    "episodes_per_task=2",
    "--set",
    "hidden_sizes=[8]",
    "--set",
    "env_kwargs={max_episode_steps: 10}",
    "--set",
    "eval_tasks=4",
    "--set",
    "eval_steps=2",
    "--set",
    "baseline_timesteps=256",
]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_file_validates_and_names_a_registered_env(path):
    config = load_config(path)
    assert config.env in registered_ids() + metaworld_ids()


def test_train_then_evaluate_writes_every_output(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--seed", "1", "--out", str(run)]) == 0
    for name in ("config.yaml", "metrics.csv", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).is_file(), name
    assert load_config(run / "config.yaml").seed == 1
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 2  # exists
    assert (
        main(["train", "--config", QUICK, *TINY, "--seed", "1", "--out", str(run), "--overwrite"])
        == 0
    )
    assert main(["evaluate", str(run), "--baselines", "random,pretrained,oracle,rl2,scratch"]) == 0
    printed = capsys.readouterr().out
    assert all(f"| {a} |" in printed for a in ("meta-trained", "random", "oracle", "rl2"))
    result = json.loads((run / "eval" / "eval.json").read_text())
    assert result["env"] == "metarl/Navigation2D-v0" and result["split"] == "test"
    assert len(result["tasks"]) == 4
    for agent in ("meta-trained", "random", "pretrained", "oracle", "rl2", "scratch"):
        returns = np.array(result["returns"][agent])
        assert returns.shape == (4, 3) and np.isfinite(returns).all()
        assert len(result["summary"][agent]["mean"]) == 3
    rows = (run / "eval" / "eval.csv").read_text().splitlines()
    assert rows[0] == "task_index,task_id,task_params,group,agent,step,return,success"
    assert len(rows) == 1 + 6 * 4 * 3
    plot = run / "eval" / "adaptation.png"
    assert plot.stat().st_size > 10_000
    with Image.open(plot) as image:
        assert image.size[0] > 300 and image.size[1] > 200


def test_resume_through_the_cli(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    config_text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config_text.replace("iterations: 2", "iterations: 3"))
    assert main(["train", "--resume", str(run)]) == 2  # the checkpoint's config differs
    (run / "config.yaml").write_text(config_text)
    assert main(["train", "--resume", str(run)]) == 0  # already complete: nothing to do


def test_cli_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "--config", CONFIGS[0].as_posix(), "--set", "gamma=2"]) == 2
    assert "gamma must lie in (0, 1]" in capsys.readouterr().err


def test_envs_prints_the_family_table(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert all(f"`{env_id}`" in out for env_id in registered_ids())
