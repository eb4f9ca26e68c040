"""Using a meta-trained agent: adapt to one task, then act with ``predict`` in any env.

The protocol every agent family implements (:class:`AdaptiveAgent`, :class:`AdaptedPolicy`)::

    agent = metarl.load("runs/nav")                     # any agent kind, from its checkpoint
    policy = agent.adapt(task)                           # metarl collects the episodes, or
    policy = agent.adapt(env=my_env)                     # from an env you made, or
    policy = agent.adapt(episodes=[metarl.Episode(...)]) # from episodes you collected
    action, state = policy.predict(obs, deterministic=True)
    action, state = agent.predict(obs, deterministic=True)  # the un-adapted policy

``predict`` follows Stable-Baselines3's signature, so the adapted policy, and the agent itself
before any adaptation, drop into code written for SB3 models. The MAML family implements the
protocol here (:class:`GradientAdaptiveAgent`); a trainer offers its agent through
``Trainer.adaptive_agent()``, which :func:`metarl.load` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Independent

from metarl.agents.inner import InnerLoop
from metarl.agents.value_functions import BaselineFitError
from metarl.envs.core import finite_array
from metarl.sampling import (
    Episode,
    MultiTaskSampler,
    Params,
    check_episodes,
    collect_episodes,
    episode_batch,
    stack_params,
)
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_seed

__all__ = [
    "AdaptedPolicy",
    "AdaptiveAgent",
    "GradientAdaptedPolicy",
    "GradientAdaptiveAgent",
    "check_observation",
    "require_finite_result",
    "require_one_source",
]


class AdaptedPolicy(Protocol):
    """A policy adapted to one task; it acts on numpy observations in any env of the task.

    ``predict(observation, state=None, episode_start=None, deterministic=False)`` takes one
    observation ``(obs_dim,)`` or a batch ``(n, obs_dim)`` and returns ``(action, state)``: the
    action(s) (``Box`` actions clipped to the action space, as SB3 does) and the next recurrent
    state. ``deterministic`` takes the mode (Gaussian mean, most likely discrete action) instead
    of a sample. Agents without memory return ``state=None``; an in-context agent returns its
    recurrent state, to be passed back with ``episode_start`` marking new episodes.
    """

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...


class AdaptiveAgent(Protocol):
    """A meta-trained agent: it adapts to one task from experience of it, then acts.

    ``adapt`` takes exactly one source of experience and returns an :class:`AdaptedPolicy`:

    - ``adapt(task)``: a :class:`~metarl.Task` of the agent's family (``task_distribution``);
      metarl collects the agent's own episodes on it, as in meta-training;
    - ``adapt(env=env)``: a ``gymnasium.Env`` you made, with the agent's spaces, running whatever
      task it runs (a metarl env after ``reset(options={"task": t})``, or a plain Gymnasium env);
      the agent collects its episodes there;
    - ``adapt(episodes=[...])``: :class:`~metarl.Episode` s you collected yourself.

    ``seed`` seeds the collection and the adapted policy's action sampling. How a family adapts:

    - gradient-based (the MAML family, :class:`GradientAdaptiveAgent`): inner policy-gradient
      steps on the episodes; the adapted policy holds the adapted parameters;
    - in-context (RL^2): the episodes are fed through the recurrent policy; the adapted policy
      starts from the resulting hidden state and carries it on through ``predict``'s ``state``;
    - context encoder (PEARL, :class:`~metarl.agents.pearl.adaptive.PEARLAdaptiveAgent`): the
      posterior over the task embedding is inferred from the episodes' transitions; the adapted
      policy conditions on one sample of it, drawn when adapting (PEARL's posterior sampling).
    """

    @property
    def task_distribution(self) -> TaskDistribution: ...

    def adapt(
        self,
        task: Task | None = None,
        *,
        env: gym.Env | None = None,
        episodes: Sequence[Episode] | None = None,
        seed: int = 0,
    ) -> AdaptedPolicy: ...

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """The un-adapted policy's action(s), as :meth:`AdaptedPolicy.predict`: what the agent
        does on a task before any experience of it. Per family:

        - gradient-based: the meta-learned parameters, before any inner step;
        - in-context (RL^2): a trial from its start (no earlier step); ``state=None`` starts a
          new trial, the returned state passed back continues it;
        - context encoder (PEARL): ``z`` from the prior, its mean where ``deterministic``.

        Sampled actions draw from the agent's own stream, seeded with 0 when it is made.
        """
        ...

    def close(self) -> None: ...


def require_one_source(task: Any, env: Any, episodes: Any) -> None:
    """Raise ``ValueError`` unless exactly one of ``adapt``'s sources of experience is given."""
    given = [name for name, v in (("task", task), ("env", env), ("episodes", episodes)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"adapt takes exactly one of task, env, episodes; got {given or 'none'}")


def check_observation(observation: Any, obs_dim: int) -> np.ndarray:
    """``observation`` as float32 ``(obs_dim,)`` or ``(n, obs_dim)`` of finite numbers, else
    ``ValueError`` naming the shape or the first non-finite entry (``TypeError`` for non-numbers)."""
    obs = finite_array("observation", observation)
    if obs.ndim not in (1, 2) or obs.shape[-1] != obs_dim:
        raise ValueError(
            f"observation must have shape ({obs_dim},) or (n, {obs_dim}), got {obs.shape}"
        )
    return obs


_TOO_LARGE = (
    "the given observations, actions or rewards are too large for the agent's float32 arithmetic"
)


def require_finite_result(what: str, *values: np.ndarray | torch.Tensor) -> None:
    """Raise ``ValueError`` unless every entry of ``values`` is finite: ``what`` an agent computed
    from finite inputs too large for its float32 arithmetic."""
    for value in values:
        finite = torch.isfinite(value) if isinstance(value, torch.Tensor) else np.isfinite(value)
        if not bool(finite.all()):
            raise ValueError(f"{what} is not finite: {_TOO_LARGE}")


class GradientAdaptedPolicy:
    """A batched MLP policy with one task's (adapted) parameters, acting on numpy arrays (the
    forward runs where the parameters are, on the CPU or a GPU)."""

    def __init__(
        self, policy: nn.Module, params: Params, action_space: gym.Space, seed: int | None = None
    ):
        self.policy, self.params, self.action_space = policy, dict(params), action_space
        self.obs_dim = int(policy.obs_dim)
        self.device = next(iter(self.params.values())).device
        self.rng = np.random.default_rng(seed)

    @torch.no_grad()
    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """Action(s) for one observation ``(obs_dim,)`` or a batch ``(n, obs_dim)``; the state
        is always ``None`` (the adaptation is in the parameters)."""
        obs = check_observation(observation, self.obs_dim)
        batch = torch.from_numpy(obs.reshape(-1, self.obs_dim)).to(self.device)
        dist = self.policy(batch, params=self.params)
        if isinstance(dist, Categorical):
            probs = dist.probs.cpu().numpy().astype(np.float64)
            if deterministic:
                action = probs.argmax(-1)
            else:
                draws = self.rng.random((len(batch), 1))
                action = (probs.cumsum(-1) < draws).sum(-1).clip(max=probs.shape[-1] - 1)
            action = action.astype(np.int64)
        elif isinstance(dist, Independent):
            mean, std = dist.base_dist.loc.cpu().numpy(), dist.base_dist.scale.cpu().numpy()
            action = mean if deterministic else mean + std * self.rng.standard_normal(mean.shape)
            action = action.astype(self.action_space.dtype)
            if isinstance(self.action_space, gym.spaces.Box):
                action = np.clip(action, self.action_space.low, self.action_space.high)
        else:
            raise TypeError(f"unsupported action distribution {type(dist).__name__}")
        require_finite_result("the policy's action", action)
        return (action[0] if obs.ndim == 1 else action), None


class GradientAdaptiveAgent:
    """The MAML family's :class:`AdaptiveAgent`: ``num_inner_steps`` inner policy-gradient steps,
    each on ``E`` fresh episodes collected with the current parameters (``E``: the sampler's
    ``episodes_per_task``), as in meta-training. From given ``episodes``: one inner step on them.

    Args:
        policy: the meta-trained policy (its parameters are the initial ones).
        inner: the inner loop that adapts it.
        sampler: collects the episodes of ``adapt(task)``.
        num_inner_steps: inner steps of ``adapt(task)`` and ``adapt(env=...)``.
    """

    def __init__(
        self, policy: nn.Module, inner: InnerLoop, sampler: MultiTaskSampler, num_inner_steps: int
    ):
        self.policy, self.inner, self.sampler = policy, inner, sampler
        self.num_inner_steps = num_inner_steps
        initial = {k: v.detach() for k, v in policy.named_parameters()}
        self._initial = GradientAdaptedPolicy(policy, initial, sampler.action_space, seed=0)

    @property
    def task_distribution(self) -> TaskDistribution:
        """The family's tasks."""
        return self.sampler.task_distribution

    @property
    def episodes_per_step(self) -> int:
        """``E``: episodes collected per inner step."""
        return self.sampler.episodes_per_task

    def adapt(
        self,
        task: Task | None = None,
        *,
        env: gym.Env | None = None,
        episodes: Sequence[Episode] | None = None,
        seed: int = 0,
    ) -> GradientAdaptedPolicy:
        """The policy adapted from one source of experience (see :class:`AdaptiveAgent`).

        Raises:
            ValueError: not exactly one of ``task``, ``env``, ``episodes``; a task of another
                family; an env or episodes whose observations or actions do not fit the policy
                (:func:`~metarl.sampling.check_episodes`).
        """
        require_one_source(task, env, episodes)
        seed = require_seed("seed", seed)
        params = {
            k: v.detach() for k, v in stack_params(dict(self.policy.named_parameters()), 1).items()
        }
        if episodes is not None:
            params = self._adapt_on(episodes, params)
        elif task is not None:
            task = self.task_distribution.validate(task)
            self.sampler.seed(seed)
            for step in range(self.num_inner_steps):
                batch = self.sampler.sample(self.policy, [task], params, seed=seed + 7919 * step)
                params = self.inner.adapt(batch, params)
        else:
            for step in range(self.num_inner_steps):
                collected = collect_episodes(
                    env, self._policy(params, seed + step), self.episodes_per_step,
                    seed=seed + 7919 * step,
                )
                params = self._adapt_on(collected, params)
        return self._policy(params, seed)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """Action(s) of the meta-learned policy before any inner step (its current parameters),
        as :meth:`GradientAdaptedPolicy.predict`; sampled actions draw from one stream seeded
        with 0 when the agent is made."""
        return self._initial.predict(observation, state, episode_start, deterministic)

    def _policy(self, params: Params, seed: int) -> GradientAdaptedPolicy:
        return GradientAdaptedPolicy(
            self.policy, {k: v[0] for k, v in params.items()}, self.sampler.action_space, seed
        )

    def _adapt_on(self, episodes: Sequence[Episode], params: Params) -> Params:
        """One inner step on episodes from outside metarl, checked against the policy's spaces;
        ``ValueError`` where their values overflow the step's arithmetic."""
        episodes = check_episodes(episodes, int(self.policy.obs_dim), self.sampler.action_space)
        batch = episode_batch(episodes).to(next(self.policy.parameters()).device)
        try:
            params = self.inner.adapt(batch, params)
        except (FloatingPointError, BaselineFitError) as err:
            raise ValueError(f"adapting on the given episodes failed ({err}): {_TOO_LARGE}") from err
        require_finite_result("the adapted parameters", *params.values())
        return params

    def close(self) -> None:
        """Close the sampler's envs."""
        self.sampler.close()
