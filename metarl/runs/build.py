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
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind, Trainer, agent_kind
from metarl.sampling import MultiTaskSampler

__all__ = ["MAML_KIND", "build", "build_learner", "inner_loop_kwargs"]


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


MAML_KIND = AgentKind(build_learner)
"""The MAML family (MAML-TRPO, MAML-PPO, ProMP, FO-MAML, Meta-SGD), set by the config's
top-level keys."""


def build(config: TrainConfig) -> Trainer:
    """The trainer of ``config``'s agent kind, with the env's errors as :class:`ConfigError`.

    The config's ``imports`` are imported first (``ModuleNotFoundError`` naming a missing one).
    """
    import_modules(config.imports)
    try:
        require_family(config.env)
        resolve_device(config.device)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    try:
        return agent_kind(config.agent).build(config)
    except NotATaskFamily as err:  # found when the sampler makes the vector env
        raise ConfigError(str(err)) from None
    except TypeError as err:  # the config's types are checked: it is env_kwargs the env rejects
        raise ConfigError(
            f"env {config.env} does not accept env_kwargs {config.env_kwargs!r}: {err}"
        ) from err
