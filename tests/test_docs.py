"""The documentation runs as written.

Every fenced ``python`` and ``bash`` block of README.md and of the pages under docs/ runs, page by
page and in order, in a fresh folder (with ``configs/`` and ``scripts/`` linked in), unless an HTML
comment on the line before it says otherwise:

- ``<!-- not run: REASON -->``: not run (it installs packages, needs a cluster, trains for an hour).
- ``<!-- shrunk: REASON -->``: long commands, run with tiny budgets: every ``metarl train`` gets
  small ``--set`` overrides for its agent kind, every ``metarl evaluate`` two tasks and two episodes
  (the comparison agents that train with SB3 first are only checked by name); the set-up commands
  of a one-line install (venv, ``pip``) are skipped.

A python block whose first line is ``# name.py`` is a module of the user's, written to the folder for
the later blocks; other python blocks run with ``python -c``. A bash block holds ``metarl ...`` and
``python ...`` commands, one a line; its consecutive ``metarl`` commands run in one process, one
``metarl.cli.main`` call each (importing torch once saves seconds a command). The experiment logs
(docs/experiments/) are records and are not run; README's "Use a trained agent" and "Bring your own
family" run, with checks of what they print, in tests/test_readme_user_sections.py.

Also here: ``mkdocs build --strict`` (skipped where the ``docs`` extra is not installed), and the
README's test command against .ci/run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.test_readme_user_sections import SECTIONS, _run

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    ["README.md"]
    + [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "docs").rglob("*.md")
        if "experiments" not in path.relative_to(ROOT / "docs").parts
    ]
)
RUN = ("python", "bash")
"""Languages whose blocks run; blocks of other languages (yaml, text) are shown only."""
MARKER = re.compile(r"<!-- (not run|shrunk): (\S.*?) -->")
SETUP = ("python3 -m venv ", ". .venv", "pip install ", "deactivate")
"""The set-up commands of a one-line install, which a shrunk block skips."""


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    marker: str | None  # "not run", "shrunk" or None
    reason: str | None
    section: str  # the "## " heading above it


def page_blocks(page: str) -> list[Block]:
    """The fenced blocks of ``page`` with the marker on the line before each."""
    lines = (ROOT / page).read_text().split("\n")
    blocks, section, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            found = MARKER.fullmatch(lines[i - 1].strip()) if i else None
            blocks.append(
                Block(
                    page, i + 1, line[3:].strip(), "\n".join(lines[i + 1 : end]) + "\n",
                    found and found.group(1), found and found.group(2), section,
                )
            )
            i = end
        i += 1
    return blocks


def commands(code: str) -> list[str]:
    """The command lines of a bash block (continuations joined, comments and blank lines
    dropped)."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line for line in joined.split("\n") if shlex.split(line, comments=True)]


def _config_kind(words: list[str], cwd: Path) -> str:
    if "--config" not in words:
        return "maml"
    data = yaml.safe_load((cwd / words[words.index("--config") + 1]).read_text()) or {}
    return data.get("agent", "maml")


TINY = {
    "maml": ["iterations=1", "meta_batch_size=2", "episodes_per_task=2", "eval_tasks=2"],
    "rl2": ["iterations=1", "meta_batch_size=16", "eval_tasks=2"],
    "pearl": [
        "iterations=1", "meta_batch_size=2", "eval_tasks=2", "agent_options.num_train_tasks=4",
        "agent_options.initial_episodes=1", "agent_options.tasks_per_iteration=2",
        "agent_options.prior_episodes=1", "agent_options.posterior_episodes=0",
        "agent_options.extra_posterior_episodes=1", "agent_options.gradient_steps=2",
        "agent_options.batch_size=16", "agent_options.context_batch_size=16",
    ],
}
"""Overrides that make a run of each agent kind take seconds (a shrunk block's ``metarl train``)."""


TRAINED_COMPARISONS = ("pretrained", "oracle", "oracle-sac", "scratch")
"""Comparison agents that train with SB3 first: a shrunk evaluation checks their names only."""


def shrunk(words: list[str], cwd: Path) -> list[str]:
    """A ``metarl train`` / ``metarl evaluate`` command of a shrunk block, with tiny budgets."""
    if words[1] == "train":
        tiny = [*TINY[_config_kind(words, cwd)], "comparison_timesteps=256"]
        return words + [arg for value in tiny for arg in ("--set", value)]
    assert words[1] == "evaluate", words
    words = list(words)
    for flag in ("--comparisons", "--baselines"):
        if flag in words:
            index = words.index(flag)
            names = words[index + 1].split(",")
            from metarl.evaluation import registered_agents

            assert set(names) <= set(registered_agents()), names
            kept = [name for name in names if name not in TRAINED_COMPARISONS]
            words[index : index + 2] = [flag, ",".join(kept)] if kept else []
    return [*words, "--tasks", "2", "--episodes", "2"]


RUNNER = """
import json, sys
from metarl.cli import main
for argv in json.loads(sys.argv[1]):
    print("$ metarl", *argv, flush=True)
    if main(argv):
        sys.exit(f"metarl {' '.join(argv)} failed")
"""
"""Runs ``metarl`` commands (argument lists, JSON) one after the other in one process."""


def run_block(block: Block, cwd: Path) -> None:
    if block.language == "python":
        first = block.code.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            (cwd / first[2:]).write_text(block.code)  # a module of the user's
        else:
            _run([sys.executable, "-c", block.code], cwd)
        return
    pending: list[list[str]] = []  # metarl commands not run yet

    def flush() -> None:
        if pending:
            _run([sys.executable, "-c", RUNNER, json.dumps(pending)], cwd)
            pending.clear()

    for line in commands(block.code):
        parts = line.split(" && ") if block.marker == "shrunk" else [line]
        for part in parts:
            if block.marker == "shrunk" and part.startswith(SETUP):
                continue
            words = shlex.split(part, comments=True)
            if words[0] == "metarl":
                words = shrunk(words, cwd) if block.marker == "shrunk" else words
                pending.append(words[1:])
            else:
                assert words[0] == "python", f"{block.page}:{block.line}: {part}"
                flush()
                _run([sys.executable, *words[1:]], cwd)
    flush()


def _runs_here(block: Block) -> bool:
    """Whether ``test_page_runs`` runs the block (README's user sections run in their own test)."""
    if block.language not in RUN or block.marker == "not run":
        return False
    return not (block.page == "README.md" and block.section in SECTIONS)


@pytest.mark.parametrize("page", PAGES)
def test_every_block_runs_or_says_why(page):
    for block in page_blocks(page):
        where = f"{page}:{block.line}"
        assert block.language, f"{where}: a fenced block names its language"
        if block.language not in RUN or block.marker == "not run":
            continue
        if block.language == "bash":
            for line in commands(block.code):
                for part in line.split(" && ") if block.marker == "shrunk" else [line]:
                    if block.marker == "shrunk" and part.startswith(SETUP):
                        continue
                    words = shlex.split(part, comments=True)
                    assert words[0] in ("metarl", "python"), (
                        f"{where}: {part!r} is neither a metarl nor a python command; mark the "
                        "block <!-- not run: REASON --> if it cannot run in a test"
                    )
                    if block.marker == "shrunk":
                        assert words[:2] in (["metarl", "train"], ["metarl", "evaluate"]), where


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [page for page in PAGES if any(map(_runs_here, page_blocks(page)))]
)
def test_page_runs(page, tmp_path):
    for name in ("configs", "scripts"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    for block in page_blocks(page):
        if _runs_here(block):
            run_block(block, tmp_path)


def test_the_readme_test_command_is_what_ci_runs():
    """.ci/run is "the README's test command, line for line": every command of it, in order."""
    (block,) = [
        b for b in page_blocks("README.md") if "python -m pytest" in b.code and b.language == "bash"
    ]
    steps = block.code.strip().split(" && ")
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    position = 0
    for step in steps:
        assert step in ci[position:], f"{step!r} is not in .ci/run (after line {position})"
        position = ci.index(step, position) + 1
    assert "mkdocs build --strict" in steps


def test_the_home_page_installs_as_the_readme_does():
    """docs/index.md repeats README's main job (not run there: the README's copy runs)."""
    (readme,) = [b.code for b in page_blocks("README.md") if "navigation2d-quick" in b.code]
    (home,) = [b for b in page_blocks("docs/index.md") if "navigation2d-quick" in b.code]
    assert home.code == readme and home.marker == "not run"


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="needs the docs extra")
def test_the_documentation_site_builds(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-5000:]
    assert (tmp_path / "site" / "api" / "metarl" / "index.html").is_file()
