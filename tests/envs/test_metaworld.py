"""Meta-World adapters: registered ids, task API, splits, seeding, vector env, success reporting.

Runs where the ``metaworld`` extra is installed (CI: the second venv of ``.ci/run``).
"""

import json
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("metaworld")

import metaworld
from gymnasium.utils.env_checker import check_env

from metarl.agents.policies import make_policy
from metarl.envs import METAWORLD_ML1_ENVS, list_families, metaworld_ids
from metarl.envs.metaworld import BENCHMARK_SEED, benchmark_tasks, task_distribution
from metarl.envs.metaworld.benchmarks import _cache_path
from metarl.sampling import MultiTaskSampler
from metarl.tasks import Task, tasks_from_json, tasks_to_json
from tests.envs.test_mujoco_vector import assert_vector_matches_singles

REACH = "metarl/MetaWorld-ML1-reach-v0"
ML10 = "metarl/MetaWorld-ML10-v0"


def goal_vectors(bench: metaworld.Benchmark, split: str) -> np.ndarray:
    tasks = bench.train_tasks if split == "train" else bench.test_tasks
    return np.stack([pickle.loads(t.data)["rand_vec"] for t in tasks])


def test_every_metaworld_env_has_an_ml1_id():
    assert sorted(METAWORLD_ML1_ENVS) == sorted(metaworld.ML1.ENV_NAMES)
    ids = metaworld_ids()
    assert len(ids) == len(METAWORLD_ML1_ENVS) + 2
    assert {REACH, ML10, "metarl/MetaWorld-ML45-v0"} <= set(ids)
    assert all(gym.spec(i).max_episode_steps == 500 for i in ids)
    described = {f.id: f for f in list_families()}
    assert described[ML10].family == "MetaWorld-ML10"
    assert {p["name"] for p in described[ML10].parameters} == {"split", "env_class", "goal"}


@pytest.mark.parametrize("env_id", [REACH, ML10])
def test_env_checker_passes(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_ml1_splits_are_metaworlds_own_goal_sets():
    dist = task_distribution("ML1-reach-v3")
    train, test = dist.split("train").tasks, dist.split("test").tasks
    assert len(train) == len(test) == 50 and not set(train) & set(test)
    bench = metaworld.ML1("reach-v3", seed=BENCHMARK_SEED)
    ours = benchmark_tasks("ML1-reach-v3")
    np.testing.assert_array_equal(ours.rand_vecs["train"][0], goal_vectors(bench, "train"))
    np.testing.assert_array_equal(ours.rand_vecs["test"][0], goal_vectors(bench, "test"))
    # no test goal is also a training goal
    distances = np.linalg.norm(
        ours.rand_vecs["train"][0][:, None] - ours.rand_vecs["test"][0][None], axis=-1
    )
    assert distances.min() > 1e-6


def test_train_split_never_yields_a_test_task():
    """Meta-World's `ML1-train` registration once silently used test tasks; ours cannot."""
    dist = task_distribution("ML1-reach-v3")
    test = set(dist.split("test").tasks)
    drawn = [t for seed in range(20) for t in dist.split("train").sample(50, seed=seed)]
    assert not test & set(drawn)
    assert all(t["split"] == 0 for t in drawn)
    with pytest.raises(ValueError, match="holds 50 tasks"):
        dist.split("train").sample(51, seed=0)


def test_ml10_test_split_holds_the_held_out_classes():
    dist = task_distribution("ML10")
    bench = benchmark_tasks("ML10")
    assert bench.classes["train"] == tuple(metaworld.env_dict.ML10_V3["train"])
    assert bench.classes["test"] == tuple(metaworld.env_dict.ML10_V3["test"])
    assert not set(bench.classes["train"]) & set(bench.classes["test"])
    test = dist.split("test").tasks
    assert len(dist.split("train").tasks) == 500 and len(test) == 250
    # goal-major order: any prefix covers the five held-out classes evenly
    assert [dist.group(t) for t in test[:5]] == list(bench.classes["test"])
    assert {dist.group(t) for t in dist.split("train").tasks} == set(bench.classes["train"])


def test_ml45_has_45_training_and_5_held_out_classes():
    bench = benchmark_tasks("ML45")
    assert len(bench.classes["train"]) == 45 and len(bench.classes["test"]) == 5
    assert not set(bench.classes["train"]) & set(bench.classes["test"])
    assert all(v.shape[0] == 50 for split in bench.rand_vecs.values() for v in split)


def test_task_round_trips_and_names_benchmark_class_and_goal():
    dist = task_distribution("ML10")
    task = dist.split("test").tasks[7]
    assert set(task.params) == {"split", "env_class", "goal"}
    assert Task.from_dict(json.loads(json.dumps(task.to_dict()))) == task
    assert tasks_from_json(tasks_to_json([task])) == [task]
    env = gym.make(ML10)
    env.reset(seed=0, options={"task": task})
    assert env.unwrapped.env_name == dist.group(task) == "shelf-place-v3"  # goal 1, class 2
    assert task.family == "MetaWorld-ML10"
    env.close()


def test_invalid_tasks_and_benchmarks_are_refused():
    dist = task_distribution("ML10")
    with pytest.raises(ValueError, match="must be an integer in \\[0, 49\\]"):
        dist.task(split=0, env_class=0, goal=50)
    with pytest.raises(ValueError, match="is not one of the 750 tasks of MetaWorld-ML10"):
        dist.task(split=1, env_class=7, goal=0)  # ML10 holds out 5 classes, not 8
    with pytest.raises(ValueError, match="unknown Meta-World benchmark 'ML7'"):
        benchmark_tasks("ML7")
    env = gym.make(REACH)
    with pytest.raises(ValueError, match="belongs to family 'MetaWorld-ML10'"):
        env.reset(options={"task": dist.task(split=0, env_class=0, goal=0)})
    with pytest.raises(ValueError, match=r"max_episode_steps must be an int in \[1, 500\]"):
        gym.make_vec(REACH, num_envs=1, max_episode_steps=501)


def test_actions_follow_the_rule_of_every_family():
    """``check_actions``, as in the numpy and MuJoCo families: the vector env refuses in the
    parent, before any sub-env steps."""
    env = gym.make(REACH)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must hold finite .*action\[3\] is nan"):
        env.step(np.array([0.0, 0.0, 0.0, np.nan]))
    with pytest.raises(TypeError, match="action must hold real numbers"):
        env.step(np.ones(4, dtype=bool))
    envs = gym.make_vec(REACH, num_envs=2, num_workers=0)
    with pytest.raises(gym.error.ResetNeeded, match="before calling reset"):
        envs.step(np.zeros((2, 4)))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must hold finite .*actions\[1, 0\] is inf"):
        envs.step(np.array([[0.0] * 4, [np.inf, 0.0, 0.0, 0.0]]))
    envs.close()


def test_seeded_episodes_repeat_and_task_switches_leave_no_trace():
    dist = task_distribution("ML10")
    a, b = dist.split("train").tasks[0], dist.split("test").tasks[0]
    actions = np.random.default_rng(0).uniform(-1, 1, (30, 4)).astype(np.float32)

    def episode(env: gym.Env, task: Task) -> np.ndarray:
        rows = [env.reset(seed=3, options={"task": task})[0]]
        for action in actions:
            obs, reward, *_ = env.step(action)
            rows.append(np.append(obs, reward))
        return np.concatenate(rows)

    fresh = gym.make(ML10)
    reference = episode(fresh, a)
    switched = gym.make(ML10)
    episode(switched, b)
    np.testing.assert_array_equal(episode(switched, a), reference)
    np.testing.assert_array_equal(episode(fresh, a), reference)
    fresh.close()
    switched.close()


def test_vector_env_equals_single_envs():
    assert_vector_matches_singles(REACH, num_envs=3, num_workers=2, steps=14, horizon=6)


def test_vector_env_reports_success_per_sub_env():
    envs = gym.make_vec(REACH, num_envs=2, num_workers=0, max_episode_steps=5)
    tasks = list(task_distribution("ML1-reach-v3").split("test").tasks[:2])
    envs.reset(seed=0, options={"tasks": tasks})
    _, _, _, _, info = envs.step(np.zeros((2, 4), dtype=np.float32))
    assert info["success"].shape == (2,) and set(np.unique(info["success"])) <= {0.0, 1.0}
    envs.close()


def test_sampler_records_episode_success():
    sampler = MultiTaskSampler(REACH, episodes_per_task=2, env_kwargs={"max_episode_steps": 10})
    policy = make_policy(sampler.observation_space, sampler.action_space, (8,), "tanh")
    tasks = list(sampler.task_distribution.split("test").tasks[:3])
    batch = sampler.sample(policy, tasks, seed=0)
    assert batch.success is not None and batch.success.shape == (6,)
    assert batch.task_success_rates().shape == (3,)
    assert batch.episodes_of(1).success.shape == (2,)
    sampler.close()


def test_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("METARL_CACHE", str(tmp_path))
    benchmark_tasks.cache_clear()
    try:
        path = _cache_path("ML1-reach-v3")
        path.write_bytes(b"not an npz file")
        rebuilt = benchmark_tasks("ML1-reach-v3")
        assert rebuilt.rand_vecs["test"][0].shape == (50, 6)
        benchmark_tasks.cache_clear()
        loaded = benchmark_tasks("ML1-reach-v3")  # now from the rewritten file
        np.testing.assert_array_equal(loaded.rand_vecs["test"][0], rebuilt.rand_vecs["test"][0])
    finally:
        benchmark_tasks.cache_clear()


def test_train_and_evaluate_report_success_per_held_out_class(tmp_path):
    from metarl.cli import main

    run = tmp_path / "ml10"
    tiny = ["iterations=1", "meta_batch_size=2", "episodes_per_task=2", "eval_tasks=10"]
    tiny += ["eval_steps=1", "env_kwargs={max_episode_steps: 20}", "comparison_timesteps=256"]
    overrides = [arg for value in tiny for arg in ("--set", value)]
    config = str(Path(__file__).parents[2] / "configs" / "maml-trpo" / "metaworld-ml10.yaml")
    assert main(["train", "--config", config, *overrides, "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--baselines", "random,pretrained"]) == 0
    result = json.loads((run / "eval" / "test" / "eval.json").read_text())
    held_out = list(metaworld.env_dict.ML10_V3["test"])
    assert result["groups"] == held_out * 2  # goal-major: 2 goals of each of the 5 classes
    for agent in ("meta-trained", "random", "pretrained"):
        success = np.array(result["success"][agent])
        assert success.shape == (10, 2) and ((success >= 0) & (success <= 1)).all()
