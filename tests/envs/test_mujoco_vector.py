"""The multi-process MuJoCo vector env: equals single envs, shuts down cleanly, never hangs."""

import gc
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("mujoco")

from metarl.envs.mujoco.goals import HalfCheetahVelEnv


def assert_vector_matches_singles(
    env_id: str, num_envs: int, num_workers: int, steps: int, horizon: int = 6, seed: int = 4
) -> None:
    """Sub-env ``i`` equals a single env reset with ``seed + i``, across NEXT_STEP autoresets."""
    envs = gym.make_vec(
        env_id, num_envs=num_envs, num_workers=num_workers, max_episode_steps=horizon
    )
    tasks = envs.unwrapped.task_distribution.split("train").sample(num_envs, seed=1)
    singles = [gym.make(env_id, max_episode_steps=horizon) for _ in tasks]
    obs, info = envs.reset(seed=seed, options={"tasks": tasks})
    assert list(info["task_id"]) == [t.id for t in tasks]
    for i, (single, task) in enumerate(zip(singles, tasks, strict=True)):
        np.testing.assert_array_equal(
            obs[i], single.reset(seed=seed + i, options={"task": task})[0]
        )
    rng = np.random.default_rng(0)
    done = np.zeros(num_envs, dtype=bool)
    for _ in range(steps):
        actions = rng.uniform(-1, 1, envs.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, _ = envs.step(actions)
        for i, single in enumerate(singles):
            if done[i]:
                expected = (single.reset()[0], 0.0, False, False)
            else:
                expected = single.step(actions[i])[:4]
            np.testing.assert_array_equal(obs[i], expected[0])
            assert reward[i] == expected[1]
            assert (terminated[i], truncated[i]) == (expected[2], expected[3])
        done = terminated | truncated
    envs.close()


@pytest.mark.parametrize(
    ("env_id", "num_workers"),
    [
        ("metarl/HalfCheetahVel-v0", 0),
        ("metarl/HalfCheetahVel-v0", 3),
        ("metarl/AntRandParams-v0", 2),
    ],
)
def test_vector_env_equals_single_envs(env_id, num_workers):
    """Exact equality: the workers run the single env's own reset and the same batched step
    function (``step_many``) that a single env runs with one sub-env."""
    assert_vector_matches_singles(env_id, num_envs=5, num_workers=num_workers, steps=14)


def _our_children(envs) -> list[int]:
    return [p.pid for p in mp.active_children() if p.pid in envs.unwrapped.worker_pids]


def test_close_stops_every_worker():
    envs = gym.make_vec("metarl/HalfCheetahDir-v0", num_envs=4, num_workers=2)
    pids = envs.unwrapped.worker_pids
    assert len(pids) == 2 and len(_our_children(envs)) == 2
    envs.reset(seed=0)
    envs.step(envs.action_space.sample())
    envs.close()
    assert not _our_children(envs)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: the pid no longer exists
    envs.close()  # closing twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        envs.step(envs.action_space.sample())


def test_a_dropped_env_stops_its_workers_when_garbage_collected():
    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=2)
    envs.reset(seed=0)
    pids = envs.unwrapped.worker_pids
    assert len(_our_children(envs)) == 2
    del envs
    gc.collect()
    assert not [p for p in mp.active_children() if p.pid in pids]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: the pid no longer exists


def test_bad_actions_are_refused_in_the_parent_before_any_worker_sees_them():
    """The single env's rule (``check_actions``), applied before the shared action buffer is
    written: the workers never step a NaN, and the env goes on."""
    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=2)
    envs.reset(seed=0)
    good = np.full((2, 6), 0.5, dtype=np.float32)
    obs = envs.step(good)[0]
    for value in (np.nan, -np.inf, 1e39):
        bad = good.astype(np.float64)
        bad[1, 3] = value
        with pytest.raises(ValueError, match=r"actions must hold finite .*actions\[1, 3\] is"):
            envs.step(bad)
    with pytest.raises(TypeError, match="actions must hold real numbers"):
        envs.step(good > 0)
    np.testing.assert_array_equal(envs.unwrapped._buffers["actions"], good)
    np.testing.assert_array_equal(envs.unwrapped._buffers["observations"], obs)
    _, reward, *_ = envs.step(np.full((2, 6), 1e30))  # clipped by MuJoCo, as in single envs
    assert np.isfinite(reward).all() and len(_our_children(envs)) == 2
    envs.close()


def test_a_dead_worker_raises_instead_of_hanging():
    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=4, num_workers=2, timeout=20.0)
    envs.reset(seed=0)
    victim, survivor = envs.unwrapped.worker_pids
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=rf"worker 0 \(pid {victim}\) .* died \(exit code -9\)"):
        envs.step(envs.action_space.sample())
    assert envs.unwrapped.closed and not _our_children(envs)
    with pytest.raises(ProcessLookupError):
        os.kill(survivor, 0)


def test_a_stuck_worker_times_out_and_is_killed():
    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=2, timeout=0.5)
    envs.reset(seed=0)
    stuck = envs.unwrapped.worker_pids[1]
    os.kill(stuck, signal.SIGSTOP)
    with pytest.raises(TimeoutError, match=r"worker 1 .* did not answer within 0.5 s"):
        envs.step(envs.action_space.sample())
    assert not _our_children(envs)


def test_vector_env_bad_inputs():
    with pytest.raises(ValueError, match="num_workers must be an int >= 0, got -1"):
        gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=-1)
    with pytest.raises(ValueError, match="start_method 'teleport' is not available"):
        gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, num_workers=1, start_method="teleport")
    with pytest.raises(ValueError, match="render_mode 'human' is not supported"):
        gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=2, render_mode="human")
    envs = gym.make_vec("metarl/AntGoal-v0", num_envs=3, num_workers=0)
    tasks = envs.unwrapped.task_distribution.split("test").tasks
    with pytest.raises(ValueError, match=r"one task per sub-env \(3\), got 2"):
        envs.reset(options={"tasks": list(tasks[:2])})
    with pytest.raises(TypeError, match="sequence of 3 metarl.Task"):
        envs.reset(options={"tasks": tasks[0]})
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['goal'\]"):
        envs.reset(options={"goal": tasks[0]})
    with pytest.raises(ValueError, match="'tasks' .* or 'task' .*, not both"):
        envs.reset(options={"task": tasks[0], "tasks": list(tasks[:3])})
    envs.reset(options={"task": tasks[1]})  # one task for every sub-env, as SyncVectorEnv's
    assert envs.unwrapped.tasks == (tasks[1],) * 3
    with pytest.raises(ValueError, match="a sequence of 3 of them"):
        envs.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="a sequence of 3 of them"):
        envs.reset(seed=[])
    envs.reset(seed=0, options={"tasks": list(tasks[:3])})
    with pytest.raises(ValueError, match=r"actions must have shape \(3, 8\), got \(8,\)"):
        envs.step(np.zeros(8))
    assert envs.unwrapped.tasks == tuple(tasks[:3])
    envs.close()


def _rebuild_only_in(pid: int) -> None:
    if os.getpid() != pid:
        raise ImportError("No module named 'lab_only'")


class _Unpicklable:
    """Rebuilds only in the process that pickled it, like an object of a module workers lack."""

    def __reduce__(self):
        return (_rebuild_only_in, (os.getpid(),))


class _CheetahWithExtra(HalfCheetahVelEnv):
    def __init__(self, extra=None, **kwargs):
        super().__init__(**kwargs)


def test_workers_that_fail_at_start_send_their_exception_to_the_parent():
    from metarl.envs.process_vector import ProcessVectorEnv, WorkerError

    with pytest.raises(WorkerError, match=r"worker 0 .* failed with ImportError: No module") as info:
        ProcessVectorEnv(2, env_class=_CheetahWithExtra, num_workers=2, extra=_Unpicklable())
    assert info.value.exc_type == "ImportError"
    assert info.value.exc_message == "No module named 'lab_only'"
    assert "in _rebuild_only_in" in info.value.worker_traceback
    assert "Traceback (most recent call last)" in str(info.value)
    assert not [p for p in mp.active_children() if "_CheetahWithExtra" in p.name]


def test_multi_task_sampler_runs_a_mujoco_family():
    torch = pytest.importorskip("torch")
    from metarl.sampling import MultiTaskSampler

    sampler = MultiTaskSampler(
        "metarl/HalfCheetahVel-v0", episodes_per_task=2, env_kwargs={"max_episode_steps": 8}
    )
    tasks = sampler.task_distribution.split("train").sample(3, seed=0)

    class Still(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.log_std = torch.nn.Parameter(torch.zeros(6))

        def batched(self, params, obs):
            mean = torch.zeros(*obs.shape[:-1], 6)
            std = params["log_std"].exp()[:, None, :].expand_as(mean)
            return torch.distributions.Independent(torch.distributions.Normal(mean, std), 1)

    batch = sampler.sample(Still(), tasks, seed=0)
    sampler.close()
    assert batch.observations.shape == (8, 6, 17) and batch.truncated[-1].all()
    assert batch.task_index.tolist() == [0, 0, 1, 1, 2, 2]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_workers_exit_when_their_parent_is_killed():
    code = (
        "import gymnasium as gym, metarl, sys, time\n"
        "envs = gym.make_vec('metarl/HalfCheetahDir-v0', num_envs=2, num_workers=2)\n"
        "print(*envs.unwrapped.worker_pids, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(_running(p) for p in pids)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30  # returns as soon as they are gone
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(p) for p in pids)
