"""The top-level API: what a user needs is importable from ``metarl``, which stays light."""

import subprocess
import sys

import pytest

import metarl
from metarl.runs.evaluate import evaluate_run
from metarl.runs.train import load_run, train


def test_import_metarl_registers_the_ids_and_loads_no_torch():
    code = (
        "import sys, gymnasium, metarl; "
        "assert 'metarl/Navigation2D-v0' in gymnasium.registry; "
        "heavy = [m for m in ('torch', 'stable_baselines3', 'matplotlib', 'ray') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "metarl.TrainConfig; assert 'torch' not in sys.modules; "
        "metarl.train; assert 'torch' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_public_names_are_the_library_s_own():
    assert (metarl.train, metarl.load_run, metarl.evaluate) == (train, load_run, evaluate_run)
    assert {"Task", "TaskObservation", "list_families", "train", "evaluate"} <= set(dir(metarl))
    assert set(metarl.__all__) <= set(dir(metarl))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        metarl.nope  # noqa: B018
