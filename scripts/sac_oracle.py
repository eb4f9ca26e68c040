"""The SAC oracle of a PEARL run on a chosen budget and SAC settings, graded like ``metarl
evaluate`` grades ``oracle-sac`` (which uses SB3's defaults and ``comparison_timesteps``).

    python scripts/sac_oracle.py RUN --timesteps N [--sac-kwargs JSON] [--tasks 20] [--episodes 2]

Trains (or loads from ``RUN/baselines/oracle-sac.pt``) SB3's SAC on the run's family with the task
visible, on train-split tasks, and prints as JSON its mean return on the first ``--tasks`` test
tasks with the half-width of the 95% confidence interval over tasks (as in the evaluation's
tables). docs/results/pearl.md uses it to give the oracle PEARL's env steps
and gradient steps per env step.
"""

from __future__ import annotations

import argparse
import json

import gymnasium as gym

from metarl.comparisons.sac_oracle import sac_oracle_returns, train_sac_oracle
from metarl.evaluation.report import confidence_interval
from metarl.runs.config import load_config
from metarl.runs.folder import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder (its config names the family)")
    parser.add_argument("--timesteps", type=int, required=True, help="SAC's env steps")
    parser.add_argument("--sac-kwargs", default="{}", help="JSON keyword arguments of SB3's SAC")
    parser.add_argument("--tasks", type=int, default=20, help="test tasks graded")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per test task")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = RunFolder(args.run)
    config = load_config(folder.config)
    sac_kwargs = json.loads(args.sac_kwargs)
    model = train_sac_oracle(
        config.env, config.env_kwargs, args.timesteps, args.seed, folder.baselines,
        sac_kwargs=sac_kwargs,
    )
    env = gym.make(config.env, **config.env_kwargs)
    tasks = env.unwrapped.task_distribution.split("test").tasks[: args.tasks]
    env.close()
    returns = sac_oracle_returns(
        model, config.env, config.env_kwargs, tasks, 0, args.episodes, args.seed
    )[:, 0]
    mean, half_width = confidence_interval(returns)
    print(json.dumps({
        "env": config.env, "timesteps": args.timesteps, "sac_kwargs": sac_kwargs,
        "tasks": len(tasks), "episodes": args.episodes, "mean_return": float(mean),
        "ci95": float(half_width),
    }))


if __name__ == "__main__":
    main()
