"""Training-window table of MAML runs over seeds, beside the reference implementation's figures.

    python scripts/maml_fidelity.py --config configs/maml-trpo/navigation2d-quick.yaml \\
        --iterations 150 --seeds 0 1 2 --jobs 2 \\
        --reference scripts/reference/pytorch-maml-rl-navigation2d.json

For each seed it trains ``metarl train --config C --set iterations=N --seed S`` into
``<runs>/<config>-s<S>`` (a finished run there is reused), evaluates it on held-out tasks with
one adaptation step (``metarl evaluate --steps 1 --tasks 40 --episodes 20``), then prints one
markdown table: the mean post-update (after one adaptation step) training return in each window
of iterations, and the held-out one-step return with its 95% CI, per seed, next to the
reference's figures for that seed where ``--reference`` gives them. Below the table: the mean over
seeds of the last window and of the held-out return, and each seed's change from the
``--stable-window`` to the last window (a decline shows as a negative change).

Each run uses ``--threads`` torch threads (default 1, as the reference's comparison was
measured); ``--jobs`` runs that many seeds at once. ``--set`` passes further overrides to every
run (e.g. ``--set weighting=step`` to measure one convention's effect).

The reference file is JSON: ``{"source": "...", "seeds": {"0": {"11-25": -18.7, ...,
"held-out": -14.2}}}``; its window labels must equal this script's ``--windows``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from metarl.files import atomic_write_text

DEFAULT_WINDOWS = "11-25,26-50,51-75,76-100,101-125,126-150"
HELD_OUT = "held-out"


def parse_windows(text: str) -> list[tuple[int, int]]:
    """``"11-25,26-50"`` -> ``[(11, 25), (26, 50)]`` (inclusive iteration ranges)."""
    windows = []
    for part in text.split(","):
        first, sep, last = part.strip().partition("-")
        if not sep or not first.isdigit() or not last.isdigit() or int(first) > int(last):
            raise SystemExit(f"--windows: {part!r} is not FIRST-LAST with FIRST <= LAST")
        windows.append((int(first), int(last)))
    return windows


def label(window: tuple[int, int]) -> str:
    return f"{window[0]}-{window[1]}"


def read_post_returns(run: Path) -> dict[int, float]:
    """Iteration -> post-update training return, from a run's ``metrics.csv``."""
    path = run / "metrics.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {int(row["iteration"]): float(row["post_return"]) for row in csv.DictReader(handle)}


def held_out(run: Path) -> tuple[float, float] | None:
    """(mean, 95% CI) of the meta-trained agent's held-out return after one step, if evaluated."""
    path = run / "eval" / "test" / "eval.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())["summary"]["meta-trained"]
    if len(summary["mean"]) < 2:
        return None
    ci = summary["ci95"][1]
    return summary["mean"][1], (float("nan") if ci is None else ci)


def run_seed(args: argparse.Namespace, seed: int) -> Path:
    """Train and evaluate one seed (skipping what its run folder already holds)."""
    run = Path(args.runs) / f"{Path(args.config).stem}-s{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    metarl = [sys.executable, "-m", "metarl.cli"]
    if max(read_post_returns(run), default=0) < args.iterations:
        overrides = [f"--set=iterations={args.iterations}", f"--seed={seed}"]
        overrides += [f"--set={item}" for item in args.set or []]
        resume = (run / "checkpoints" / "last.pt").is_file()
        command = ["train", "--resume", str(run)] if resume else [
            "train", "--config", args.config, *overrides, "--out", str(run)
        ]
        subprocess.run([*metarl, *command], env=env, check=True, stdout=subprocess.DEVNULL)
    if held_out(run) is None:
        evaluate = [
            "evaluate", str(run), "--steps", "1", "--tasks", str(args.eval_tasks),
            "--episodes", str(args.eval_episodes),
        ]
        subprocess.run([*metarl, *evaluate], env=env, check=True, stdout=subprocess.DEVNULL)
    return run


def window_means(returns: dict[int, float], windows: list[tuple[int, int]]) -> dict[str, float]:
    out = {}
    for first, last in windows:
        values = [returns[i] for i in range(first, last + 1) if i in returns]
        out[label((first, last))] = float(np.mean(values)) if values else float("nan")
    return out


def fidelity_table(
    results: dict[int, dict[str, Any]],
    windows: list[tuple[int, int]],
    reference: dict[str, dict[str, float]],
) -> str:
    """Markdown table: rows are windows and the held-out return, columns seed by seed."""
    header = ["post-update return"]
    for seed in results:
        if str(seed) in reference:
            header.append(f"seed {seed}: reference")
        header.append(f"seed {seed}: metarl")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in [label(w) for w in windows] + [HELD_OUT]:
        cells = [f"iterations {row}" if row != HELD_OUT else "held-out, after 1 step"]
        for seed, result in results.items():
            if str(seed) in reference:
                value = reference[str(seed)].get(row)
                cells.append("" if value is None else f"{value:.1f}")
            if row == HELD_OUT:
                mean, ci = result[HELD_OUT]
                cells.append(f"{mean:.1f} ± {ci:.1f}")
            else:
                cells.append(f"{result['windows'][row]:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--windows", default=DEFAULT_WINDOWS)
    parser.add_argument("--stable-window", default="51-75", help="window a decline is measured from")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override for every run")
    parser.add_argument("--runs", default="runs/fidelity", help="folder of the run folders")
    parser.add_argument("--reference", help="JSON of the reference's figures per seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once")
    parser.add_argument("--eval-tasks", type=int, default=40)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    windows = parse_windows(args.windows)
    if args.stable_window not in {label(w) for w in windows}:
        raise SystemExit(f"--stable-window {args.stable_window!r} is not one of --windows")
    reference: dict[str, dict[str, float]] = {}
    if args.reference:
        reference = json.loads(Path(args.reference).read_text())["seeds"]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = dict(zip(args.seeds, pool.map(lambda s: run_seed(args, s), args.seeds), strict=True))
    results = {
        seed: {"windows": window_means(read_post_returns(run), windows), HELD_OUT: held_out(run)}
        for seed, run in runs.items()
    }
    print(fidelity_table(results, windows, reference))
    last = label(windows[-1])
    print(
        f"\nmean over seeds: window {last} {np.mean([r['windows'][last] for r in results.values()]):.2f}"
        f", held-out {np.mean([r[HELD_OUT][0] for r in results.values()]):.2f}"
    )
    for seed, result in results.items():
        change = result["windows"][last] - result["windows"][args.stable_window]
        print(f"seed {seed}: window {last} minus window {args.stable_window} = {change:+.2f}")
    if args.json:
        atomic_write_text(args.json, json.dumps({"config": args.config, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
