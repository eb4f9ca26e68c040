"""The policy-gradient inner loop of MAML-style agents, functional and batched over tasks.

Parameters in, parameters out: the policy module is never mutated. Shared parameters are viewed
per task (:func:`metarl.sampling.stack_params`), so one batched forward and one backward give every
task's inner gradient; with ``create_graph=True`` the adapted parameters stay differentiable
functions of the shared ones (second-order MAML), with ``first_order=True`` they do not (FO-MAML).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from metarl.agents.returns import discounted_returns, gae
from metarl.agents.value_functions import Baseline, LinearFeatureBaseline
from metarl.choices import ESTIMATORS, WEIGHTINGS, Estimator, Weighting
from metarl.sampling import BatchedPolicy, EpisodeBatch, Params

__all__ = ["InnerLoop", "per_task_mean", "step_weights"]


def step_weights(batch: EpisodeBatch, weighting: Weighting) -> torch.Tensor:
    """``[T, B]`` weights of the valid steps, summing to 1 over each task's episodes.

    ``"episode"``: every episode weighs the same, its steps share the episode's weight equally
    (mean over an episode's steps, then over the task's episodes: pytorch-maml-rl's
    ``weighted_mean``). ``"step"``: every valid step of the task weighs the same (the mean over
    all of them: rllab and the MAML authors' code). The two differ only when episodes of one task
    have different lengths. Padding steps weigh 0.
    """
    if weighting == "episode":
        per_task = batch.mask.shape[1] // batch.num_tasks
        return batch.mask / (batch.lengths.to(batch.mask.dtype) * per_task)
    if weighting == "step":
        steps = batch.mask.sum(0).view(batch.num_tasks, -1).sum(1)
        return batch.mask / steps.repeat_interleave(batch.mask.shape[1] // batch.num_tasks)
    raise ValueError(f"weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}")


def per_task_mean(
    values: torch.Tensor, batch: EpisodeBatch, weighting: Weighting
) -> torch.Tensor:
    """Weighted mean ``[K]`` of ``[T, B]`` ``values`` over each task's valid steps
    (weights of :func:`step_weights`)."""
    return (values * step_weights(batch, weighting)).sum(0).view(batch.num_tasks, -1).sum(1)


class InnerLoop:
    """Vanilla policy-gradient adaptation (REINFORCE with a fitted baseline, GAE optional).

    Args:
        policy: a batched policy (see :class:`metarl.sampling.BatchedPolicy`).
        step_size: inner learning rate alpha (> 0).
        learn_step_size: Meta-SGD: one learned step size per parameter element, initialised to
            ``step_size`` and meta-trained with the policy (:attr:`step_sizes`).
        gamma, gae_lambda: discount and GAE(lambda) (``gae_lambda=1``: Monte-Carlo returns).
        normalize_advantages: standardise each task's advantages (weighted mean and standard
            deviation, with the weights of ``weighting``).
        estimator: ``"reinforce"`` (loss ``-log pi * A``, as in MAML) or ``"lvc"`` (ProMP's
            low-variance curvature estimator, ``-(pi / pi_sampling) * A``).
        baseline_factory: makes a fresh baseline per task and batch (default: linear features).
        weighting: how a task's steps are averaged in the losses, the KLs and the advantage
            statistics (:func:`step_weights`); ``"episode"`` is pytorch-maml-rl's.
        bootstrap_truncated: bootstrap episodes cut by the time limit with the baseline's value
            of their final observation; ``False`` treats the time limit as the end of the task,
            as rllab and pytorch-maml-rl do (their episodes carry no terminated/truncated flag).
    """

    def __init__(
        self,
        policy: BatchedPolicy,
        step_size: float = 0.1,
        learn_step_size: bool = False,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        normalize_advantages: bool = True,
        estimator: Estimator = "reinforce",
        baseline_factory: Callable[[], Baseline] = LinearFeatureBaseline,
        weighting: Weighting = "episode",
        bootstrap_truncated: bool = False,
    ):
        if not step_size > 0:
            raise ValueError(f"inner step_size must be > 0, got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], got {gamma!r}")
        if not 0 <= gae_lambda <= 1:
            raise ValueError(f"gae_lambda must lie in [0, 1], got {gae_lambda!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {list(ESTIMATORS)}, got {estimator!r}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}")
        self.policy = policy
        self.gamma, self.gae_lambda = gamma, gae_lambda
        self.normalize_advantages = normalize_advantages
        self.estimator = estimator
        self.baseline_factory = baseline_factory
        self.weighting: Weighting = weighting
        self.bootstrap_truncated = bool(bootstrap_truncated)
        self.step_sizes: Mapping[str, torch.Tensor]
        if learn_step_size:
            self.step_sizes = nn.ParameterDict(
                {
                    name.replace(".", "__"): nn.Parameter(torch.full_like(p, step_size))
                    for name, p in policy.named_parameters()
                }
            )
        else:
            self.step_sizes = {}
        self.step_size = float(step_size)

    def step_size_of(self, name: str) -> torch.Tensor | float:
        """The inner step size of parameter ``name`` (a tensor under Meta-SGD)."""
        if self.step_sizes:
            return self.step_sizes[name.replace(".", "__")]
        return self.step_size

    def task_mean(self, values: torch.Tensor, batch: EpisodeBatch) -> torch.Tensor:
        """Per-task mean ``[K]`` of ``[T, B]`` ``values`` with this loop's :attr:`weighting`."""
        return per_task_mean(values, batch, self.weighting)

    @torch.no_grad()
    def advantages(self, batch: EpisodeBatch) -> torch.Tensor:
        """``[T, B]`` advantages: a baseline fitted per task on its own episodes, then GAE."""
        values = torch.zeros_like(batch.rewards)
        bootstrap = torch.zeros_like(batch.rewards[0])
        per_task = batch.mask.shape[1] // batch.num_tasks
        returns = discounted_returns(
            batch.rewards, batch.mask, batch.terminated, batch.truncated, self.gamma
        )
        for k in range(batch.num_tasks):
            cols = slice(k * per_task, (k + 1) * per_task)
            task = batch.episodes_of(k)
            baseline = self.baseline_factory()
            baseline.fit(task.observations, returns[:, cols], task.mask)
            values[:, cols] = baseline.predict(task.observations, task.mask)
            if self.bootstrap_truncated:
                bootstrap[cols] = baseline.predict_final(task.final_observations, task.lengths)
        advantages = gae(
            batch.rewards,
            values,
            batch.mask,
            batch.terminated,
            batch.truncated,
            self.gamma,
            self.gae_lambda,
            bootstrap,
        )
        if self.normalize_advantages:
            mean = self.task_mean(advantages, batch).repeat_interleave(per_task)
            var = self.task_mean((advantages - mean) ** 2, batch).repeat_interleave(per_task)
            advantages = (advantages - mean) / (var.sqrt() + 1e-8) * batch.mask
        return advantages

    def loss(
        self,
        params: Params,
        batch: EpisodeBatch,
        advantages: torch.Tensor,
        sampling_log_probs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-task inner loss ``[K]`` of per-task ``params`` (leading axis ``K``)."""
        log_probs = self.log_probs(params, batch)
        if self.estimator == "lvc":
            if sampling_log_probs is None:
                raise ValueError(
                    "the 'lvc' estimator needs the sampling policy's log-probabilities"
                )
            weights = torch.exp(log_probs - sampling_log_probs)
        else:
            weights = log_probs
        return -self.task_mean(weights * advantages, batch)

    def log_probs(self, params: Params, batch: EpisodeBatch) -> torch.Tensor:
        """``[T, B]`` log-probabilities of the batch's actions under per-task ``params``."""
        dist = self.policy.batched(params, batch.per_task(batch.observations))
        return batch.time_major(dist.log_prob(batch.per_task(batch.actions)))

    def update(
        self,
        params: Params,
        batch: EpisodeBatch,
        advantages: torch.Tensor,
        create_graph: bool,
        sampling_log_probs: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One inner step: ``params_k - alpha * grad_k`` for every task ``k`` at once.

        ``create_graph=True`` keeps the step differentiable (second-order MAML); otherwise the
        gradient is treated as a constant (first-order). Under ``torch.no_grad()`` the step is
        computed all the same, and the adapted parameters come out detached.
        """
        if not torch.is_grad_enabled():
            with torch.enable_grad():
                leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
                adapted = self.update(leaves, batch, advantages, False, sampling_log_probs)
            return {k: v.detach() for k, v in adapted.items()}
        loss = self.loss(params, batch, advantages, sampling_log_probs).sum()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"inner loss is {loss.item()}")
        names = list(params)
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=create_graph)
        return {
            name: params[name] - self.step_size_of(name) * grad
            for name, grad in zip(names, grads, strict=True)
        }

    def adapt(
        self,
        batch: EpisodeBatch,
        params: Params,
        advantages: torch.Tensor | None = None,
        sampling_log_probs: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One detached inner step from per-task ``params`` on ``batch`` (for sampling and
        evaluation; the meta-gradient re-runs :meth:`update` with a graph)."""
        if advantages is None:
            advantages = self.advantages(batch)
        with torch.no_grad():
            if sampling_log_probs is None and self.estimator == "lvc":
                sampling_log_probs = self.log_probs(params, batch)
            return self.update(params, batch, advantages, False, sampling_log_probs)
