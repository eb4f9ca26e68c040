"""Nothing metarl loads from disk can run code: checkpoints, cached SB3 policies, goal caches."""

import hashlib
import json
import os

import numpy as np
import pytest
import torch

from metarl.checkpoint import CheckpointError
from metarl.cli import main
from metarl.runs.config import TrainConfig
from metarl.runs.evaluate import evaluate_run
from metarl.runs.folder import RunFolder
from metarl.runs.train import resume, train

TINY = TrainConfig(
    env_kwargs={"max_episode_steps": 5},
    iterations=1,
    meta_batch_size=2,
    episodes_per_task=2,
    hidden_sizes=(8,),
    eval_tasks=2,
    eval_steps=1,
)


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _plant(path, marker, state=None):
    """Replace ``path`` with a pickle that would create ``marker`` when loaded."""
    torch.save({**(state or {}), "format": "metarl-checkpoint/1", "hook": Payload(marker)}, path)


def test_the_payload_does_run_under_a_plain_unpickler(tmp_path):
    marker = tmp_path / "ran"
    _plant(tmp_path / "evil.pt", marker)
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()  # so the tests below would see a payload that ran


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = RunFolder(tmp_path_factory.mktemp("security") / "run")
    train(TINY, folder.root, progress=False)
    return folder


def test_a_crafted_checkpoint_runs_nothing_on_resume_or_evaluate(run, tmp_path, capsys):
    marker = tmp_path / "ran"
    for checkpoint in (run.last, run.best):
        state = torch.load(checkpoint, weights_only=True)
        _plant(checkpoint, marker, state)
    with pytest.raises(CheckpointError, match="could run code"):
        resume(run.root, progress=False)
    for name in ("last", "best"):
        with pytest.raises(CheckpointError, match="could run code"):
            evaluate_run(run.root, checkpoint=name)
    assert main(["evaluate", str(run.root)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "refuses to load" in err
    assert not marker.exists()


def test_a_crafted_sb3_cache_runs_nothing(tmp_path):
    from metarl.comparisons import CacheError, train_pretrained

    kwargs = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}
    nav = "metarl/Navigation2D-v0"
    train_pretrained(nav, None, 64, 0, tmp_path, (8,), "tanh", ppo_kwargs=kwargs)
    marker = tmp_path / "ran"
    weights, meta_path = tmp_path / "pretrained.pt", tmp_path / "pretrained.json"
    torch.save({"policy": Payload(marker)}, weights)
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()  # the attacker can do this
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CacheError, match="could run code"):
        train_pretrained(nav, None, 64, 0, tmp_path, (8,), "tanh", ppo_kwargs=kwargs)
    assert not marker.exists()


def test_a_crafted_goal_cache_runs_nothing(tmp_path, monkeypatch):
    pytest.importorskip("metaworld", reason="the Meta-World goal cache needs the metaworld extra")
    from metarl.envs.metaworld import benchmarks

    monkeypatch.setenv("METARL_CACHE", str(tmp_path))
    marker = tmp_path / "ran"
    path = benchmarks._cache_path("ML1-reach-v3")
    payload = np.empty(1, dtype=object)
    payload[0] = Payload(marker)
    np.savez(path, classes=payload)
    benchmarks.benchmark_tasks.cache_clear()
    tasks = benchmarks.benchmark_tasks("ML1-reach-v3")  # rebuilt, the crafted file refused
    benchmarks.benchmark_tasks.cache_clear()
    assert tasks.classes["train"] == ("reach-v3",)
    assert not marker.exists()


@pytest.mark.parametrize("named", ["imports", "env"])
def test_modules_named_by_a_run_are_never_imported_on_load(tmp_path, monkeypatch, capsys, named):
    """A run's config or checkpoint that names a module (``imports``, an env ``module:id``) does not
    make metarl import it: load, evaluate and resume name it and stop; ``--import`` is the user's
    explicit consent."""
    import sys

    import yaml

    import metarl
    from metarl.checkpoint import load_checkpoint, save_checkpoint
    from metarl.runs.config import ConfigError

    marker = tmp_path / "imported"
    (tmp_path / "planted_module.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = RunFolder(tmp_path / "run")
    train(TINY, folder.root, progress=False)
    change = (
        {"imports": ["planted_module"]} if named == "imports"
        else {"env": f"planted_module:{TINY.env}"}
    )
    config = {**yaml.safe_load(folder.config.read_text()), **change}
    folder.config.write_text(yaml.safe_dump(config))
    for checkpoint in (folder.last, folder.best):
        state = load_checkpoint(checkpoint)
        save_checkpoint({**state, "config": {**state["config"], **change}}, checkpoint)
    with pytest.raises(ConfigError, match=r"names module\(s\) \['planted_module'\]"):
        metarl.load(folder.root)
    with pytest.raises(ConfigError, match="--import planted_module"):
        evaluate_run(folder.root)
    with pytest.raises(ConfigError, match="metarl does not import"):
        resume(folder.root, progress=False)
    assert main(["evaluate", str(folder.root)]) == 2
    assert "--import planted_module" in capsys.readouterr().err
    assert not marker.exists() and "planted_module" not in sys.modules
