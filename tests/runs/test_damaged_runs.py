"""Damaged runs: on ``--resume`` (and load) everything read from a checkpoint or ``metrics.csv`` is
checked before any file is touched, and each damage is a one-line error naming the bad field."""

import copy
import os
import re
import shutil
import threading

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.cli import main
from metarl.files import hold_lock
from metarl.runs.config import TrainConfig
from metarl.runs.folder import RunFolder
from metarl.runs.train import resume, train

TINY = TrainConfig(
    env="metarl/Navigation2D-v0",
    env_kwargs={"max_episode_steps": 5},
    iterations=4,
    meta_batch_size=2,
    episodes_per_task=2,
    hidden_sizes=(8,),
    checkpoint_every=2,
)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run stopped at iteration 2 of 4: ``last.pt`` at 2, ``metrics.csv`` with 3 rows."""
    folder = RunFolder(tmp_path_factory.mktemp("damaged") / "run")
    train(TINY.with_overrides(["iterations=3"]), folder.root, progress=False)
    state = load_checkpoint(folder.last)
    state["config"]["iterations"] = 4
    folder.config.write_text(
        folder.config.read_text().replace("iterations: 3", "iterations: 4")
    )
    return folder, state


def _damaged(stopped, tmp_path, damage) -> RunFolder:
    """A copy of the stopped run whose ``last.pt`` holds ``damage(state)``."""
    source, state = stopped
    folder = RunFolder(tmp_path / "run")
    shutil.copytree(source.root, folder.root)
    state = copy.deepcopy({key: value for key, value in state.items() if key != "format"})
    damage(state)
    save_checkpoint(state, folder.last)
    return folder


def _snapshot(folder: RunFolder) -> dict[str, bytes]:
    return {
        p.relative_to(folder.root).as_posix(): p.read_bytes()
        for p in folder.root.rglob("*") if p.is_file()
    }


def _set(path, value):
    def damage(state):
        *keys, last = path
        for key in keys:
            state = state[key]
        if value is KeyError:
            del state[last]
        else:
            state[last] = value
    return damage


def _nan_weight(state):
    weights = state["learner"]["policy"]
    name = next(iter(weights))
    weights[name] = torch.full_like(weights[name], float("nan"))


DAMAGES = {
    "iteration -3": (_set(["iteration"], -3), r"iteration -3 must be an int in \[0, iterations=4\]"),
    "learner iteration -3": (_set(["learner", "iteration"], -3), "learner is at iteration -3"),
    "iteration 1,000,000": (_set(["iteration"], 1_000_000), "iteration 1000000 must be"),
    "no best_post_return": (_set(["best_post_return"], KeyError), r"lacks \['best_post_return'\]"),
    "best_post_return nan": (_set(["best_post_return"], float("nan")), "best_post_return nan"),
    "config a list": (_set(["config"], [1, 2]), "config of type list"),
    "NaN weights": (_nan_weight, r"learner\.policy\.\S+ holds NaN or infinite values"),
    "max_kl from the checkpoint": (
        _set(["learner", "outer", "max_kl"], 1e30), r"has max_kl=1e\+30, the config 0\.01"
    ),
    "cg_damping a string": (_set(["learner", "outer", "cg_damping"], "abc"), "cg_damping='abc'"),
    "torch_rng a list": (_set(["torch_rng"], [1, 2]), "torch_rng must be a uint8 tensor"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_checkpoint_is_refused_before_any_file_is_touched(
    stopped, tmp_path, capsys, damage
):
    damage_fn, message = DAMAGES[damage]
    folder = _damaged(stopped, tmp_path, damage_fn)
    before = _snapshot(folder)
    assert main(["train", "--resume", str(folder.root)]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and line.startswith("metarl train: error: "), line
    assert "last.pt" in line
    assert re.search(message, line), line
    assert _snapshot(folder) == before  # metrics.csv keeps its rows, nothing else changed


@pytest.mark.parametrize(
    "metrics, message",
    [
        ("iteration,pre_return\n1,-3.0\n2\n", "line 3 has 1 fields, the header 2"),
        ("iteration,pre_return\n1,-3.0,7\n", "line 2 has 3 fields, the header 2"),
        ("iteration,pre_return\n1,-3.0\nabc,-2.0\n", "iteration 'abc' is not a non-negative int"),
        ("iteration,pre_return\n-1,-3.0\n", "iteration '-1' is not a non-negative int"),
    ],
)
def test_a_malformed_metrics_file_is_refused_on_resume(stopped, tmp_path, metrics, message):
    folder = _damaged(stopped, tmp_path, lambda state: None)
    folder.metrics.write_text(metrics)
    with pytest.raises(CheckpointError, match=message):
        resume(folder.root, progress=False)
    assert folder.metrics.read_text() == metrics


def test_a_finished_run_resumes_to_nothing_and_says_so(stopped, tmp_path, caplog):
    folder = _damaged(stopped, tmp_path, _set(["iteration"], 4))
    folder.last.unlink()
    state = copy.deepcopy({k: v for k, v in stopped[1].items() if k != "format"})
    state["iteration"] = state["learner"]["iteration"] = 4
    save_checkpoint(state, folder.last)
    before = folder.metrics.read_text()
    with caplog.at_level("INFO", logger="metarl"):
        resume(folder.root, progress=False)
    assert "finished all 4 iterations" in caplog.text
    assert folder.metrics.read_text() == before


def test_a_checkpoint_of_another_run_is_refused_on_resume(stopped, tmp_path):
    folder = _damaged(stopped, tmp_path, _set(["run_id"], "0" * 32))
    with pytest.raises(CheckpointError, match="belongs to run '0000"):
        resume(folder.root, progress=False)


def test_two_writers_of_one_run_folder_one_is_refused(stopped, tmp_path, capsys):
    folder = _damaged(stopped, tmp_path, lambda state: None)
    before = _snapshot(folder)
    quick = ["--set", "iterations=2", "--set", "meta_batch_size=2", "--set", "episodes_per_task=2"]
    with hold_lock(folder.lock_file, "a test"):  # as a second metarl process does
        assert main(["train", *quick, "--out", str(folder.root), "--overwrite"]) == 2
        assert "another metarl process is writing" in capsys.readouterr().err
        assert main(["train", "--resume", str(folder.root)]) == 2
        assert "another metarl process is writing" in capsys.readouterr().err
    assert _snapshot(folder) == before


def test_a_full_disk_while_saving_a_checkpoint_is_the_system_s_error(tmp_path, monkeypatch):
    full = os.open("/dev/full", os.O_WRONLY)
    temp = tmp_path / ".last.pt.metarl-abcdefgh.tmp"
    monkeypatch.setattr("metarl.files.tempfile.mkstemp", lambda **kwargs: (full, str(temp)))
    with pytest.raises(OSError, match="No space left on device"):
        save_checkpoint({"weights": torch.zeros(100_000)}, tmp_path / "last.pt")
    assert not (tmp_path / "last.pt").exists()


def test_a_background_thread_s_error_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    assert main(["envs"]) == 0  # installs metarl's hook for the command's duration
    capsys.readouterr()

    def failing():
        raise OSError(28, "No space left on device")

    thread = threading.Thread(target=failing, name="EventFileWriter")
    thread.start()
    thread.join()
    assert capsys.readouterr().err == "metarl: EventFileWriter: No space left on device\n"


def test_the_error_handler_survives_an_unreadable_run_folder(tmp_path, capsys):
    long = tmp_path / ("x" * 300)
    quick = ["--set", "iterations=2", "--set", "meta_batch_size=2", "--set", "episodes_per_task=2"]
    assert main(["train", *quick, "--out", str(long), "--overwrite"]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and "File name too long" in line


def test_a_user_module_that_fails_on_import_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "raising_module.py").write_text("raise RuntimeError('no GPU here')\n")
    (tmp_path / "broken_module.py").write_text("def f(:\n")
    assert main(["envs", "--import", "raising_module"]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1
    assert "importing module 'raising_module' raised RuntimeError: no GPU here" in line
    assert main(["envs", "--import", "broken_module"]) == 2
    line = capsys.readouterr().err
    assert line.count("\n") == 1
    assert "'broken_module' raised SyntaxError" in line and "line 1" in line


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(torch.full, st.just((2,)), st.sampled_from([float("nan"), float("inf"), 1.0])),
)
_FIELDS = [
    ["iteration"], ["best_post_return"], ["torch_rng"], ["config"], ["run_id"], ["spaces"],
    ["config", "iterations"], ["config", "max_kl"], ["config", "seed"], ["learner", "iteration"],
    ["learner", "outer"], ["learner", "outer", "max_kl"], ["learner", "policy"], ["learner", "rng"],
    ["learner", "sampler_rng"], ["learner", "step_sizes"], ["learner", "optimizer"],
]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_VALUES | st.just(KeyError))
def test_any_checkpoint_field_gives_a_clear_error_or_a_correct_resume(
    stopped, tmp_path_factory, field, value
):
    root = tmp_path_factory.mktemp("property")
    neighbour = root / "other-run" / "metrics.csv"
    neighbour.parent.mkdir()
    neighbour.write_text("iteration\n1\n")
    folder = _damaged(stopped, root, _set(field, value))
    metrics = folder.metrics.read_text()
    try:
        resume(folder.root, progress=False)
    except (CheckpointError, ValueError) as err:  # ConfigError is a ValueError
        assert str(err) and "\n" not in str(err)
        assert folder.metrics.read_text() == metrics  # refused before any file was touched
    else:
        rows = folder.metrics.read_text().splitlines()
        assert len(rows) == 1 + TINY.iterations
        assert "nan" not in rows[-1].lower()
    assert neighbour.read_text() == "iteration\n1\n"
    assert sorted(p.name for p in root.iterdir()) == ["other-run", "run"]
