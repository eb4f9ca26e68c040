"""A tiny suite for the bench tests: one cell that trains and evaluates in seconds."""

from pathlib import Path

import pytest
import yaml

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

TINY_CELL = {
    "family": "nav",
    "agent": "MAML-TRPO",
    "config": "maml-trpo/navigation2d.yaml",
    "overrides": {"hidden_sizes": [8], "checkpoint_every": 1},
    "budgets": {
        "cpu": {"iterations": 3, "meta_batch_size": 3, "episodes_per_task": 2, "eval_tasks": 3,
                "eval_steps": 1},
        "paper": {},
    },
    "seeds": [0],
    "evaluation": {"comparisons": ["random-actions"]},
}


def suite_data(**cells: dict) -> dict:
    """A suite holding ``cells`` (default: the tiny cell as ``tiny``) on a short Navigation2D."""
    return {
        "version": 1,
        "configs": str(CONFIGS),
        "agents": ["MAML-TRPO", "ProMP"],
        "families": {
            "nav": {"env": "metarl/Navigation2D-v0", "env_kwargs": {"max_episode_steps": 10},
                    "label": "Navigation2D", "group": "goal"},
        },
        "cells": cells or {"tiny": TINY_CELL},
    }


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    """The path of a suite file holding the tiny cell ``tiny``."""
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite_data()))
    return path
