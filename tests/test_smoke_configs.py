"""The smoke configs (``configs/<kind>/smoke.yaml``) train and evaluate through the CLI in
seconds, and the ``next:`` command that ``metarl train`` prints runs as printed."""

import csv
import shlex
import sys
from pathlib import Path

import pytest

from metarl.cli import main
from metarl.runs.config import load_config

CONFIGS = Path(__file__).parents[1] / "configs"
SMOKE = sorted(CONFIGS.glob("*/smoke.yaml"))


def test_every_agent_kind_has_a_smoke_config_that_says_what_it_is():
    assert {p.parent.name for p in SMOKE} == {p.name for p in CONFIGS.iterdir() if p.is_dir()}
    for path in SMOKE:
        assert path.read_text().startswith("# Smoke check, not a result"), path


@pytest.mark.parametrize("config", SMOKE, ids=lambda p: p.parent.name)
def test_a_smoke_config_trains_and_evaluates(config, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run)]) == 0
    assert main(["evaluate", str(run)]) == 0
    assert (run / "eval" / "test" / "eval.json").is_file()
    with open(run / "metrics.csv", newline="") as f:
        iterations = [int(row["iteration"]) for row in csv.DictReader(f)]
    assert iterations == list(range(1, load_config(config).iterations + 1))


def test_the_next_command_carries_the_imports_evaluate_needs(tmp_path, capsys, monkeypatch):
    """A run whose config names a module: ``metarl evaluate`` imports none that a run's files
    name, so the printed command (after training and after ``--resume``) imports it itself, and
    runs where the module is not imported yet (a new process; here: dropped from sys.modules)."""
    (tmp_path / "smoke_plugin.py").write_text("# registers nothing: the run only names it\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = tmp_path / "my runs" / "nav"
    config = CONFIGS / "maml-trpo" / "smoke.yaml"

    def next_command(argv: list[str]) -> list[str]:
        assert main(argv) == 0
        lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("next: ")]
        assert len(lines) == 1
        return shlex.split(lines[0].removeprefix("next: "))

    command = next_command(
        ["train", "--config", str(config), "--import", "smoke_plugin", "--out", str(run)]
    )
    assert command == ["metarl", "evaluate", "--import", "smoke_plugin", str(run)]
    assert next_command(["train", "--resume", str(run), "--import", "smoke_plugin"]) == command
    monkeypatch.delitem(sys.modules, "smoke_plugin")
    assert main(["evaluate", str(run)]) == 2
    assert "--import smoke_plugin" in capsys.readouterr().err
    assert main(command[1:]) == 0
    assert (run / "eval" / "test" / "eval.json").is_file()
