"""MAML-style meta-learner: sample, adapt per task, meta-update with a swappable outer loop.

One class covers the family: MAML-TRPO (``outer=TRPO()``), MAML-PPO (``outer=PPO()``), ProMP
(``outer=ProMP()`` with the ``"lvc"`` inner estimator), first-order MAML (``first_order=True``) and
Meta-SGD (``InnerLoop(learn_step_size=True)``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from metarl.agents.adaptation import InnerLoopAgent
from metarl.agents.inference import GradientAdaptiveAgent
from metarl.agents.inner import InnerLoop
from metarl.agents.meta_objective import InnerStep, MetaObjectiveBuilder
from metarl.agents.outer import OuterLoop
from metarl.agents.policies import check_policy_fits
from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.choices import KL_DIRECTIONS, KLDirection
from metarl.sampling import EpisodeBatch, MultiTaskSampler, Params, stack_params
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

__all__ = ["MetaLearner"]

@contextmanager
def _timed(timing: dict[str, float], key: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timing[key]``."""
    start = time.perf_counter()
    yield
    timing[key] = timing.get(key, 0.0) + time.perf_counter() - start


class MetaLearner:
    """Meta-trains a policy's initial parameters so that ``num_inner_steps`` policy-gradient steps
    on a few episodes adapt it to a new task.

    Args:
        policy: a batched policy (``metarl.agents.policies``).
        sampler: collects the episodes (``episodes_per_task`` per task and inner step).
        inner: the inner loop (step size, estimator, baseline).
        outer: the outer loop (:class:`~metarl.agents.outer.TRPO`, ``PPO``, ``ProMP``).
        num_inner_steps: inner policy-gradient steps per task (each on freshly sampled episodes).
        first_order: drop second-order terms of the meta-gradient (FO-MAML).
        seed: seeds the episode sampling (env streams and action noise).
        kl_direction: direction of the post-update KL that TRPO's trust region and line search
            bound (:data:`KL_DIRECTIONS`). Both directions have the same Hessian at the
            sampling-time parameters, so only the line search's KL check differs.
        meta_batch_size: tasks that :meth:`train_iteration` draws from the train split.

    A :class:`~metarl.runs.kinds.Trainer`: ``metarl train`` drives it by :meth:`train_iteration`.
    """

    def __init__(
        self,
        policy: nn.Module,
        sampler: MultiTaskSampler,
        inner: InnerLoop,
        outer: OuterLoop,
        num_inner_steps: int = 1,
        first_order: bool = False,
        seed: int = 0,
        kl_direction: KLDirection = "new_old",
        meta_batch_size: int = 20,
    ):
        check_policy_fits(policy, sampler.observation_space, sampler.action_space)
        self.policy, self.sampler, self.inner, self.outer = policy, sampler, inner, outer
        self.num_inner_steps = require_int("num_inner_steps", num_inner_steps)
        self.first_order = first_order
        if kl_direction not in KL_DIRECTIONS:
            raise ValueError(
                f"kl_direction must be one of {list(KL_DIRECTIONS)}, got {kl_direction!r}"
            )
        self.kl_direction: KLDirection = kl_direction
        self.meta_batch_size = require_int("meta_batch_size", meta_batch_size)
        self.iteration = 0
        self.env_steps = 0
        """Env steps sampled so far (pre- and post-update episodes, valid steps only)."""
        self.rng = np.random.default_rng(seed)
        self.sampler.seed(seed)

    @property
    def meta_parameters(self) -> list[nn.Parameter]:
        """What the outer loop optimises: the policy's parameters and learned step sizes."""
        params = list(self.policy.parameters())
        if isinstance(self.inner.step_sizes, nn.ParameterDict):
            params += list(self.inner.step_sizes.values())
        return params

    def _seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def _initial(self, num_tasks: int, requires_grad: bool = True) -> dict[str, torch.Tensor]:
        params = stack_params(dict(self.policy.named_parameters()), num_tasks)
        if requires_grad:
            return params
        return {k: v.detach() for k, v in params.items()}

    def adapt(self, batch: EpisodeBatch, params: Params | None = None) -> dict[str, torch.Tensor]:
        """One inner step on ``batch`` from ``params`` (default: the meta-learned initial ones).

        Returns detached per-task parameters (leading axis = the batch's tasks).
        """
        if params is None:
            params = self._initial(batch.num_tasks, requires_grad=False)
        return self.inner.adapt(batch, params)

    @property
    def task_distribution(self) -> TaskDistribution:
        """The family's tasks."""
        return self.sampler.task_distribution

    def train_iteration(self, rng: np.random.Generator) -> dict[str, float]:
        """:meth:`meta_step` on ``meta_batch_size`` tasks of the train split drawn with ``rng``."""
        tasks = self.task_distribution.split("train").sample(self.meta_batch_size, seed=rng)
        return self.meta_step(tasks)

    def graded_agent(self) -> InnerLoopAgent:
        """The policy adapted by the inner loop, as the evaluation grades it."""
        return InnerLoopAgent(self.policy, self.inner)

    def adaptive_agent(self) -> GradientAdaptiveAgent:
        """The meta-trained policy as an :class:`~metarl.agents.inference.AdaptiveAgent`
        (``adapt``, then ``predict``); it shares this learner's policy, inner loop and sampler."""
        return GradientAdaptiveAgent(self.policy, self.inner, self.sampler, self.num_inner_steps)

    def close(self) -> None:
        """Close the sampler's envs."""
        self.sampler.close()

    def meta_step(self, tasks: Sequence[Task]) -> dict[str, float]:
        """One meta-iteration on ``tasks``; returns metrics (returns before/after adaptation,
        losses, KL, seconds spent sampling / in the inner loop / in the outer loop).

        A non-finite loss, parameter or return raises ``FloatingPointError`` naming the iteration
        and the quantity; the meta-parameters are then left as they were before the iteration.
        """
        if len(tasks) < 1:
            raise ValueError("meta_step needs at least one task")
        self.iteration += 1
        try:
            return self._meta_step(tasks)
        except FloatingPointError as err:
            raise FloatingPointError(f"meta-iteration {self.iteration}: {err}") from err

    def _meta_step(self, tasks: Sequence[Task]) -> dict[str, float]:
        for name, value in self.policy.named_parameters():
            if not torch.isfinite(value).all():
                raise FloatingPointError(f"parameter {name!r} is not finite")
        num_tasks = len(tasks)
        timing: dict[str, float] = {}
        train: list[InnerStep] = []
        params: dict[str, torch.Tensor] = self._initial(num_tasks, requires_grad=False)
        for _ in range(self.num_inner_steps):
            with _timed(timing, "sampling"):
                batch = self.sampler.sample(self.policy, tasks, params, seed=self._seed())
            with _timed(timing, "inner"):
                advantages = self.inner.advantages(batch)
                with torch.no_grad():
                    sampling_log_probs = self.inner.log_probs(params, batch)
                train.append((batch, advantages, sampling_log_probs))
                params = self.inner.adapt(batch, params, advantages, sampling_log_probs)
        with _timed(timing, "sampling"):
            valid = self.sampler.sample(self.policy, tasks, params, seed=self._seed())
        with _timed(timing, "inner"):
            objective = MetaObjectiveBuilder(
                self.policy, self.inner, self.meta_parameters, train, valid, params,
                self.first_order, self.kl_direction,
            )
        with _timed(timing, "outer"):
            metrics = self.outer.step(self.meta_parameters, objective)
        self.env_steps += sum(int(batch.mask.sum()) for batch, _, _ in train) + int(valid.mask.sum())
        pre_return = train[0][0].task_returns().mean().item()
        post_return = valid.task_returns().mean().item()
        for name, value in (("pre-update return", pre_return), ("post-update return", post_return)):
            if not np.isfinite(value):
                raise FloatingPointError(f"{name} is {value}")
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "pre_return": pre_return,
            "post_return": post_return,
            **metrics,
            **{f"time_{k}": v for k, v in timing.items()},
        }

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training: parameters, optimiser and RNG states."""
        return {
            **self.outer.state_dict(),
            "policy": self.policy.state_dict(),
            "step_sizes": (
                self.inner.step_sizes.state_dict()
                if isinstance(self.inner.step_sizes, nn.ParameterDict)
                else None
            ),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "rng": self.rng.bit_generator.state,
            "sampler_rng": self.sampler.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output.

        Raises:
            CheckpointError: the state is another learner's: other parameter names or shapes
                (layer sizes, spaces), learned step sizes or not, another outer loop.
        """
        _check_shapes("policy", state["policy"], self.policy.state_dict())
        learned = isinstance(self.inner.step_sizes, nn.ParameterDict)
        if (state["step_sizes"] is not None) != learned:
            has = "has" if state["step_sizes"] is not None else "has no"
            mine = "has" if learned else "has none"
            raise CheckpointError(
                f"the checkpoint {has} learned inner step sizes, this learner {mine} "
                "(config key learn_inner_lr)"
            )
        self.outer.load_state_dict(state, self.meta_parameters)  # checks its kind first
        self.policy.load_state_dict(state["policy"])
        if learned:
            self.inner.step_sizes.load_state_dict(state["step_sizes"])
        self.iteration = state["iteration"]
        self.env_steps = int(state.get("env_steps", 0))  # 0: saved before it was counted
        self.rng.bit_generator.state = state["rng"]
        self.sampler.generator.set_state(state["sampler_rng"])

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` atomically (temporary file, then rename)."""
        save_checkpoint({"learner": self.state_dict()}, path)

    def load(self, path: str | os.PathLike) -> None:
        """Restore a checkpoint written by :meth:`save` (``CheckpointError`` if it is unusable)."""
        self.load_state_dict(load_checkpoint(path, required=("learner",))["learner"])


def _check_shapes(what: str, saved: dict[str, Any], own: dict[str, torch.Tensor]) -> None:
    """``CheckpointError`` naming every tensor of ``saved`` whose name or shape differs from
    ``own``'s (a checkpoint of other layer sizes or spaces)."""
    saved_shapes = {k: tuple(v.shape) for k, v in saved.items()}
    own_shapes = {k: tuple(v.shape) for k, v in own.items()}
    if saved_shapes != own_shapes:
        diff = [
            f"{name}: checkpoint {saved_shapes.get(name, 'absent')}, "
            f"here {own_shapes.get(name, 'absent')}"
            for name in sorted({*saved_shapes, *own_shapes})
            if saved_shapes.get(name) != own_shapes.get(name)
        ]
        raise CheckpointError(
            f"the checkpoint's {what} does not fit this learner's (other layer sizes or spaces; "
            f"config keys hidden_sizes, env): {'; '.join(diff)}"
        )
