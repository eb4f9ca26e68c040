"""Speed targets of metarl, measured in one run and written as JSON.

    python scripts/benchmark.py [--out benchmark.json] [--quick] [--sections KEY ...]

Sections:
- ``env_steps_per_second``: native vector envs vs Gymnasium's ``SyncVectorEnv`` of metarl's single
  envs, at 1, 64 and 400 sub-envs (target: native >= 30x sync at 400 sub-envs); for CartPole also
  vs ``SyncVectorEnv`` of Gymnasium's own ``CartPole-v1``.
- ``maml_trpo_navigation2d_seconds_per_iteration``: wall time of one MAML-TRPO meta-iteration with
  pytorch-maml-rl's 2D-navigation settings, split into sampling / inner loop / outer loop
  (target: <= 1.0 s, sampling <= a third of it); the ``..._curvature_4_tasks_...`` section
  repeats it with TRPO's KL Hessian-vector products on 4 of the 20 tasks (``curvature_tasks``).
- ``mujoco_env_steps_per_second``: HalfCheetah env-steps/s of raw ``mujoco.mj_step`` on one core
  over 200-step episodes (the physics ceiling), of Gymnasium's ``HalfCheetah-v5`` in
  ``AsyncVectorEnv`` (one process per env), and of metarl's ``HalfCheetahVel`` vector env at 40
  tasks on 2 workers (targets: per worker >= 60% of the ceiling, and >= 1.5x Gymnasium's figure).
  Skipped without the ``mujoco`` extra.
- ``metaworld_ml1_reach_env_steps_per_second``: Meta-World ML1 ``reach`` env-steps/s of one
  Meta-World env on one core (500-step episodes with resets), of Gymnasium's ``AsyncVectorEnv``
  of the same single envs (one process per env), and of metarl's
  ``MetaWorld-ML1-reach`` vector env, 25 tasks on 2 workers. Skipped without the ``metaworld``
  extra.
- ``rl2_training_env_steps_per_second``: RL^2 training throughput (sampling and PPO update, env
  steps per wall-clock second) of metarl's trainer with ``configs/rl2/navigation2d.yaml`` and
  ``configs/rl2/bandit.yaml``, against sb3-contrib's ``RecurrentPPO`` (``MlpLstmPolicy``, its
  defaults) learning on the same family, on 1 and on 8 envs (``DummyVecEnv``; the better of the
  two is the reference), per wall-clock and per CPU second of the process (target: >= 20x per CPU
  second, the measure that a shared machine does not distort). The sb3-contrib side is skipped
  where ``sb3_contrib`` is not installed (it is no dependency of metarl).
- ``pearl``: PEARL's gradient steps per second with its HalfCheetahVel settings (meta-batch 16 x
  256 transitions, context 100, 3x300 networks, 3x200 encoder; HalfCheetah's 20-d observations,
  6-d actions), with ``configs/pearl/halfcheetah-vel-small.yaml``'s and with
  ``configs/pearl/navigation2d-sparse-small.yaml``'s (2-d observations and actions), for the
  update that takes the whole meta-batch through each network in one forward and for the same
  update looping over the tasks, one forward each (target: batched >= 3x the
  loop); and env steps per second of PEARL's collection (policy forward with a sampled ``z`` and
  env step, one task per sub-env) on Navigation2DSparse at 10 tasks and, with the ``mujoco``
  extra, HalfCheetahVel at 5 tasks.
- ``maml_trpo_halfcheetah_vel_paper_seconds_per_iteration``,
  ``promp_halfcheetah_rand_params_paper_seconds_per_iteration``,
  ``maml_trpo_metaworld_ml1_reach_paper_seconds_per_iteration``: one meta-iteration of the
  papers' settings (the configs as they are: 40 tasks x 20 episodes x 200 steps for the MuJoCo
  ones; ``--quick``: 10 tasks), broken down into sampling, inner loop, the outer loop's
  objective, KL-Hessian products, line search and rest, and a checkpoint, next to the seconds the
  simulator alone takes for the same env steps on as many processes as the sampler has workers,
  measured in the same run (raw ``mj_step`` for MuJoCo, one env's own step for Meta-World).
  Targets: end-to-end >= 0.5 of the physics (MuJoCo), >= 0.7 (Meta-World). Skipped without the
  extras.
- ``maml_trpo_halfcheetah_vel_ray_seconds_per_iteration``: MAML-TRPO on ``HalfCheetahVel`` with
  ``configs/maml-trpo/halfcheetah-vel-small.yaml``, local sampler vs the Ray sampler at 1 and 2
  workers, with the scaling efficiency. Skipped without the ``ray`` and ``mujoco`` extras.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import metarl
from metarl.files import atomic_write_text

logger = logging.getLogger("metarl.benchmark")

ENV_IDS = ("metarl/Navigation2D-v0", "metarl/CartPole-v0")
# Gymnasium's own single env of the same physics, a second sync baseline.
GYMNASIUM_TWINS = {"metarl/CartPole-v0": "CartPole-v1"}
NUM_ENVS = (1, 64, 400)
SPEEDUP_TARGET = 30.0


def steps_per_second(make_envs: Callable[[], gym.vector.VectorEnv], min_seconds: float) -> float:
    """Env steps per second (sub-env steps, counted over all sub-envs) with random actions."""
    envs = make_envs()
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(64)]
    for action in actions[:8]:  # warm-up
        envs.step(action)
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        for action in actions:
            envs.step(action)
        steps += len(actions)
    envs.close()
    return steps * envs.num_envs / elapsed


def bench_env_steps(min_seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for env_id in ENV_IDS:
        rows = {}
        for n in NUM_ENVS:
            native = steps_per_second(partial(gym.make_vec, env_id, num_envs=n), min_seconds)
            sync = steps_per_second(
                partial(gym.make_vec, env_id, num_envs=n, vectorization_mode="sync"), min_seconds
            )
            rows[str(n)] = {"native": native, "sync": sync, "speedup": native / sync}
            if env_id in GYMNASIUM_TWINS:
                twin = steps_per_second(
                    partial(
                        gym.make_vec, GYMNASIUM_TWINS[env_id], num_envs=n, vectorization_mode="sync"
                    ),
                    min_seconds,
                )
                rows[str(n)]["gymnasium_sync"] = twin
                rows[str(n)]["speedup_vs_gymnasium_sync"] = native / twin
            logger.info(
                "%s x%d: native %.0f/s, sync %.0f/s (%.1fx)", env_id, n, native, sync, native / sync
            )
        rows["target_speedup_at_400"] = SPEEDUP_TARGET
        rows["meets_target"] = rows["400"]["speedup"] >= SPEEDUP_TARGET
        results[env_id] = rows
    return results


def bench_maml_trpo(iterations: int, curvature_tasks: int | None = None) -> dict[str, Any]:
    """Seconds per MAML-TRPO meta-iteration on Navigation2D, pytorch-maml-rl's 2D-navigation
    settings: 20 tasks x 20 episodes x horizon 100, one inner step, 2x64 tanh policy.

    ``curvature_tasks``: TRPO's KL Hessian-vector products on that many of the 20 tasks
    (``None``: all, the exact algorithm)."""
    import torch

    from metarl.agents import TRPO, InnerLoop, MetaLearner, make_policy
    from metarl.sampling import MultiTaskSampler

    torch.manual_seed(0)
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", episodes_per_task=20)
    policy = make_policy(sampler.observation_space, sampler.action_space, (64, 64), "tanh")
    outer = TRPO(curvature_tasks=curvature_tasks)
    agent = MetaLearner(policy, sampler, InnerLoop(policy, step_size=0.1), outer, seed=0)
    train = sampler.task_distribution.split("train")
    agent.meta_step(train.sample(20, seed=0))  # warm-up
    rows = []
    for i in range(iterations):
        start = time.perf_counter()
        metrics = agent.meta_step(train.sample(20, seed=i + 1))
        rows.append({**metrics, "time_total": time.perf_counter() - start})
    sampler.close()
    result: dict[str, Any] = {
        key: float(np.mean([r[key] for r in rows]))
        for key in ("time_total", "time_sampling", "time_inner", "time_outer", "post_return")
    }
    result["curvature_tasks"] = curvature_tasks or 20
    result["torch_threads"] = torch.get_num_threads()
    result["target_total_seconds"] = 1.0
    result["meets_target"] = (
        result["time_total"] <= 1.0 and result["time_sampling"] <= result["time_total"] / 3
    )
    logger.info(
        "MAML-TRPO Navigation2D: %s",
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
    )
    return result


RL2_CONFIGS = {
    "metarl/Navigation2D-v0": "configs/rl2/navigation2d.yaml",
    "metarl/Bandit-v0": "configs/rl2/bandit.yaml",
}
RL2_SPEEDUP_TARGET = 20.0


def _rates(step: Callable[[int], int], seconds: float) -> dict[str, float]:
    """Env steps per wall-clock second and per CPU second of this process of ``step(i)`` (which
    returns the env steps it made), after a warm-up call. CPU time is the fair measure on a
    shared machine, where the wall clock also counts other processes' turns."""
    step(0)
    steps, i = 0, 1
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        steps += step(i)
        i += 1
    return {
        "wall": steps / (time.perf_counter() - wall),
        "cpu": steps / (time.process_time() - cpu),
    }


def _rl2_rates(config_path: Path, seconds: float) -> dict[str, float]:
    """Env steps per second of metarl's RL^2 trainer (whole training iterations)."""
    from metarl.runs.build import build
    from metarl.runs.config import load_config

    trainer = build(load_config(config_path))

    def iteration(i: int) -> int:
        before = trainer.env_steps
        trainer.train_iteration(np.random.default_rng(i))
        return trainer.env_steps - before

    try:
        return _rates(iteration, seconds)
    finally:
        trainer.close()


def _recurrent_ppo_rates(env_id: str, env_kwargs: dict[str, Any], n_envs: int) -> dict[str, float]:
    """Env steps per second of sb3-contrib ``RecurrentPPO`` learning on ``n_envs`` envs of the
    family (each resampling a train task every episode): 4 rollouts and updates."""
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from metarl.envs import TaskResampling

    venv = DummyVecEnv(
        [lambda: TaskResampling(gym.make(env_id, **env_kwargs), seed=0) for _ in range(n_envs)]
    )
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=0, device="cpu")
    rollout = model.n_steps * n_envs
    model.learn(rollout)  # warm-up
    # one learn call of 4 rollouts and updates (learn's own setup is paid once)
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(4 * rollout, reset_num_timesteps=False)
    rates = {
        "wall": 4 * rollout / (time.perf_counter() - wall),
        "cpu": 4 * rollout / (time.process_time() - cpu),
    }
    venv.close()
    return rates


def bench_rl2(seconds: float) -> dict[str, Any]:
    """RL^2 training env steps per second: metarl's trainer vs sb3-contrib ``RecurrentPPO``."""
    import importlib.util

    import torch

    from metarl.runs.config import load_config

    root = Path(__file__).resolve().parent.parent
    results: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    for env_id, path in RL2_CONFIGS.items():
        config = load_config(root / path)
        row: dict[str, Any] = {"config": path, "metarl": _rl2_rates(root / path, seconds)}
        if importlib.util.find_spec("sb3_contrib") is not None:
            env_kwargs = {k: v for k, v in config.env_kwargs.items() if k != "num_test_tasks"}
            for n in (1, 8):
                row[f"recurrent_ppo_{n}_envs"] = _recurrent_ppo_rates(env_id, env_kwargs, n)
            for clock in ("cpu", "wall"):
                reference = max(row[f"recurrent_ppo_{n}_envs"][clock] for n in (1, 8))
                row[f"speedup_{clock}"] = row["metarl"][clock] / reference
            row["target_speedup"] = RL2_SPEEDUP_TARGET
            row["meets_target"] = row["speedup_cpu"] >= RL2_SPEEDUP_TARGET
        results[env_id] = row
        logger.info("RL^2 training on %s: %s", env_id, row)
    return results


PEARL_SPEEDUP_TARGET = 3.0


def _pearl_gradient_steps(
    options: Any, tasks: int, min_seconds: float, obs_dim: int = 20, action_dim: int = 6
) -> dict[str, Any]:
    """PEARL's gradient steps/s on random data of the given sizes (default HalfCheetah's),
    batched vs looped."""
    import torch

    from metarl.agents.pearl import PEARLModel
    from metarl.agents.pearl.update import PEARLUpdate

    generator = torch.Generator().manual_seed(0)

    def fields(rows: int) -> dict[str, torch.Tensor]:
        return {
            "obs": torch.randn(tasks, rows, obs_dim, generator=generator),
            "action": torch.rand(tasks, rows, action_dim, generator=generator) * 2 - 1,
            "reward": torch.randn(tasks, rows, generator=generator),
            "next_obs": torch.randn(tasks, rows, obs_dim, generator=generator),
            "terminal": torch.zeros(tasks, rows),
        }

    batch, context = fields(options.batch_size), fields(options.context_batch_size)
    torch.manual_seed(0)
    update = PEARLUpdate(PEARLModel(obs_dim, action_dim, options), options)
    result: dict[str, Any] = {
        "meta_batch": tasks, "batch_size": options.batch_size,
        "context_batch_size": options.context_batch_size,
        "hidden_sizes": list(options.hidden_sizes),
        "encoder_hidden_sizes": list(options.encoder_hidden_sizes),
    }
    per_task = [slice(t, t + 1) for t in range(tasks)]
    for name, groups in (("batched", None), ("loop_over_tasks", per_task)):

        def step(i: int, groups: list[slice] | None = groups) -> int:
            update.step(batch, context, generator, groups)
            return 1

        step(0)  # warm-up
        result[f"{name}_gradient_steps_per_second"] = _rate(step, min_seconds)
    result["speedup"] = (
        result["batched_gradient_steps_per_second"]
        / result["loop_over_tasks_gradient_steps_per_second"]
    )
    result["target_speedup"] = PEARL_SPEEDUP_TARGET
    result["meets_target"] = result["speedup"] >= PEARL_SPEEDUP_TARGET
    return result


def bench_pearl(min_seconds: float) -> dict[str, Any]:
    """PEARL: gradient steps/s batched over tasks vs looped over tasks, at PEARL's settings and at
    ``configs/pearl/halfcheetah-vel-small.yaml``'s; collection env steps/s."""
    import torch

    from metarl.agents.pearl import PEARLModel, PEARLOptions
    from metarl.agents.pearl.collect import Collector
    from metarl.runs.config import load_config

    configs = Path(__file__).parent.parent / "configs/pearl"
    small = load_config(configs / "halfcheetah-vel-small.yaml")
    sparse = load_config(configs / "navigation2d-sparse-small.yaml")
    result: dict[str, Any] = {
        "torch_threads": torch.get_num_threads(),
        "paper_settings": _pearl_gradient_steps(PEARLOptions(), 16, min_seconds),
        "halfcheetah_vel_small_settings": _pearl_gradient_steps(
            small.kind_options(), small.meta_batch_size, min_seconds
        ),
        "navigation2d_sparse_small_settings": _pearl_gradient_steps(
            sparse.kind_options(), sparse.meta_batch_size, min_seconds, obs_dim=2, action_dim=2
        ),
    }
    generator = torch.Generator().manual_seed(0)
    families = [("metarl/Navigation2DSparse-v0", 10)]
    if metarl.envs.mujoco_available():
        families.append(("metarl/HalfCheetahVel-v0", 5))
    for env_id, num_tasks in families:
        collector = Collector(env_id)
        model = PEARLModel(
            int(collector.observation_space.shape[0]), int(collector.action_space.shape[0]),
            PEARLOptions(),
        )
        env_tasks = collector.task_distribution.split("train").sample(num_tasks, seed=0)
        z = model.encoder.prior(num_tasks).sample(generator)

        def collect(i: int, collector=collector, model=model, env_tasks=env_tasks, z=z) -> int:
            act = lambda obs: model.act(obs, z, False, generator)  # noqa: E731
            return collector.episodes(env_tasks, act, seed=i * len(env_tasks)).steps

        collect(0)  # warm-up (starts the workers of process vector envs)
        result[f"{env_id}_collection_env_steps_per_second_{num_tasks}_tasks"] = _rate(
            collect, min_seconds
        )
        collector.close()
    logger.info("PEARL: %s", result)
    return result


MUJOCO_HORIZON = 200


def _rate(step: Callable[[int], int], seconds: float) -> float:
    """Env-steps per second of ``step(i)`` (which returns how many env-steps it made)."""
    steps, i, start = 0, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        steps += step(i)
        i += 1
    return steps / elapsed


def bench_mujoco(
    min_seconds: float, num_envs: int = 40, num_workers: int = 2, rounds: int = 5
) -> dict[str, Any]:
    """HalfCheetah env-steps/s: the physics ceiling, Gymnasium's async vector env, metarl's.

    The speed of this machine's cores drifts by up to 1.5x from second to second, so the
    ceiling and metarl's vector env are measured in alternating rounds and compared round by
    round (medians reported).
    """
    # The ceiling runs the vector envs' workload: 200-step episodes from Gymnasium's reset with
    # random actions (a cheetah that has fallen over steps faster than one that runs).
    raw_step = physics_step("HalfCheetah-v5", MUJOCO_HORIZON, raw=True)

    envs = gym.make_vec("metarl/HalfCheetahVel-v0", num_envs=num_envs, num_workers=num_workers)
    tasks = envs.unwrapped.task_distribution.split("train").sample(num_envs, seed=0)
    envs.reset(seed=0, options={"tasks": tasks})
    envs.action_space.seed(0)
    batches = [envs.action_space.sample() for _ in range(64)]

    def vector_step(i: int) -> int:
        envs.step(batches[i % len(batches)])
        return num_envs

    vector_step(0)
    ceilings, ours = [], []
    for _ in range(rounds):
        ceilings.append(_rate(raw_step, min_seconds / 2))
        ours.append(_rate(vector_step, min_seconds / 2))
    envs.close()
    fractions = [v / num_workers / c for v, c in zip(ours, ceilings, strict=True)]
    gymnasium_async = steps_per_second(
        partial(gym.make_vec, "HalfCheetah-v5", num_envs=num_envs, vectorization_mode="async"),
        min_seconds,
    )
    ceiling, metarl_rate = float(np.median(ceilings)), float(np.median(ours))
    result = {
        "mj_step_ceiling_per_core": ceiling,
        "gymnasium_async_vector_env": gymnasium_async,
        "gymnasium_async_processes": num_envs,
        "metarl_vector_env": metarl_rate,
        "metarl_workers": num_workers,
        "metarl_per_worker": metarl_rate / num_workers,
        "metarl_per_worker_fraction_of_ceiling": float(np.median(fractions)),
        "fraction_of_ceiling_per_round": fractions,
        "speedup_vs_gymnasium_async": metarl_rate / gymnasium_async,
        "num_envs": num_envs,
        "cpu_count": os.cpu_count(),
        "target_fraction_of_ceiling": 0.6,
        "target_speedup": 1.5,
    }
    result["meets_target"] = bool(
        result["metarl_per_worker_fraction_of_ceiling"] >= 0.6
        and result["speedup_vs_gymnasium_async"] >= 1.5
    )
    logger.info(
        "MuJoCo HalfCheetah env-steps/s: %s",
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
    )
    return result


def bench_metaworld(min_seconds: float, num_envs: int = 25, num_workers: int = 2) -> dict[str, Any]:
    """Meta-World ML1 reach env-steps/s: one env, Gymnasium's async vector env, metarl's."""
    single = gym.make("metarl/MetaWorld-ML1-reach-v0").unwrapped
    single.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1.0, 1.0, (500, 4)).astype(np.float32)

    def single_step(i: int) -> int:
        if i % 500 == 0:
            single.reset()
        single.step(actions[i % 500])
        return 1

    one_env = _rate(single_step, min_seconds)
    single.close()
    ours = steps_per_second(
        partial(
            gym.make_vec,
            "metarl/MetaWorld-ML1-reach-v0",
            num_envs=num_envs,
            num_workers=num_workers,
        ),
        min_seconds,
    )
    gymnasium_async = steps_per_second(
        partial(
            gym.make_vec,
            "metarl/MetaWorld-ML1-reach-v0",
            num_envs=num_envs,
            vectorization_mode="async",
        ),
        min_seconds,
    )
    result = {
        "one_env_one_core": one_env,
        "gymnasium_async_vector_env": gymnasium_async,
        "gymnasium_async_processes": num_envs,
        "metarl_vector_env": ours,
        "metarl_workers": num_workers,
        "metarl_per_worker_fraction_of_one_env": ours / num_workers / one_env,
        "speedup_vs_gymnasium_async": ours / gymnasium_async,
        "num_envs": num_envs,
    }
    logger.info(
        "Meta-World ML1 reach env-steps/s: %s",
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
    )
    return result


def physics_step(env_id: str, horizon: int, raw: bool) -> Callable[[int], int]:
    """``step(i)``: env step ``i`` of ``env_id`` (one env, made and reset with seed 0) with seeded
    random actions and a reset after every ``horizon`` steps, as raw ``mujoco.mj_step`` calls
    (``raw``) or the env's own step; returns 1 (the steps it made, for :func:`_rate`)."""
    import mujoco

    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    space = env.action_space
    actions = np.random.default_rng(0).uniform(space.low, space.high, (horizon, *space.shape))

    if raw:
        model, data, frame_skip = env.model, env.data, env.frame_skip

        def act(i: int) -> None:
            data.ctrl[:] = actions[i % horizon]
            mujoco.mj_step(model, data, nstep=frame_skip)
    else:

        def act(i: int) -> None:
            env.step(actions[i % horizon].astype(space.dtype))

    def step(i: int) -> int:
        act(i)
        if i % horizon == horizon - 1:
            env.reset()
        return 1

    return step


def _physics_seconds_in_one_process(env_id: str, steps: int, horizon: int, raw: bool) -> float:
    """Seconds one process takes for ``steps`` steps of :func:`physics_step`."""
    step = physics_step(env_id, horizon, raw)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - start


def physics_seconds(env_id: str, steps: int, processes: int, horizon: int, raw: bool) -> float:
    """Wall seconds ``processes`` processes take for ``steps`` env steps between them (the
    slowest process's time; process start-up excluded)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    share = -(-steps // processes)
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        return max(
            pool.map(
                _physics_seconds_in_one_process,
                *zip(*[(env_id, share, horizon, raw)] * processes, strict=True),
            )
        )


class _TimedOuterLoop:
    """Wraps a MAML outer loop: times the meta-objective's evaluations (with gradient: the
    objective the step differentiates; without: the line search's) and the KL Hessian's
    construction and products, in ``seconds`` / ``calls``."""

    def __init__(self, outer: Any):
        self.outer = outer
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def _add(self, key: str, since: float) -> None:
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - since
        self.calls[key] = self.calls.get(key, 0) + 1

    def _timed_hessian(self, kl_hessian: Callable[..., Any]) -> Callable[..., Any]:
        def build(first_tasks: int | None) -> Callable[[Any], Any]:
            start = time.perf_counter()
            product = kl_hessian(first_tasks)
            self._add("kl_hessian_build", start)

            def timed_product(vector: Any) -> Any:
                start = time.perf_counter()
                result = product(vector)
                self._add("kl_hessian_products", start)
                return result

            return timed_product

        return build

    def step(self, parameters: Any, objective: Callable[..., Any]) -> dict[str, float]:
        import torch

        def timed_objective(*args: Any) -> Any:
            start = time.perf_counter()
            current = objective(*args)
            self._add("objective" if torch.is_grad_enabled() else "objective_no_grad", start)
            return current._replace(kl_hessian=self._timed_hessian(current.kl_hessian))

        self.seconds.clear()
        self.calls.clear()
        start = time.perf_counter()
        metrics = self.outer.step(parameters, timed_objective)
        self.seconds["rest"] = (
            time.perf_counter() - start - sum(self.seconds.values())
        )  # gradients, conjugate-gradient algebra, parameter updates
        return metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.outer, name)


PAPER_ITERATIONS = {
    "maml_trpo_halfcheetah_vel": ("configs/maml-trpo/halfcheetah-vel.yaml", True),
    "promp_halfcheetah_rand_params": ("configs/promp/halfcheetah-rand-params.yaml", True),
    "maml_trpo_metaworld_ml1_reach": ("configs/maml-trpo/metaworld-ml1-reach.yaml", False),
}
"""Paper-size meta-iterations: config, and whether the ceiling is raw ``mj_step`` (else one
env's own step per process, Meta-World's, whose step does more than the physics)."""


def bench_paper_iteration(
    config_path: str, raw_physics: bool, iterations: int, overrides: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Seconds of a paper-size MAML-family meta-iteration, broken down (sampling, inner loop,
    the outer loop's objective / KL-Hessian products / line search / rest, checkpoint), next to
    the seconds the simulator alone takes for the same env steps on as many processes as the
    sampler's workers, measured in the same run. Reports the mean over ``iterations`` after a
    warm-up iteration; target: end-to-end env steps per second >= 0.5 of the physics' (MuJoCo),
    >= 0.7 of one env per worker (Meta-World)."""
    import tempfile

    import torch

    from metarl.checkpoint import save_checkpoint
    from metarl.runs.build import build_learner
    from metarl.runs.config import load_config

    root = Path(__file__).resolve().parents[1]
    config = load_config(root / config_path, overrides)
    learner = build_learner(config)
    timed = learner.outer = _TimedOuterLoop(learner.outer)
    rng = np.random.default_rng(0)
    rows, steps_before = [], 0
    for i in range(iterations + 1):
        start = time.perf_counter()
        metrics = learner.train_iteration(rng)
        checkpoint_start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            save_checkpoint(learner.state_dict(), Path(folder) / "last.pt")
        end = time.perf_counter()
        steps, steps_before = metrics["env_steps"] - steps_before, metrics["env_steps"]
        if i == 0:
            continue  # warm-up: worker start-up, first allocations
        rows.append(
            {
                "env_steps": steps,
                "seconds": end - start,
                "sampling": metrics["time_sampling"],
                "inner": metrics["time_inner"],
                "outer": metrics["time_outer"],
                "checkpoint": end - checkpoint_start,
                **{f"outer_{k}": v for k, v in timed.seconds.items()},
                **{f"outer_{k}_calls": v for k, v in timed.calls.items()},
            }
        )
    workers = config.workers
    learner.close()
    result: dict[str, Any] = {
        key: float(np.mean([row.get(key, 0.0) for row in rows])) for key in rows[0]
    }
    steps = int(result["env_steps"])
    physics = physics_seconds(
        config.env, steps, workers, int(config.env_kwargs.get("max_episode_steps", 200)),
        raw_physics,
    )
    target = 0.5 if raw_physics else 0.7
    result.update(
        config=config_path,
        overrides=list(overrides),
        meta_batch_size=config.meta_batch_size,
        episodes_per_task=config.episodes_per_task,
        sampler_workers=workers,
        torch_threads=torch.get_num_threads(),
        physics_seconds=physics,
        physics="raw mj_step" if raw_physics else "one env's step per process",
        env_steps_per_second=steps / result["seconds"],
        physics_env_steps_per_second=steps / physics,
        fraction_of_physics=physics / result["seconds"],
        sampling_fraction_of_physics=physics / result["sampling"],
        target_fraction_of_physics=target,
    )
    result["meets_target"] = bool(result["fraction_of_physics"] >= target)
    logger.info(
        "%s paper iteration: %s",
        config_path,
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
    )
    return result


RAY_BENCH_CONFIG = (
    Path(__file__).resolve().parents[1] / "configs" / "maml-trpo" / "halfcheetah-vel-small.yaml"
)


def bench_ray_scaling(rounds: int) -> dict[str, Any]:
    """Seconds per MAML-TRPO meta-iteration on HalfCheetahVel (``halfcheetah-vel-small.yaml``:
    meta-batch 10, 10 episodes of 200 steps per task) with the local sampler and the Ray sampler at
    1 and 2 workers, in one run, and the scaling efficiency ``t(1 worker) / (2 * t(2 workers))``.

    ``local`` uses the vector env's default worker processes, ``local_in_process`` steps the envs
    in the training process; each one-CPU Ray worker steps its envs itself (``num_workers: 0``).
    The four learners train side by side, one iteration each per round, so drifts in the machine's
    speed hit them alike (medians over rounds reported); they collect the same episodes (checked:
    equal post-update returns). Ray gets 3 logical CPUs so that all three actors exist at once;
    only the measured learner's actors work at any time.
    """
    if not metarl.envs.mujoco_available() or "metarl/HalfCheetahVel-v0" not in gym.registry:
        return {"skipped": "metarl/HalfCheetahVel-v0 is not available (needs the mujoco extra)"}
    try:
        import ray

        from metarl.sampling.ray_sampler import RaySampler  # noqa: F401
    except ImportError:
        return {"skipped": "the Ray sampler needs the ray extra: pip install 'metarl[ray]'"}
    from metarl.runs.build import build_learner
    from metarl.runs.config import load_config

    base = load_config(RAY_BENCH_CONFIG)
    in_process = {**base.env_kwargs, "num_workers": 0}
    configs = {
        "local": base,
        "local_in_process": dataclasses.replace(base, env_kwargs=in_process),
        "ray_1_worker": dataclasses.replace(base, sampler="ray", workers=1, env_kwargs=in_process),
        "ray_2_workers": dataclasses.replace(base, sampler="ray", workers=2, env_kwargs=in_process),
    }
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False)
    learners = {name: build_learner(config) for name, config in configs.items()}
    tasks = learners["local"].sampler.task_distribution.split("train")
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in learners}
    try:
        for i in range(rounds + 1):  # round 0 warms up (Ray actors, env processes)
            batch = tasks.sample(base.meta_batch_size, seed=i)
            for name, learner in learners.items():
                start = time.perf_counter()
                metrics = learner.meta_step(batch)
                if i:
                    rows[name].append({**metrics, "time_total": time.perf_counter() - start})
    finally:
        for learner in learners.values():
            learner.sampler.close()
        ray.shutdown()
    result: dict[str, Any] = {
        name: {
            key: float(np.median([r[key] for r in runs]))
            for key in ("time_total", "time_sampling", "time_inner", "time_outer")
        }
        for name, runs in rows.items()
    }
    one, two = result["ray_1_worker"], result["ray_2_workers"]
    result.update(
        config=RAY_BENCH_CONFIG.name,
        rounds=rounds,
        cpu_count=os.cpu_count(),
        scaling_efficiency=one["time_total"] / (2 * two["time_total"]),
        sampling_scaling_efficiency=one["time_sampling"] / (2 * two["time_sampling"]),
        ray_2_workers_speedup_vs_local=result["local"]["time_total"] / two["time_total"],
        same_returns_on_every_sampler=len(
            {tuple(r["post_return"] for r in runs) for runs in rows.values()}
        ) == 1,
    )
    logger.info(
        "MAML-TRPO HalfCheetahVel s/iteration: %s; Ray scaling efficiency at 2 workers %.2f "
        "(sampling alone %.2f)",
        {name: round(result[name]["time_total"], 2) for name in rows},
        result["scaling_efficiency"], result["sampling_scaling_efficiency"],
    )
    return result

def sections(quick: bool) -> dict[str, Callable[[], dict[str, Any] | None]]:
    """Every section by its key in the JSON output; a section whose extra (``mujoco``,
    ``metaworld``) is not installed returns None."""
    seconds = 0.3 if quick else 1.5
    found: dict[str, tuple[Callable[[], dict[str, Any]], str | None]] = {
        "env_steps_per_second": (partial(bench_env_steps, seconds), None),
        "maml_trpo_navigation2d_seconds_per_iteration": (
            partial(bench_maml_trpo, 2 if quick else 5), None
        ),
        "maml_trpo_navigation2d_curvature_4_tasks_seconds_per_iteration": (
            partial(bench_maml_trpo, 2 if quick else 5, curvature_tasks=4), None
        ),
        "rl2_training_env_steps_per_second": (partial(bench_rl2, 2.0 if quick else 10.0), None),
        "pearl": (partial(bench_pearl, 2 * seconds), None),
        "mujoco_env_steps_per_second": (partial(bench_mujoco, seconds), "mujoco"),
        "metaworld_ml1_reach_env_steps_per_second": (
            partial(bench_metaworld, seconds), "metaworld"
        ),
        "maml_trpo_halfcheetah_vel_ray_seconds_per_iteration": (
            partial(bench_ray_scaling, 1 if quick else 4), "mujoco"
        ),
    }
    for name, (config, raw) in PAPER_ITERATIONS.items():
        # --quick: the paper's per-task sampling and network on a quarter of its tasks
        overrides = ("meta_batch_size=10",) if quick else ()
        found[f"{name}_paper_seconds_per_iteration"] = (
            partial(bench_paper_iteration, config, raw, 1 if quick else 2, overrides),
            "mujoco" if raw else "metaworld",
        )
    installed = {
        "mujoco": metarl.envs.mujoco_available(),
        "metaworld": metarl.envs.metaworld_available(),
    }
    return {
        name: run if extra is None or installed[extra] else lambda: None
        for name, (run, extra) in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmark.json", help="where to write the JSON results")
    parser.add_argument("--quick", action="store_true", help="shorter measurements (noisier)")
    parser.add_argument(
        "--sections", nargs="+", metavar="KEY", help="run only these sections (default: all)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    available = sections(args.quick)
    chosen = args.sections or list(available)
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(available)}")
    report: dict[str, Any] = {
        "metarl": metarl.__version__,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
        },
    }
    for name in chosen:
        result = available[name]()
        if result is not None:
            report[name] = result
    atomic_write_text(args.out, json.dumps(report, indent=2))
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
