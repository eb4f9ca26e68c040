"""RL^2 acting in trials: one batched recurrent forward per step for all sub-envs, optionally
recording what PPO needs (:class:`TrialBatch`).

Rows (sub-envs, one trial each) may be at different steps of their trials when episodes end
early, so each row writes its ``t``-th decision at index ``t`` of the ``[T, B]`` buffers; steps
past a trial's end are masked out.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Distribution

from metarl.agents.rl2.network import RecurrentActorCritic, TrialInputs
from metarl.sampling.noise import sample_actions
from metarl.sampling.trials import run_trials
from metarl.tasks import Task

__all__ = ["RL2Actor", "TrialBatch", "collect_trials", "draw_actions"]


class TrialBatch(NamedTuple):
    """Recorded trials, time-major ``[T, B, ...]`` with ``T`` the longest trial."""

    inputs: torch.Tensor
    """``[T, B, input_size]`` network inputs."""
    actions: torch.Tensor
    """``[T, B]`` (discrete) or ``[T, B, action_dim]`` actions as sampled (before clipping)."""
    log_probs: torch.Tensor
    """``[T, B]`` log-probabilities of the actions when sampled."""
    values: torch.Tensor
    """``[T, B]`` value estimates when sampled."""
    rewards: torch.Tensor
    """``[T, B]`` rewards."""
    mask: torch.Tensor
    """``[T, B]`` 1 on the steps of a trial, 0 past its end."""
    trial_end: torch.Tensor
    """``[T, B]`` true on the last step of each trial (the meta-MDP's termination)."""
    states: torch.Tensor
    """``[ceil(T / segment), B, state_size]`` recurrent state at the start of each segment."""
    episode_returns: np.ndarray
    """``[B, episodes]`` undiscounted episode returns."""


def draw_actions(
    dist: Distribution, inputs: TrialInputs, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Actions of a batch of rows sampled from ``dist`` (on ``device``) with noise drawn from
    ``generator`` (a CPU generator): uniforms for a categorical policy (inverse CDF), normals
    for a Gaussian one."""
    rows = dist.batch_shape[0]
    discrete = isinstance(inputs.action_space, gym.spaces.Discrete)
    shape = (rows,) if discrete else (rows, inputs.action_size)
    noise = (torch.rand if discrete else torch.randn)(shape, generator=generator)
    return sample_actions(dist, noise.to(device), slice(None))


class RL2Actor:
    """The :class:`~metarl.sampling.trials.TrialActor` of a :class:`RecurrentActorCritic`.

    Actions are sampled from the policy with noise drawn from ``generator`` (a CPU generator,
    whichever device the network is on). With ``max_steps`` set it records a
    :class:`TrialBatch` of trials of at most ``max_steps`` steps, storing the recurrent state
    every ``segment`` steps (the starts of the truncated-BPTT segments).
    """

    def __init__(
        self,
        network: RecurrentActorCritic,
        inputs: TrialInputs,
        num_rows: int,
        generator: torch.Generator,
        max_steps: int | None = None,
        segment: int | None = None,
    ):
        self.network, self.inputs, self.generator = network, inputs, generator
        self.device = next(network.parameters()).device
        self.discrete = isinstance(inputs.action_space, gym.spaces.Discrete)
        self.state = network.initial_state(num_rows, self.device)
        inputs.reset(num_rows)
        self.rows = torch.arange(num_rows, device=self.device)
        self.recording = max_steps is not None
        if self.recording:
            self.segment = segment or max_steps
            self.t = torch.zeros(num_rows, dtype=torch.long, device=self.device)
            shape = (max_steps, num_rows)
            action_shape, action_dtype = (
                (shape, torch.long) if self.discrete else ((*shape, inputs.action_size), None)
            )
            self.buffers = {
                "inputs": torch.zeros(*shape, inputs.size, device=self.device),
                "actions": torch.zeros(action_shape, dtype=action_dtype, device=self.device),
                **{
                    name: torch.zeros(shape, device=self.device)
                    for name in ("log_probs", "values", "rewards")
                },
            }
            self.states = torch.zeros(
                -(-max_steps // self.segment), num_rows, network.state_size, device=self.device
            )

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.inputs.build(obs)).to(self.device)
        active_t = torch.from_numpy(active).to(self.device)
        with torch.no_grad():
            if self.recording:
                starts = active_t & (self.t % self.segment == 0)
                self.states[(self.t // self.segment)[starts], self.rows[starts]] = self.state[starts]
            features, state = self.network(x.unsqueeze(0), self.state)
            features = features.squeeze(0)
            dist = self.network.distribution(features)
            actions = draw_actions(dist, self.inputs, self.generator, self.device)
            self.state = torch.where(active_t.unsqueeze(1), state, self.state)
            if self.recording:
                t, rows = self.t[active_t], self.rows[active_t]
                b = self.buffers
                b["inputs"][t, rows] = x[active_t]
                b["actions"][t, rows] = actions[active_t]
                b["log_probs"][t, rows] = dist.log_prob(actions)[active_t]
                b["values"][t, rows] = self.network.value(features)[active_t]
        out = actions.cpu().numpy()
        if self.discrete:
            return out + int(self.inputs.action_space.start)
        return out.astype(self.inputs.action_space.dtype)

    def observe(
        self,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        episode_end: np.ndarray,
        active: np.ndarray,
    ) -> None:
        self.inputs.record(actions, rewards, episode_end, active)
        if self.recording:
            active_t = torch.from_numpy(active).to(self.device)
            r = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)
            self.buffers["rewards"][self.t[active_t], self.rows[active_t]] = r[active_t]
            self.t += active_t.long()

    def batch(self, episode_returns: np.ndarray) -> TrialBatch:
        """The recorded trials (after :func:`~metarl.sampling.trials.run_trials`)."""
        steps = torch.arange(self.buffers["rewards"].shape[0], device=self.device).unsqueeze(1)
        return TrialBatch(
            **self.buffers,
            mask=(steps < self.t).float(),
            trial_end=steps == self.t - 1,
            states=self.states,
            episode_returns=episode_returns,
        )


def collect_trials(
    network: RecurrentActorCritic,
    inputs: TrialInputs,
    envs: gym.vector.VectorEnv,
    tasks: list[Task],
    episodes: int,
    seed: int,
    generator: torch.Generator,
    max_steps: int,
    segment: int | None = None,
) -> TrialBatch:
    """One recorded trial of ``episodes`` episodes per sub-env (sub-env ``i`` on ``tasks[i]``)."""
    actor = RL2Actor(network, inputs, envs.num_envs, generator, max_steps, segment)
    return actor.batch(run_trials(envs, tasks, episodes, actor, seed))
