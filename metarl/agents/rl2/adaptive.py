"""RL^2 under the inference protocol (:class:`~metarl.agents.inference.AdaptiveAgent`).

Adapting is running the first episodes of a trial: the recurrent state after them holds what the
agent learned about the task. The adapted policy continues the trial from that state. Its input at
each step includes the previous step's reward, so ``predict`` takes it::

    policy = agent.adapt(task)                  # or env=..., episodes=[...]
    obs, _ = env.reset()
    action, state = policy.predict(obs)         # the first step after adapting
    while True:
        obs, reward, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
        action, state = policy.predict(obs, state, reward=reward)

A new episode of the same trial continues with ``episode_start=True`` (and the last reward).

``agent.predict`` is the un-adapted policy: the same loop from the start of a trial, with no
experience of the task. ``state=None`` starts a new trial (zero recurrent state, no previous
step); passing the returned state back (with ``reward``) continues that trial, across episodes
too, so the agent adapts as it acts, as in meta-training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from metarl.agents.inference import (
    check_observation,
    require_finite_result,
    require_one_source,
)
from metarl.agents.rl2.network import RecurrentActorCritic, TrialInputs
from metarl.agents.rl2.rollout import RL2Actor, draw_actions
from metarl.envs.core import finite_array
from metarl.sampling import Episode, check_episodes
from metarl.sampling.trials import run_trials
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int, require_seed

__all__ = ["RL2AdaptiveAgent", "RL2Policy", "RL2State"]


@dataclass(frozen=True)
class RL2State:
    """Where a trial stands, per row: the recurrent state ``[n, state_size]`` and the previous
    step's input part ``[n, action_size + 2]`` (action, reward, "an episode just ended")."""

    hidden: torch.Tensor
    previous: np.ndarray


class RL2Policy:
    """The recurrent policy continuing a trial from ``start`` (one row); it acts on numpy
    observations, one ``(obs_dim,)`` or a batch ``(n, obs_dim)`` of rows in the same trial
    state. Actions are sampled with noise seeded by ``seed`` unless ``deterministic``."""

    def __init__(
        self,
        network: RecurrentActorCritic,
        inputs: TrialInputs,
        start: RL2State,
        seed: int,
    ):
        self.network, self.inputs, self.start = network, inputs, start
        self.device = next(network.parameters()).device
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def predict(
        self,
        observation: np.ndarray,
        state: RL2State | None = None,
        episode_start: np.ndarray | bool | None = None,
        deterministic: bool = False,
        *,
        reward: np.ndarray | float | None = None,
    ) -> tuple[np.ndarray, RL2State]:
        """Action(s) at ``observation`` and the trial's state after them.

        ``state=None`` continues from the adapted state (``reward`` and ``episode_start`` are
        then already known). Otherwise pass the previous call's state with ``reward``, the
        reward that step earned, and ``episode_start`` true where ``observation`` begins a new
        episode of the trial.

        Raises:
            ValueError: a wrong observation shape, a state of another number of rows, a state
                without ``reward``, a ``reward`` that is not one finite number or one per row,
                or non-finite observations.
        """
        obs = check_observation(observation, self.inputs.obs_size)
        rows = obs.reshape(-1, self.inputs.obs_size)
        n = len(rows)
        if state is None:
            hidden = self.start.hidden.expand(n, -1)
            previous = np.repeat(self.start.previous, n, axis=0)
        else:
            if reward is None:
                raise ValueError(
                    "RL^2 reads the previous step's reward: predict(obs, state, reward=r)"
                )
            if len(state.previous) != n:
                raise ValueError(
                    f"the state holds {len(state.previous)} rows, the observation {n}"
                )
            rewards = finite_array("reward", reward)
            if rewards.shape not in ((), (n,)):
                raise ValueError(
                    f"reward must be a number or have shape ({n},) (one per row), got "
                    f"{rewards.shape}"
                )
            hidden, previous = state.hidden, state.previous.copy()
            previous[:, -2] = rewards
            start = False if episode_start is None else episode_start
            previous[:, -1] = np.broadcast_to(np.asarray(start, dtype=np.float32), (n,))
        x = torch.from_numpy(np.concatenate([rows, previous], axis=1)).to(self.device)
        features, hidden = self.network(x.unsqueeze(0), hidden.to(self.device))
        dist = self.network.distribution(features.squeeze(0))
        if deterministic:
            actions = dist.mode
        else:
            actions = draw_actions(dist, self.inputs, self.generator, self.device)
        space = self.inputs.action_space
        if self.network.discrete:
            out = actions.cpu().numpy() + int(space.start)
        else:
            out = np.clip(actions.cpu().numpy(), space.low, space.high).astype(space.dtype)
        require_finite_result("the policy's action and state", out, hidden)
        after = self.inputs.encode(out, np.zeros(n), np.zeros(n))
        return (out[0] if obs.ndim == 1 else out), RL2State(hidden, after)


class RL2AdaptiveAgent:
    """A trained RL^2 network as an :class:`~metarl.agents.inference.AdaptiveAgent`.

    Args:
        network: the recurrent actor-critic.
        envs: a vector env of the family (the trainer's; :meth:`close` closes it).
            ``adapt(task)`` runs the trial on every sub-env and keeps sub-env 0's.
        context_episodes: episodes of the trial that ``adapt(task)`` and ``adapt(env=...)`` run
            before handing over (0: the policy starts the trial itself).
    """

    def __init__(
        self,
        network: RecurrentActorCritic,
        envs: gym.vector.VectorEnv,
        context_episodes: int = 1,
    ):
        self.network, self.envs = network, envs
        self.context_episodes = require_int("context_episodes", context_episodes, minimum=0)
        self.inputs = TrialInputs(envs.single_observation_space, envs.single_action_space)
        self._unadapted = self._trial_start(seed=0)

    @property
    def task_distribution(self) -> TaskDistribution:
        """The family's tasks."""
        return self.envs.task_distribution

    @torch.no_grad()
    def adapt(
        self,
        task: Task | None = None,
        *,
        env: gym.Env | None = None,
        episodes: Sequence[Episode] | None = None,
        seed: int = 0,
    ) -> RL2Policy:
        """The policy continuing a trial after the experience (see
        :class:`~metarl.agents.inference.AdaptiveAgent`): ``context_episodes`` episodes run
        with the policy's sampled actions on ``task`` or in ``env``, or the given episodes
        fed through the network in order, as one trial.

        Raises:
            ValueError: not exactly one of ``task``, ``env``, ``episodes``; a task of another
                family; episodes whose observations or actions do not fit the network
                (:func:`~metarl.sampling.check_episodes`).
        """
        require_one_source(task, env, episodes)
        seed = require_seed("seed", seed)
        inputs = TrialInputs(self.envs.single_observation_space, self.envs.single_action_space)
        if task is not None:
            rows = self.envs.num_envs
            actor = RL2Actor(self.network, inputs, rows, torch.Generator().manual_seed(seed))
            if self.context_episodes:
                tasks = [self.task_distribution.validate(task)] * rows
                run_trials(self.envs, tasks, self.context_episodes, actor, seed)
            start = RL2State(actor.state[:1], inputs.previous[:1])
        else:
            start = self._run_in(env, seed) if env is not None else self._feed(episodes)
            require_finite_result("the trial state after the episodes", start.hidden)
        return RL2Policy(self.network, inputs, start, seed)

    def predict(
        self,
        observation: np.ndarray,
        state: RL2State | None = None,
        episode_start: np.ndarray | bool | None = None,
        deterministic: bool = False,
        *,
        reward: np.ndarray | float | None = None,
    ) -> tuple[np.ndarray, RL2State]:
        """Action(s) of the un-adapted policy, as :meth:`RL2Policy.predict` from the start of a
        trial: ``state=None`` is a trial's first step, with no experience of the task (every
        row); the returned state passed back, with ``reward``, continues that trial. Sampled
        actions draw from one stream seeded with 0 when the agent is made."""
        return self._unadapted.predict(
            observation, state, episode_start, deterministic, reward=reward
        )

    def _trial_start(self, seed: int) -> RL2Policy:
        """The policy at the start of a trial: zero recurrent state, no previous step."""
        previous = np.zeros((1, self.inputs.action_size + 2), dtype=np.float32)
        start = RL2State(self.network.initial_state(1, _device(self.network)), previous)
        return RL2Policy(self.network, self.inputs, start, seed)

    def _run_in(self, env: gym.Env, seed: int) -> RL2State:
        """The trial's state after ``context_episodes`` episodes in ``env`` (episode ``k`` reset
        with ``seed + k``), acting with the policy."""
        policy = self._trial_start(seed)
        state, reward = None, 0.0
        for k in range(self.context_episodes):
            obs, _ = env.reset(seed=seed + k)
            done, first = False, True
            while not done:
                action, state = policy.predict(
                    obs, state, episode_start=first and k > 0,
                    reward=None if state is None else reward,
                )
                obs, reward, terminated, truncated, _ = env.step(action)
                done, first = terminated or truncated, False
        if state is None:
            return policy.start
        previous = state.previous.copy()
        previous[:, -2], previous[:, -1] = finite_array("reward", reward), 1.0
        return RL2State(state.hidden, previous)

    def _feed(self, episodes: Sequence[Episode]) -> RL2State:
        """The trial's state after the given episodes, by one forward over their steps."""
        inputs = self.inputs
        episodes = check_episodes(episodes, inputs.obs_size, inputs.action_space)
        inputs.reset(1)
        steps, one = [], np.ones(1, dtype=bool)
        for e in episodes:
            for t in range(len(e.rewards)):
                steps.append(inputs.build(e.observations[t : t + 1]))
                inputs.record(
                    e.actions[t : t + 1], e.rewards[t : t + 1],
                    np.array([t == len(e.rewards) - 1]), one,
                )
        x = torch.from_numpy(np.stack(steps)).to(_device(self.network))
        _, hidden = self.network(x, self.network.initial_state(1, x.device))
        return RL2State(hidden, inputs.previous)

    def close(self) -> None:
        """Close the envs."""
        self.envs.close()


def _device(network: torch.nn.Module) -> torch.device:
    return next(network.parameters()).device
