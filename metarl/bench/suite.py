"""The suite definition (``benchmarks/suite.yaml``): its cells, read and checked whole on load.

A cell is one agent on one task family: a config under ``configs/`` with overrides, a budget per
setting (``cpu``: fits a 2-core machine; ``paper``: the published setting) as an override set,
its seeds and its evaluation settings. :func:`load_suite` refuses unknown keys, unknown family or
agent names, bad budgets and seeds, unknown comparison agents, and builds every cell's config for
every budget (so a bad override is reported before anything trains). Top-level keys starting
with ``x-`` are left alone: they hold the YAML anchors that cells share (``&name``, ``*name``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metarl.runs.config import ConfigError, TrainConfig, load_config, load_yaml
from metarl.validation import require_int, require_seed, short_repr

__all__ = [
    "BUDGETS",
    "REFERENCES",
    "Cell",
    "EvaluationSettings",
    "Family",
    "Suite",
    "SuiteError",
    "load_suite",
]

BUDGETS = ("cpu", "paper")
"""Budget names: ``cpu`` (at most about 30 minutes per seed on 2 cores, evaluation included) and
``paper`` (the published setting)."""

SPLITS = ("test", "test-ood")
"""Held-out splits a cell may be evaluated on."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
"""A cell or family name: it names folders and files."""

_SET_BY_SUITE = ("env", "env_kwargs", "seed")
"""Config keys the suite sets itself (the family and the seeds): overrides may not."""


class SuiteError(ConfigError):
    """The suite file is malformed: names the key or value and what is allowed."""


@dataclass(frozen=True)
class Family:
    """A task family of the suite: a registered env id and its ``env_kwargs``."""

    name: str
    label: str  # shown in tables, e.g. "HalfCheetahVel"
    group: str  # what varies between tasks, e.g. "goal", "dynamics"
    env: str
    env_kwargs: dict[str, Any]


REFERENCES = ("pretrained", "oracle")
"""The comparisons a cell's normalised score is taken between unless it names others (result
files written before cells could name them hold none: these)."""


@dataclass(frozen=True)
class EvaluationSettings:
    """Arguments of :func:`metarl.runs.evaluate.evaluate_run`; ``None``: the config's value."""

    split: str
    tasks: int | None
    steps: int | None
    episodes: int | None
    comparisons: tuple[str, ...]
    evaluation_episodes: int | None
    references: tuple[str, str] = REFERENCES
    """The comparisons the normalised score is taken between: ``(0, 1)`` of the scale. Named in
    the suite, both must be among ``comparisons``; the default's cells without them get no
    score."""


@dataclass(frozen=True)
class Cell:
    """One agent on one family, at each budget."""

    name: str
    family: Family
    agent: str  # the agent's label, one of the suite's agents
    config: Path  # the base config file
    overrides: dict[str, Any]
    budgets: dict[str, dict[str, Any]]  # budget name -> overrides
    seeds: tuple[int, ...]
    evaluation: EvaluationSettings
    matrix: bool  # shown in the headline matrix

    def train_config(self, budget: str, seed: int) -> TrainConfig:
        """The resolved config of this cell at ``budget`` for ``seed``: the base config, the
        family's env and env_kwargs, the cell's overrides, the budget's, the seed.

        Raises:
            SuiteError: an unknown budget, or overrides the config refuses.
        """
        if budget not in self.budgets:
            raise SuiteError(
                f"cell {self.name!r} has no {budget!r} budget; it has: {sorted(self.budgets)}"
            )
        assignments = [
            f"env={json.dumps(self.family.env)}",
            f"env_kwargs={json.dumps(self.family.env_kwargs)}",
            *_assignments(self.overrides),
            *_assignments(self.budgets[budget]),
            f"seed={seed}",
        ]
        try:
            return load_config(self.config, assignments)
        except ConfigError as err:
            raise SuiteError(f"cell {self.name!r}, budget {budget!r}: {err}") from None


@dataclass(frozen=True)
class Suite:
    """The cells of a suite file, in file order."""

    path: Path
    version: int
    cells: dict[str, Cell]

    def select(self, names: Sequence[str]) -> list[Cell]:
        """The cells named (all cells for none), in the order given.

        Raises:
            SuiteError: a name the suite does not define.
        """
        unknown = [name for name in names if name not in self.cells]
        if unknown:
            raise SuiteError(f"unknown cell(s) {unknown}; {self.path} defines: {list(self.cells)}")
        return [self.cells[name] for name in dict.fromkeys(names or self.cells)]


def _assignments(overrides: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``overrides`` as ``--set`` strings; a nested mapping sets single keys (``a.b=...``)."""
    out = []
    for key, value in overrides.items():
        if isinstance(value, Mapping) and value:
            out += _assignments(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={json.dumps(value)}")
    return out


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, Mapping) or not value:
        raise SuiteError(f"{where} must be a non-empty mapping, got {short_repr(value)}")
    return dict(value)


def _keys(value: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """``value`` as a mapping holding every ``required`` key and no key beyond ``optional``."""
    value = _mapping(value, where)
    required, optional = list(required), list(optional)
    unknown = [key for key in value if key not in required + optional]
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {unknown}; allowed: {required + optional}")
    missing = [key for key in required if key not in value]
    if missing:
        raise SuiteError(f"{where}: missing key(s) {missing}")
    return dict(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise SuiteError(
            f"{where}: a name must be lowercase letters, digits, '.', '-' or '_' (starting with a "
            f"letter or digit), got {short_repr(value)}"
        )
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(f"{where} must be a non-empty string, got {short_repr(value)}")
    return value


def _optional_int(value: Any, where: str) -> int | None:
    return None if value is None else require_int(where, value, error=SuiteError)


def _family(name: str, data: Any) -> Family:
    where = f"families.{name}"
    data = _keys(data, where, ("env", "label", "group"), ("env_kwargs",))
    kwargs = data.get("env_kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise SuiteError(f"{where}.env_kwargs must be a mapping, got {short_repr(kwargs)}")
    return Family(
        name=_name(name, where),
        label=_text(data["label"], f"{where}.label"),
        group=_text(data["group"], f"{where}.group"),
        env=_text(data["env"], f"{where}.env"),
        env_kwargs=dict(kwargs),
    )


def _evaluation(data: Mapping[str, Any], where: str) -> EvaluationSettings:
    from metarl.evaluation import registered_agents

    data = _keys(
        data, where, ("comparisons",),
        ("split", "tasks", "steps", "episodes", "evaluation_episodes", "references"),
    )
    split = data.get("split", "test")
    if split not in SPLITS:
        raise SuiteError(f"{where}.split must be one of {list(SPLITS)}, got {short_repr(split)}")
    comparisons = data["comparisons"]
    if not isinstance(comparisons, list) or not all(isinstance(c, str) for c in comparisons):
        raise SuiteError(f"{where}.comparisons must be a list of names, got {short_repr(comparisons)}")
    unknown = [name for name in comparisons if name not in registered_agents()]
    if unknown:
        raise SuiteError(
            f"{where}.comparisons: unknown agent(s) {unknown}; registered: {registered_agents()}"
        )
    references = data.get("references", list(REFERENCES))
    if "references" in data and (
        not isinstance(references, list)
        or len(references) != 2
        or not all(isinstance(name, str) and name in comparisons for name in references)
    ):
        raise SuiteError(
            f"{where}.references must be two of its comparisons {comparisons} (the score's 0 "
            f"and 1, e.g. [pretrained, oracle]), got {short_repr(references)}"
        )
    steps = data.get("steps")
    return EvaluationSettings(
        split=split,
        tasks=_optional_int(data.get("tasks"), f"{where}.tasks"),
        steps=None if steps is None else require_int(f"{where}.steps", steps, 0, SuiteError),
        episodes=_optional_int(data.get("episodes"), f"{where}.episodes"),
        comparisons=tuple(comparisons),
        evaluation_episodes=_optional_int(
            data.get("evaluation_episodes"), f"{where}.evaluation_episodes"
        ),
        references=(references[0], references[1]),
    )


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise SuiteError(f"{where} must be a non-empty list of seeds, got {short_repr(value)}")
    seeds = tuple(require_seed(where, seed, SuiteError) for seed in value)
    if len(set(seeds)) < len(seeds):
        raise SuiteError(f"{where} repeats a seed: {list(seeds)}")
    return seeds


def _overrides(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SuiteError(f"{where} must be a mapping of config keys, got {short_repr(value)}")
    fixed = [key for key in value if key in _SET_BY_SUITE]
    if fixed:
        raise SuiteError(
            f"{where} sets {fixed}, which the suite sets itself (env and env_kwargs from the "
            "cell's family, seed from its seeds)"
        )
    return dict(value)


def _cell(
    name: str,
    data: Any,
    suite: dict[str, Any],
    families: Mapping[str, Family],
    configs: Path,
) -> Cell:
    where = f"cells.{name}"
    data = _keys(
        data, where, ("family", "agent", "config", "budgets"),
        ("overrides", "seeds", "evaluation", "matrix"),
    )
    if data["family"] not in families:
        raise SuiteError(
            f"{where}.family: unknown family {short_repr(data['family'])}; defined: "
            f"{list(families)}"
        )
    if data["agent"] not in suite["agents"]:
        raise SuiteError(
            f"{where}.agent: unknown agent {short_repr(data['agent'])}; defined: {suite['agents']}"
        )
    config = configs / _text(data["config"], f"{where}.config")
    if not config.is_file():
        raise SuiteError(f"{where}.config: {config} does not exist")
    budgets = data["budgets"]
    if not isinstance(budgets, Mapping) or "cpu" not in budgets:
        raise SuiteError(f"{where}.budgets must be a mapping with a 'cpu' budget, got {short_repr(budgets)}")
    unknown = [key for key in budgets if key not in BUDGETS]
    if unknown:
        raise SuiteError(f"{where}.budgets: unknown budget(s) {unknown}; allowed: {list(BUDGETS)}")
    matrix = data.get("matrix", True)
    if not isinstance(matrix, bool):
        raise SuiteError(f"{where}.matrix must be true or false, got {short_repr(matrix)}")
    evaluation = {**(suite.get("evaluation") or {}), **(data.get("evaluation") or {})}
    cell = Cell(
        name=_name(name, where),
        family=families[data["family"]],
        agent=data["agent"],
        config=config,
        overrides=_overrides(data.get("overrides"), f"{where}.overrides"),
        budgets={b: _overrides(o, f"{where}.budgets.{b}") for b, o in budgets.items()},
        seeds=_seeds(data.get("seeds", suite.get("seeds")), f"{where}.seeds"),
        evaluation=_evaluation(evaluation, f"{where}.evaluation"),
        matrix=matrix,
    )
    for budget in cell.budgets:
        cell.train_config(budget, cell.seeds[0])
    return cell


def load_suite(path: str | Path) -> Suite:
    """Read and check the suite file ``path`` (see the module docstring).

    Raises:
        SuiteError: the file is missing or not valid YAML, or holds anything the suite does not
            allow (naming it and what is allowed).
    """
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"suite file {path} does not exist") from None
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as err:
        raise SuiteError(f"suite file {path} is not valid YAML: {' '.join(str(err).split())}") from None
    try:
        data = _keys(
            {k: v for k, v in _mapping(data, "the suite").items() if not str(k).startswith("x-")},
            "the suite", ("version", "families", "agents", "cells"),
            ("configs", "seeds", "evaluation"),
        )
        version = require_int("version", data["version"], error=SuiteError)
        agents = data["agents"]
        if not isinstance(agents, list) or not all(isinstance(a, str) and a for a in agents):
            raise SuiteError(f"agents must be a list of labels, got {short_repr(agents)}")
        families = {
            name: _family(name, value)
            for name, value in _mapping(data["families"], "families").items()
        }
        configs = path.parent / _text(data.get("configs", "../configs"), "configs")
        cells = {
            name: _cell(name, value, data, families, configs)
            for name, value in _mapping(data["cells"], "cells").items()
        }
    except SuiteError as err:
        raise SuiteError(f"{path}: {err}") from None
    return Suite(path=path, version=version, cells=cells)
