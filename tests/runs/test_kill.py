"""kill -9 inside every kind of file write of a run, then recovery: the metrics and the evaluation
equal an uninterrupted run's and no temporary file is left.

Each case runs ``metarl`` in a subprocess whose ``os.replace`` SIGKILLs the process at the n-th
rename of one file's temporary copy: the file is fully written but not yet in place.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from metarl.cli import main
from metarl.files import temp_target

pytestmark = pytest.mark.slow

QUICK = str(Path(__file__).parents[2] / "configs" / "maml-trpo" / "navigation2d-quick.yaml")
TINY = [
    f"--set={assignment}"
    for assignment in (
        "iterations=3", "meta_batch_size=2", "episodes_per_task=2", "hidden_sizes=[8]",
        "env_kwargs={max_episode_steps: 5}", "checkpoint_every=1", "eval_tasks=2", "eval_steps=1",
    )
]
DRIVER = """
import os, signal, sys
from metarl.files import temp_target
target, count = os.environ["METARL_KILL_AT"].rsplit(":", 1)
renames = 0
replace = os.replace
def killing_replace(src, dst):
    global renames
    if temp_target(os.path.basename(src)) == target:
        renames += 1
        if renames == int(count):
            os.kill(os.getpid(), signal.SIGKILL)
    return replace(src, dst)
os.replace = killing_replace
from metarl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _killed(kill_at: str, *args: str) -> None:
    env = {**os.environ, "METARL_KILL_AT": kill_at}
    done = subprocess.run([sys.executable, "-c", DRIVER, *args], env=env, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def _metrics(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if not k.startswith("time_")} for row in csv.DictReader(f)]


def _evaluation(run: Path) -> dict:
    """A run's ``eval.json`` without its provenance (the time and command that made it)."""
    result = json.loads((run / "eval" / "test" / "eval.json").read_text())
    result.pop("provenance")
    return result


def _temps(run: Path) -> list[Path]:
    return [p for p in run.rglob("*") if temp_target(p.name)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("kill") / "reference"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    assert main(["evaluate", str(run)]) == 0
    return run


@pytest.mark.parametrize(
    "kill_at",
    [".metarl-run:1", "config.yaml:1", "metrics.csv:2", "best.pt:1", "last.pt:2", "last.pt:3"],
)
def test_a_run_killed_in_a_write_resumes_to_the_uninterrupted_metrics(tmp_path, reference, kill_at):
    run = tmp_path / "run"
    _killed(kill_at, "train", "--config", QUICK, *TINY, "--out", str(run))
    assert _temps(run)  # the kill left the temporary file of the interrupted write
    if (run / "checkpoints" / "last.pt").is_file():
        assert main(["train", "--resume", str(run)]) == 0
    else:  # killed before the first checkpoint: start over, as the error message says
        assert main(["train", "--config", QUICK, *TINY, "--out", str(run), "--overwrite"]) == 0
    assert _metrics(run) == _metrics(reference)
    assert not _temps(run)


@pytest.mark.parametrize("kill_at", ["eval.json:1", "eval.csv:1", "adaptation.png:1"])
def test_an_evaluation_killed_in_a_write_reruns_to_the_same_result(tmp_path, reference, kill_at):
    run = tmp_path / "run"
    assert main(["train", "--config", QUICK, *TINY, "--out", str(run)]) == 0
    _killed(kill_at, "evaluate", str(run))
    assert _temps(run)
    assert main(["evaluate", str(run)]) == 0  # an interrupted evaluation needs no --overwrite
    assert _evaluation(run) == _evaluation(reference)
    csv_path = Path("eval") / "test" / "eval.csv"
    assert (run / csv_path).read_text() == (reference / csv_path).read_text()
    assert (run / "eval" / "test" / "adaptation.png").is_file()
    assert not _temps(run)
