"""Seeded episodes of SB3 policies on metarl envs, in lockstep: the comparison agents' evaluation rollouts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from torch.distributions import Categorical, Normal

from metarl.comparisons.sb3_policy import is_recurrent
from metarl.tasks import Task


def draw(dist: torch.distributions.Distribution, generator: torch.Generator) -> torch.Tensor:
    """A sample of ``dist`` on the CPU, drawn from ``generator`` (a CPU generator, whichever
    device the policy is on)."""
    if isinstance(dist, Normal):
        loc, scale = dist.loc.cpu(), dist.scale.cpu()
        return loc + scale * torch.randn(loc.shape, generator=generator)
    if isinstance(dist, Categorical):
        return torch.multinomial(dist.probs.cpu(), 1, generator=generator).squeeze(-1)
    raise ValueError(f"cannot sample from {type(dist).__name__}; need a Gaussian or categorical")


def to_env_actions(actions: torch.Tensor, space: gym.Space) -> np.ndarray:
    """SB3's ``predict`` conversion: ``Box`` actions clipped to the bounds."""
    array = actions.numpy().reshape(-1, *space.shape)
    if isinstance(space, gym.spaces.Box):
        return np.clip(array, space.low, space.high).astype(space.dtype)
    return array


def run_episodes(
    envs: Sequence[gym.Env],
    seeds: Sequence[int],
    tasks: Sequence[Task],
    act: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """One episode per env in lockstep (one batched ``act`` per step); undiscounted returns."""
    first = [
        env.reset(seed=s, options={"task": t}) for env, s, t in zip(envs, seeds, tasks, strict=True)
    ]
    obs = np.stack([o for o, _ in first])
    returns = np.zeros(len(envs))
    alive = np.ones(len(envs), dtype=bool)
    while alive.any():
        actions = act(obs)
        for i in np.flatnonzero(alive):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += reward
            alive[i] = not (terminated or truncated)
    return returns


def feedforward_actor(
    model: BaseAlgorithm, generator: torch.Generator
) -> Callable[[np.ndarray], np.ndarray]:
    policy = model.policy
    if is_recurrent(policy) or not isinstance(policy, ActorCriticPolicy):
        raise ValueError(f"need a feed-forward SB3 PPO model, got {type(policy).__name__}")
    policy.set_training_mode(False)

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            dist = policy.get_distribution(
                torch.as_tensor(obs, dtype=torch.float32, device=policy.device)
            )
        return to_env_actions(draw(dist.distribution, generator), policy.action_space)

    return act
