"""What a checkpoint says about itself: the env's spaces as plain data, checked on load.

A checkpoint (format ``metarl-checkpoint/2``) carries the resolved config (env id and kwargs,
agent kind and every hyperparameter), the agent kind again, the env id and kwargs, and the
observation and action spaces the agent was trained on, so that :func:`metarl.load` rebuilds the
agent from the file alone and refuses, naming the difference, an env whose spaces have changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from metarl.checkpoint import CheckpointError
from metarl.validation import short_repr

__all__ = ["check_spaces", "check_state", "env_spaces", "space_to_dict"]


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """A ``Box`` or ``Discrete`` space as plain data (what a checkpoint may hold)."""
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).name,
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    return {"type": type(space).__name__, "repr": repr(space)}


def env_spaces(env: str, env_kwargs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The single observation and action spaces of ``env`` made with ``env_kwargs``."""
    envs = gym.make_vec(env, num_envs=1, **env_kwargs)
    try:
        return {
            "observation": space_to_dict(envs.single_observation_space),
            "action": space_to_dict(envs.single_action_space),
        }
    finally:
        envs.close()


def check_spaces(saved: Mapping[str, Any], current: Mapping[str, Any], env: str) -> None:
    """``CheckpointError`` naming the space of ``env`` that differs from the checkpoint's."""
    if not isinstance(saved, Mapping) or not all(
        isinstance(saved.get(kind), Mapping) for kind in ("observation", "action")
    ):
        raise CheckpointError(f"its spaces {short_repr(saved)} are not the spaces metarl records")
    for kind in ("observation", "action"):
        if saved[kind] != current[kind]:
            raise CheckpointError(
                f"env {env}'s {kind} space is now {_text(current[kind])}, the checkpoint's agent "
                f"was trained on {_text(saved[kind])}; the env changed since it was saved"
            )


def _text(space: Mapping[str, Any]) -> str:
    if space["type"] == "Box":
        return f"Box(shape={tuple(space['shape'])}, dtype={space['dtype']})"
    if space["type"] == "Discrete":
        return f"Discrete({space['n']}, start={space['start']})"
    return space["repr"]


def check_state(state: Mapping[str, Any], iterations: int, source: str) -> None:
    """``CheckpointError`` naming the first field of a checkpoint's ``state`` that no run of
    ``iterations`` iterations writes: an iteration outside ``[0, iterations]``, a best return
    that is NaN or +inf, a torch random state that is not a byte tensor, or a non-finite number
    in the learner's weights and optimiser state."""
    iteration = state["iteration"]
    if isinstance(iteration, bool) or not isinstance(iteration, int) or not (
        0 <= iteration <= iterations
    ):
        raise CheckpointError(
            f"{source}: iteration {short_repr(iteration)} must be an int in [0, iterations="
            f"{iterations}] (the config's iterations)"
        )
    best = state["best_post_return"]
    if isinstance(best, bool) or not isinstance(best, int | float) or np.isnan(best) or best == np.inf:
        raise CheckpointError(
            f"{source}: best_post_return {short_repr(best)} must be a number below +inf"
        )
    rng = state["torch_rng"]
    if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8:
        raise CheckpointError(f"{source}: torch_rng must be a uint8 tensor, got {short_repr(rng)}")
    for where, tensor in _tensors(state["learner"], "learner"):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: {where} holds NaN or infinite values")


def _tensors(value: Any, where: str) -> list[tuple[str, torch.Tensor]]:
    """Every tensor inside nested dicts, lists and tuples, with its path (``learner.policy.w``)."""
    if isinstance(value, torch.Tensor):
        return [(where, value)]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [found for key, item in items for found in _tensors(item, f"{where}.{key}")]
