"""Run configuration: one typed dataclass, loaded from YAML and validated, that builds the agent.

>>> config = TrainConfig(env="metarl/Navigation2D-v0", iterations=2)
>>> config.with_overrides(["inner_lr=0.05", "hidden_sizes=[32, 32]"]).inner_lr
0.05
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from metarl.choices import DEVICES, Estimator, KLDirection, Weighting
from metarl.fielddocs import document_fields
from metarl.validation import MAX_LEARNING_RATE, require_finite, require_seed, short_repr

__all__ = [
    "ConfigError",
    "TrainConfig",
    "load_config",
    "load_yaml",
    "named_modules",
    "options_from_dict",
    "require_imported",
]

Outer = Literal["trpo", "ppo", "promp"]
ValueFunctionKind = Literal["linear", "mlp"]
SamplerKind = Literal["local", "ray"]


class ConfigError(ValueError):
    """A configuration names an unknown key or holds a value that is not allowed."""


STEP_BOUNDS = {
    "inner_lr": 10.0,
    "outer_lr": MAX_LEARNING_RATE,
    "max_kl": 10.0,
    "kl_coeff": 1e3,
    "target_kl": 10.0,
}
"""Largest value of each step-size setting (each must also be > 0): beyond it a step is no longer
a step of the method (its field's docstring says why)."""

MAX_CG_DAMPING = 100.0
"""Largest TRPO ``cg_damping``: the KL Hessian's entries are of order 1, so a damping far above it
shrinks every step to nothing."""


@document_fields
@dataclass(frozen=True)
class TrainConfig:
    """Everything a meta-training run depends on. Defaults: MAML-TRPO on 2D navigation with the
    settings of Finn et al. 2017 / pytorch-maml-rl."""

    agent: str = "maml"
    """Agent kind (:func:`~metarl.runs.kinds.registered_agent_kinds`): ``maml`` (the MAML family,
    set by the keys below) or another registered kind, set by ``agent_options``."""
    agent_options: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters of the agent kind (checked against the kind's options dataclass);
    ``--set agent_options.NAME=VALUE`` sets one. The MAML family's (:data:`MAML_KEYS`) are also
    read as top-level keys (their older spelling), where they are kept."""
    env: str = "metarl/Navigation2D-v0"
    """Registered family id; ``module:id`` imports ``module`` first (Gymnasium's syntax), for a
    family of your own registered there."""
    imports: tuple[str, ...] = ()
    """Modules imported before the env is made (they register your families, agent kinds or
    comparison agents); looked up in the current folder and the Python path."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra arguments of ``gymnasium.make_vec`` (e.g. ``max_episode_steps``)."""
    outer: Outer = "trpo"
    """Outer loop: ``trpo`` (MAML-TRPO), ``ppo`` (MAML-PPO) or ``promp`` (ProMP)."""
    iterations: int = 500
    """Meta-iterations."""
    meta_batch_size: int = 20
    """Tasks per meta-iteration."""
    episodes_per_task: int = 20
    """Episodes per task and inner step (and for the post-update batch)."""
    num_inner_steps: int = 1
    """Inner policy-gradient steps per task."""
    inner_lr: float = 0.1
    """Inner step size alpha (initial value under Meta-SGD); in (0, 10]: the papers use 0.01 to
    0.5, and a step of 10 on standardised advantages already leaves the policy nothing of its
    meta-learned initialisation."""
    learn_inner_lr: bool = False
    """Meta-SGD: learn one inner step size per parameter element."""
    first_order: bool = False
    """First-order MAML: drop second-order terms of the meta-gradient."""
    estimator: Estimator = "reinforce"
    """Inner-loss estimator: ``reinforce`` (MAML) or ``lvc`` (ProMP's low-variance curvature)."""
    gamma: float = 0.99
    """Discount."""
    gae_lambda: float = 1.0
    """GAE lambda (1: Monte-Carlo returns minus baseline)."""
    normalize_advantages: bool = True
    """Standardise advantages per task."""
    value_function: ValueFunctionKind = "linear"
    """Value function of the advantages' baseline: ``linear`` features (Duan et al. 2016) or an
    ``mlp``."""
    weighting: Weighting = "episode"
    """How each task's steps are averaged in the losses, KLs and advantage statistics:
    ``episode`` (per episode, then over episodes: pytorch-maml-rl) or ``step`` (over all valid
    steps: rllab, the MAML authors' code). They differ when episodes end early."""
    bootstrap_truncated: bool = False
    """Bootstrap episodes cut by the time limit with the value function's value of their final
    observation; false: the time limit ends the task (rllab, pytorch-maml-rl)."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Policy hidden layer sizes."""
    activation: str = "tanh"
    """Policy activation: ``tanh`` or ``relu``."""
    max_kl: float = 0.01
    """TRPO: KL trust-region size; in (0, 10] (the papers use 0.01; 10 nats between the policies
    before and after a step is no trust region)."""
    cg_iterations: int = 10
    """TRPO: conjugate-gradient iterations."""
    cg_damping: float = 1e-5
    """TRPO: damping added to the KL Hessian; in [0, 100] (the KL Hessian's entries are of order
    1: a damping far above it shrinks every step to nothing)."""
    line_search_steps: int = 15
    """TRPO: backtracking line-search steps."""
    curvature_tasks: int | None = None
    """TRPO: compute the KL Hessian-vector products on only this many tasks of each meta-batch
    (faster, approximate; rllab's ``subsample_factor``); none: all tasks, as in the papers."""
    backtrack_ratio: float = 0.8
    """TRPO: step shrink factor per line-search step."""
    kl_direction: KLDirection = "new_old"
    """TRPO: the post-update KL that the trust region bounds: ``new_old`` = KL(new || old)
    (pytorch-maml-rl), ``old_new`` = KL(old || new) (Schulman et al. 2015, rllab)."""
    outer_lr: float = 1e-3
    """PPO / ProMP: Adam learning rate; in (0, 1] (Adam moves each parameter by about this much per
    step)."""
    clip: float = 0.2
    """PPO / ProMP: ratio clipping."""
    outer_epochs: int = 5
    """PPO / ProMP: optimisation epochs per meta-batch."""
    kl_coeff: float = 5e-4
    """ProMP: initial coefficient of the pre-update KL penalty; in (0, 1000] (it then doubles or
    halves towards ``target_kl``)."""
    target_kl: float = 0.01
    """ProMP: target of the pre-update KL (the coefficient adapts towards it); in (0, 10], as
    ``max_kl``."""
    device: str = "cpu"
    """Where the agent kinds that support it train and act: ``auto``, ``cpu`` or ``cuda``."""
    seed: int = 0
    """Seed of everything: policy initialisation, task draws, envs, action noise."""
    checkpoint_every: int = 10
    """Write ``checkpoints/last.pt`` every this many iterations (and at the end)."""
    eval_tasks: int = 40
    """Held-out tasks in the evaluation."""
    eval_steps: int = 3
    """Adaptation steps in the evaluation (returns after 0..eval_steps)."""
    comparison_timesteps: int = 100_000
    """Env steps of each SB3-trained comparison agent (pretrained, oracle, scratch) in the evaluation."""
    sac_timesteps: int | None = None
    """Env steps of the SAC-trained comparison (``oracle-sac``), which needs far fewer than PPO's
    and costs more per step; none: ``comparison_timesteps``."""
    sampler: SamplerKind = "local"
    """Episode sampler: ``local`` (vector envs in this process) or ``ray`` (Ray actors; the same
    episodes for the same seed; needs ``pip install 'metarl[ray]'``)."""
    workers: int = 2
    """Ray sampler: actors the tasks of a meta-batch are spread over (one CPU each)."""
    ray_address: str | None = None
    """Ray sampler: cluster address (``HOST:6379`` or ``auto``); none: start Ray on this machine."""

    def __post_init__(self) -> None:
        hints = get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        positive_ints = (
            "iterations", "meta_batch_size", "episodes_per_task", "num_inner_steps",
            "cg_iterations", "line_search_steps", "outer_epochs", "checkpoint_every",
            "eval_tasks", "comparison_timesteps", "workers",
        )
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {short_repr(getattr(self, name))}")
        if self.sac_timesteps is not None and self.sac_timesteps < 1:
            raise ConfigError(
                f"sac_timesteps must be >= 1 or null, got {short_repr(self.sac_timesteps)}"
            )
        if self.eval_steps < 0:
            raise ConfigError(f"eval_steps must be >= 0, got {short_repr(self.eval_steps)}")
        for name, maximum in STEP_BOUNDS.items():
            require_finite(
                name, getattr(self, name), 0.0, maximum=maximum, inclusive=False, error=ConfigError
            )
        require_seed("seed", self.seed, error=ConfigError)
        # name: (whether the value is allowed, the allowed interval)
        intervals = {
            "gamma": (0.0 < self.gamma <= 1.0, "(0, 1]"),
            "gae_lambda": (0.0 <= self.gae_lambda <= 1.0, "[0, 1]"),
            "clip": (0.0 < self.clip < 1.0, "(0, 1)"),
            "backtrack_ratio": (0.0 < self.backtrack_ratio < 1.0, "(0, 1)"),
        }
        for name, (inside, text) in intervals.items():
            if not inside:
                value = short_repr(getattr(self, name))
                raise ConfigError(f"{name} must lie in {text}, got {value}")
        require_finite(
            "cg_damping", self.cg_damping, 0.0, maximum=MAX_CG_DAMPING, error=ConfigError
        )
        if self.curvature_tasks is not None and not 1 <= self.curvature_tasks <= self.meta_batch_size:
            raise ConfigError(
                f"curvature_tasks must lie in [1, meta_batch_size={self.meta_batch_size}] or be "
                f"null, got {short_repr(self.curvature_tasks)}"
            )
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ConfigError(
                f"hidden_sizes must be positive ints, got {short_repr(self.hidden_sizes)}"
            )
        if self.activation not in ("tanh", "relu"):
            raise ConfigError(
                f"activation must be 'tanh' or 'relu', got {short_repr(self.activation)}"
            )
        if self.outer == "promp" and self.estimator != "lvc":
            raise ConfigError("outer 'promp' needs estimator 'lvc' (ProMP's inner estimator)")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(
                f"device must be one of {list(DEVICES)}, got {short_repr(self.device)}"
            )
        self.kind_options()

    def kind_options(self) -> Any:
        """The agent kind's options dataclass filled from ``agent_options`` (``None`` for a kind
        without options); :class:`ConfigError` for an unknown kind or option. A kind of your own
        is registered by a module in ``imports`` (imported by :func:`load_config`)."""
        from metarl.runs.kinds import agent_kind, registered_agent_kinds

        if self.agent not in registered_agent_kinds():
            raise ConfigError(
                f"agent must be one of {registered_agent_kinds()}, got {short_repr(self.agent)} "
                "(a kind of your own: name the module that registers it in imports, or --import it)"
            )
        if self.agent == "maml":
            if self.agent_options:  # from_dict moves them to the top-level keys
                raise ConfigError(
                    "agent 'maml' takes its hyperparameters as keyword arguments of TrainConfig "
                    f"(or agent_options in a config file); got agent_options "
                    f"{sorted(self.agent_options)}"
                )
            return None
        options = agent_kind(self.agent).options
        if options is None:
            if self.agent_options:
                raise ConfigError(
                    f"agent {short_repr(self.agent)} takes no agent_options, got "
                    f"{sorted(self.agent_options)}"
                )
            return None
        try:
            return options_from_dict(options, self.agent_options)
        except ConfigError as err:
            raise ConfigError(f"agent_options of agent {short_repr(self.agent)}: {err}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise :class:`ConfigError` listing the allowed ones."""
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a config must be a mapping of keys to values, got {short_repr(data)}"
            )
        allowed = [f.name for f in dataclasses.fields(cls)]
        data = _maml_options_as_keys(_renamed_keys(data))
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ConfigError(f"unknown config key(s) {unknown}; allowed: {allowed}")
        return cls(**_tuples(cls, data))

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-serialisable form (``from_dict(to_dict())`` round-trips)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    def with_overrides(self, assignments: Iterable[str]) -> TrainConfig:
        """Apply ``key=value`` strings (values parsed as YAML), as given by ``--set``."""
        return TrainConfig.from_dict(_overridden(self.to_dict(), assignments))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may repeat base's keys
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = lines.get(key)
            except TypeError:  # an unhashable key: the base class refuses it, naming it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {short_repr(key)} (first on line {first})", key_node.start_mark,
                )
            lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """The value of the YAML document ``text``, read safely (no Python objects); a key repeated in
    a mapping raises ``yaml.YAMLError`` naming it and its lines."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error as one line: the problem and its line and column."""
    problem = getattr(err, "problem", None) or str(err)
    mark = getattr(err, "problem_mark", None)
    if mark is None:
        return problem
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def _overridden(data: Mapping[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """``data`` with ``key=value`` strings applied (values parsed as YAML)."""
    data = dict(data)
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep:
            raise ConfigError(f"--set takes key=value, got {short_repr(assignment)}")
        try:
            value = load_yaml(text)
        except (yaml.YAMLError, ValueError, RecursionError) as err:
            problem = getattr(err, "problem", None) or str(err) or type(err).__name__
            raise ConfigError(
                f"--set {short_repr(assignment)}: the value is not valid YAML ({problem})"
            ) from None
        key = key.strip()
        option = key.removeprefix("agent_options.")
        if data.get("agent", "maml") == "maml" and option in MAML_KEYS:
            key = option  # a MAML hyperparameter: kept as a top-level key
        _assign(data, key, value)
    return data


def _assign(data: dict[str, Any], key: str, value: Any) -> None:
    """``data[key] = value``; a dotted key ``outer.inner`` sets a key of a mapping-valued key
    (one that is unset, ``None``, starts as an empty mapping)."""
    head, dot, rest = key.partition(".")
    if not dot:
        data[key] = value
        return
    inner = data.get(head)
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ConfigError(f"--set {key}: {short_repr(head)} is not a mapping-valued key")
    inner = dict(inner)
    _assign(inner, rest, value)
    data[head] = inner


def options_from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """An instance of the frozen dataclass ``cls`` from ``data``, with the checks of
    :class:`TrainConfig`'s own keys: unknown keys and values of the wrong type raise
    :class:`ConfigError` naming the key and what is allowed."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"options must be a mapping of keys to values, got {short_repr(data)}")
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}; allowed: {allowed}")
    hints = get_type_hints(cls)
    values = _tuples(cls, data)
    for name, value in values.items():
        _check_type(name, value, hints[name])
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None


def _tuples(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the lists (from YAML) of the tuple-typed fields of ``cls`` as tuples."""
    hints = get_type_hints(cls)
    return {
        name: (
            tuple(value)
            if isinstance(value, list) and name in hints and get_origin(hints[name]) is tuple
            else value
        )
        for name, value in data.items()
    }


RENAMED_KEYS = {"baseline": "value_function", "baseline_timesteps": "comparison_timesteps"}
"""Old config key -> its current name; configs of older runs are read with the new names."""


def _renamed_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the old keys of :data:`RENAMED_KEYS` under their new names."""
    renamed = {RENAMED_KEYS.get(key, key): value for key, value in data.items()}
    both = sorted(old for old, new in RENAMED_KEYS.items() if old in data and new in data)
    if both:
        raise ConfigError(
            f"config key(s) {both} were renamed to {[RENAMED_KEYS[k] for k in both]}; "
            "give only the new name"
        )
    return renamed


MAML_KEYS = tuple(
    name for name in (
        "outer", "num_inner_steps", "inner_lr", "learn_inner_lr", "first_order", "estimator",
        "gamma", "gae_lambda", "normalize_advantages", "value_function", "weighting",
        "bootstrap_truncated", "hidden_sizes", "activation", "max_kl", "cg_iterations",
        "cg_damping", "line_search_steps", "curvature_tasks", "backtrack_ratio", "kl_direction",
        "outer_lr", "clip", "outer_epochs", "kl_coeff", "target_kl",
    )
)
"""The MAML family's hyperparameters: top-level keys of :class:`TrainConfig`, also accepted under
``agent_options`` like every other agent kind's."""


def _maml_options_as_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a MAML config's ``agent_options`` moved to the top-level keys they set."""
    options = data.get("agent_options")
    if data.get("agent", "maml") != "maml" or not isinstance(options, Mapping) or not options:
        return data
    unknown = sorted(set(options) - set(MAML_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} of agent 'maml'; allowed: {list(MAML_KEYS)}"
        )
    both = sorted(set(options) & set(data))
    if both:
        raise ConfigError(
            f"{both} given both as top-level key(s) and under agent_options; give each once"
        )
    return {**{k: v for k, v in data.items() if k != "agent_options"}, **options}


def _check_type(name: str, value: Any, hint: Any) -> None:
    if get_origin(hint) in (Union, types.UnionType):  # optional values: X | None
        if value is None and type(None) in get_args(hint):
            return
        (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
    origin = getattr(hint, "__origin__", None)
    if origin is Literal:
        if value not in get_args(hint):
            allowed = list(get_args(hint))
            raise ConfigError(f"{name} must be one of {allowed}, got {short_repr(value)}")
        return
    expected = {int: int, float: (int, float), bool: bool, str: str}.get(hint)
    if expected is None:
        expected = {tuple: tuple, dict: dict}[origin]
    if (isinstance(value, bool) and hint is not bool) or not isinstance(value, expected):
        type_name = getattr(hint, "__name__", hint)
        raise ConfigError(f"{name} must be of type {type_name}, got {short_repr(value)}")
    if hint is float:
        require_finite(name, value, error=ConfigError)
    if origin is tuple:
        item = get_args(hint)[0]
        if not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{name} must hold {item.__name__}s, got {short_repr(value)}")


def load_config(
    path: str | Path | None, overrides: Iterable[str] = (), *, trusted: bool = True
) -> TrainConfig:
    """Read a YAML config (``None``: the defaults) and apply ``key=value`` overrides.

    A config you give to train from is trusted: the modules it names (``imports``, the module of
    an env written ``module:id``) are imported, so that they register their families and agent
    kinds. A config read back from a run folder is not (``trusted=False``): metarl never imports
    code that a file it loads names, so those modules must be imported already
    (:func:`require_imported`).
    """
    if path is None:
        data: Any = {}
    else:
        path = Path(path)
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"config file {path} is not UTF-8 text (byte {err.object[err.start]:#04x} at "
                f"offset {err.start}); a config is a YAML text file"
            ) from None
        except (yaml.YAMLError, ValueError) as err:  # ValueError: e.g. an int of 5000 digits
            problem = _yaml_problem(err)
            raise ConfigError(f"config file {path} is not valid YAML: {problem}") from err
        except RecursionError:
            raise ConfigError(
                f"config file {path} is nested too deeply to read (beyond Python's recursion "
                f"limit, {sys.getrecursionlimit()})"
            ) from None
    where = "defaults" if path is None else str(path)
    try:
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a config must be a mapping of keys to values, got {short_repr(data)}"
            )
        data = _overridden(data, overrides)
        if trusted:
            from metarl.envs.registration import import_modules

            import_modules(named_modules(data), what=f"config {where}")
        else:
            require_imported(data, where)
        return TrainConfig.from_dict(data)
    except ConfigError as err:
        raise ConfigError(err if path is None else f"{path}: {err}") from None


def named_modules(data: Mapping[str, Any]) -> list[str]:
    """The modules a config's data names: its ``imports`` and the module of an env written
    ``module:id``."""
    imports = data.get("imports") or []
    modules = [m for m in imports if isinstance(m, str)] if isinstance(imports, list | tuple) else []
    env = data.get("env")
    if isinstance(env, str) and ":" in env:
        modules.append(env.rpartition(":")[0])
    return list(dict.fromkeys(modules))


def require_imported(data: Mapping[str, Any], source: str) -> None:
    """:class:`ConfigError` unless every module the config ``data`` names is imported already:
    metarl does not import code that a file it loads (a run's config, a checkpoint) names."""
    missing = [m for m in named_modules(data) if m not in sys.modules]
    if missing:
        flags = " ".join(f"--import {m}" for m in missing)
        raise ConfigError(
            f"{source} names module(s) {missing}, which metarl does not import from a file it "
            f"loads; import them yourself (metarl evaluate|train {flags} ..., or "
            f"`import {missing[0]}` before metarl.load)"
        )
