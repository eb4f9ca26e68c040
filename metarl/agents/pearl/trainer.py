"""PEARL's meta-training loop (Rakelly et al. 2019, algorithm 1): collect, then gradient steps.

Before the first iteration, every training task gets ``initial_episodes`` episodes with ``z`` from
the prior. Each iteration then picks ``tasks_per_iteration`` training tasks, empties their
context buffers, and collects for them (all at once, one task per sub-env of the family's vector
env) as oyster does: ``prior_episodes`` with ``z`` from the prior (redrawn every episode);
``posterior_episodes`` whose first episode uses the prior and each later one ``z`` from the
posterior of a context batch of the task's context buffer; ``extra_posterior_episodes`` likewise
but kept out of the context buffer. Then ``gradient_steps`` steps of :class:`PEARLUpdate`, each
on ``meta_batch_size`` training tasks.

Every random choice of iteration ``i`` comes from the ``rng`` the run passes to
:meth:`PEARLTrainer.train_iteration` (and a torch generator seeded from it), so a run resumed
from :meth:`~PEARLTrainer.state_dict` (networks, optimisers, both replay buffers) continues
identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from metarl.agents.device import resolve_device
from metarl.agents.pearl.adaptive import PEARLAdaptiveAgent
from metarl.agents.pearl.buffers import TaskReplay
from metarl.agents.pearl.collect import Collector
from metarl.agents.pearl.graded import PEARLAgent
from metarl.agents.pearl.model import PEARLModel
from metarl.agents.pearl.options import PEARLOptions
from metarl.agents.pearl.update import PEARLUpdate
from metarl.tasks import TaskDistribution
from metarl.validation import require_int, require_seed

__all__ = ["PEARLTrainer"]


class PEARLTrainer:
    """PEARL on one task family.

    Args:
        env_id, env_kwargs: the family (``gymnasium.make_vec`` id and arguments).
        options: PEARL's hyperparameters.
        meta_batch_size: tasks per gradient step (at most ``options.num_train_tasks``).
        seed: draws the training tasks and initialises the networks.
        device: where the networks train (``auto``, ``cpu``, ``cuda``).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None,
        options: PEARLOptions,
        meta_batch_size: int,
        seed: int,
        device: str = "cpu",
    ):
        self.options = options
        self.meta_batch_size = require_int("meta_batch_size", meta_batch_size)
        if self.meta_batch_size > options.num_train_tasks:
            raise ValueError(
                f"meta_batch_size ({meta_batch_size}) must not exceed num_train_tasks "
                f"({options.num_train_tasks})"
            )
        seed = require_seed("seed", seed)
        self.device = resolve_device(device)
        self.collector = Collector(
            env_id, env_kwargs, critic_env_kwargs=options.critic_env_kwargs
        )
        self.task_distribution: TaskDistribution = self.collector.task_distribution
        self.train_tasks = self.task_distribution.split("train").sample(
            options.num_train_tasks, seed=seed
        )
        obs_dim = int(self.collector.observation_space.shape[0])
        action_dim = int(self.collector.action_space.shape[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = PEARLModel(obs_dim, action_dim, options).to(self.device)
        self.update = PEARLUpdate(self.model, options)
        horizon = self.collector.horizon
        recent = max(options.initial_episodes, options.prior_episodes + options.posterior_episodes)
        self.replay = TaskReplay(options.num_train_tasks, options.replay_capacity, obs_dim, action_dim)
        self.context_replay = TaskReplay(
            options.num_train_tasks, min(options.replay_capacity, recent * horizon), obs_dim,
            action_dim,
        )
        self.iteration = 0
        self.env_steps = 0

    def _tensors(self, fields: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v).to(self.device) for k, v in fields.items()}

    def _collect(
        self,
        tasks: np.ndarray,
        episodes: int,
        posterior: bool,
        to_context: bool,
        rng: np.random.Generator,
        generator: torch.Generator,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Collect ``episodes`` episodes for each of ``tasks`` (indices of training tasks) into
        the RL buffer (and the context buffer if ``to_context``); the returns of the episodes
        acted with ``z`` from the prior and from the posterior."""
        prior_returns, posterior_returns = [], []
        for episode in range(episodes):
            if posterior and episode > 0:
                context = self._tensors(
                    self.context_replay.sample(tasks, self.options.context_batch_size, rng)
                )
                with torch.no_grad():
                    z = self.model.posterior(context).sample(generator)
            else:
                z = self.model.encoder.prior(len(tasks), self.device).sample(generator)
            result = self.collector.episodes(
                [self.train_tasks[i] for i in tasks],
                lambda obs, z=z: self.model.act(obs, z, False, generator),
                seed=int(rng.integers(2**31)),
            )
            for t in range(result.mask.shape[0]):
                live = result.mask[t] > 0
                step = {k: v[live] for k, v in result.transitions(t, critic=True).items()}
                self.replay.add(tasks[live], step)
                if to_context:
                    step = {k: v[live] for k, v in result.transitions(t).items()}
                    self.context_replay.add(tasks[live], step)
            self.env_steps += result.steps
            (posterior_returns if posterior and episode > 0 else prior_returns).append(
                result.returns
            )
        return prior_returns, posterior_returns

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        """Collect data, then take ``gradient_steps`` gradient steps; returns the metrics."""
        o = self.options
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        if self.iteration == 0:
            everything = np.arange(o.num_train_tasks)
            for start in range(0, o.num_train_tasks, o.tasks_per_iteration):
                chunk = everything[start : start + o.tasks_per_iteration]
                self._collect(chunk, o.initial_episodes, False, True, rng, generator)
        tasks = rng.choice(o.num_train_tasks, o.tasks_per_iteration, replace=False)
        self.context_replay.clear(tasks)
        prior, posterior = [], []
        for episodes, use_posterior, to_context in (
            (o.prior_episodes, False, True),
            (o.posterior_episodes, True, True),
            (o.extra_posterior_episodes, True, False),
        ):
            pre, post = self._collect(tasks, episodes, use_posterior, to_context, rng, generator)
            prior += pre
            posterior += post
        totals: dict[str, float] = {}
        self.model.train()
        for _ in range(o.gradient_steps):
            batch_tasks = rng.choice(o.num_train_tasks, self.meta_batch_size, replace=False)
            batch = self._tensors(self.replay.sample(batch_tasks, o.batch_size, rng))
            context = self._tensors(
                self.context_replay.sample(batch_tasks, o.context_batch_size, rng)
            )
            for key, value in self.update.step(batch, context, generator).items():
                totals[key] = totals.get(key, 0.0) + value / o.gradient_steps
        self.iteration += 1
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "pre_return": float(np.mean(prior)) if prior else float("nan"),
            "post_return": float(np.mean(posterior)) if posterior else float("nan"),
            **totals,
        }

    def graded_agent(self) -> PEARLAgent:
        """The agent the evaluation grades: posterior sampling with these networks."""
        return PEARLAgent(
            self.model, self.collector.env_id, self.collector.env_kwargs,
            self.options.eval_deterministic,
        )

    def adaptive_agent(self) -> PEARLAdaptiveAgent:
        """These networks as an :class:`~metarl.agents.inference.AdaptiveAgent` (``metarl.load``):
        ``adapt`` infers the task from two episodes of context, then ``predict`` acts. It shares
        this trainer's collector (closing it closes the trainer's envs)."""
        return PEARLAdaptiveAgent(
            self.model, self.collector, deterministic=self.options.eval_deterministic
        )

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, both replay buffers and the counters."""
        return {
            "update": self.update.state_dict(),
            "replay": self.replay.state_dict(),
            "context_replay": self.context_replay.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.update.load_state_dict(state["update"])
        self.replay.load_state_dict(state["replay"])
        self.context_replay.load_state_dict(state["context_replay"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])

    def close(self) -> None:
        """Close the collection envs."""
        self.collector.close()
