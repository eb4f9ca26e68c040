"""The RL^2 comparison: a recurrent PPO meta-trained on trials, adapting in its LSTM state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import RecurrentPPO

from metarl.agents.device import resolve_device
from metarl.comparisons.agent import ComparisonAgent
from metarl.comparisons.cache import cached_model
from metarl.comparisons.checks import (
    RESERVED_RL2_KWARGS,
    check_env_id,
    check_env_kwargs,
    check_eval_args,
    check_json_mapping,
    check_model_spaces,
    derive_seed,
)
from metarl.comparisons.rollout import draw, to_env_actions
from metarl.comparisons.sb3_policy import is_recurrent
from metarl.comparisons.trial import TrialWrapper
from metarl.evaluation.protocol import AdaptationCurves, AdaptationSetting
from metarl.tasks import Task
from metarl.validation import require_int


def train_rl2(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    trial_episodes: int,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> RecurrentPPO:
    """RL^2: ``RecurrentPPO`` (``MlpLstmPolicy``) on :class:`TrialWrapper` trials of train tasks.

    Cached as ``rl2.pt``. ``ppo_kwargs`` (JSON values, may include ``policy_kwargs`` such as
    ``{"lstm_hidden_size": 64}``) go to ``RecurrentPPO``; ``device`` (``auto``, ``cpu``,
    ``cuda``) is where it trains.
    """
    config = {
        "kind": "rl2",
        "env_id": check_env_id(env_id),
        "env_kwargs": check_env_kwargs(env_kwargs),
        "timesteps": require_int("timesteps", timesteps),
        "seed": require_int("seed", seed, minimum=0),
        "trial_episodes": require_int("trial_episodes", trial_episodes),
        "ppo_kwargs": check_json_mapping("ppo_kwargs", ppo_kwargs, RESERVED_RL2_KWARGS),
    }
    torch_device = resolve_device(device)

    def build() -> RecurrentPPO:
        env = TrialWrapper(
            gym.make(config["env_id"], **config["env_kwargs"]),
            config["trial_episodes"],
            split="train",
            seed=config["seed"],
        )
        return RecurrentPPO(
            "MlpLstmPolicy", env, seed=config["seed"], device=torch_device, **config["ppo_kwargs"]
        )

    return cached_model("rl2", config, cache_dir, build, config["timesteps"])


def rl2_returns(
    model: RecurrentPPO,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """RL^2: column ``k`` = mean return of inner episode ``k + 1`` over ``episodes`` seeded trials.

    Each trial runs ``num_steps + 1`` episodes of the task with the LSTM state carried across them
    (stochastic actions from a generator seeded with ``seed``).
    """
    env_id, env_kwargs, tasks, num_steps, episodes, seed = check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    policy = model.policy
    if not is_recurrent(policy):
        raise ValueError(f"need an sb3_contrib RecurrentPPO model, got {type(policy).__name__}")
    envs = [
        TrialWrapper(gym.make(env_id, **env_kwargs), num_steps + 1)
        for _ in range(len(tasks) * episodes)
    ]
    check_model_spaces(model, envs[0], "TrialWrapper(env)")
    policy.set_training_mode(False)
    generator = torch.Generator().manual_seed(seed)
    first = [
        env.reset(seed=derive_seed(seed, i // episodes, i % episodes), options={"task": t})
        for i, (env, t) in enumerate(
            zip(envs, [t for t in tasks for _ in range(episodes)], strict=True)
        )
    ]
    obs = np.stack([o for o, _ in first])
    shape = list(policy.lstm_hidden_state_shape)
    shape[1] = len(envs)
    state = (torch.zeros(shape, device=policy.device), torch.zeros(shape, device=policy.device))
    starts = torch.ones(len(envs), device=policy.device)
    trial_returns = np.zeros((len(envs), num_steps + 1))
    alive = np.ones(len(envs), dtype=bool)
    while alive.any():
        with torch.no_grad():
            dist, state = policy.get_distribution(
                torch.as_tensor(obs, dtype=torch.float32, device=policy.device), state, starts
            )
        actions = to_env_actions(draw(dist.distribution, generator), policy.action_space)
        starts = torch.zeros(len(envs), device=policy.device)
        for i in np.flatnonzero(alive):
            obs[i], _, terminated, _, info = envs[i].step(actions[i])
            if terminated:
                trial_returns[i] = info["episode_returns"]
                alive[i] = False
    for env in envs:
        env.close()
    return trial_returns.reshape(len(tasks), episodes, num_steps + 1).mean(axis=1)


class RL2Agent(ComparisonAgent):
    """RL^2 (cached, meta-trained on trials of ``steps + 1`` episodes): one unit is one episode
    of the trial."""

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        c = self.context
        model = train_rl2(
            c.env, c.env_kwargs, c.timesteps, setting.seed, c.cache_dir,
            trial_episodes=setting.steps + 1, device=c.device,
        )
        returns = rl2_returns(
            model, c.env, c.env_kwargs, setting.tasks, setting.steps, setting.episodes,
            setting.seed,
        )
        return AdaptationCurves(returns, None)
