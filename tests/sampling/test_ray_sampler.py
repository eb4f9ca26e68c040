"""Ray sampler: the local sampler's episodes, worker faults, clean shutdown, config and CLI.

Runs Ray locally with 2 CPUs; one module-wide Ray instance serves the tests that do not test
starting and stopping Ray themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest
import torch
import yaml

ray = pytest.importorskip("ray", reason="the Ray sampler needs the ray extra: pip install 'metarl[ray]'")

from metarl import cli  # noqa: E402
from metarl.agents import make_policy  # noqa: E402
from metarl.runs.build import build_learner  # noqa: E402
from metarl.runs.config import TrainConfig  # noqa: E402
from metarl.sampling import EpisodeBatch, MultiTaskSampler, stack_params  # noqa: E402
from metarl.sampling.ray_sampler import RaySampler  # noqa: E402

pytestmark = pytest.mark.slow

NAV = "metarl/Navigation2D-v0"
CHEETAH = "metarl/HalfCheetahVel-v0"
SHORT = {"max_episode_steps": 20}
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


def _descendants(root: int) -> set[int]:
    """Live (non-zombie) processes below ``root``, from ``/proc``."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process just ended
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int], timeout: float = 60.0) -> set[int]:
    """The processes of ``pids`` still running (not zombies) after waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        alive = set()
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
            except OSError:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _assert_same(a: EpisodeBatch, b: EpisodeBatch) -> None:
    for name, x, y in zip(a._fields, a, b, strict=True):
        if x is None or y is None:  # `success`, for envs that report it
            assert x is None and y is None, name
            continue
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert torch.equal(x, y), f"{name} differs"


def _policy_and_params(sampler: MultiTaskSampler, num_tasks: int):
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (16, 16))
    shared = {k: v.detach() for k, v in policy.named_parameters()}
    params = {  # distinct per-task parameters, as after adaptation
        k: v + 0.1 * torch.randn(v.shape) for k, v in stack_params(shared, num_tasks).items()
    }
    return policy, params


@needs_proc
def test_close_stops_the_ray_instance_it_started() -> None:
    assert not ray.is_initialized()
    before = _descendants(os.getpid())
    sampler = RaySampler(NAV, episodes_per_task=2, workers=1)
    tasks = sampler.task_distribution.split("train").sample(2, seed=0)
    policy, _ = _policy_and_params(sampler, 2)
    batch = sampler.sample(policy, tasks, seed=0)
    assert batch.mask.shape[1] == 4 and ray.is_initialized()
    started = _descendants(os.getpid()) - before
    assert set(sampler.worker_pids()) <= started
    sampler.close()
    assert not ray.is_initialized()
    assert not _alive(started), "Ray processes left after close()"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize(
    ("env_id", "env_kwargs"), [(NAV, {}), (CHEETAH, SHORT)], ids=["navigation2d", "halfcheetahvel"]
)
def test_episodes_equal_the_local_samplers(local_ray: None, env_id: str, env_kwargs: dict) -> None:
    if env_id not in gym.registry:
        pytest.skip(f"{env_id} is not registered yet")
    local = MultiTaskSampler(env_id, 2, env_kwargs)
    remote = RaySampler(env_id, 2, env_kwargs, workers=2)
    tasks = local.task_distribution.split("train").sample(3, seed=1)  # split 2 + 1 over workers
    policy, params = _policy_and_params(local, 3)
    try:
        for sampler in (local, remote):
            sampler.seed(5)
        # per-task params, then shared ones, then env streams continued (seed=None)
        for call_params, seed in ((params, 7), (None, 8), (params, None)):
            expected = local.sample(policy, tasks, call_params, seed=seed)
            _assert_same(remote.sample(policy, tasks, call_params, seed=seed), expected)
        assert torch.equal(remote.generator.get_state(), local.generator.get_state())
        assert remote.restarts == 0
    finally:
        local.close()
        remote.close()
    assert ray.is_initialized(), "a sampler must not stop a Ray instance it did not start"


def test_meta_learner_trains_identically_on_ray(local_ray: None) -> None:
    config = TrainConfig(
        env=NAV, env_kwargs=SHORT, meta_batch_size=3, episodes_per_task=2, hidden_sizes=(8,),
    )
    runs = []
    for sampler in ("local", "ray"):
        learner = build_learner(TrainConfig(**{**config.__dict__, "sampler": sampler}))
        assert isinstance(learner.sampler, RaySampler) == (sampler == "ray")
        tasks = learner.sampler.task_distribution.split("train").sample(3, seed=0)
        try:
            metrics = learner.meta_step(tasks)
        finally:
            learner.sampler.close()
        runs.append(({k: v for k, v in metrics.items() if not k.startswith("time_")}, learner))
    (local_metrics, local_learner), (ray_metrics, ray_learner) = runs
    assert ray_metrics == local_metrics
    for a, b in zip(local_learner.policy.parameters(), ray_learner.policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_worker_killed_mid_call_is_replaced_and_its_tasks_recollected(
    local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = MultiTaskSampler(NAV, 2)
    remote = RaySampler(NAV, 2, workers=2, max_retries=2)
    tasks = local.task_distribution.split("train").sample(4, seed=2)
    policy, params = _policy_and_params(local, 4)
    victim = remote.worker_pids()[0]
    submit = remote._submit
    kills: list[int] = []

    def submit_then_kill(slot: int, *args: object) -> ray.ObjectRef:
        ref = submit(slot, *args)
        if slot == 0 and not kills:  # the worker dies holding tasks 0..1 of this call
            os.kill(victim, signal.SIGKILL)
            kills.append(victim)
        return ref

    monkeypatch.setattr(remote, "_submit", submit_then_kill)
    try:
        expected = local.sample(policy, tasks, params, seed=3)
        _assert_same(remote.sample(policy, tasks, params, seed=3), expected)
        assert kills == [victim] and remote.restarts == 1
        assert victim not in remote.worker_pids()
        _assert_same(remote.sample(policy, tasks, seed=4), local.sample(policy, tasks, seed=4))
    finally:
        local.close()
        remote.close()


def test_a_worker_that_keeps_dying_raises_after_bounded_retries(
    local_ray: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampler = RaySampler(NAV, 2, workers=2, max_retries=1)
    tasks = sampler.task_distribution.split("train").sample(4, seed=2)
    policy, _ = _policy_and_params(sampler, 4)
    submit = sampler._submit

    def submit_and_kill(slot: int, *args: object) -> ray.ObjectRef:
        ref = submit(slot, *args)
        if slot == 1:
            ray.kill(sampler._actors[slot], no_restart=True)
        return ref

    monkeypatch.setattr(sampler, "_submit", submit_and_kill)
    start = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match=r"tasks 2\.\.3 of 4 .*worker 1 failed 2 times"):
            sampler.sample(policy, tasks, seed=0)
    finally:
        sampler.close()
    assert time.monotonic() - start < 60
    assert sampler.restarts == 1


def test_a_worker_that_does_not_answer_in_time_counts_as_failed(local_ray: None) -> None:
    sampler = RaySampler(NAV, 2, workers=1, max_retries=1, timeout=1e-3)
    tasks = sampler.task_distribution.split("train").sample(2, seed=0)
    policy, _ = _policy_and_params(sampler, 2)
    try:
        with pytest.raises(RuntimeError, match=r"tasks 0\.\.1 of 2 .*no result within timeout"):
            sampler.sample(policy, tasks, seed=0)
    finally:
        sampler.close()
    assert sampler.restarts == 1


def test_sampler_arguments_are_checked() -> None:
    for kwargs, message in (
        ({"workers": 0}, "workers must be a positive int"),
        ({"max_retries": -1}, "max_retries must be an int >= 0"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"address": ""}, "address must be a non-empty string"),
    ):
        with pytest.raises(ValueError, match=message):
            RaySampler(NAV, 2, **kwargs)


def test_config_keys_and_cli_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metarl.runs.config import ConfigError

    for override, message in (
        ("sampler=dask", "sampler must be one of"),
        ("workers=0", "workers must be >= 1"),
        ("ray_address=5", "ray_address must be of type str"),
    ):
        with pytest.raises(ConfigError, match=message):
            TrainConfig().with_overrides([override])
    assert TrainConfig().with_overrides(["ray_address=null"]).ray_address is None
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({"env": NAV, "iterations": 1}))
    seen: list[TrainConfig] = []
    monkeypatch.setattr("metarl.runs.train.train", lambda config, out, **_: seen.append(config))
    argv = ["train", "--config", str(config_file), "--out", str(tmp_path / "run")]
    flags = ["--sampler", "ray", "--workers", "3", "--ray-address", "10.0.0.7:6379"]
    assert cli.main(argv + flags) == 0
    assert (seen[0].sampler, seen[0].workers, seen[0].ray_address) == ("ray", 3, "10.0.0.7:6379")
    assert cli.main(argv) == 0 and seen[1].sampler == "local"
    assert cli.main(["train", "--resume", str(tmp_path / "run"), "--workers", "2"]) == 2


@needs_proc
def test_interrupted_training_leaves_no_processes(tmp_path: Path) -> None:
    config = {
        "env": NAV, "env_kwargs": SHORT, "iterations": 10_000, "meta_batch_size": 2,
        "episodes_per_task": 2, "hidden_sizes": [8],
    }
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # A shell starts background jobs with SIGINT ignored, and a Python started so ignores Ctrl-C
    # for good; the run is started with Python's own Ctrl-C handler, as in a terminal, so that
    # the test holds wherever pytest runs (`pytest &` included).
    argv = ["metarl", "train", "--config", str(config_file), "--out", str(run), "--sampler", "ray",
            "--workers", "2"]
    command = [
        sys.executable, "-c",
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"sys.argv = {argv!r}; runpy.run_module('metarl.cli', run_name='__main__')",
    ]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        # A hang guard, not a speed check: Ray starts in about 10 s on an idle 2-core machine, but
        # took over 60 s while another job kept both cores busy.
        deadline = time.monotonic() + 300
        while not (run / "metrics.csv").is_file():  # training is under way
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "training did not start within 300 s"
            time.sleep(0.2)
        started = _descendants(proc.pid)
        assert started, "no Ray processes found"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "metarl train: interrupted; " in stderr
    assert not _alive(started), "processes left after an interrupted run"
