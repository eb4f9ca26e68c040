"""Pure helpers for trust-region updates: flat gradients, Hessian-vector products, conjugate
gradient and a backtracking line search on the KL constraint.

Parameters may be given as a sequence of tensors or a mapping name -> tensor (as in
``dict(module.named_parameters())``); flat vectors concatenate them in that order.

>>> import torch
>>> a = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
>>> conjugate_gradient(lambda v: a @ v, torch.tensor([1.0, 2.0])).solution
tensor([0.0909, 0.6364])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch

from metarl.validation import require_int

__all__ = [
    "ConjugateGradientResult",
    "LineSearchResult",
    "Tensors",
    "backtracking_line_search",
    "conjugate_gradient",
    "flat_grad",
    "flatten_tensors",
    "hessian_vector_product",
    "per_task_gauss_newton_product",
    "unflatten_tensors",
]

Tensors = Sequence[torch.Tensor] | Mapping[str, torch.Tensor]
"""A list of tensors or a dict of named tensors."""


def _as_list(tensors: Tensors) -> list[torch.Tensor]:
    return list(tensors.values()) if isinstance(tensors, Mapping) else list(tensors)


def flatten_tensors(tensors: Tensors) -> torch.Tensor:
    """Concatenate the flattened tensors (a dict's values, in its order) into one vector."""
    items = _as_list(tensors)
    if not items:
        raise ValueError("cannot flatten an empty collection of tensors")
    return torch.cat([t.reshape(-1) for t in items])


def unflatten_tensors(
    vector: torch.Tensor, like: Tensors
) -> list[torch.Tensor] | dict[str, torch.Tensor]:
    """Split ``vector`` into tensors shaped like ``like``: a dict with its keys, else a list.

    The pieces are views of ``vector`` (so gradients flow back to it).
    """
    items = _as_list(like)
    total = sum(t.numel() for t in items)
    if vector.dim() != 1 or vector.numel() != total:
        raise ValueError(
            f"vector must be 1-D with {total} entries to match, got shape {tuple(vector.shape)}"
        )
    pieces = [
        p.view_as(t) for p, t in zip(vector.split([t.numel() for t in items]), items, strict=True)
    ]
    if isinstance(like, Mapping):
        return dict(zip(like.keys(), pieces, strict=True))
    return pieces


def flat_grad(
    output: torch.Tensor,
    params: Tensors,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> torch.Tensor:
    """Gradient of the scalar ``output`` w.r.t. ``params`` as one flat vector.

    Parameters that ``output`` does not depend on get zero gradient.
    """
    grads = torch.autograd.grad(
        output,
        _as_list(params),
        create_graph=create_graph,
        retain_graph=retain_graph,
        materialize_grads=True,
    )
    return flatten_tensors(grads)


def hessian_vector_product(
    kl_fn: Callable[[], torch.Tensor], params: Tensors, damping: float = 0.0
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return ``v -> (H + damping * I) v`` with ``H`` the Hessian of the scalar ``kl_fn()``.

    ``kl_fn`` is called once, here; its gradient graph is kept (``create_graph=True``) and each call
    of the returned function differentiates ``grad(kl) . v`` again with ``retain_graph=True``. The
    product is detached. Release the function to free the graph.
    """
    items = _as_list(params)
    grad = flat_grad(kl_fn(), items, create_graph=True)

    def product(vector: torch.Tensor) -> torch.Tensor:
        if vector.shape != grad.shape:
            raise ValueError(
                f"vector must have shape {tuple(grad.shape)}, got {tuple(vector.shape)}"
            )
        vector = vector.detach().to(grad.dtype)
        hv = flat_grad(grad @ vector, items, retain_graph=True)
        return hv.detach() + damping * vector

    return product


def per_task_gauss_newton_product(
    adapt: Callable[[dict[str, torch.Tensor]], Mapping[str, torch.Tensor]],
    outputs: Callable[[dict[str, torch.Tensor]], Sequence[torch.Tensor]],
    divergence: Callable[[Sequence[torch.Tensor]], torch.Tensor],
    start: Mapping[str, torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return ``v -> H v`` for ``H`` the Hessian of ``divergence(outputs(adapt(start)))`` w.r.t.
    shared parameters ``theta`` of which ``start`` holds one copy per task (leading axis ``K``).

    Computed as ``sum_k J_k^T G_k^T M G_k J_k v``: ``J_k`` is the Jacobian of task ``k``'s adapted
    parameters w.r.t. its start, ``G_k`` that of the outputs (e.g. the policy's distribution
    parameters on the post-update episodes) w.r.t. the adapted parameters, ``M`` the Hessian of
    ``divergence`` w.r.t. the outputs. This equals the full Hessian only where ``divergence``'s
    gradient w.r.t. the outputs vanishes (each curvature term it drops is multiplied by that
    gradient), as for a KL at the policies it compares against: TRPO's expansion point. Two
    requirements:

    - task ``k``'s adapted parameters depend on task ``k``'s start only (per-task adaptation);
    - each ``J_k`` is symmetric, so ``J_k v`` is a vector-Jacobian product, as for one gradient
      step with a scalar step size (``J_k = I - alpha * Hess L_k``) or a first-order step.

    ``M`` acts on the outputs only (elementwise work for a policy's distribution), and ``G_k u`` is
    differentiated out of ``G_k^T r`` (linear in ``r``), so a product needs second derivatives of
    the inner step and first ones of the network on the outputs' episodes, where differentiating
    ``grad(divergence) . v`` through ``adapt`` needs third ones. ``adapt``, ``outputs`` and
    ``divergence`` run once, here; the product is detached.
    """
    leaves = {name: value.detach().clone().requires_grad_() for name, value in start.items()}
    adapted = list(adapt(leaves).values())
    at = [value.detach().requires_grad_() for value in adapted]
    produced = list(outputs(dict(zip(leaves, at, strict=True))))
    free = [value.detach().requires_grad_() for value in produced]
    divergence_grads = torch.autograd.grad(
        divergence(free), free, create_graph=True, materialize_grads=True
    )
    probes = [torch.zeros_like(value, requires_grad=True) for value in produced]
    pulled_back = torch.autograd.grad(  # G^T r, linear in the probes r
        produced, at, probes, create_graph=True, materialize_grads=True
    )
    shared = [leaf[0] for leaf in leaves.values()]  # one task's tensors: the shapes of theta

    def grad(
        outs: Sequence[torch.Tensor], ins: Sequence[torch.Tensor], vectors: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, ...]:
        return torch.autograd.grad(outs, ins, vectors, retain_graph=True, materialize_grads=True)

    def product(vector: torch.Tensor) -> torch.Tensor:
        pieces = unflatten_tensors(vector.detach(), shared)
        per_task = [
            piece.expand_as(leaf) for piece, leaf in zip(pieces, leaves.values(), strict=True)
        ]
        moved = grad(adapted, list(leaves.values()), per_task)  # J v
        output_moves = grad(pulled_back, probes, moved)  # G J v
        curvature = grad(divergence_grads, free, output_moves)  # M G J v
        pulled = grad(produced, at, curvature)  # G^T M G J v
        return flatten_tensors([g.sum(0) for g in grad(adapted, list(leaves.values()), pulled)])

    return product


class ConjugateGradientResult(NamedTuple):
    """Outcome of :func:`conjugate_gradient`."""

    solution: torch.Tensor
    """The approximate solution ``x``."""
    residual: torch.Tensor
    """``b - A x``, kept up to date by the iteration (so ``A x = b - residual`` costs no product)."""


def conjugate_gradient(
    hvp_fn: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iterations: int = 10,
    residual_tol: float = 1e-10,
) -> ConjugateGradientResult:
    """Approximately solve ``A x = b`` for symmetric positive-definite ``A``, ``hvp_fn(v) = A v``.

    Starts from ``x = 0`` and stops after ``iterations`` steps or once the squared residual norm
    ``|b - A x|^2`` is below ``residual_tol``. Returns detached flat tensors.
    """
    b = b.detach()
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    r_dot_r = r @ r
    for _ in range(iterations):
        if r_dot_r < residual_tol:
            break
        a_p = hvp_fn(p).detach()
        alpha = r_dot_r / (p @ a_p)
        x = x + alpha * p
        r = r - alpha * a_p
        new_r_dot_r = r @ r
        p = r + (new_r_dot_r / r_dot_r) * p
        r_dot_r = new_r_dot_r
    return ConjugateGradientResult(x, r)


def _scalar(value: torch.Tensor | float) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


class LineSearchResult(NamedTuple):
    """Outcome of :func:`backtracking_line_search`."""

    accepted: bool
    """Whether some step fraction satisfied both conditions."""
    fraction: float
    """Accepted fraction of the full step, 0.0 if none was accepted."""
    loss: float
    """Surrogate loss at the accepted fraction (at the last fraction tried if none was)."""
    kl: float
    """KL at the accepted fraction (at the last fraction tried if none was)."""
    num_evaluations: int
    """How many fractions were evaluated."""


def backtracking_line_search(
    evaluate: Callable[[float], tuple[torch.Tensor | float, torch.Tensor | float]],
    old_loss: torch.Tensor | float,
    max_kl: float,
    max_steps: int = 15,
    backtrack_ratio: float = 0.8,
) -> LineSearchResult:
    """Try fractions ``1, r, r**2, ...`` (``r = backtrack_ratio``, ``max_steps`` of them) of a full
    step; accept the first whose surrogate loss is below ``old_loss`` and whose KL is at most
    ``max_kl``.

    ``evaluate(fraction) -> (surrogate_loss, kl)`` evaluates the parameters moved by ``fraction``
    times the full step (it owns the step). Non-finite losses or KLs are rejected. The caller
    applies the accepted fraction; on rejection (``accepted=False``, ``fraction=0.0``) it keeps the
    old parameters.
    """
    if not 0.0 < backtrack_ratio < 1.0:
        raise ValueError(f"backtrack_ratio must lie in (0, 1), got {backtrack_ratio!r}")
    require_int("max_steps", max_steps)
    old = _scalar(old_loss)
    loss = kl = math.nan
    for step in range(max_steps):
        fraction = backtrack_ratio**step
        loss_value, kl_value = evaluate(fraction)
        loss, kl = _scalar(loss_value), _scalar(kl_value)
        if math.isfinite(loss) and math.isfinite(kl) and loss < old and kl <= max_kl:
            return LineSearchResult(True, fraction, loss, kl, step + 1)
    return LineSearchResult(False, 0.0, loss, kl, max_steps)
