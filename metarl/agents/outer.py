"""Outer loops (meta-optimisers) of MAML-style agents, swappable behind one interface.

An outer loop receives the meta-parameters and a closure that re-runs the inner adaptation from
their current values and returns a :class:`MetaObjective`; it updates the parameters in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn

from metarl.agents.optimization import (
    backtracking_line_search,
    conjugate_gradient,
    flat_grad,
    flatten_tensors,
)
from metarl.checkpoint import CheckpointError
from metarl.validation import require_finite, short_repr

__all__ = ["PPO", "TRPO", "MetaObjective", "OuterLoop", "ProMP"]


class MetaObjective(NamedTuple):
    """What an outer loop needs, evaluated at the current meta-parameters.

    ``log_ratio`` / ``advantages`` / ``mask`` are ``[T, B]`` tensors on the post-update episodes;
    ``ratio`` is ``pi_new / pi_sampling`` of the adapted policies. ``post_kl_per_task`` holds each
    task's KL(sampling-time adapted policy || current adapted policy) on post-update episodes;
    ``pre_kl`` the KL between the sampling-time and current pre-update policies on pre-update
    episodes (ProMP's trust region). ``kl_hessian(n)`` returns ``v -> H v`` for ``H`` the Hessian
    of the mean post-update KL of the first ``n`` tasks (all if ``None``) w.r.t. the
    meta-parameters, at the sampling-time parameters (TRPO's expansion point), on flat vectors in
    the outer loop's parameter order.
    """

    log_ratio: torch.Tensor
    advantages: torch.Tensor
    task_mean: Callable[[torch.Tensor], torch.Tensor]  # [T, B] -> [K] masked mean per task
    post_kl_per_task: torch.Tensor  # [K]
    pre_kl: torch.Tensor
    kl_hessian: Callable[[int | None], Callable[[torch.Tensor], torch.Tensor]]

    @property
    def post_kl(self) -> torch.Tensor:
        """Mean over tasks of the post-update KL (TRPO's constraint)."""
        return self.post_kl_per_task.mean()

    @property
    def num_tasks(self) -> int:
        """``K``, the number of tasks the objective covers."""
        return self.post_kl_per_task.shape[0]

    def surrogate(self) -> torch.Tensor:
        """Importance-weighted policy-gradient loss, mean over tasks (TRPO's objective)."""
        return -self.task_mean(torch.exp(self.log_ratio) * self.advantages).mean()

    def clipped_surrogate(self, clip: float) -> torch.Tensor:
        """PPO's clipped loss, mean over tasks."""
        ratio = torch.exp(self.log_ratio)
        unclipped = ratio * self.advantages
        clipped = ratio.clamp(1 - clip, 1 + clip) * self.advantages
        return -self.task_mean(torch.min(unclipped, clipped)).mean()


Objective = Callable[[], MetaObjective]
"""``objective()``: the meta-objective at the current parameters on the tasks of the meta-batch."""


class OuterLoop(Protocol):
    """Updates ``parameters`` in place from ``objective``; returns metrics. Its state (settings,
    adapted coefficients, optimiser moments) round-trips through ``state_dict``."""

    def step(
        self, parameters: Sequence[nn.Parameter], objective: Objective
    ) -> dict[str, float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], parameters: Sequence[nn.Parameter]) -> None: ...


class _DataclassState:
    """``state_dict`` of a dataclass outer loop: ``{"outer_kind": its class name, "outer": its
    fields, "optimizer": the state of its optimiser, or None}``."""

    _optimizer: torch.optim.Optimizer | None = None
    _adaptive: tuple[str, ...] = ()
    """Fields that change during training (state a checkpoint restores); the others are the
    config's settings."""

    def state_dict(self) -> dict[str, Any]:
        """The outer loop's kind and fields and its optimiser's state (None before the first
        step)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        optimizer = None if self._optimizer is None else self._optimizer.state_dict()
        return {"outer_kind": type(self).__name__, "outer": fields, "optimizer": optimizer}

    def load_state_dict(self, state: dict[str, Any], parameters: Sequence[nn.Parameter]) -> None:
        """Restore :meth:`state_dict` output; the optimiser is rebuilt over ``parameters``.

        Raises:
            CheckpointError: the state is another outer loop's (its kind or fields differ).
        """
        mine = type(self).__name__
        kind = state.get("outer_kind")  # absent in checkpoints written before it was recorded
        fields = sorted(f.name for f in dataclasses.fields(self))
        if (kind is not None and kind != mine) or sorted(state["outer"]) != fields:
            theirs = kind or f"an outer loop with fields {sorted(state['outer'])}"
            raise CheckpointError(
                f"the checkpoint holds {theirs}, this learner's outer loop is {mine}; load it "
                "into a learner built with the same outer loop (config key outer)"
            )
        settings = {n: v for n, v in state["outer"].items() if n not in self._adaptive}
        mine_settings = {n: getattr(self, n) for n in settings}
        if settings != mine_settings:
            name = next(n for n in settings if settings[n] != mine_settings[n])
            raise CheckpointError(
                f"the checkpoint's outer loop has {name}={short_repr(settings[name])}, the "
                f"config {short_repr(mine_settings[name])}; a checkpoint restores the outer "
                f"loop's state ({', '.join(self._adaptive) or 'none'}), never its settings"
            )
        for name in self._adaptive:
            value = state["outer"][name]
            require_finite(name, value, 0.0, inclusive=False, error=CheckpointError)
            setattr(self, name, value)
        if state["optimizer"] is not None:
            self.optimizer(parameters).load_state_dict(state["optimizer"])

    def optimizer(self, parameters: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
        raise TypeError(f"{type(self).__name__} has no optimiser state to restore")


def _check_finite(name: str, value: torch.Tensor) -> None:
    if not torch.isfinite(value).all():
        raise FloatingPointError(f"{name} is {value.item() if value.numel() == 1 else value}")


@dataclass
class TRPO(_DataclassState):
    """TRPO outer loop of MAML (Finn et al. 2017; Schulman et al. 2015).

    Natural-gradient step on the post-update surrogate under ``mean KL <= max_kl``: conjugate
    gradient with Hessian-vector products of the KL through the inner update, then a backtracking
    line search.

    ``curvature_tasks``: if set, the Hessian-vector products use the KL of only the first that many
    tasks of the meta-batch (rllab's ``subsample_factor``, over tasks; tasks are drawn i.i.d., so
    these are a random subset), which makes each product cheaper in proportion; the gradient and
    the line search's KL check still use every task. ``None`` (default, the papers' setting) uses
    all tasks.
    """

    max_kl: float = 0.01
    cg_iterations: int = 10
    cg_damping: float = 1e-5
    line_search_steps: int = 15
    backtrack_ratio: float = 0.8
    curvature_tasks: int | None = None

    def __post_init__(self) -> None:
        if not self.max_kl > 0:
            raise ValueError(f"max_kl must be > 0, got {self.max_kl!r}")
        if self.cg_iterations < 1 or self.line_search_steps < 1:
            raise ValueError("cg_iterations and line_search_steps must be >= 1")
        if self.cg_damping < 0:
            raise ValueError(f"cg_damping must be >= 0, got {self.cg_damping!r}")
        if self.curvature_tasks is not None and self.curvature_tasks < 1:
            raise ValueError(f"curvature_tasks must be >= 1 or None, got {self.curvature_tasks!r}")

    def step(self, parameters: Sequence[nn.Parameter], objective: Objective) -> dict[str, float]:
        parameters = list(parameters)
        current = objective()
        loss_before = current.surrogate()
        _check_finite("surrogate loss", loss_before)
        grad = flat_grad(loss_before, parameters, retain_graph=True)
        kl_hessian = current.kl_hessian(self.curvature_tasks)

        def hvp(vector: torch.Tensor) -> torch.Tensor:
            return kl_hessian(vector) + self.cg_damping * vector

        direction, residual = conjugate_gradient(hvp, grad, self.cg_iterations)
        curvature = direction @ (grad - residual)  # direction^T H direction, H direction = g - r
        _check_finite("natural-gradient curvature", curvature)
        full_step = direction * torch.sqrt(2 * self.max_kl / curvature.clamp_min(1e-12))
        start = flatten_tensors([p.detach() for p in parameters]).clone()

        def evaluate(fraction: float) -> tuple[float, float]:
            _assign(parameters, start - fraction * full_step)
            with torch.no_grad():
                trial = objective()
                return trial.surrogate().item(), trial.post_kl.item()

        result = backtracking_line_search(
            evaluate, loss_before.item(), self.max_kl, self.line_search_steps, self.backtrack_ratio
        )
        _assign(parameters, start - result.fraction * full_step)
        return {
            "loss_before": loss_before.item(),
            "loss_after": result.loss if result.accepted else loss_before.item(),
            "kl_after": result.kl if result.accepted else 0.0,
            "step_fraction": result.fraction,
        }


@dataclass
class PPO(_DataclassState):
    """PPO-style clipped outer loop with Adam (MAML-PPO): several epochs on one meta-batch."""

    learning_rate: float = 3e-4
    clip: float = 0.2
    epochs: int = 5
    max_grad_norm: float = 0.5

    def __post_init__(self) -> None:
        if not self.learning_rate > 0 or not 0 < self.clip < 1 or self.epochs < 1:
            raise ValueError(
                f"need learning_rate > 0, 0 < clip < 1, epochs >= 1; got {self.learning_rate}, "
                f"{self.clip}, {self.epochs}"
            )
        self._optimizer: torch.optim.Optimizer | None = None

    def optimizer(self, parameters: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
        """The Adam optimiser (created on first use; its state is part of a checkpoint)."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(list(parameters), lr=self.learning_rate)
        return self._optimizer

    def loss(self, current: MetaObjective) -> torch.Tensor:
        return current.clipped_surrogate(self.clip)

    def step(self, parameters: Sequence[nn.Parameter], objective: Objective) -> dict[str, float]:
        parameters = list(parameters)
        optimizer = self.optimizer(parameters)
        losses = []
        for _ in range(self.epochs):
            current = objective()
            loss = self.loss(current)
            _check_finite("outer loss", loss)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
            optimizer.step()
            losses.append(loss.item())
        final = objective()
        return {
            "loss_before": losses[0],
            "loss_after": self.loss(final).item(),
            "kl_after": final.post_kl.item(),
            "pre_kl": final.pre_kl.item(),
        }


@dataclass
class ProMP(PPO):
    """ProMP outer loop (Rothfuss et al. 2019): clipped post-update surrogate plus an adaptive
    KL penalty ``eta * KL(pi_theta_old || pi_theta)`` on the pre-update policy.

    Use with the ``"lvc"`` inner estimator. ``eta`` doubles when the pre-update KL exceeds
    ``1.5 * target_kl`` and halves below ``target_kl / 1.5``.
    """

    kl_coeff: float = 5e-4
    target_kl: float = 0.01
    adapt_kl_coeff: bool = True
    _adaptive = ("kl_coeff",)

    def loss(self, current: MetaObjective) -> torch.Tensor:
        return current.clipped_surrogate(self.clip) + self.kl_coeff * current.pre_kl

    def step(self, parameters: Sequence[nn.Parameter], objective: Objective) -> dict[str, float]:
        metrics = super().step(parameters, objective)
        if self.adapt_kl_coeff:
            if metrics["pre_kl"] > 1.5 * self.target_kl:
                self.kl_coeff *= 2.0
            elif metrics["pre_kl"] < self.target_kl / 1.5:
                self.kl_coeff /= 2.0
        metrics["kl_coeff"] = self.kl_coeff
        return metrics


@torch.no_grad()
def _assign(parameters: Sequence[nn.Parameter], flat: torch.Tensor) -> None:
    offset = 0
    for p in parameters:
        p.copy_(flat[offset : offset + p.numel()].view_as(p))
        offset += p.numel()
