"""metarl bench run --ray: each cell and seed as a task on a local Ray instance, with the result a
local run gives."""

import json
import sys

import pytest

from tests.bench.test_run import bench_run

pytest.importorskip("ray", reason="--ray needs the ray extra: pip install 'metarl[ray]'")
pytestmark = pytest.mark.slow


def test_bench_run_on_a_local_ray_instance_gives_the_local_result(tiny_suite, tmp_path, capsys):
    import ray

    assert bench_run(tiny_suite, tmp_path / "ray", "--ray", "--seeds", "0", "1") == 0
    assert not ray.is_initialized()  # the instance it started is shut down
    out = capsys.readouterr().out
    assert "tiny cpu seed 0: " in out and "tiny cpu seed 1: " in out
    assert bench_run(tiny_suite, tmp_path / "local") == 0
    on_ray, local = (
        json.loads((tmp_path / name / "results" / "tiny" / "cpu-seed0.json").read_text())
        for name in ("ray", "local")
    )
    assert on_ray["evaluation"] == local["evaluation"]
    # the command line of this process, not the Ray worker's
    assert on_ray["provenance"]["command"] == local["provenance"]["command"] == sys.argv
