"""Tests of metarl.agents.optimization: CG, flat gradients, HVPs and the KL line search."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metarl.agents.optimization import (
    backtracking_line_search,
    conjugate_gradient,
    flat_grad,
    flatten_tensors,
    hessian_vector_product,
    unflatten_tensors,
)
from metarl.agents.policies import GaussianMLPPolicy, kl_divergence


def _spd(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    return m @ m.T + n * np.eye(n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conjugate_gradient_matches_numpy_solve(seed):
    a = _spd(10, seed)
    b = np.random.default_rng(100 + seed).normal(size=10)
    calls = []

    def matvec(v: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return torch.from_numpy(a) @ v

    x, residual = conjugate_gradient(matvec, torch.from_numpy(b), iterations=10, residual_tol=1e-24)
    assert x.dtype == torch.float64
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=0, atol=1e-6)
    assert len(calls) <= 10
    np.testing.assert_allclose(residual.numpy(), b - a @ x.numpy(), rtol=0, atol=1e-9)


def test_conjugate_gradient_stops_on_residual_and_handles_zero_rhs():
    a = torch.from_numpy(_spd(10, 3))
    calls = []

    def matvec(v):
        calls.append(1)
        return a @ v

    x = conjugate_gradient(matvec, torch.zeros(10, dtype=torch.float64)).solution
    assert calls == [] and torch.equal(x, torch.zeros(10, dtype=torch.float64))
    # a diagonal system with equal eigenvalues is solved in one step, then the residual is ~0
    x = conjugate_gradient(lambda v: 4.0 * v, torch.arange(1.0, 6.0, dtype=torch.float64)).solution
    torch.testing.assert_close(x, torch.arange(1.0, 6.0, dtype=torch.float64) / 4.0)
    few, residual = conjugate_gradient(matvec, torch.ones(10, dtype=torch.float64), iterations=2)
    exact = torch.linalg.solve(a, torch.ones(10, dtype=torch.float64))
    assert float((few - exact).abs().max()) > 1e-8  # two iterations are not enough here
    # the tracked residual is b - A x also before convergence (TRPO reads x^T A x from it)
    torch.testing.assert_close(residual, torch.ones(10, dtype=torch.float64) - a @ few)


def test_flatten_and_unflatten_round_trip_lists_and_dicts():
    gen = torch.Generator().manual_seed(0)
    named = {"w": torch.randn(3, 2, generator=gen), "b": torch.randn(2, generator=gen)}
    flat = flatten_tensors(named)
    assert flat.shape == (8,)
    torch.testing.assert_close(flat[:6], named["w"].reshape(-1))
    back = unflatten_tensors(flat, named)
    assert list(back) == ["w", "b"]
    for key in named:
        assert torch.equal(back[key], named[key])
    as_list = unflatten_tensors(flat * 2, list(named.values()))
    assert isinstance(as_list, list) and torch.equal(as_list[1], named["b"] * 2)
    with pytest.raises(ValueError, match="8 entries"):
        unflatten_tensors(torch.zeros(7), named)


def test_flat_grad_matches_analytic_gradient_and_zero_fills_unused():
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    m = torch.randn(2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    unused = torch.randn(4, dtype=torch.float64, requires_grad=True)
    out = (w**2).sum() + 3.0 * m.sum() + (w[0] * m[1, 1])
    grad = flat_grad(out, {"w": w, "m": m, "unused": unused})
    expected_w = 2 * w.detach()
    expected_w[0] += m[1, 1].detach()
    expected_m = torch.full((2, 2), 3.0, dtype=torch.float64)
    expected_m[1, 1] += w[0].detach()
    expected = torch.cat([expected_w, expected_m.reshape(-1), torch.zeros(4, dtype=torch.float64)])
    torch.testing.assert_close(grad, expected)


def _nonlinear(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (torch.sin(x) * y[:3] ** 2).sum() + (x @ x) ** 2 + torch.exp(0.3 * y).sum() * x[0]


def test_hessian_vector_product_matches_finite_differences():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    params = {"x": x, "y": y}
    calls = []

    def fn():
        calls.append(1)
        return _nonlinear(x, y)

    damping = 0.1
    hvp = hessian_vector_product(fn, params, damping)

    def grad_at(flat: torch.Tensor) -> torch.Tensor:
        xs, ys = unflatten_tensors(flat, [x, y])
        xs, ys = xs.detach().requires_grad_(), ys.detach().requires_grad_()
        return flat_grad(_nonlinear(xs, ys), [xs, ys])

    point = flatten_tensors(params).detach()
    eps = 1e-5
    for _ in range(3):  # the retained graph serves repeated calls
        v = torch.randn(7, generator=gen, dtype=torch.float64)
        finite_diff = (grad_at(point + eps * v) - grad_at(point - eps * v)) / (2 * eps)
        torch.testing.assert_close(hvp(v), finite_diff + damping * v, rtol=1e-6, atol=1e-6)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="shape"):
        hvp(torch.zeros(6, dtype=torch.float64))


def test_fisher_vector_product_of_policy_kl_is_symmetric_psd():
    torch.manual_seed(3)
    policy = GaussianMLPPolicy(3, 2, hidden_sizes=(8,)).double()
    obs = torch.randn(32, 3, dtype=torch.float64)
    params = dict(policy.named_parameters())
    with torch.no_grad():
        old = policy(obs)

    hvp = hessian_vector_product(lambda: kl_divergence(old, policy(obs)).mean(), params, 0.0)
    n = flatten_tensors(params).numel()
    gen = torch.Generator().manual_seed(4)
    u, v = (torch.randn(n, generator=gen, dtype=torch.float64) for _ in range(2))
    hu, hv = hvp(u), hvp(v)
    assert float(hv.abs().max()) > 1e-3
    assert float(u @ hv) == pytest.approx(float(v @ hu), rel=1e-9)
    assert float(u @ hu) >= -1e-10 and float(v @ hv) >= -1e-10


def test_line_search_accepts_first_fraction_meeting_both_conditions():
    """Loss (x - 1)^2 and KL x^2 / 2 along x = 10 * fraction, from x = 0 (loss 1)."""
    ratio, max_kl = 0.8, 0.5
    seen = []

    def evaluate(fraction):
        seen.append(fraction)
        x = 10.0 * fraction
        return torch.tensor((x - 1.0) ** 2), torch.tensor(x**2 / 2)

    result = backtracking_line_search(evaluate, 1.0, max_kl, max_steps=15, backtrack_ratio=ratio)
    # loss improves iff fraction < 0.2; KL <= 0.5 iff fraction <= 0.1
    k = math.ceil(math.log(0.1) / math.log(ratio))
    assert result.accepted
    assert result.fraction == pytest.approx(ratio**k)
    assert result.num_evaluations == k + 1 == len(seen)
    assert result.kl <= max_kl and result.loss < 1.0
    assert seen[0] == 1.0 and seen[-1] == pytest.approx(ratio**k)


def test_line_search_rejects_when_no_fraction_qualifies():
    def evaluate(fraction):
        x = 10.0 * fraction
        return (x - 1.0) ** 2, x**2 / 2

    too_short = backtracking_line_search(evaluate, 1.0, 0.5, max_steps=5)
    assert not too_short.accepted and too_short.fraction == 0.0
    assert too_short.num_evaluations == 5
    assert too_short.kl == pytest.approx((10.0 * 0.8**4) ** 2 / 2)

    def uphill(fraction):  # a step in the wrong direction never improves the loss
        return 1.0 + fraction, 0.0

    wrong_way = backtracking_line_search(uphill, 1.0, 0.5)
    assert not wrong_way.accepted and wrong_way.fraction == 0.0
    assert wrong_way.num_evaluations == 15


def test_line_search_skips_non_finite_evaluations():
    def evaluate(fraction):
        if fraction > 0.9:
            return float("nan"), 0.0
        return -fraction, 0.01

    result = backtracking_line_search(evaluate, 0.0, 0.05)
    assert result.accepted and result.fraction == pytest.approx(0.8)
    assert result.num_evaluations == 2


def test_line_search_argument_errors():
    with pytest.raises(ValueError, match="backtrack_ratio"):
        backtracking_line_search(lambda f: (0.0, 0.0), 1.0, 0.1, backtrack_ratio=1.0)
    with pytest.raises(ValueError, match="max_steps"):
        backtracking_line_search(lambda f: (0.0, 0.0), 1.0, 0.1, max_steps=0)


def test_trpo_step_on_policy_improves_surrogate_within_kl():
    """The pieces together: natural gradient by CG on the KL Hessian, then the line search."""
    torch.manual_seed(5)
    policy = GaussianMLPPolicy(2, 1, hidden_sizes=(16,)).double()
    obs = torch.randn(64, 2, dtype=torch.float64)
    with torch.no_grad():
        old = policy(obs)
        actions = old.sample()
        old_log_prob = old.log_prob(actions)
    advantages = actions[:, 0] * obs[:, 0]  # reward actions aligned with the first observation
    params = dict(policy.named_parameters())

    def surrogate(p):
        ratio = torch.exp(policy(obs, p).log_prob(actions) - old_log_prob)
        return -(ratio * advantages).mean()

    old_loss = surrogate(params)
    grad = flat_grad(old_loss, params)
    hvp = hessian_vector_product(lambda: kl_divergence(old, policy(obs)).mean(), params, 1e-2)
    direction = conjugate_gradient(hvp, grad).solution
    max_kl = 1e-2
    step = -direction * torch.sqrt(2 * max_kl / (direction @ hvp(direction)))
    flat = flatten_tensors(params).detach()

    def evaluate(fraction):
        moved = unflatten_tensors(flat + fraction * step, params)
        with torch.no_grad():
            return surrogate(moved), kl_divergence(old, policy(obs, moved)).mean()

    result = backtracking_line_search(evaluate, old_loss.detach(), max_kl)
    assert result.accepted
    assert result.loss < float(old_loss.detach()) - 1e-4
    assert 0.0 < result.kl <= max_kl
