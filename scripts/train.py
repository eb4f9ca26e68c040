"""Meta-train a MAML-style agent on a family, then measure fast adaptation on held-out tasks.

    python scripts/train.py [--env metarl/Navigation2D-v0] [--algorithm trpo|ppo|promp]
                            [--iterations 20] [--tasks 20] [--episodes 20] [--seed 0] [--out DIR]

Writes to ``--out``: ``metrics.csv`` (one row per meta-iteration), ``checkpoint.pt``,
``eval.json`` (per-task returns after 0..k adaptation steps on the test split, for the
meta-trained policy and for the same inner loop from a random initialisation) and
``adaptation.png``; prints the results table.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import trange

import metarl
from metarl.agents import PPO, TRPO, InnerLoop, MetaLearner, ProMP, make_policy
from metarl.evaluation import adaptation_returns, markdown_table, plot_adaptation
from metarl.sampling import MultiTaskSampler

logger = logging.getLogger("metarl.train")

OUTER_LOOPS = {
    "trpo": TRPO,
    "ppo": lambda: PPO(learning_rate=3e-3),
    "promp": lambda: ProMP(learning_rate=3e-3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="metarl/Navigation2D-v0")
    parser.add_argument("--algorithm", choices=sorted(OUTER_LOOPS), default="trpo")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=20, help="meta-batch size")
    parser.add_argument("--episodes", type=int, default=20, help="episodes per task and step")
    parser.add_argument("--inner-lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--eval-tasks", type=int, default=40)
    parser.add_argument("--eval-steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/quickstart")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    sampler = MultiTaskSampler(args.env, episodes_per_task=args.episodes)
    policy = make_policy(sampler.observation_space, sampler.action_space, tuple(args.hidden))
    estimator = "lvc" if args.algorithm == "promp" else "reinforce"
    inner = InnerLoop(policy, step_size=args.inner_lr, estimator=estimator)
    agent = MetaLearner(policy, sampler, inner, OUTER_LOOPS[args.algorithm](), seed=args.seed)
    train_tasks = sampler.task_distribution.split("train")
    rows = []
    with trange(args.iterations, desc=f"meta-training {args.algorithm} on {args.env}") as bar:
        for i in bar:
            metrics = agent.meta_step(train_tasks.sample(args.tasks, seed=args.seed * 100_003 + i))
            rows.append(metrics)
            bar.set_postfix(
                pre=f"{metrics['pre_return']:.1f}", post=f"{metrics['post_return']:.1f}"
            )
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    agent.save(out / "checkpoint.pt")

    test = sampler.task_distribution.split("test")
    tasks = test.tasks[: args.eval_tasks]
    results = {
        "meta-trained": adaptation_returns(
            policy, inner, sampler, tasks, args.eval_steps, seed=args.seed
        )
    }
    torch.manual_seed(args.seed + 1)
    fresh = make_policy(sampler.observation_space, sampler.action_space, tuple(args.hidden))
    fresh_inner = InnerLoop(fresh, step_size=args.inner_lr, estimator=estimator)
    results["random init"] = adaptation_returns(
        fresh, fresh_inner, sampler, tasks, args.eval_steps, seed=args.seed
    )
    sampler.close()
    table = markdown_table(results)
    with open(out / "eval.json", "w") as f:
        json.dump(
            {
                "env": args.env,
                "algorithm": args.algorithm,
                "metarl": metarl.__version__,
                "split": "test",
                "episodes_per_step": args.episodes,
                "tasks": [t.to_dict() for t in tasks],
                "returns": {name: r.tolist() for name, r in results.items()},
                "mean": {name: r.mean(0).tolist() for name, r in results.items()},
            },
            f,
            indent=1,
        )
    plot_adaptation(
        results, str(out / "adaptation.png"), f"{args.algorithm} on {args.env} (test tasks)"
    )
    print(table)
    print(
        f"\nresults: {out / 'eval.json'}\nplot: {out / 'adaptation.png'}\nmetrics: {out / 'metrics.csv'}"
    )
    gain = results["meta-trained"][:, 1:].mean() - results["meta-trained"][:, 0].mean()
    logger.info("mean gain of adaptation over no adaptation: %.2f", gain)
    if not np.isfinite(gain):
        raise SystemExit("evaluation produced non-finite returns")


if __name__ == "__main__":
    main()
