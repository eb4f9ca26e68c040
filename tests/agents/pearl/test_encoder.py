"""PEARL's context encoder: the product of Gaussians against its closed form, the mean embedding,
and a posterior that narrows with context."""

from __future__ import annotations

import math

import pytest
import torch

from metarl.agents.pearl.encoder import (
    ContextEncoder,
    Gaussian,
    kl_to_unit_gaussian,
    mean_embedding,
    product_of_gaussians,
)


def _log_density(x: torch.Tensor, mean: torch.Tensor, variance: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((x - mean) ** 2 / variance + torch.log(2 * math.pi * variance))


def test_product_of_two_gaussians_is_the_closed_form():
    m1, v1, m2, v2 = 0.3, 0.5, -1.0, 2.0
    mean = torch.tensor([[[m1], [m2]]], dtype=torch.float64)
    variance = torch.tensor([[[v1], [v2]]], dtype=torch.float64)
    post = product_of_gaussians(mean, variance)
    assert post.variance.item() == pytest.approx(v1 * v2 / (v1 + v2))
    assert post.mean.item() == pytest.approx((m1 * v2 + m2 * v1) / (v1 + v2))


def test_product_density_is_the_normalised_product_of_the_factors():
    torch.manual_seed(0)
    mean = torch.randn(3, 7, 4, dtype=torch.float64)
    variance = torch.rand(3, 7, 4, dtype=torch.float64) + 0.1
    post = product_of_gaussians(mean, variance)
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)[:, None, None]
    factors = _log_density(x[..., None, :], mean, variance).sum(dim=-2)
    # log q(x) - sum_n log N(x; mu_n, var_n) does not depend on x
    gap = _log_density(x, post.mean, post.variance) - factors
    torch.testing.assert_close(gap - gap[:1], torch.zeros_like(gap))


def test_masked_factors_are_left_out_and_an_empty_context_gives_the_prior():
    torch.manual_seed(1)
    mean, variance = torch.randn(2, 5, 3), torch.rand(2, 5, 3) + 0.1
    mask = torch.tensor([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0]])
    post = product_of_gaussians(mean, variance, mask)
    kept = product_of_gaussians(mean[:1, [0, 1, 3]], variance[:1, [0, 1, 3]])
    torch.testing.assert_close(post.mean[0], kept.mean[0])
    torch.testing.assert_close(post.variance[0], kept.variance[0])
    torch.testing.assert_close(post.mean[1], torch.zeros(3))
    torch.testing.assert_close(post.variance[1], torch.ones(3))
    torch.testing.assert_close(mean_embedding(mean, mask).mean[1], torch.zeros(3))


@pytest.mark.parametrize("aggregation", ["product", "mean"])
def test_aggregation_is_permutation_invariant(aggregation):
    torch.manual_seed(2)
    encoder = ContextEncoder(6, 3, (16, 16), aggregation)
    context = torch.randn(4, 9, 6)
    shuffled = context[:, torch.randperm(9)]
    a, b = encoder(context), encoder(shuffled)
    torch.testing.assert_close(a.mean, b.mean)
    torch.testing.assert_close(a.variance, b.variance)


def test_mean_aggregation_is_the_arithmetic_mean_of_the_embeddings():
    torch.manual_seed(3)
    encoder = ContextEncoder(6, 3, (16,), "mean")
    context = torch.randn(2, 5, 6)
    embeddings = torch.stack([torch.stack([encoder.net(c) for c in task]) for task in context])
    post = encoder(context)
    torch.testing.assert_close(post.mean, embeddings.mean(dim=1))
    assert (post.variance == 0).all()
    assert (post.sample(torch.Generator().manual_seed(0)) == post.mean).all()


def test_posterior_narrows_as_context_grows():
    torch.manual_seed(4)
    encoder = ContextEncoder(6, 5, (32, 32), "product")
    context = torch.randn(3, 40, 6)
    variances = torch.stack([encoder(context[:, :n]).variance for n in range(1, 41)])
    assert (variances[1:] < variances[:-1]).all()
    assert (encoder(context[:, :1]).variance < encoder.prior(3).variance).all()


def test_kl_to_the_unit_gaussian_matches_torch():
    torch.manual_seed(5)
    post = Gaussian(torch.randn(4, 3), torch.rand(4, 3) + 0.05)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(post.mean, post.variance.sqrt()),
        torch.distributions.Normal(0.0, 1.0),
    ).sum(dim=-1)
    torch.testing.assert_close(kl_to_unit_gaussian(post), expected)
    assert kl_to_unit_gaussian(Gaussian(torch.zeros(2, 3), torch.ones(2, 3))).abs().max() == 0


def test_unknown_aggregation_is_refused():
    with pytest.raises(ValueError, match=r"aggregation must be one of \('product', 'mean'\), got 'max'"):
        ContextEncoder(4, 2, (8,), "max")
