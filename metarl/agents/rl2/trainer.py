"""The RL^2 trainer: trials of many tasks at once on the family's native vector env, then PPO.

Each iteration draws ``meta_batch_size`` tasks from the train split, runs ``trials_per_task``
trials of ``episodes_per_trial`` episodes on each (one task per sub-env, one batched recurrent
forward per step for all sub-envs), and updates the network with PPO on the whole trials
(:mod:`metarl.agents.rl2.ppo`). Everything an iteration draws comes from the ``rng`` it is
given, so a resumed run continues identically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from metarl.agents.device import resolve_device
from metarl.agents.rl2.adaptive import RL2AdaptiveAgent
from metarl.agents.rl2.network import CELLS, Cell, RecurrentActorCritic, TrialInputs
from metarl.agents.rl2.ppo import PPOSettings, ppo_update
from metarl.agents.rl2.rollout import RL2Actor, collect_trials
from metarl.agents.trial_agent import TrialAgent
from metarl.sampling.trials import make_trial_envs
from metarl.tasks import TaskDistribution
from metarl.validation import MAX_LEARNING_RATE, MAX_LOSS_SCALE, require_finite, require_int

__all__ = ["RL2Agent", "RL2Options", "RL2Trainer"]


@dataclass(frozen=True)
class RL2Options:
    """RL^2's hyperparameters (the config's ``agent_options``). Defaults: the paper's GRU of 256
    units (Duan et al. 2016); the paper trains with TRPO, so the optimiser's settings are PPO's
    usual ones (Schulman et al. 2017) with a larger step size, which the bandits need."""

    hidden_size: int = 256
    """Units of the recurrent core."""
    cell: Cell = "gru"
    """Recurrent cell: ``gru``, ``lstm`` or ``ln_gru`` (layer-normalised GRU with a forget bias
    and a ReLU candidate, pytorch_rl2's core: :class:`~metarl.agents.rl2.network.LayerNormGRU`)."""
    forget_bias: float = 1.0
    """The ``ln_gru`` cell's update-gate bias (pytorch_rl2's 1.0); in [-100, 100]."""
    separate_value_network: bool = False
    """The value head reads a recurrent core of its own (pytorch_rl2's design) instead of
    sharing the policy's."""
    episodes_per_trial: int = 2
    """Episodes of one task per trial (the bandit's trial is one episode of ``n`` pulls)."""
    trials_per_task: int = 1
    """Trials run on each task of an iteration (sub-envs per task)."""
    gamma: float = 0.99
    """Discount over the whole trial."""
    gae_lambda: float = 0.95
    """GAE lambda over the whole trial."""
    learning_rate: float = 3e-3
    """Adam step size; in (0, 1] (:data:`~metarl.validation.MAX_LEARNING_RATE`)."""
    weight_decay: float = 0.0
    """Decoupled weight decay of the weight matrices: above 0 the optimiser is AdamW (pytorch_rl2:
    0.01); in [0, 1]."""
    clip: float = 0.2
    """PPO ratio clipping; in (0, 1]."""
    epochs: int = 8
    """PPO epochs per iteration."""
    minibatches: int = 4
    """PPO minibatches per epoch (of trial segments)."""
    bptt_steps: int | None = None
    """Truncated backpropagation through time: segment length in steps; none: whole trials."""
    value_coeff: float = 0.5
    """Weight of the value loss; in [0, 1e4] (:data:`~metarl.validation.MAX_LOSS_SCALE`)."""
    entropy_coeff: float = 0.0
    """Weight of the entropy bonus; in [0, 1e4]."""
    max_grad_norm: float = 0.5
    """Gradient-norm clipping."""
    standardize_advantages: bool = True
    """Standardise an iteration's advantages to mean 0 and standard deviation 1 (pytorch_rl2
    does not)."""
    target_kl: float | None = None
    """Stop an iteration's PPO epochs at the first minibatch whose approximate KL to the
    sampling policy exceeds ``1.5 * target_kl`` (SB3's rule); none: run all epochs. In (0, 10]."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this in the advantages and value targets (not in the inputs).
    The value head shares the recurrent core, so value targets far above 1 let the value loss
    dominate the clipped gradient; pick a scale that keeps a trial's return near 1-10. In (0, 1e4]
    (:data:`~metarl.validation.MAX_LOSS_SCALE`)."""
    init_std: float = 1.0
    """Initial standard deviation of a Gaussian policy (``Box`` actions); in (0, 1000]."""
    embedding_sizes: tuple[int, ...] = ()
    """Hidden layers (tanh) of an MLP that embeds each step's input before the recurrent core."""

    def __post_init__(self) -> None:
        for name in ("hidden_size", "episodes_per_trial", "trials_per_task", "epochs", "minibatches"):
            require_int(name, getattr(self, name))
        if self.bptt_steps is not None:
            require_int("bptt_steps", self.bptt_steps)
        if self.target_kl is not None:
            require_finite("target_kl", self.target_kl, 0.0, maximum=10.0, inclusive=False)
        for size in self.embedding_sizes:
            require_int("embedding_sizes entry", size)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}, got {self.cell!r}")
        # name: the largest value (each must be > 0)
        bounds = {
            "learning_rate": MAX_LEARNING_RATE, "clip": 1.0, "max_grad_norm": math.inf,
            "reward_scale": MAX_LOSS_SCALE, "init_std": 1e3,
        }
        for name, maximum in bounds.items():
            require_finite(name, getattr(self, name), 0.0, maximum=maximum, inclusive=False)
        for name in ("value_coeff", "entropy_coeff"):
            require_finite(name, getattr(self, name), 0.0, maximum=MAX_LOSS_SCALE)
        require_finite("weight_decay", self.weight_decay, 0.0, maximum=1.0)
        require_finite("forget_bias", self.forget_bias, -100.0, maximum=100.0)
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")


def make_optimizer(network: torch.nn.Module, options: RL2Options) -> torch.optim.Optimizer:
    """Adam (eps 1e-5) at ``options.learning_rate``; where ``options.weight_decay`` > 0, AdamW
    decaying the weight matrices only (not biases, layer-norm gains or the log standard
    deviation), as pytorch_rl2 does."""
    if options.weight_decay > 0:
        params = list(network.parameters())
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": options.weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=options.learning_rate, eps=1e-5)
    return torch.optim.Adam(network.parameters(), lr=options.learning_rate, eps=1e-5)


class RL2Agent(TrialAgent):
    """The graded RL^2 agent: column ``k`` is episode ``k + 1`` of a trial, acted with the
    policy's sampled actions (noise seeded by the evaluation's seed)."""

    def __init__(
        self, network: RecurrentActorCritic, env: str, env_kwargs: Mapping[str, Any] | None
    ):
        super().__init__(env, env_kwargs)
        self.network = network

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> RL2Actor:
        inputs = TrialInputs(envs.single_observation_space, envs.single_action_space)
        return RL2Actor(
            self.network, inputs, envs.num_envs, torch.Generator().manual_seed(seed)
        )


class RL2Trainer:
    """RL^2 (Duan et al. 2016) trained with PPO on whole trials.

    Args:
        env: registered family id.
        env_kwargs: arguments of the env (``max_episode_steps``, family options).
        options: the hyperparameters.
        meta_batch_size: tasks per iteration.
        seed: seeds the network's initialisation (iterations draw from their ``rng``).
        device: where the network trains and acts: ``auto``, ``cpu`` or ``cuda``.
    """

    def __init__(
        self,
        env: str,
        env_kwargs: Mapping[str, Any] | None,
        options: RL2Options,
        meta_batch_size: int,
        seed: int = 0,
        device: str = "cpu",
    ):
        self.env, self.env_kwargs, self.options = env, dict(env_kwargs or {}), options
        self.meta_batch_size = require_int("meta_batch_size", meta_batch_size)
        self.device = resolve_device(device)
        self.envs = make_trial_envs(env, self.meta_batch_size * options.trials_per_task, env_kwargs)
        self.inputs = TrialInputs(self.envs.single_observation_space, self.envs.single_action_space)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.network = RecurrentActorCritic(
                self.inputs.size, self.envs.single_action_space, options.hidden_size,
                options.cell, options.init_std, tuple(options.embedding_sizes),
                options.forget_bias, options.separate_value_network,
            ).to(self.device)
        self.optimizer = make_optimizer(self.network, options)
        self.settings = PPOSettings(
            options.gamma, options.gae_lambda, options.clip, options.epochs, options.minibatches,
            options.value_coeff, options.entropy_coeff, options.max_grad_norm,
            options.reward_scale, options.target_kl, options.standardize_advantages,
        )
        self.max_steps = options.episodes_per_trial * int(self.envs.max_episode_steps)
        self.iteration = 0
        self.env_steps = 0

    @property
    def task_distribution(self) -> TaskDistribution:
        return self.envs.task_distribution

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        """Sample trials on ``meta_batch_size`` train tasks drawn with ``rng``, then PPO."""
        tasks = self.task_distribution.split("train").sample(self.meta_batch_size, seed=rng)
        rows = [task for task in tasks for _ in range(self.options.trials_per_task)]
        env_seed, noise_seed, order_seed = (int(s) for s in rng.integers(2**31, size=3))
        start = time.perf_counter()
        self.network.eval()
        batch = collect_trials(
            self.network, self.inputs, self.envs, rows, self.options.episodes_per_trial,
            env_seed, torch.Generator().manual_seed(noise_seed), self.max_steps,
            self.options.bptt_steps,
        )
        sampled = time.perf_counter()
        self.network.train()
        losses = ppo_update(
            self.network, self.optimizer, batch, self.settings,
            torch.Generator().manual_seed(order_seed),
        )
        self.iteration += 1
        self.env_steps += int(batch.mask.sum())
        returns = batch.episode_returns.mean(axis=0)
        return {
            "iteration": self.iteration,
            "trial_return": float(returns.sum()),
            "first_return": float(returns[0]),
            "last_return": float(returns[-1]),
            **losses,
            "env_steps": self.env_steps,
            "time_sampling": sampled - start,
            "time_update": time.perf_counter() - sampled,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration, self.env_steps = int(state["iteration"]), int(state["env_steps"])

    def graded_agent(self) -> RL2Agent:
        return RL2Agent(self.network, self.env, self.env_kwargs)

    def adaptive_agent(self) -> RL2AdaptiveAgent:
        """The network under the inference protocol: ``adapt`` runs the first
        ``episodes_per_trial - 1`` episodes of a trial on the trainer's envs (the agent's
        ``close`` closes them), the policy continues it."""
        return RL2AdaptiveAgent(self.network, self.envs, self.options.episodes_per_trial - 1)

    def close(self) -> None:
        self.envs.close()
