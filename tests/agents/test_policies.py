"""Tests of metarl.agents.policies: distributions, functional_call with param dicts, KL, factory."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch

from metarl.agents.policies import (
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    kl_divergence,
    make_policy,
)


def _perturbed(module: torch.nn.Module, seed: int, scale: float = 0.3) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        name: value.detach() + scale * torch.randn(value.shape, generator=gen)
        for name, value in module.named_parameters()
    }


def _numpy_mlp(params: dict[str, torch.Tensor], prefix: str, x: np.ndarray, act) -> np.ndarray:
    """Forward pass of a Sequential of Linear/activation layers, written out in numpy."""
    indices = sorted({int(k.split(".")[1]) for k in params if k.startswith(prefix + ".")})
    for i, index in enumerate(indices):
        w = params[f"{prefix}.{index}.weight"].detach().double().numpy()
        b = params[f"{prefix}.{index}.bias"].detach().double().numpy()
        x = x @ w.T + b
        if i < len(indices) - 1:
            x = act(x)
    return x


def test_gaussian_mean_std_and_log_prob_match_numpy():
    torch.manual_seed(0)
    policy = GaussianMLPPolicy(3, 2, hidden_sizes=(5, 4), init_log_std=-0.5)
    obs = torch.randn(7, 4, 3)
    actions = torch.randn(7, 4, 2)
    params = dict(policy.named_parameters())
    with torch.no_grad():
        dist = policy(obs)
    mean = _numpy_mlp(params, "mean", obs.double().numpy(), np.tanh)
    std = np.exp(-0.5)
    a = actions.double().numpy()
    log_prob = (-0.5 * ((a - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)
    np.testing.assert_allclose(dist.mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist.stddev.numpy(), np.full((7, 4, 2), std), rtol=1e-6)
    assert dist.batch_shape == (7, 4) and dist.event_shape == (2,)
    np.testing.assert_allclose(dist.log_prob(actions).numpy(), log_prob, rtol=1e-5, atol=1e-5)


def test_relu_activation_is_used():
    torch.manual_seed(1)
    policy = GaussianMLPPolicy(3, 2, hidden_sizes=(6,), activation="ReLU")
    obs = torch.randn(20, 3)
    params = dict(policy.named_parameters())
    relu = _numpy_mlp(params, "mean", obs.double().numpy(), lambda x: np.maximum(x, 0.0))
    tanh = _numpy_mlp(params, "mean", obs.double().numpy(), np.tanh)
    np.testing.assert_allclose(policy(obs).mean.detach().numpy(), relu, rtol=1e-5, atol=1e-6)
    assert np.abs(relu - tanh).max() > 1e-2


@pytest.mark.parametrize("cls", [GaussianMLPPolicy, CategoricalMLPPolicy])
def test_unknown_activation_names_value_and_allowed(cls):
    with pytest.raises(ValueError, match=r"'swish'.*relu.*tanh"):
        cls(3, 2, activation="swish")


def test_categorical_log_prob_of_int_actions_time_major():
    torch.manual_seed(2)
    policy = CategoricalMLPPolicy(4, 5, hidden_sizes=(8,))
    obs = torch.randn(6, 3, 4)
    actions = torch.randint(0, 5, (6, 3), dtype=torch.int64)
    params = dict(policy.named_parameters())
    logits = _numpy_mlp(params, "logits", obs.double().numpy(), np.tanh)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = np.take_along_axis(log_softmax, actions.numpy()[..., None], -1)[..., 0]
    log_prob = policy(obs).log_prob(actions)
    assert log_prob.shape == (6, 3)
    np.testing.assert_allclose(log_prob.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_gaussian_kl_matches_closed_form():
    torch.manual_seed(3)
    policy = GaussianMLPPolicy(3, 2, hidden_sizes=(8,))
    obs = torch.randn(5, 4, 3)
    params = _perturbed(policy, seed=10)
    p, q = policy(obs), policy(obs, params)
    m1, s1 = p.mean.detach().double().numpy(), p.stddev.detach().double().numpy()
    m2, s2 = q.mean.detach().double().numpy(), q.stddev.detach().double().numpy()
    assert np.abs(m1 - m2).max() > 1e-2 and np.abs(s1 - s2).max() > 1e-2
    expected = (np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(-1)
    kl = kl_divergence(p, q)
    assert kl.shape == (5, 4)
    np.testing.assert_allclose(kl.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert float(kl_divergence(p, p).detach().abs().max()) < 1e-6


def test_categorical_kl_matches_closed_form():
    torch.manual_seed(4)
    policy = CategoricalMLPPolicy(3, 4, hidden_sizes=(8,))
    obs = torch.randn(5, 2, 3)
    params = _perturbed(policy, seed=11)
    p, q = policy(obs), policy(obs, params)
    logits_p = _numpy_mlp(dict(policy.named_parameters()), "logits", obs.double().numpy(), np.tanh)
    logits_q = _numpy_mlp(params, "logits", obs.double().numpy(), np.tanh)
    prob_p = np.exp(logits_p) / np.exp(logits_p).sum(-1, keepdims=True)
    prob_q = np.exp(logits_q) / np.exp(logits_q).sum(-1, keepdims=True)
    expected = (prob_p * (np.log(prob_p) - np.log(prob_q))).sum(-1)
    assert expected.min() > 1e-4
    kl = kl_divergence(p, q)
    assert kl.shape == (5, 2)
    np.testing.assert_allclose(kl.detach().numpy(), expected, rtol=1e-5, atol=1e-7)


def test_kl_of_different_types_raises():
    obs = torch.zeros(2, 3)
    gaussian = GaussianMLPPolicy(3, 2, hidden_sizes=(4,))(obs)
    categorical = CategoricalMLPPolicy(3, 2, hidden_sizes=(4,))(obs)
    with pytest.raises(TypeError, match="Independent and Categorical"):
        kl_divergence(gaussian, categorical)


@pytest.mark.parametrize("cls", [GaussianMLPPolicy, CategoricalMLPPolicy])
def test_functional_call_with_own_params_equals_module(cls):
    torch.manual_seed(5)
    policy = cls(3, 2, hidden_sizes=(8, 8))
    obs = torch.randn(4, 6, 3)
    own = policy(obs)
    via_params = policy(obs, dict(policy.named_parameters()))
    for name in ("mean", "stddev") if cls is GaussianMLPPolicy else ("logits",):
        torch.testing.assert_close(getattr(via_params, name), getattr(own, name), rtol=0, atol=0)


@pytest.mark.parametrize("cls", [GaussianMLPPolicy, CategoricalMLPPolicy])
def test_functional_call_with_other_params_equals_loaded_copy(cls):
    torch.manual_seed(6)
    policy = cls(3, 2, hidden_sizes=(8,))
    obs = torch.randn(10, 3)
    params = _perturbed(policy, seed=12)
    clone = copy.deepcopy(policy)
    clone.load_state_dict(params)
    before = {k: v.detach().clone() for k, v in policy.named_parameters()}
    dist, expected = policy(obs, params), clone(obs)
    name = "mean" if cls is GaussianMLPPolicy else "logits"
    torch.testing.assert_close(getattr(dist, name), getattr(expected, name))
    assert not torch.allclose(getattr(dist, name), getattr(policy(obs), name))
    for key, value in policy.named_parameters():  # the module itself is untouched
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("cls", [GaussianMLPPolicy, CategoricalMLPPolicy])
def test_gradient_flows_to_params_dict_not_module(cls):
    torch.manual_seed(7)
    policy = cls(3, 2, hidden_sizes=(8,))
    obs = torch.randn(12, 3)
    dist0 = policy(obs)
    actions = dist0.sample()
    params = {k: v.detach().clone().requires_grad_() for k, v in policy.named_parameters()}
    loss = -policy(obs, params).log_prob(actions).mean()
    inner = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    assert all(float(g.detach().abs().sum()) > 0 for g in inner)
    assert all(p.grad is None for p in policy.parameters())

    # second order, as in MAML: adapted = params - lr * grad, then differentiate through the step
    adapted = {k: v - 0.5 * g for (k, v), g in zip(params.items(), inner, strict=True)}
    outer = -policy(obs, adapted).log_prob(actions).mean()
    second_order = torch.autograd.grad(outer, list(params.values()), retain_graph=True)
    first_order = torch.autograd.grad(outer, list(adapted.values()))
    difference = sum(
        float((a - b).abs().sum()) for a, b in zip(second_order, first_order, strict=True)
    )
    assert difference > 1e-4  # the outer gradient went through the inner step's Hessian


def test_make_policy_from_spaces():
    obs_space = gym.spaces.Box(-1.0, 1.0, shape=(4,))
    gaussian = make_policy(obs_space, gym.spaces.Box(-1.0, 1.0, shape=(3,)), (16,), "relu")
    assert isinstance(gaussian, GaussianMLPPolicy)
    assert (gaussian.obs_dim, gaussian.action_dim, gaussian.hidden_sizes) == (4, 3, (16,))
    assert gaussian(torch.zeros(2, 4)).sample().shape == (2, 3)
    categorical = make_policy(obs_space, gym.spaces.Discrete(5), (16,), "tanh")
    assert isinstance(categorical, CategoricalMLPPolicy)
    assert categorical(torch.zeros(2, 4)).probs.shape == (2, 5)


@pytest.mark.parametrize(
    ("obs_space", "action_space", "named"),
    [
        (gym.spaces.Box(-1.0, 1.0, shape=(2, 2)), gym.spaces.Discrete(2), "Box"),
        (gym.spaces.Discrete(3), gym.spaces.Discrete(2), "Discrete"),
        (gym.spaces.Box(-1.0, 1.0, shape=(2,)), gym.spaces.MultiDiscrete([2, 2]), "MultiDiscrete"),
        (gym.spaces.Box(-1.0, 1.0, shape=(2,)), gym.spaces.Box(-1, 1, shape=(2, 2)), r"\(2, 2\)"),
    ],
)
def test_make_policy_rejects_other_spaces(obs_space, action_space, named):
    with pytest.raises(TypeError, match=named):
        make_policy(obs_space, action_space, (8,), "tanh")
