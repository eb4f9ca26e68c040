"""The suite file: the committed one loads whole; malformed ones are one clear error."""

import copy
from pathlib import Path

import pytest
import yaml

from metarl.bench.suite import SuiteError, load_suite
from metarl.cli import main
from tests.bench.conftest import TINY_CELL, suite_data

SUITE = Path(__file__).resolve().parents[2] / "benchmarks" / "suite.yaml"


def test_the_committed_suite_loads_with_a_smoke_cell_and_the_matrix_families():
    suite = load_suite(SUITE)
    smoke = suite.cells["smoke"]
    assert (smoke.agent, smoke.family.env, smoke.matrix) == (
        "MAML-TRPO", "metarl/Navigation2D-v0", False
    )
    assert {"random-actions", "pretrained", "oracle"} <= set(smoke.evaluation.comparisons)
    families = {cell.family.env for cell in suite.cells.values() if cell.matrix}
    for env in ("Navigation2D", "HalfCheetahVel", "HalfCheetahDir", "AntGoal", "CartPole",
                "Pendulum", "HalfCheetahRandParams", "Bandit", "TabularMDP",
                "MetaWorld-ML1-reach", "MetaWorld-ML1-push"):
        assert f"metarl/{env}-v0" in families, env
    for agent in ("RL^2", "PEARL"):
        cells = [c for c in suite.cells.values() if c.agent == agent]
        assert len({c.family.name for c in cells}) >= 4, agent
        assert any(c.family.group == "dynamics" for c in cells), agent
    for cell in suite.cells.values():  # a cpu budget is at most the paper's
        if "paper" in cell.budgets:
            cpu, paper = (cell.train_config(budget, 0) for budget in ("cpu", "paper"))
            assert cpu.iterations <= paper.iterations, cell.name


def _cell(**changes):
    cell = copy.deepcopy(TINY_CELL)
    cell.update(changes)
    return cell


def _without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


BAD = {
    "unknown top-level key": ({**suite_data(), "colour": 1}, "unknown key(s) ['colour']"),
    "missing cells": (_without(suite_data(), "cells"), "missing key(s) ['cells']"),
    "unknown cell key": (suite_data(tiny=_cell(budget={})), "cells.tiny: unknown key(s) ['budget']"),
    "unknown family": (suite_data(tiny=_cell(family="navv")), "unknown family 'navv'"),
    "unknown agent": (suite_data(tiny=_cell(agent="MAML")), "unknown agent 'MAML'"),
    "unknown budget": (
        suite_data(tiny=_cell(budgets={"cpu": {}, "gpu": {}})), "unknown budget(s) ['gpu']"
    ),
    "no cpu budget": (suite_data(tiny=_cell(budgets={"paper": {}})), "with a 'cpu' budget"),
    "an override of the family's env": (
        suite_data(tiny=_cell(overrides={"env": "metarl/Bandit-v0"})), "sets ['env']"
    ),
    "an override the config refuses": (
        suite_data(tiny=_cell(budgets={"cpu": {"iterationz": 3}})), "unknown config key(s)"
    ),
    "a bad override value": (
        suite_data(tiny=_cell(budgets={"cpu": {"iterations": 0}})), "iterations must be >= 1"
    ),
    "an unknown comparison": (
        suite_data(tiny=_cell(evaluation={"comparisons": ["oracel"]})), "unknown agent(s) ['oracel']"
    ),
    "an unknown split": (
        suite_data(tiny=_cell(evaluation={"comparisons": [], "split": "train"})),
        "split must be one of ['test', 'test-ood']",
    ),
    "references that are not comparisons": (
        suite_data(tiny=_cell(evaluation={"comparisons": ["oracle"],
                                          "references": ["pretrained", "oracle"]})),
        "references must be two of its comparisons ['oracle']",
    ),
    "one reference": (
        suite_data(tiny=_cell(evaluation={"comparisons": ["oracle"], "references": ["oracle"]})),
        "references must be two of its comparisons",
    ),
    "a repeated seed": (suite_data(tiny=_cell(seeds=[1, 1])), "repeats a seed"),
    "a negative seed": (suite_data(tiny=_cell(seeds=[-1])), "seeds"),
    "a missing config": (suite_data(tiny=_cell(config="maml-trpo/nope.yaml")), "does not exist"),
    "a cell name with a slash": (suite_data(**{"a/b": TINY_CELL}), "a name must be"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_malformed_suite_is_one_error_naming_what_is_wrong(tmp_path, case):
    data, expected = BAD[case]
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert expected in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_cells_and_budgets_on_the_command_line_exit_2_with_one_line(
    tiny_suite, tmp_path, capsys
):
    common = ["--suite", str(tiny_suite), "--out", str(tmp_path / "runs"),
              "--results", str(tmp_path / "results")]
    assert main(["bench", "run", "tinyy", *common]) == 2
    line = capsys.readouterr().err.strip()
    assert "unknown cell(s) ['tinyy']" in line and "tiny" in line and "\n" not in line
    del TINY_CELL["budgets"]["paper"]
    try:
        tiny_suite.write_text(yaml.safe_dump(suite_data()))
    finally:
        TINY_CELL["budgets"]["paper"] = {}
    assert main(["bench", "run", "tiny", "--budget", "paper", *common]) == 2
    assert "has no 'paper' budget" in capsys.readouterr().err
    assert main(["bench", "run", "--suite", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results").exists()
