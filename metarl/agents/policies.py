"""MLP policies whose adapted versions are parameter dicts evaluated by ``functional_call``.

An adapted policy is ``(module, params)``: ``policy(obs, params)`` evaluates the module with the
tensors of ``params`` (a mapping like ``dict(policy.named_parameters())``) in place of its own, so
gradients flow back to those tensors and the module is never copied or mutated.

>>> import torch
>>> policy = GaussianMLPPolicy(3, 2, hidden_sizes=(8,))
>>> params = {k: v - 0.1 for k, v in policy.named_parameters()}
>>> policy(torch.zeros(5, 3), params).log_prob(torch.zeros(5, 2)).shape
torch.Size([5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import gymnasium as gym
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal
from torch.func import functional_call

from metarl.sampling.batch import Params
from metarl.validation import require_int

__all__ = [
    "ACTIVATIONS",
    "CategoricalMLPPolicy",
    "GaussianMLPPolicy",
    "Params",
    "distribution_tensors",
    "kl_divergence",
    "make_policy",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
"""Hidden-layer activations by (case-insensitive) name."""

MIN_LOG_STD = math.log(1e-6)
"""Lower clamp of the Gaussian log standard deviation, keeping ``std`` away from zero."""


def _mlp(in_dim: int, out_dim: int, hidden_sizes: Sequence[int], activation: str) -> nn.Sequential:
    key = activation.lower() if isinstance(activation, str) else activation
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; allowed: {sorted(ACTIVATIONS)}")
    for size in (in_dim, out_dim, *hidden_sizes):
        require_int("layer size", size)
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden_sizes]
    for fan_in, fan_out in pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[key]()]
    layers.append(nn.Linear(sizes[-1], out_dim))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


class _MLPPolicy(nn.Module):
    """``forward(obs, params=None)``: own parameters, or ``params`` by ``functional_call``."""

    def forward(self, obs: torch.Tensor, params: Params | None = None) -> Distribution:
        """Action distribution at ``obs`` (``[..., obs_dim]``), batch shape ``obs.shape[:-1]``."""
        if params is None:
            return self._distribution(obs)
        # The nested call runs forward(obs) with params=None, i.e. _distribution, on the swapped
        # tensors; missing names fall back to the module's own parameters.
        return functional_call(self, dict(params), (obs,))

    def _distribution(self, obs: torch.Tensor) -> Distribution:
        raise NotImplementedError

    def batched(self, params: Params, obs: torch.Tensor) -> Distribution:
        """Per-task parameters (leading axis ``K``) on ``obs`` of shape ``[K, N, obs_dim]``.

        One batched matrix product per layer evaluates every task's policy at once; the result
        has batch shape ``[K, N]`` and is differentiable w.r.t. ``params``.
        """
        raise NotImplementedError

    @staticmethod
    def _batched_mlp(
        mlp: nn.Sequential, prefix: str, params: Params, obs: torch.Tensor
    ) -> torch.Tensor:
        hidden = obs
        for index, layer in enumerate(mlp):
            if isinstance(layer, nn.Linear):
                weight = params[f"{prefix}.{index}.weight"]
                bias = params[f"{prefix}.{index}.bias"]
                hidden = torch.baddbmm(bias.unsqueeze(1), hidden, weight.transpose(1, 2))
            else:
                hidden = layer(hidden)
        return hidden


class GaussianMLPPolicy(_MLPPolicy):
    """Diagonal Gaussian policy: MLP mean, state-independent log standard deviation.

    Returns ``Independent(Normal(mean, std), 1)``, so ``log_prob`` and ``entropy`` sum over action
    dimensions.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        init_log_std: float = 0.0,
    ):
        super().__init__()
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.hidden_sizes = tuple(hidden_sizes)
        self.activation = activation
        self.mean = _mlp(obs_dim, action_dim, self.hidden_sizes, activation)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(init_log_std)))

    def _distribution(self, obs: torch.Tensor) -> Independent:
        mean = self.mean(obs)
        std = self.log_std.clamp(min=MIN_LOG_STD).exp().expand_as(mean)
        return Independent(Normal(mean, std), 1)

    def batched(self, params: Params, obs: torch.Tensor) -> Independent:
        mean = self._batched_mlp(self.mean, "mean", params, obs)
        std = params["log_std"].clamp(min=MIN_LOG_STD).exp().unsqueeze(1).expand_as(mean)
        return Independent(Normal(mean, std), 1)


class CategoricalMLPPolicy(_MLPPolicy):
    """Categorical policy over ``num_actions`` discrete actions with MLP logits."""

    def __init__(
        self,
        obs_dim: int,
        num_actions: int,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
    ):
        super().__init__()
        self.obs_dim = obs_dim
        self.num_actions = num_actions
        self.hidden_sizes = tuple(hidden_sizes)
        self.activation = activation
        self.logits = _mlp(obs_dim, num_actions, self.hidden_sizes, activation)

    def _distribution(self, obs: torch.Tensor) -> Categorical:
        return Categorical(logits=self.logits(obs))

    def batched(self, params: Params, obs: torch.Tensor) -> Categorical:
        return Categorical(logits=self._batched_mlp(self.logits, "logits", params, obs))


def make_policy(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden_sizes: Sequence[int] = (64, 64),
    activation: str = "tanh",
) -> GaussianMLPPolicy | CategoricalMLPPolicy:
    """Policy for 1-D ``Box`` observations: Gaussian for 1-D ``Box`` actions, categorical for
    ``Discrete`` (starting at 0)."""
    if not (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1):
        raise TypeError(f"observation space must be a 1-D Box, got {observation_space!r}")
    obs_dim = int(observation_space.shape[0])
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianMLPPolicy(obs_dim, int(action_space.shape[0]), hidden_sizes, activation)
    if isinstance(action_space, gym.spaces.Discrete):
        if int(action_space.start) != 0:
            raise ValueError(f"Discrete action space must start at 0, got {action_space!r}")
        return CategoricalMLPPolicy(obs_dim, int(action_space.n), hidden_sizes, activation)
    raise TypeError(f"action space must be a 1-D Box or Discrete, got {action_space!r}")


def check_policy_fits(
    policy: nn.Module, observation_space: gym.Space, action_space: gym.Space
) -> None:
    """Raise ``ValueError`` if ``policy`` was not built for these spaces."""
    expected = make_policy(observation_space, action_space, hidden_sizes=(1,))
    shapes = {
        name: tuple(p.shape) for name, p in policy.named_parameters() if "." not in name
    }
    same_type = type(policy) is type(expected)
    same_io = same_type and getattr(policy, "obs_dim", None) == expected.obs_dim and (
        getattr(policy, "action_dim", None) == getattr(expected, "action_dim", None)
        and getattr(policy, "num_actions", None) == getattr(expected, "num_actions", None)
    )
    if not same_io:
        raise ValueError(
            f"policy {type(policy).__name__} (parameters {shapes}) does not fit observation space "
            f"{observation_space} and action space {action_space}; build it with make_policy(...)"
        )


def distribution_tensors(
    dist: Distribution,
) -> tuple[list[torch.Tensor], Callable[[Sequence[torch.Tensor]], Distribution]] | None:
    """The tensors that parameterise ``dist`` (a policy's ``Normal`` or ``Categorical``, possibly
    ``Independent``) and a function that builds the same kind of distribution from replacements
    of them; ``None`` for other distributions."""
    if isinstance(dist, Independent):
        inner = distribution_tensors(dist.base_dist)
        if inner is None:
            return None
        tensors, rebuild = inner
        ndims = dist.reinterpreted_batch_ndims
        return tensors, lambda replaced: Independent(rebuild(replaced), ndims)
    if isinstance(dist, Normal):
        return [dist.loc, dist.scale], lambda replaced: Normal(*replaced)
    if isinstance(dist, Categorical):
        return [dist.logits], lambda replaced: Categorical(logits=replaced[0])
    return None


def kl_divergence(p: Distribution, q: Distribution) -> torch.Tensor:
    """Per-sample ``KL(p || q)`` of two distributions of one policy type; shape = batch shape."""
    if type(p) is not type(q):
        raise TypeError(
            "KL needs distributions of the same type, got "
            f"{type(p).__name__} and {type(q).__name__}"
        )
    return torch.distributions.kl_divergence(p, q)
