"""Build a run's trainer from its config: the MAML family's meta-learner and inner loop, and any
other agent kind through :mod:`metarl.runs.kinds`."""

from __future__ import annotations

import functools
from typing import Any

import torch

from metarl.agents import (
    PPO,
    TRPO,
    InnerLoop,
    LinearFeatureBaseline,
    MetaLearner,
    MLPValueBaseline,
    ProMP,
    make_policy,
)
from metarl.agents.device import resolve_device
from metarl.envs import NotATaskFamily, import_modules, require_family
from metarl.memory import FLOAT32, Need, mlp_parameters, require_memory
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind, EnvSizes, Trainer, agent_kind
from metarl.sampling import MultiTaskSampler

__all__ = ["MAML_KIND", "build", "build_learner", "inner_loop_kwargs", "maml_memory"]


def inner_loop_kwargs(config: TrainConfig, obs_dim: int) -> dict[str, Any]:
    """Keyword arguments of :class:`~metarl.agents.InnerLoop` (all but the policy) for
    ``config``: the one place that maps config keys to the inner loop, so that the meta-learner
    and every agent adapted by the inner loop in the evaluation adapt the same way."""
    return {
        "step_size": config.inner_lr,
        "learn_step_size": config.learn_inner_lr,
        "gamma": config.gamma,
        "gae_lambda": config.gae_lambda,
        "normalize_advantages": config.normalize_advantages,
        "estimator": config.estimator,
        "baseline_factory": (
            LinearFeatureBaseline
            if config.value_function == "linear"
            else functools.partial(MLPValueBaseline, obs_dim)
        ),
        "weighting": config.weighting,
        "bootstrap_truncated": config.bootstrap_truncated,
    }


def build_learner(config: TrainConfig) -> MetaLearner:
    """Construct the sampler, policy, inner and outer loops and the meta-learner of ``config``.

    The policy (and with it the inner and outer loops' work) lives on ``config.device``; the
    sampler runs the episodes on the CPU and hands the batches over to that device.
    """
    torch.manual_seed(config.seed)
    if config.sampler == "ray":
        try:
            from metarl.sampling.ray_sampler import RaySampler
        except ImportError as err:
            raise ConfigError(f"sampler 'ray': {err}") from None
        sampler: MultiTaskSampler = RaySampler(
            config.env, config.episodes_per_task, config.env_kwargs, workers=config.workers,
            address=config.ray_address,
        )
    else:
        sampler = MultiTaskSampler(config.env, config.episodes_per_task, config.env_kwargs)
    policy = make_policy(
        sampler.observation_space, sampler.action_space, config.hidden_sizes, config.activation
    ).to(resolve_device(config.device))
    inner = InnerLoop(policy, **inner_loop_kwargs(config, int(sampler.observation_space.shape[0])))
    if config.outer == "trpo":
        outer = TRPO(
            config.max_kl, config.cg_iterations, config.cg_damping, config.line_search_steps,
            config.backtrack_ratio, curvature_tasks=config.curvature_tasks,
        )
    elif config.outer == "ppo":
        outer = PPO(config.outer_lr, config.clip, config.outer_epochs)
    else:
        outer = ProMP(
            config.outer_lr, config.clip, config.outer_epochs, kl_coeff=config.kl_coeff,
            target_kl=config.target_kl,
        )
    return MetaLearner(
        policy, sampler, inner, outer, config.num_inner_steps, config.first_order, config.seed,
        kl_direction=config.kl_direction, meta_batch_size=config.meta_batch_size,
    )


def maml_memory(config: TrainConfig, sizes: EnvSizes) -> list[Need]:
    """The MAML family's memory: the policy (parameters, gradient, search direction), its adapted
    copies (one per task and inner step), and an iteration's sampled batches with the policy's
    activations on them."""
    hidden = list(config.hidden_sizes)
    params = mlp_parameters([sizes.obs_dim, *hidden, sizes.action_dim]) + sizes.action_dim
    tasks, inner = config.meta_batch_size, config.num_inner_steps
    steps = tasks * config.episodes_per_task * sizes.horizon
    per_step = sizes.obs_dim + sizes.action_dim + 8 + sum(hidden)  # data, then activations
    return [
        Need(f"hidden_sizes {hidden}", f"the policy's {params:,} parameters", 3 * FLOAT32 * params),
        Need(
            f"meta_batch_size {tasks} x num_inner_steps {inner}",
            f"the adapted copies of the policy's {params:,} parameters",
            tasks * inner * FLOAT32 * params,
        ),
        Need(
            f"meta_batch_size {tasks} x episodes_per_task {config.episodes_per_task} x "
            f"env_kwargs.max_episode_steps {sizes.horizon}",
            f"{inner + 1} sampled batches of {steps:,} steps (with hidden_sizes {hidden})",
            (inner + 1) * steps * FLOAT32 * per_step,
        ),
    ]


def _maml_step_settings(config: TrainConfig) -> dict[str, float]:
    """The inner step size and the outer loop's step settings."""
    outer = {"trpo": ("max_kl",), "ppo": ("outer_lr",), "promp": ("outer_lr", "kl_coeff")}
    return {name: getattr(config, name) for name in ("inner_lr", *outer[config.outer])}


MAML_KIND = AgentKind(
    build_learner,
    memory=maml_memory,
    finite=("loss_before", "loss_after", "kl_after", "pre_kl"),
    step_settings=_maml_step_settings,
)
"""The MAML family (MAML-TRPO, MAML-PPO, ProMP, FO-MAML, Meta-SGD), set by the config's
top-level keys."""


def build(config: TrainConfig) -> Trainer:
    """The trainer of ``config``'s agent kind, with the env's errors as :class:`ConfigError`.

    The config's ``imports`` are imported first (``ModuleNotFoundError`` naming a missing one).
    A config whose estimated memory (the kind's ``memory``) exceeds this machine's is refused
    before anything is allocated (:class:`ConfigError` naming the setting and the estimate).
    """
    import_modules(config.imports)
    try:
        require_family(config.env)
        resolve_device(config.device)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    kind = agent_kind(config.agent)
    try:
        if kind.memory is not None:
            sizes = EnvSizes.of(config.env, config.env_kwargs)
            require_memory(kind.memory(config, sizes), ConfigError)
        return kind.build(config)
    except NotATaskFamily as err:  # found when the sampler makes the vector env
        raise ConfigError(str(err)) from None
    except TypeError as err:  # the config's types are checked: it is env_kwargs the env rejects
        raise ConfigError(
            f"env {config.env} does not accept env_kwargs {config.env_kwargs!r}: {err}"
        ) from err
