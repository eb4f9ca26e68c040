"""Speed targets of metarl, measured in one run and written as JSON.

    python scripts/benchmark.py [--out benchmark.json] [--quick]

Sections:
- ``env_steps_per_second``: native vector envs vs Gymnasium's ``SyncVectorEnv`` of metarl's single
  envs, at 1, 64 and 400 sub-envs (target: native >= 30x sync at 400 sub-envs); for CartPole also
  vs ``SyncVectorEnv`` of Gymnasium's own ``CartPole-v1``.
- ``maml_trpo_navigation2d_seconds_per_iteration``: wall time of one MAML-TRPO meta-iteration with
  pytorch-maml-rl's 2D-navigation settings, split into sampling / inner loop / outer loop
  (target: <= 1.0 s, sampling <= a third of it).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

import metarl

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


def bench_maml_trpo(iterations: int) -> dict[str, Any]:
    """Seconds per MAML-TRPO meta-iteration on Navigation2D, pytorch-maml-rl's 2D-navigation
    settings: 20 tasks x 20 episodes x horizon 100, one inner step, 2x64 tanh policy."""
    import torch

    from metarl.agents import TRPO, InnerLoop, MetaLearner, make_policy
    from metarl.sampling import MultiTaskSampler

    torch.manual_seed(0)
    sampler = MultiTaskSampler("metarl/Navigation2D-v0", episodes_per_task=20)
    policy = make_policy(sampler.observation_space, sampler.action_space, (64, 64), "tanh")
    agent = MetaLearner(policy, sampler, InnerLoop(policy, step_size=0.1), TRPO(), seed=0)
    train = sampler.task_distribution.split("train")
    agent.meta_step(train.sample(20, seed=0))  # warm-up
    rows = []
    for i in range(iterations):
        start = time.perf_counter()
        metrics = agent.meta_step(train.sample(20, seed=i + 1))
        rows.append({**metrics, "time_total": time.perf_counter() - start})
    sampler.close()
    result = {
        key: float(np.mean([r[key] for r in rows]))
        for key in ("time_total", "time_sampling", "time_inner", "time_outer")
    }
    result["torch_threads"] = torch.get_num_threads()
    result["target_total_seconds"] = 1.0
    result["meets_target"] = (
        result["time_total"] <= 1.0 and result["time_sampling"] <= result["time_total"] / 3
    )
    logger.info("MAML-TRPO Navigation2D: %s", {k: round(v, 3) for k, v in result.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmark.json", help="where to write the JSON results")
    parser.add_argument("--quick", action="store_true", help="shorter measurements (noisier)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seconds = 0.3 if args.quick else 1.5
    report = {
        "metarl": metarl.__version__,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
        },
        "env_steps_per_second": bench_env_steps(seconds),
        "maml_trpo_navigation2d_seconds_per_iteration": bench_maml_trpo(2 if args.quick else 5),
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
