"""End to end through the command line: train, evaluate, envs; every config file validates."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metarl.cli import main
from metarl.envs import metaworld_ids, registered_ids
from metarl.files import hold_lock
from metarl.runs.config import load_config
from metarl.runs.folder import LOCK

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
    "comparison_timesteps=256",
]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_file_validates_and_names_a_registered_env(path):
    config = load_config(path)
    assert config.env in registered_ids() + metaworld_ids()


@pytest.mark.slow
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
    comparisons = "random,pretrained,oracle,random-actions,scratch"
    assert main(["evaluate", str(run), "--comparisons", comparisons]) == 0
    printed = capsys.readouterr().out
    assert all(f"| {a} |" in printed for a in ("meta-trained", "random", "oracle", "random-actions"))
    result = json.loads((run / "eval" / "test" / "eval.json").read_text())
    assert result["env"] == "metarl/Navigation2D-v0" and result["split"] == "test"
    assert len(result["tasks"]) == 4
    for agent in ("meta-trained", "random", "pretrained", "oracle", "random-actions", "scratch"):
        returns = np.array(result["returns"][agent])
        assert returns.shape == (4, 3) and np.isfinite(returns).all()
        assert len(result["summary"][agent]["mean"]) == 3
    rows = (run / "eval" / "test" / "eval.csv").read_text().splitlines()
    assert rows[0] == "task_index,task_id,task_params,group,agent,step,episodes,return,success"
    assert len(rows) == 1 + 6 * 4 * 3
    assert result["episodes_per_unit"] == {
        "meta-trained": 2, "random": 2, "pretrained": 2, "oracle": 0, "random-actions": 1,
        "scratch": 2,
    }
    plot = run / "eval" / "test" / "adaptation.png"
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


def _one_line(err: str) -> str:
    """The single line of stderr that is not the progress bar's."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line and "%|" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("env=metarl/Foo-v0", "'metarl/Foo-v0' is not a metarl task family"),
        ("env=CartPole-v1", "'CartPole-v1' is not a metarl task family (its vector env CartPoleVectorEnv"),
        ("env_kwargs={foo: 1}", "does not accept env_kwargs {'foo': 1}"),
        ("seed=-1", "seed"),
        ("gamma=[1", "gamma"),
    ],
)
def test_config_and_env_errors_are_one_line_before_any_folder_exists(
    tmp_path, capsys, override, says
):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, "--set", override, "--out", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("metarl train: error:") and says in line
    assert not run.exists()


def test_a_metaworld_id_without_the_extra_names_the_pip_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("metarl.envs.metaworld_available", lambda: False)
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, "--set", f"env={metaworld_ids()[0]}", "--out", str(run)]) == 2
    assert "pip install 'metarl[metaworld]'" in _one_line(capsys.readouterr().err)
    assert not run.exists()


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["train", "--debug", "--config", QUICK, "--set", "env=CartPole-v1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("metarl train: error:")


def test_unusable_out_folders_are_one_line_errors(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    for out, says in ((tmp_path / "file", "is an existing file"),
                      (tmp_path / "file" / "run", "Not a directory")):
        assert main(["train", "--config", QUICK, *TINY, "--out", str(out)]) == 2
        assert says in _one_line(capsys.readouterr().err)
    def read_only(self, *args, **kwargs):  # chmod does not stop root, so refuse as the OS would
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("metarl.runs.folder.Path.mkdir", read_only)
    assert main(["train", "--config", QUICK, *TINY, "--out", str(tmp_path / "ro" / "run")]) == 2
    assert "Permission denied: " in _one_line(capsys.readouterr().err)


def test_an_empty_out_is_refused_not_replaced_by_the_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in ("", "  "):
        assert main(["train", "--config", QUICK, *TINY, "--out", out]) == 2
        assert "--out needs a folder name" in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_refuses_the_working_folder_and_foreign_folders(tmp_path, capsys, monkeypatch):
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "config.yaml").write_text("name: x")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--config", QUICK, *TINY, "--out", ".", "--overwrite"]) == 2
    assert "current folder" in _one_line(capsys.readouterr().err)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("notes")
    (tmp_path / "p" / "config.yaml").write_text("name: x")
    assert main(["train", "--config", QUICK, *TINY, "--out", "p", "--overwrite"]) == 2
    assert "did not create it" in _one_line(capsys.readouterr().err)
    assert (tmp_path / "thesis.tex").is_file() and (tmp_path / "p" / "notes.txt").is_file()


def test_a_run_without_a_checkpoint_points_to_overwrite(tmp_path, capsys, monkeypatch):
    from metarl.agents import MetaLearner

    def interrupted(self, tasks):
        raise KeyboardInterrupt

    monkeypatch.setattr(MetaLearner, "meta_step", interrupted)
    run = str(tmp_path / "run")
    assert main(["train", "--config", QUICK, *TINY, "--out", run]) == 130
    assert f"--out {run} --overwrite" in _one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert main(["train", "--config", QUICK, *TINY, "--out", run]) == 2
    assert "--overwrite" in _one_line(capsys.readouterr().err)
    assert main(["train", "--resume", run]) == 2
    assert "--overwrite" in _one_line(capsys.readouterr().err)
    assert main(["train", "--config", QUICK, *TINY, "--out", run, "--overwrite"]) == 0


def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(tmp_path, capsys, monkeypatch):
    from metarl.agents import MetaLearner

    original = MetaLearner.meta_step

    def interrupted_at_two(self, tasks):
        if self.iteration == 1:
            raise KeyboardInterrupt
        return original(self, tasks)

    monkeypatch.setattr(MetaLearner, "meta_step", interrupted_at_two)
    run = tmp_path / "run"
    args = ["train", "--config", QUICK, *TINY, "--set", "checkpoint_every=1", "--out", str(run)]
    assert main(args) == 130
    line = _one_line(capsys.readouterr().err)
    assert f"last checkpoint: {run / 'checkpoints' / 'last.pt'}" in line
    assert f"metarl train --resume {run}" in line


def test_disk_full_during_a_checkpoint_is_one_line(tmp_path, capsys, monkeypatch):
    def disk_full(obj, file):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("metarl.checkpoint.torch.save", disk_full)
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "No space left on device" in line and "--overwrite" in line
    assert not [p for p in (run / "checkpoints").iterdir()]  # no temp file left


def test_evaluate_refuses_to_replace_an_evaluation_without_overwrite(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--seed", "-1"]) == 2
    assert "seed must be" in _one_line(capsys.readouterr().err)
    assert main(["evaluate", str(run), "--tasks", "2"]) == 0
    first = (run / "eval" / "test" / "eval.json").read_text()
    (run / "eval" / "test" / "notes.md").write_text("mine")
    capsys.readouterr()
    assert main(["evaluate", str(run), "--tasks", "3"]) == 2
    assert "pass --overwrite" in _one_line(capsys.readouterr().err)
    assert (run / "eval" / "test" / "eval.json").read_text() == first
    assert main(["evaluate", str(run), "--tasks", "3", "--overwrite"]) == 0
    assert "replaced the earlier evaluation's" in capsys.readouterr().out
    assert len(json.loads((run / "eval" / "test" / "eval.json").read_text())["tasks"]) == 3
    assert (run / "eval" / "test" / "notes.md").read_text() == "mine"


def test_evaluation_episodes_set_metaworlds_protocol(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--tasks", "2", "--evaluation-episodes", "0"]) == 2
    assert "evaluation_episodes must be a positive int, got 0" in _one_line(capsys.readouterr().err)
    assert main(["evaluate", str(run), "--tasks", "2", "--evaluation-episodes", "3"]) == 0
    assert "3 separate evaluation episodes per task" in capsys.readouterr().out
    assert json.loads((run / "eval" / "test" / "eval.json").read_text())["evaluation_episodes"] == 3


@pytest.mark.parametrize(
    ("sets", "prefix"), [((), "navigation2d-trpo-s0-"), (("agent=rl2",), "navigation2d-rl2-s0-")]
)
def test_the_default_run_folder_names_the_algorithm(tmp_path, monkeypatch, sets, prefix):
    import metarl.runs.train as train_module

    folders = []
    monkeypatch.setattr(train_module, "train", lambda config, out, overwrite=False: folders.append(out))
    monkeypatch.chdir(tmp_path)
    assert main(["train", *[f"--set={s}" for s in sets]]) == 0
    assert folders[0].parent.name == "runs" and folders[0].name.startswith(prefix)


def test_evaluate_never_writes_through_a_link_nor_beside_another_evaluation(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "eval.json").write_text("another run's")
    (run / "eval").symlink_to(shared)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--tasks", "2", "--steps", "1"]) == 2
    assert "symbolic link" in _one_line(capsys.readouterr().err)
    assert sorted(p.name for p in shared.iterdir()) == ["eval.json"]
    assert (shared / "eval.json").read_text() == "another run's"
    (run / "eval").unlink()
    (run / "eval" / "test").mkdir(parents=True)
    with hold_lock(run / "eval" / "test" / LOCK, "a test"):  # as another `metarl evaluate` does
        assert main(["evaluate", str(run), "--tasks", "2", "--steps", "1"]) == 2
        assert "another metarl process is writing" in _one_line(capsys.readouterr().err)
    assert not (run / "eval" / "test" / "eval.json").exists()


def test_training_that_diverges_is_one_line_naming_the_iteration_and_settings(
    tmp_path, capsys, monkeypatch
):
    from metarl.agents import MetaLearner

    original = MetaLearner._meta_step

    def diverging(self, tasks):
        if self.iteration == 2:
            raise FloatingPointError("surrogate loss is nan")
        return original(self, tasks)

    monkeypatch.setattr(MetaLearner, "_meta_step", diverging)
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "iteration 2" in line and "surrogate loss is nan" in line and "max_kl" in line
    assert main(["train", "--resume", ""]) == 2
    assert "--resume needs a run folder" in _one_line(capsys.readouterr().err)


def test_each_split_has_its_own_evaluation_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--tasks", "2", "--steps", "1"]) == 0
    test = (run / "eval" / "test" / "eval.json").read_text()
    assert main(["evaluate", str(run), "--split", "test-ood", "--tasks", "2", "--steps", "1"]) == 0
    assert (run / "eval" / "test" / "eval.json").read_text() == test  # not replaced
    ood = json.loads((run / "eval" / "test-ood" / "eval.json").read_text())
    assert ood["split"] == "test-ood" and json.loads(test)["split"] == "test"
    assert (run / "eval" / "test-ood" / "adaptation.png").is_file()
