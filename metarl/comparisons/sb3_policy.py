"""SB3 policies as metarl policies: the SB3 network arguments of a metarl architecture, and a
copy of an SB3 actor's weights into a metarl policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

from metarl.agents.policies import (
    ACTIVATIONS,
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    make_policy,
)
from metarl.comparisons.checks import check_arch


def policy_kwargs(hidden_sizes: tuple[int, ...], activation: str) -> dict[str, Any]:
    return {
        "net_arch": {"pi": list(hidden_sizes), "vf": list(hidden_sizes)},
        "activation_fn": ACTIVATIONS[activation],
    }


def is_recurrent(policy: Any) -> bool:
    """Whether ``policy`` is a recurrent SB3 policy (sb3-contrib's ``RecurrentPPO``: it holds an
    LSTM actor), which the feed-forward conversions refuse."""
    return isinstance(getattr(policy, "lstm_actor", None), nn.LSTM)


def _actor_linears(policy: ActorCriticPolicy, activation: str) -> list[nn.Linear]:
    net = policy.mlp_extractor.policy_net
    for layer in net:
        if not isinstance(layer, nn.Linear | ACTIVATIONS[activation]):
            raise ValueError(
                f"the SB3 actor has a {type(layer).__name__} layer; expected Linear layers and "
                f"{ACTIVATIONS[activation].__name__} (activation {activation!r})"
            )
    return [layer for layer in net if isinstance(layer, nn.Linear)] + [policy.action_net]


def policy_from_sb3(
    model: BaseAlgorithm | ActorCriticPolicy,
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden_sizes: Sequence[int],
    activation: str,
) -> GaussianMLPPolicy | CategoricalMLPPolicy:
    """A metarl policy (:func:`~metarl.agents.policies.make_policy`) with the SB3 actor's weights.

    Copies ``mlp_extractor.policy_net`` and ``action_net`` (and ``log_std`` for ``Box`` actions), so
    the metarl policy's distribution equals SB3's on every observation and the metarl inner loop
    can fine-tune it. The critic is not copied.
    """
    sizes, act = check_arch(hidden_sizes, activation)
    policy = model.policy if isinstance(model, BaseAlgorithm) else model
    if is_recurrent(policy) or not isinstance(policy, ActorCriticPolicy):
        raise ValueError(
            f"need a feed-forward SB3 ActorCriticPolicy (PPO/A2C 'MlpPolicy'), got "
            f"{type(policy).__name__}"
        )
    if policy.use_sde or policy.squash_output:
        raise ValueError(
            "gSDE / squashed SB3 policies have no metarl counterpart; use use_sde=False"
        )
    if not isinstance(policy.pi_features_extractor, FlattenExtractor):
        raise ValueError(
            f"need SB3's FlattenExtractor, got {type(policy.pi_features_extractor).__name__}"
        )
    for name, ours, theirs in (
        ("observation", observation_space, policy.observation_space),
        ("action", action_space, policy.action_space),
    ):
        if ours != theirs:
            raise ValueError(f"{name} space {ours} differs from the SB3 model's {theirs}")
    target = make_policy(observation_space, action_space, sizes, act)
    target_linears = [m for m in target.modules() if isinstance(m, nn.Linear)]
    source_linears = _actor_linears(policy, act)
    source_shapes = [tuple(m.weight.shape) for m in source_linears]
    target_shapes = [tuple(m.weight.shape) for m in target_linears]
    if source_shapes != target_shapes:
        raise ValueError(
            f"the SB3 actor's layers {source_shapes} do not match hidden_sizes {list(sizes)} "
            f"(layers {target_shapes})"
        )
    with torch.no_grad():
        for ours, theirs in zip(target_linears, source_linears, strict=True):
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
        if isinstance(target, GaussianMLPPolicy):
            target.log_std.copy_(policy.log_std)
    return target
