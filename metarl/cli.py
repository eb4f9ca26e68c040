"""Command line: ``metarl train | evaluate | envs``.

metarl train --config configs/maml-trpo/navigation2d.yaml [--set key=value ...] [--seed N]
             [--out DIR] [--sampler local|ray] [--workers N] [--ray-address HOST:PORT]
metarl train --resume DIR
metarl evaluate RUN_DIR [--split test|test-ood] [--tasks N] [--steps K] [--episodes E]
                [--baselines random,pretrained,oracle,rl2,scratch] [--checkpoint last|best]
metarl envs
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from metarl.checkpoint import CheckpointError
from metarl.config import ConfigError, load_config

__all__ = ["main"]

logger = logging.getLogger("metarl")


def _run_name(env: str, outer: str, seed: int) -> str:
    family = env.split("/")[-1].rsplit("-v", 1)[0].lower()
    return f"{family}-{outer}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def _train(args: argparse.Namespace) -> None:
    from metarl.training import RunFolder, resume, train

    if args.resume:
        sampling = args.sampler or args.workers is not None or args.ray_address
        if args.config or args.set or args.seed is not None or args.out or args.overwrite or sampling:
            raise ConfigError(
                "--resume continues a run as configured; drop --config/--set/--seed/--out and "
                "the sampler flags"
            )
        resume(args.resume)
        print(f"run: {args.resume}")
        return
    if not args.config:
        raise ConfigError("train needs --config FILE (or --resume DIR)")
    overrides = list(args.set or [])
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.sampler:
        overrides.append(f"sampler={args.sampler}")
    if args.workers is not None:
        overrides.append(f"workers={args.workers}")
    if args.ray_address:  # quoted: YAML would read some HOST:PORT forms as numbers
        overrides.append(f"ray_address={json.dumps(args.ray_address)}")
    config = load_config(args.config, overrides)
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / _run_name(config.env, config.outer, config.seed)
    )
    if args.overwrite and RunFolder(out).config.is_file():
        shutil.rmtree(out)
    train(config, out)
    print(f"run: {out}\nnext: metarl evaluate {out}")


def _evaluate(args: argparse.Namespace) -> None:
    from metarl.evaluation import evaluate_run
    from metarl.training import RunFolder

    baselines = [b for b in (args.baselines or "").split(",") if b]
    result = evaluate_run(
        args.run,
        args.split,
        args.tasks,
        args.steps,
        args.episodes,
        baselines,
        args.seed,
        args.checkpoint,
    )
    paths = result.write(RunFolder(args.run).eval)
    print(result.table())
    print("\n" + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))


def _envs(args: argparse.Namespace) -> None:
    from metarl.envs import family_table

    print(family_table())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metarl", description="Meta-reinforcement learning.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="meta-train an agent into a run folder")
    train.add_argument("--config", help="YAML config (see configs/)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    train.add_argument("--seed", type=int, help="shorthand for --set seed=N")
    train.add_argument("--out", help="run folder (default: runs/<family>-<outer>-s<seed>-<time>)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    train.add_argument(
        "--overwrite", action="store_true", help="replace an existing run folder at --out"
    )
    train.add_argument(
        "--sampler", choices=["local", "ray"], help="episode sampler (config key sampler)"
    )
    train.add_argument("--workers", type=int, help="Ray sampler: actors (config key workers)")
    train.add_argument(
        "--ray-address", metavar="ADDR",
        help="Ray sampler: cluster address HOST:6379 or auto (default: start Ray locally)",
    )
    train.set_defaults(handler=_train)
    evaluate = commands.add_parser("evaluate", help="fast-adaptation evaluation of a run")
    evaluate.add_argument("run", help="run folder")
    evaluate.add_argument("--split", default="test", choices=["test", "test-ood"])
    evaluate.add_argument("--tasks", type=int, help="held-out tasks (default: config eval_tasks)")
    evaluate.add_argument("--steps", type=int, help="adaptation steps (default: config eval_steps)")
    evaluate.add_argument("--episodes", type=int, help="episodes per step (default: config)")
    evaluate.add_argument(
        "--baselines", help="comma-separated: random,pretrained,oracle,rl2,scratch"
    )
    evaluate.add_argument("--checkpoint", default="last", choices=["last", "best"])
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the evaluation episodes")
    evaluate.set_defaults(handler=_evaluate)
    envs = commands.add_parser("envs", help="table of every registered family")
    envs.set_defaults(handler=_envs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``metarl`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.handler(args)
    except (ConfigError, CheckpointError, FileExistsError, ValueError, ConnectionError) as err:
        print(f"metarl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
