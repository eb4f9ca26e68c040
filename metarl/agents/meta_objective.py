"""The meta-objective of one meta-iteration, built from its sampled episodes for the outer loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.distributions import Distribution

from metarl.agents.inner import InnerLoop
from metarl.agents.optimization import hessian_vector_product, per_task_gauss_newton_product
from metarl.agents.outer import MetaObjective
from metarl.agents.policies import distribution_tensors, kl_divergence
from metarl.choices import KL_DIRECTIONS, KLDirection
from metarl.sampling import EpisodeBatch, Params, stack_params

__all__ = ["InnerStep", "MetaObjectiveBuilder", "post_update_kl"]

InnerStep = tuple[EpisodeBatch, torch.Tensor, torch.Tensor]
"""One inner step's episodes, their advantages and their sampling-time log-probabilities."""


def post_update_kl(
    sampling: Distribution, current: Distribution, direction: KLDirection
) -> torch.Tensor:
    """Per-sample KL between the sampling-time and the current adapted policies:
    ``KL(current || sampling)`` for ``"new_old"``, ``KL(sampling || current)`` for ``"old_new"``."""
    if direction == "new_old":
        return kl_divergence(current, sampling)
    if direction == "old_new":
        return kl_divergence(sampling, current)
    raise ValueError(f"kl_direction must be one of {list(KL_DIRECTIONS)}, got {direction!r}")


class MetaObjectiveBuilder:
    """``builder()`` is the :class:`~metarl.agents.outer.MetaObjective` at the current
    meta-parameters; ``builder(n)`` the one on the first ``n`` tasks of the meta-batch.

    Args:
        policy: the batched policy whose parameters (with ``meta_parameters``) are meta-learned.
        inner: the inner loop that adapted it.
        meta_parameters: what the outer loop optimises.
        train: the inner steps of the iteration (:data:`InnerStep`, in order).
        valid: the post-update episodes, sampled with ``adapted``.
        adapted: the sampling-time adapted per-task parameters.
        first_order: drop second-order terms of the meta-gradient.
        kl_direction: direction of the post-update KL (:data:`KL_DIRECTIONS`).
    """

    def __init__(
        self,
        policy: nn.Module,
        inner: InnerLoop,
        meta_parameters: Sequence[nn.Parameter],
        train: Sequence[InnerStep],
        valid: EpisodeBatch,
        adapted: Params,
        first_order: bool,
        kl_direction: KLDirection,
    ):
        self.policy, self.inner, self.meta_parameters = policy, inner, list(meta_parameters)
        self.train, self.valid, self.adapted = list(train), valid, adapted
        self.first_order, self.kl_direction = first_order, kl_direction
        self.num_tasks = valid.num_tasks
        self.episodes_per_task = valid.episodes_per_task
        with torch.no_grad():
            self.valid_advantages = inner.advantages(valid)
            self.old_post_log_probs = inner.log_probs(adapted, valid)
        self._sampling_policies: dict[int, tuple[Distribution, Distribution]] = {}

    def _initial(self, num_tasks: int, requires_grad: bool = True) -> dict[str, torch.Tensor]:
        params = stack_params(dict(self.policy.named_parameters()), num_tasks)
        return params if requires_grad else {k: v.detach() for k, v in params.items()}

    @torch.no_grad()
    def sampling_policies(self, n: int) -> tuple[Distribution, Distribution]:
        """The sampling-time post- and pre-update policies of the first ``n`` tasks, on their
        episodes (computed once per iteration, not at every line-search step)."""
        if n not in self._sampling_policies:
            post, pre = self.valid.head(n), self.train[0][0].head(n)
            old_post = self.policy.batched(
                {k: p[:n] for k, p in self.adapted.items()}, post.per_task(post.observations)
            )
            old_pre = self.policy.batched(self._initial(n, False), pre.per_task(pre.observations))
            self._sampling_policies[n] = (old_post, old_pre)
        return self._sampling_policies[n]

    def adapt(self, start: Params, n: int) -> dict[str, torch.Tensor]:
        """The first ``n`` tasks' inner steps from per-task ``start``, as differentiable as the
        meta-gradient needs (first- or second-order)."""
        cols = slice(0, n * self.episodes_per_task)
        adapted = dict(start)
        for batch, advantages, sampling_log_probs in self.train:
            adapted = self.inner.update(
                adapted,
                batch.head(n),
                advantages[:, cols],
                not self.first_order,
                sampling_log_probs[:, cols],
            )
        return adapted

    def _mean_kl(self, current: Distribution, n: int) -> torch.Tensor:
        """Per-task KL between the sampling-time policies and ``current`` (in ``kl_direction``)
        on the first ``n`` tasks' post-update episodes."""
        post = self.valid.head(n)
        kl = post_update_kl(self.sampling_policies(n)[0], current, self.kl_direction)
        return self.inner.task_mean(post.time_major(kl), post)

    def post_kl_per_task(self, adapted: Params, n: int) -> tuple[torch.Tensor, Distribution]:
        """Per-task KL between the sampling-time and the ``adapted`` policies (in
        ``kl_direction``) on the first ``n`` tasks' post-update episodes, and the adapted
        policies there."""
        post = self.valid.head(n)
        new_post = self.policy.batched(adapted, post.per_task(post.observations))
        return self._mean_kl(new_post, n), new_post

    def kl_hessian(
        self, post_kl: torch.Tensor, first_tasks: int | None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``v -> H v`` of the mean post-update KL of the first tasks of an objective whose
        per-task KL is ``post_kl``, at the sampling-time parameters: Gauss-Newton through the
        policy's distribution parameters (second derivatives of the inner step, first ones of the
        policy on the post-update episodes) where each task's inner-update Jacobian is symmetric
        (one step, fixed step size), else double backward."""
        covered = post_kl.shape[0]
        n = covered if first_tasks is None else min(first_tasks, covered)
        symmetric = len(self.train) == 1 and not isinstance(
            self.inner.step_sizes, nn.ParameterDict
        )
        if not symmetric:
            kl = post_kl.mean() if n == covered else self(n).post_kl
            return hessian_vector_product(lambda: kl, self.meta_parameters)
        post = self.valid.head(n)
        obs = post.per_task(post.observations)
        split = distribution_tensors(self.sampling_policies(n)[0])
        if split is None:  # a distribution of unknown parameters: the KL's Hessian in the adapted
            names = [name for name, _ in self.policy.named_parameters()]  # parameters instead

            def outputs(adapted: Params) -> list[torch.Tensor]:
                return list(adapted.values())

            def divergence(values: Sequence[torch.Tensor]) -> torch.Tensor:
                adapted = dict(zip(names, values, strict=True))
                return self._mean_kl(self.policy.batched(adapted, obs), n).mean()
        else:
            rebuild = split[1]

            def outputs(adapted: Params) -> list[torch.Tensor]:
                return distribution_tensors(self.policy.batched(adapted, obs))[0]

            def divergence(values: Sequence[torch.Tensor]) -> torch.Tensor:
                return self._mean_kl(rebuild(values), n).mean()

        return per_task_gauss_newton_product(
            lambda start: self.adapt(start, n), outputs, divergence, self._initial(n, False)
        )

    def __call__(self, first_tasks: int | None = None) -> MetaObjective:
        """The meta-objective on all tasks, or on the first ``first_tasks`` of them."""
        n = self.num_tasks if first_tasks is None else first_tasks
        cols = slice(0, n * self.episodes_per_task)
        post, pre = self.valid.head(n), self.train[0][0].head(n)
        post_kl, new_post = self.post_kl_per_task(self.adapt(self._initial(n), n), n)
        new_log_probs = post.time_major(new_post.log_prob(post.per_task(post.actions)))
        new_pre = self.policy.batched(self._initial(n), pre.per_task(pre.observations))
        pre_kl = self.inner.task_mean(
            pre.time_major(kl_divergence(self.sampling_policies(n)[1], new_pre)), pre
        )
        return MetaObjective(
            log_ratio=new_log_probs - self.old_post_log_probs[:, cols],
            advantages=self.valid_advantages[:, cols],
            task_mean=lambda values: self.inner.task_mean(values, post),
            post_kl_per_task=post_kl,
            pre_kl=pre_kl.mean(),
            kl_hessian=lambda first: self.kl_hessian(post_kl, first),
        )
