"""MAML-family math (meta-gradient vs finite differences) and behaviour (batched policies, errors)."""

import numpy as np
import pytest
import torch

from metarl.agents import (
    TRPO,
    GaussianMLPPolicy,
    InnerLoop,
    MetaLearner,
    ProMP,
    make_policy,
    meta_objective,
)
from metarl.agents.optimization import (
    flatten_tensors,
    hessian_vector_product,
    per_task_gauss_newton_product,
)
from metarl.agents.policies import distribution_tensors, kl_divergence
from metarl.sampling import EpisodeBatch, MultiTaskSampler, stack_params

K, E, T = 2, 3, 4


def fake_batch(seed: int, obs_dim: int = 2, action_dim: int = 2) -> EpisodeBatch:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(T, K * E, dtype=torch.float64)
    mask[-1, ::2] = 0.0  # some shorter episodes
    ended = torch.zeros(T, K * E, dtype=torch.bool)
    ended[-1, 1::2] = True
    ended[-2, ::2] = True
    return EpisodeBatch(
        observations=torch.randn(T, K * E, obs_dim, generator=g, dtype=torch.float64),
        actions=torch.randn(T, K * E, action_dim, generator=g, dtype=torch.float64),
        rewards=torch.randn(T, K * E, generator=g, dtype=torch.float64) * mask,
        terminated=ended,
        truncated=torch.zeros_like(ended),
        mask=mask,
        final_observations=torch.randn(K * E, obs_dim, generator=g, dtype=torch.float64),
        task_index=torch.arange(K).repeat_interleave(E),
    )


@pytest.fixture
def problem():
    torch.manual_seed(0)
    policy = GaussianMLPPolicy(2, 2, hidden_sizes=(3,)).double()
    train, valid = fake_batch(1), fake_batch(2)
    g = torch.Generator().manual_seed(3)
    adv_train = torch.randn(T, K * E, generator=g, dtype=torch.float64) * train.mask
    adv_valid = torch.randn(T, K * E, generator=g, dtype=torch.float64) * valid.mask
    return policy, train, valid, adv_train, adv_valid


def post_update_loss(inner, theta, train, valid, adv_train, adv_valid, create_graph=True):
    adapted = inner.update(stack_params(theta, K), train, adv_train, create_graph=create_graph)
    return outer_loss(inner, adapted, valid, adv_valid)


def outer_loss(inner, adapted, valid, adv_valid):
    """A post-update policy-gradient loss (what TRPO's surrogate equals at its expansion point)."""
    return -(inner.log_probs(adapted, valid) * adv_valid * valid.mask).sum()


def finite_difference_gradient(fn, theta, eps=1e-6):
    names = list(theta)
    flat = flatten_tensors([theta[n].detach() for n in names])
    grad = torch.zeros_like(flat)

    def at(vector):
        offset, params = 0, {}
        for n in names:
            size = theta[n].numel()
            params[n] = vector[offset : offset + size].view_as(theta[n]).requires_grad_()
            offset += size
        return fn(params).item()

    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        grad[i] = (at(flat + step) - at(flat - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("estimator", ["reinforce", "lvc"])
def test_second_order_meta_gradient_equals_finite_differences(problem, estimator):
    policy, train, valid, adv_train, adv_valid = problem
    inner = InnerLoop(policy, step_size=0.5, normalize_advantages=False, estimator=estimator)
    sampling = None
    if estimator == "lvc":
        with torch.no_grad():
            sampling = inner.log_probs(stack_params(dict(policy.named_parameters()), K), train)

    def loss_of(theta, create_graph=True):
        adapted = inner.update(
            stack_params(theta, K), train, adv_train, create_graph, sampling_log_probs=sampling
        )
        return outer_loss(inner, adapted, valid, adv_valid)

    theta = dict(policy.named_parameters())
    analytic = flatten_tensors(torch.autograd.grad(loss_of(theta), list(theta.values())))
    numeric = finite_difference_gradient(loss_of, theta)
    torch.testing.assert_close(analytic, numeric, rtol=1e-5, atol=1e-7)
    first_order = flatten_tensors(
        torch.autograd.grad(loss_of(theta, create_graph=False), list(theta.values()))
    )
    assert (first_order - numeric).norm() > 1e-3 * numeric.norm()


@pytest.mark.parametrize("new_old", [True, False])
@pytest.mark.parametrize(
    "estimator,first_order", [("reinforce", False), ("lvc", False), ("reinforce", True)]
)
def test_gauss_newton_kl_hessian_equals_double_backward_at_the_expansion_point(
    problem, estimator, first_order, new_old
):
    """TRPO's KL Hessian through the inner step, ``sum_k J_k^T F_k J_k``, equals the Hessian that
    double backward computes (third derivatives included) where the adapted policies equal the
    sampling-time ones, for either KL direction; away from that point the two differ (the
    network's curvature, which the product drops, is multiplied by the KL's gradient there)."""
    policy, train, valid, adv_train, _ = problem
    inner = InnerLoop(policy, step_size=0.5, normalize_advantages=False, estimator=estimator)
    theta = dict(policy.named_parameters())
    with torch.no_grad():
        sampling = inner.log_probs(stack_params(theta, K), train)

    def adapt(start):
        return inner.update(start, train, adv_train, not first_order, sampling)

    sampling_time = {k: v.detach() for k, v in adapt(stack_params(theta, K)).items()}
    old = policy.batched(sampling_time, valid.per_task(valid.observations))

    def kl_of(new):
        pair = (new, old) if new_old else (old, new)
        return inner.task_mean(valid.time_major(kl_divergence(*pair)), valid).mean()

    def kl(adapted):
        return kl_of(policy.batched(adapted, valid.per_task(valid.observations)))

    def outputs(adapted):  # the Gauss-Newton product's outputs: the distribution's tensors
        return distribution_tensors(policy.batched(adapted, valid.per_task(valid.observations)))[0]

    def divergence(tensors):
        return kl_of(distribution_tensors(old)[1](tensors))

    vector = torch.randn(sum(p.numel() for p in theta.values()), dtype=torch.float64)

    def products():
        reference = hessian_vector_product(
            lambda: kl(adapt(stack_params(theta, K))), list(theta.values())
        )
        start = {k: v.detach() for k, v in stack_params(theta, K).items()}
        product = per_task_gauss_newton_product(adapt, outputs, divergence, start)
        return product(vector), reference(vector)

    gauss_newton, reference = products()
    torch.testing.assert_close(gauss_newton, reference, rtol=1e-7, atol=1e-10)
    assert gauss_newton.norm() > 0
    with torch.no_grad():
        for p in theta.values():
            p.add_(0.3 * torch.randn_like(p))
    gauss_newton, reference = products()  # the dropped terms no longer vanish
    assert (gauss_newton - reference).norm() > 1e-4 * reference.norm()
    with pytest.raises(
        ValueError, match=r"vector must be 1-D with \d+ entries to match, got shape \(3,\)"
    ):
        per_task_gauss_newton_product(adapt, outputs, divergence, stack_params(theta, K))(
            torch.zeros(3)
        )


def test_meta_sgd_step_sizes_receive_the_meta_gradient(problem):
    policy, train, valid, adv_train, adv_valid = problem
    inner = InnerLoop(policy, step_size=0.5, normalize_advantages=False, learn_step_size=True)
    inner.step_sizes.double()
    theta = dict(policy.named_parameters())
    loss = post_update_loss(inner, theta, train, valid, adv_train, adv_valid)
    alpha = list(inner.step_sizes.values())
    analytic = flatten_tensors(torch.autograd.grad(loss, alpha))

    def loss_of_alpha(values):
        for p, v in zip(alpha, values.values(), strict=True):
            p.data.copy_(v.detach())
        return post_update_loss(inner, theta, train, valid, adv_train, adv_valid)

    original = {str(i): p.detach().clone() for i, p in enumerate(alpha)}
    numeric = finite_difference_gradient(loss_of_alpha, original)
    torch.testing.assert_close(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_batched_policy_equals_per_task_functional_calls():
    torch.manual_seed(0)
    policy = GaussianMLPPolicy(2, 2, hidden_sizes=(8, 8))
    params = {k: v.detach() + 0.1 * torch.randn(3, *v.shape) for k, v in policy.named_parameters()}
    obs = torch.randn(3, 7, 2)
    batched = policy.batched(params, obs)
    for k in range(3):
        single = policy(obs[k], {n: v[k] for n, v in params.items()})
        torch.testing.assert_close(batched.mean[k], single.mean)
        torch.testing.assert_close(batched.stddev[k], single.stddev)


def test_per_task_gradients_from_one_backward(problem):
    """Stacked parameters give each task its own inner gradient in one backward pass."""
    policy, train, _, adv_train, _ = problem
    inner = InnerLoop(policy, step_size=0.5, normalize_advantages=False)
    theta = dict(policy.named_parameters())
    stacked = stack_params(theta, K)
    grads = torch.autograd.grad(inner.loss(stacked, train, adv_train).sum(), list(stacked.values()))
    for k in range(K):
        task_loss = inner.loss(
            stack_params(theta, 1), train.episodes_of(k), adv_train[:, k * E : (k + 1) * E]
        )
        expected = torch.autograd.grad(task_loss.sum(), list(theta.values()))
        for g, e in zip(grads, expected, strict=True):
            torch.testing.assert_close(g[k], e)


def make_learner(env_id="metarl/Navigation2D-v0", policy=None, **inner_kwargs):
    sampler = MultiTaskSampler(env_id, episodes_per_task=2, env_kwargs={"max_episode_steps": 10})
    policy = policy or make_policy(sampler.observation_space, sampler.action_space, (8,))
    return MetaLearner(policy, sampler, InnerLoop(policy, **inner_kwargs), TRPO(), seed=0)


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ValueError, match="step_size must be > 0, got -0.1"):
        make_learner(step_size=-0.1)
    learner = make_learner()
    with pytest.raises(ValueError, match="at least one task"):
        learner.meta_step([])
    with pytest.raises(ValueError, match="episodes_per_task must be a positive int, got 0"):
        MultiTaskSampler("metarl/Navigation2D-v0", episodes_per_task=0)
    bandit = MultiTaskSampler("metarl/Bandit-v0", 1)
    discrete = make_policy(bandit.observation_space, bandit.action_space)
    with pytest.raises(ValueError, match="does not fit observation space"):
        make_learner(policy=discrete)
    with pytest.raises(ValueError, match="max_kl must be > 0"):
        TRPO(max_kl=0.0)


def test_nan_in_the_loss_stops_training_naming_iteration_and_quantity(monkeypatch):
    learner = make_learner()
    tasks = learner.sampler.task_distribution.split("train").sample(2, seed=0)
    learner.meta_step(tasks)
    before = [p.detach().clone() for p in learner.policy.parameters()]
    advantages = learner.inner.advantages
    monkeypatch.setattr(learner.inner, "advantages", lambda batch: advantages(batch) * float("nan"))
    with pytest.raises(FloatingPointError, match="meta-iteration 2: inner loss is nan"):
        learner.meta_step(tasks)
    for p, b in zip(learner.policy.parameters(), before, strict=True):
        assert torch.equal(p, b)  # nothing was corrupted


def test_non_finite_parameters_are_reported_before_sampling():
    learner = make_learner()
    tasks = learner.sampler.task_distribution.split("train").sample(2, seed=0)
    with torch.no_grad():
        learner.policy.log_std.fill_(float("inf"))
    with pytest.raises(
        FloatingPointError, match="meta-iteration 1: parameter 'log_std' is not finite"
    ):
        learner.meta_step(tasks)


def test_meta_step_is_reproducible_for_a_seed():
    def run():
        torch.manual_seed(0)
        learner = make_learner()
        tasks = learner.sampler.task_distribution.split("train").sample(2, seed=0)
        return [learner.meta_step(tasks)["post_return"] for _ in range(2)], flatten_tensors(
            [p.detach() for p in learner.policy.parameters()]
        )

    (returns_a, params_a), (returns_b, params_b) = run(), run()
    assert returns_a == returns_b
    torch.testing.assert_close(params_a, params_b, rtol=0, atol=0)


def test_save_and_load_round_trip(tmp_path):
    learner = make_learner()
    tasks = learner.sampler.task_distribution.split("train").sample(2, seed=0)
    learner.meta_step(tasks)
    learner.save(tmp_path / "ckpt.pt")
    other = make_learner()
    other.load(tmp_path / "ckpt.pt")
    assert other.iteration == 1
    a, b = learner.meta_step(tasks), other.meta_step(tasks)
    assert a["post_return"] == b["post_return"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        other.load(tmp_path / "bad.pt")
    assert np.isfinite(a["pre_return"])


def test_promp_state_round_trips_through_a_checkpoint(tmp_path):
    """The outer loop's own state (ProMP's adapted KL coefficient, Adam's moments) is restored,
    so the next meta-step equals the uninterrupted one."""

    def promp_learner():
        torch.manual_seed(0)
        learner = make_learner(estimator="lvc")
        learner.outer = ProMP(learning_rate=3e-3, epochs=2, kl_coeff=1e-3)
        return learner

    learner = promp_learner()
    tasks = learner.sampler.task_distribution.split("train").sample(2, seed=0)
    learner.meta_step(tasks)
    assert learner.outer.kl_coeff != 1e-3  # adapted towards the target
    learner.save(tmp_path / "ckpt.pt")
    other = promp_learner()
    other.load(tmp_path / "ckpt.pt")
    assert other.outer.kl_coeff == learner.outer.kl_coeff
    assert other.outer.state_dict()["optimizer"]["state"].keys() == (
        learner.outer.state_dict()["optimizer"]["state"].keys()
    )
    assert learner.meta_step(tasks)["post_return"] == other.meta_step(tasks)["post_return"]
    torch.testing.assert_close(
        flatten_tensors(list(learner.policy.parameters())),
        flatten_tensors(list(other.policy.parameters())), rtol=0, atol=0,
    )


class _CapturingOuter:
    """An outer loop that keeps the objective closure and changes nothing."""

    def step(self, parameters, objective):
        self.parameters, self.objective = list(parameters), objective
        return {}


def test_objective_on_the_first_tasks_is_the_full_objective_restricted():
    """``objective(n)`` (what ``kl_hessian(n)`` differentiates twice where it cannot use
    Gauss-Newton products) equals the full objective's terms of the first n tasks: per-task
    surrogates, per-task KL and its Hessian-vector products."""
    torch.manual_seed(0)
    learner = make_learner()
    learner.outer = capture = _CapturingOuter()
    tasks = learner.sampler.task_distribution.split("train").sample(4, seed=0)
    learner.meta_step(tasks)
    params = capture.parameters
    with torch.no_grad():  # move away from the expansion point, where every KL is 0
        for p in params:
            p.add_(0.05 * torch.randn_like(p))
    full, part = capture.objective(), capture.objective(2)
    assert full.num_tasks == 4 and part.num_tasks == 2
    torch.testing.assert_close(part.post_kl_per_task, full.post_kl_per_task[:2])

    def per_task_surrogate(objective):
        return objective.task_mean(torch.exp(objective.log_ratio) * objective.advantages)

    torch.testing.assert_close(per_task_surrogate(part), per_task_surrogate(full)[:2])
    vector = torch.randn(sum(p.numel() for p in params))

    def hvp(kl):
        grad = flatten_tensors(torch.autograd.grad(kl, params, create_graph=True))
        return flatten_tensors(torch.autograd.grad(grad @ vector, params))

    torch.testing.assert_close(
        hvp(capture.objective(2).post_kl), hvp(capture.objective().post_kl_per_task[:2].mean())
    )


def test_trpo_with_curvature_on_all_tasks_equals_exact_trpo():
    def final_params(curvature_tasks):
        torch.manual_seed(0)
        learner = make_learner()
        learner.outer = TRPO(curvature_tasks=curvature_tasks)
        tasks = learner.sampler.task_distribution.split("train").sample(4, seed=0)
        metrics = learner.meta_step(tasks)
        return flatten_tensors([p.detach() for p in learner.policy.parameters()]), metrics

    exact, _ = final_params(None)
    all_tasks, _ = final_params(4)
    torch.testing.assert_close(all_tasks, exact, rtol=0, atol=0)
    subsampled, metrics = final_params(2)
    assert not torch.equal(subsampled, exact)
    assert 0 < metrics["kl_after"] <= 0.01 and metrics["loss_after"] < metrics["loss_before"]
    with pytest.raises(ValueError, match="curvature_tasks must be >= 1 or None, got 0"):
        TRPO(curvature_tasks=0)


@pytest.mark.parametrize(
    "inner_steps,inner_kwargs,env_id,known_distribution",
    [
        (1, {}, "metarl/Navigation2D-v0", True),
        (1, {}, "metarl/Navigation2D-v0", False),
        (1, {}, "metarl/CartPole-v0", True),
        (1, {"learn_step_size": True}, "metarl/Navigation2D-v0", True),
        (2, {}, "metarl/Navigation2D-v0", True),
    ],
)
def test_learner_kl_hessian_equals_double_backward(
    inner_steps, inner_kwargs, env_id, known_distribution, monkeypatch
):
    """The objective's ``kl_hessian`` (Gauss-Newton through the distribution's tensors for one
    plain inner step, of a Gaussian or a categorical policy; through the adapted parameters for a
    distribution of unknown tensors; double backward for Meta-SGD and several steps) equals double
    backward of the post-update KL, on all tasks and on the first ones."""
    torch.manual_seed(0)
    if not known_distribution:
        monkeypatch.setattr(meta_objective, "distribution_tensors", lambda dist: None)
    learner = make_learner(env_id, **inner_kwargs)
    learner.num_inner_steps = inner_steps
    learner.outer = capture = _CapturingOuter()
    tasks = learner.sampler.task_distribution.split("train").sample(4, seed=0)
    learner.meta_step(tasks)
    current, params = capture.objective(), capture.parameters
    vector = torch.randn(sum(p.numel() for p in params))
    for first_tasks, kl in ((None, current.post_kl), (2, capture.objective(2).post_kl)):
        expected = hessian_vector_product(lambda kl=kl: kl, params)(vector)
        torch.testing.assert_close(
            current.kl_hessian(first_tasks)(vector), expected, rtol=1e-4, atol=1e-6
        )
