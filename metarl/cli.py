"""Command line: ``metarl train | evaluate | envs | bench``.

metarl train [--config configs/maml-trpo/navigation2d.yaml] [--set key=value ...] [--seed N]
             [--out DIR] [--overwrite] [--sampler local|ray] [--workers N]
             [--ray-address HOST:PORT] [--import MODULE ...]
metarl train --resume DIR
metarl evaluate RUN_DIR|CHECKPOINT.pt [--split test|test-ood] [--tasks N] [--steps K] [--episodes E]
                [--comparisons random,pretrained,oracle,scratch,thompson,...] [--paired-with AGENT]
                [--checkpoint last|best]
                [--evaluation-episodes N] [--device auto|cpu|cuda] [--overwrite]
metarl envs [--import MODULE ...]
metarl bench run [CELL ...] [--budget cpu|paper] [--seeds N ...] [--suite benchmarks/suite.yaml]
                 [--out runs/bench] [--results benchmarks/results] [--ray | --ray-address ADDR]
metarl bench report [--results benchmarks/results] [--pages docs/results]

``--import MODULE`` (every command) imports a module of your own first, from the current folder or
the Python path: one that registers task families (``metarl.envs.register_family``), agent kinds
or comparison agents. ``train`` records it in the config's ``imports``, so that ``evaluate`` and
``--resume`` import it again; an env written ``module:id`` imports ``module`` the same way.

Every user error exits with status 2 and one line naming the bad value and what is allowed (no
traceback unless ``--debug``); Ctrl-C during training exits with 130, naming the last checkpoint
and the ``--resume`` command.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from metarl.envs.registration import import_modules
from metarl.files import FolderLockedError
from metarl.runs.config import ConfigError, TrainConfig, load_config, named_modules
from metarl.runs.folder import LOCK, RunFolder, RunFolderError

__all__ = ["main"]

logger = logging.getLogger("metarl")

USER_ERRORS = (ValueError, TypeError, OSError, ConnectionError, ImportError)
"""Errors a user's input or machine causes (``ConfigError``, ``CheckpointError``, ``CacheError``
and ``RunFolderError`` among them): one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2, as argparse's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _run_name(env: str, algorithm: str, seed: int) -> str:
    family = env.split("/")[-1].rsplit("-v", 1)[0].lower()
    return f"{family}-{algorithm}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def _train(args: argparse.Namespace) -> None:
    from metarl.runs.train import resume, train

    if args.resume is not None and not args.resume.strip():
        raise ConfigError(f"--resume needs a run folder, got {args.resume!r}")
    if args.resume:
        sampling = args.sampler or args.workers is not None or args.ray_address
        changes = args.config or args.set or args.seed is not None
        if changes or args.out or args.overwrite or sampling:
            raise ConfigError(
                "--resume continues a run as configured; drop --config/--set/--seed/"
                "--out/--overwrite and the sampler flags"
            )
        args.run_dir = Path(args.resume)
        resume(args.resume)
        print(f"run: {args.resume}")
        _print_next(args.run_dir, load_config(RunFolder(args.run_dir).config, trusted=False))
        return
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
    if args.imports:  # recorded in the config, so that evaluate and --resume import them too
        imports = list(dict.fromkeys([*config.imports, *args.imports]))
        config = config.with_overrides([f"imports={json.dumps(imports)}"])
    if args.out is not None and not args.out.strip():
        raise ConfigError(f"--out needs a folder name, got {args.out!r} (omit it for the default)")
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / _run_name(
            config.env, config.outer if config.agent == "maml" else config.agent, config.seed
        )
    )
    args.run_dir = out
    train(config, out, overwrite=args.overwrite)
    print(f"run: {out}")
    _print_next(out, config)


def _print_next(run: Path, config: TrainConfig) -> None:
    """The ``next:`` line: the ``metarl evaluate`` command of ``run``, with ``--import`` for each
    module its config names (evaluate imports none that a run's files name), quoted for a shell."""
    imports = [arg for module in named_modules(config.to_dict()) for arg in ("--import", module)]
    print("next: " + shlex.join(["metarl", "evaluate", *imports, str(run)]))


def _evaluate(args: argparse.Namespace) -> None:
    from metarl.evaluation import output_paths, write_tensorboard
    from metarl.files import hold_lock
    from metarl.runs.evaluate import evaluate_run, output_folders

    folder = output_folders(args.run, args.split)[0]
    if Path(args.run).is_dir():
        RunFolder(args.run).check_links()
    _check_evaluation_folder(folder, output_paths(folder), args.overwrite)
    comparisons = [name for name in (args.comparisons or "").split(",") if name]
    result = evaluate_run(
        args.run,
        args.split,
        args.tasks,
        args.steps,
        args.episodes,
        comparisons,
        args.seed,
        args.checkpoint,
        args.device,
        args.evaluation_episodes,
        args.paired_with,
    )
    folder.mkdir(parents=True, exist_ok=True)
    with hold_lock(folder / LOCK, f"the evaluation in {folder}"):
        # again: another evaluation may have finished meanwhile
        existing = _check_evaluation_folder(folder, output_paths(folder), args.overwrite)
        paths = result.write(folder)
    if Path(args.run).is_dir():  # the run's TensorBoard shows the evaluation beside training
        write_tensorboard(result, RunFolder(args.run).tensorboard)
    print(result.table())
    print("\n" + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    if existing:
        print("replaced the earlier evaluation's " + ", ".join(str(p) for p in existing))


def _check_evaluation_folder(folder: Path, outputs: dict[str, Path], overwrite: bool) -> list[Path]:
    """The earlier evaluation's outputs in ``folder``; ``RunFolderError`` for a complete one
    without ``overwrite`` (an interrupted one, missing some outputs, is completed) or a link."""
    links = [path for path in (folder.parent, folder, *outputs.values()) if path.is_symlink()]
    if links:
        raise RunFolderError(
            f"{links[0]} is a symbolic link; metarl never writes through a link: replace it "
            "with a real folder or file"
        )
    existing = [path for path in outputs.values() if path.exists()]
    if len(existing) == len(outputs) and not overwrite:
        raise RunFolderError(
            f"{folder} already holds an evaluation ({', '.join(p.name for p in existing)}); "
            "pass --overwrite to replace those files"
        )
    return existing


def _envs(args: argparse.Namespace) -> None:
    from metarl.envs import family_table

    print(family_table())


def _bench_run(args: argparse.Namespace) -> None:
    from metarl.bench.runner import Job
    from metarl.bench.schedule import plan, run_jobs
    from metarl.bench.suite import load_suite

    jobs = plan(load_suite(args.suite), args.cells, args.budget, args.seeds, args.out, args.results)

    def done(job: Job, skipped: bool) -> None:
        line = f"{job.describe()}: {job.result_path}"
        print(line + (" (exists: skipped)" if skipped else ""), flush=True)

    run_jobs(jobs, done, ray=args.ray, ray_address=args.ray_address)
    print("next: " + shlex.join(["metarl", "bench", "report", "--results", args.results]))


def _bench_report(args: argparse.Namespace) -> None:
    from metarl.bench.report import write_report

    for path in write_report(args.results, args.pages, args.readme):
        print(path)


def _add_bench(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``metarl bench run`` and ``metarl bench report``."""
    bench = commands.add_parser(
        "bench", help="the results suite (benchmarks/suite.yaml): run its cells, report them"
    )
    actions = bench.add_subparsers(dest="bench_command", required=True, parser_class=_Parser)
    run = actions.add_parser(
        "run", parents=[common], help="train and evaluate cells of the suite, one result per seed",
        epilog="A seed whose result file exists is skipped; a stopped one continues from its run "
        "folder's last checkpoint when the command is run again.",
    )
    run.add_argument("cells", nargs="*", metavar="CELL", help="cells to run (default: every cell)")
    run.add_argument("--budget", default="cpu", choices=["cpu", "paper"])
    run.add_argument("--seeds", type=int, nargs="+", metavar="N", help="default: each cell's")
    run.add_argument("--suite", default="benchmarks/suite.yaml", help="the suite file")
    run.add_argument("--out", default="runs/bench", help="run folders: OUT/<cell>/<budget>-seed<k>")
    run.add_argument(
        "--results", default="benchmarks/results",
        help="result files: RESULTS/<cell>/<budget>-seed<k>.json",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--ray", action="store_true", help="run each cell and seed as a task on a local Ray instance"
    )
    where.add_argument(
        "--ray-address", metavar="ADDR",
        help="run each cell and seed as a task on the Ray cluster at HOST:6379 (or auto); --out "
        "must be a folder every node shares",
    )
    run.set_defaults(handler=_bench_run)
    report = actions.add_parser(
        "report", parents=[common], help="rebuild the result pages from the result files"
    )
    report.add_argument("--results", default="benchmarks/results", help="the result files")
    report.add_argument(
        "--pages", default="docs/results",
        help="writes PAGES/suite/<cell>.md (with plots) and PAGES/matrix.md",
    )
    report.add_argument(
        "--readme", metavar="FILE",
        help="also write the matrix's tables into FILE between its lines "
        "'<!-- metarl bench report: matrix start -->' and '... matrix end -->' (the repository "
        "uses README.md)",
    )
    report.set_defaults(handler=_bench_report)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not just its line"
    )
    common.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import MODULE first (from the current folder or the Python path): it registers "
        "your task families, agent kinds or comparison agents; repeatable",
    )
    parser = _Parser(
        prog="metarl",
        description="Meta-reinforcement learning.",
        epilog="A user error exits with status 2 and one line naming the bad value and what is "
        "allowed; --debug adds the traceback.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser(
        "train", parents=[common], help="meta-train an agent into a run folder",
        epilog="Ctrl-C stops a run; metarl train --resume DIR continues it from its last "
        "checkpoint.",
    )
    train.add_argument(
        "--config", help="YAML config (see configs/); without it, the defaults and --set"
    )
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    train.add_argument("--seed", type=int, help="shorthand for --set seed=N")
    train.add_argument(
        "--out", help="run folder: new or empty (default: runs/<family>-<outer>-s<seed>-<time>)"
    )
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    train.add_argument(
        "--overwrite", action="store_true",
        help="start over in a run folder that metarl train created (it holds .metarl-run): "
        "deletes only the files metarl wrote there; refuses the current folder and its parents",
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
    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="fast-adaptation evaluation of a run",
        epilog="Writes RUN/eval/SPLIT/eval.json, eval.csv and adaptation.png, each replaced "
        "whole; other files there stay.",
    )
    evaluate.add_argument(
        "run", help="run folder, or a checkpoint file (outputs go to <stem>-eval/ beside it)"
    )
    evaluate.add_argument("--split", default="test", choices=["test", "test-ood"])
    evaluate.add_argument("--tasks", type=int, help="held-out tasks (default: config eval_tasks)")
    evaluate.add_argument("--steps", type=int, help="adaptation steps (default: config eval_steps)")
    evaluate.add_argument("--episodes", type=int, help="episodes per step (default: config)")
    evaluate.add_argument(
        "--comparisons", "--baselines", dest="comparisons",
        help="comparison agents, comma-separated: random (a randomly initialised policy adapted "
        "by the run's inner loop), pretrained, oracle, oracle-sac, scratch; the classical references "
        "thompson, ucb1, ucb1-tuned, epsilon-greedy, epsilon-greedy-tuned, greedy, gittins, "
        "gittins-tuned, bayes-optimal (bandits), psrl (tabular MDPs), "
        "random-actions",
    )
    evaluate.add_argument(
        "--evaluation-episodes", type=int, metavar="N",
        help="Meta-World's protocol: measure each point on N separate episodes per task, which "
        "no agent adapts on (default: on the --episodes the next step adapts on)",
    )
    evaluate.add_argument(
        "--paired-with", metavar="AGENT",
        help="the agent the table's paired differences are taken against (meta-trained or a "
        "comparison; default: the first comparison)",
    )
    evaluate.add_argument("--checkpoint", default="last", choices=["last", "best"])
    evaluate.add_argument(
        "--device", default="cpu", choices=["auto", "cpu", "cuda"],
        help="where the SB3-trained comparison agents train and act (default: cpu)",
    )
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the evaluation episodes")
    evaluate.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier evaluation in RUN/eval (without it, metarl refuses)",
    )
    evaluate.set_defaults(handler=_evaluate)
    envs = commands.add_parser("envs", parents=[common], help="table of every registered family")
    envs.set_defaults(handler=_envs)
    _add_bench(commands, common)
    return parser


def _resume_hint(run_dir: Path | None) -> str:
    """Where a stopped run stands and how to continue it; ``""`` where ``run_dir`` is no run
    folder (or cannot be read)."""
    if run_dir is None:
        return ""
    folder = RunFolder(run_dir)
    try:
        if not folder.marker.is_file():
            return ""
        if folder.last.is_file():
            return f"; last checkpoint: {folder.last}; continue with: metarl train --resume {run_dir}"
    except OSError:  # a folder without permissions, a name too long, ...
        return ""
    return (
        f"; no checkpoint yet; start over with: metarl train --config FILE --out {run_dir} "
        "--overwrite"
    )


def _message(err: BaseException) -> str:
    """``err`` as one line (an ``OSError`` from the system as its reason and file)."""
    if isinstance(err, OSError) and err.strerror:
        names = " -> ".join(str(n) for n in (err.filename, err.filename2) if n is not None)
        text = f"{err.strerror}: {names}" if names else err.strerror
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def _thread_error(hook: threading.ExceptHookArgs) -> None:
    """A background thread's error (TensorBoard's event writer on a full disk) as one line."""
    name = hook.thread.name if hook.thread is not None else "a background thread"
    print(f"metarl: {name}: {_message(hook.exc_value or hook.exc_type())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``metarl`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.append(str(Path.cwd()))  # user modules in the current folder, as `python -m`
    if not args.debug:  # the main thread reports the error; a writer thread's is one line
        threading.excepthook = _thread_error
    try:
        import_modules(args.imports, what="--import")
        args.handler(args)
        return 0
    except (KeyboardInterrupt, *USER_ERRORS) as err:
        if args.debug:
            traceback.print_exc()
        interrupted = isinstance(err, KeyboardInterrupt)
        line = "interrupted" if interrupted else f"error: {_message(err)}"
        refused = isinstance(err, RunFolderError | FolderLockedError)
        stopped = interrupted or (isinstance(err, OSError) and not refused)
        if stopped:  # run_dir: set by train once it knows the folder
            line += _resume_hint(getattr(args, "run_dir", None))
        print(f"metarl {args.command}: {line}", file=sys.stderr)
        return 130 if interrupted else 2


if __name__ == "__main__":
    sys.exit(main())
