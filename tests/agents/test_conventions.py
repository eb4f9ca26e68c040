"""The averaging, advantage-normalisation, bootstrapping and KL conventions of the MAML family,
pinned against hand computations on a tiny batch whose episodes have different lengths."""

import math

import pytest
import torch

from metarl.agents import GaussianMLPPolicy, InnerLoop
from metarl.agents.inner import per_task_mean, step_weights
from metarl.agents.meta_objective import post_update_kl
from metarl.sampling import EpisodeBatch, stack_params

LENGTHS = [3, 1, 2, 4]  # task 0: episodes of 3 and 1 steps; task 1: of 2 and 4 steps
K, E, T = 2, 2, 4


def tiny_batch(truncated_at_limit: bool = True) -> EpisodeBatch:
    """Episodes of ``LENGTHS``; the 4-step one reaches the time limit, the others terminate."""
    g = torch.Generator().manual_seed(0)
    mask = torch.zeros(T, K * E, dtype=torch.float64)
    ends = torch.zeros(T, K * E, dtype=torch.bool)
    for b, length in enumerate(LENGTHS):
        mask[:length, b] = 1.0
        ends[length - 1, b] = True
    limit = torch.tensor(LENGTHS) == T
    truncated = ends & limit if truncated_at_limit else torch.zeros_like(ends)
    return EpisodeBatch(
        observations=torch.randn(T, K * E, 2, generator=g, dtype=torch.float64) * mask[..., None],
        actions=torch.randn(T, K * E, 2, generator=g, dtype=torch.float64) * mask[..., None],
        rewards=torch.randn(T, K * E, generator=g, dtype=torch.float64) * mask,
        terminated=ends & ~truncated,
        truncated=truncated,
        mask=mask,
        final_observations=torch.randn(K * E, 2, generator=g, dtype=torch.float64),
        task_index=torch.arange(K).repeat_interleave(E),
    )


def values_table() -> torch.Tensor:
    """``values[t, b] = 10 * b + t + 1`` on valid steps, garbage (1000) on padding."""
    batch = tiny_batch()
    table = torch.tensor([[10.0 * b + t + 1 for b in range(K * E)] for t in range(T)])
    return torch.where(batch.mask > 0, table.double(), torch.tensor(1000.0, dtype=torch.float64))


def test_episode_and_step_weighting_by_hand():
    batch, v = tiny_batch(), values_table()
    # task 0: episode 0 holds 1, 2, 3; episode 1 holds 11.  task 1: 21, 22 and 31, 32, 33, 34.
    by_episode = [((1 + 2 + 3) / 3 + 11 / 1) / 2, ((21 + 22) / 2 + (31 + 32 + 33 + 34) / 4) / 2]
    by_step = [(1 + 2 + 3 + 11) / 4, (21 + 22 + 31 + 32 + 33 + 34) / 6]
    torch.testing.assert_close(per_task_mean(v, batch, "episode"), torch.tensor(by_episode).double())
    torch.testing.assert_close(per_task_mean(v, batch, "step"), torch.tensor(by_step).double())
    for weighting in ("episode", "step"):
        weights = step_weights(batch, weighting)
        torch.testing.assert_close(weights.sum(0).view(K, E).sum(1), torch.ones(K).double())
        assert bool((weights[batch.mask == 0] == 0).all())
    with pytest.raises(ValueError, match="weighting must be one of"):
        step_weights(batch, "trajectory")


def _policy() -> GaussianMLPPolicy:
    torch.manual_seed(0)
    return GaussianMLPPolicy(2, 2, hidden_sizes=(3,)).double()


def test_advantage_normalisation_follows_the_episode_weighted_mean_and_std():
    """pytorch-maml-rl's ``weighted_normalize``: subtract the mean over episodes of each
    episode's mean advantage, divide by the square root of the same mean of squares."""
    batch = tiny_batch()
    raw = InnerLoop(_policy(), normalize_advantages=False).advantages(batch)
    normalised = InnerLoop(_policy(), normalize_advantages=True).advantages(batch)
    for k in range(K):
        episodes = [b for b in range(K * E) if b // E == k]
        per_episode = [raw[: LENGTHS[b], b] for b in episodes]
        mean = sum(a.mean() for a in per_episode) / E
        std = math.sqrt(sum(((a - mean) ** 2).mean() for a in per_episode) / E)
        for b, a in zip(episodes, per_episode, strict=True):
            torch.testing.assert_close(normalised[: LENGTHS[b], b], (a - mean) / (std + 1e-8))
            assert bool((normalised[LENGTHS[b] :, b] == 0).all())


@pytest.mark.parametrize("weighting", ["episode", "step"])
def test_inner_loss_by_hand(weighting):
    batch, policy = tiny_batch(), _policy()
    inner = InnerLoop(policy, normalize_advantages=False, weighting=weighting)
    params = stack_params(dict(policy.named_parameters()), K)
    advantages = inner.advantages(batch)
    loss = inner.loss(params, batch, advantages).detach()
    expected = []
    for k in range(K):
        terms = []
        for b in range(k * E, (k + 1) * E):
            steps = range(LENGTHS[b])
            with torch.no_grad():
                terms.append(
                    [float(policy(batch.observations[t, b]).log_prob(batch.actions[t, b]))
                     * float(advantages[t, b]) for t in steps]
                )
        if weighting == "episode":
            expected.append(-sum(sum(x) / len(x) for x in terms) / E)
        else:
            expected.append(-sum(sum(x) for x in terms) / sum(len(x) for x in terms))
    torch.testing.assert_close(loss, torch.tensor(expected).double())


def test_time_limit_ends_the_task_unless_bootstrapping_is_asked_for():
    """Without bootstrapping, an episode cut by the time limit gets the advantages of one that
    terminated there (pytorch-maml-rl, rllab); with it, they differ by the bootstrapped value."""
    cut, ended = tiny_batch(truncated_at_limit=True), tiny_batch(truncated_at_limit=False)
    plain = InnerLoop(_policy(), normalize_advantages=False)
    torch.testing.assert_close(plain.advantages(cut), plain.advantages(ended))
    bootstrapped = InnerLoop(_policy(), normalize_advantages=False, bootstrap_truncated=True)
    difference = bootstrapped.advantages(cut) - plain.advantages(cut)
    assert float(difference[:, 3].abs().min()) > 0  # the cut episode
    assert float(difference[:, :3].abs().max()) == 0  # the terminated ones


def _gaussian_kl(mean_p, std_p, mean_q, std_q) -> torch.Tensor:
    """Closed form of KL(N(mean_p, std_p) || N(mean_q, std_q)), summed over the last axis."""
    terms = torch.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5
    return terms.sum(-1)


def test_post_update_kl_direction_against_the_closed_form():
    g = torch.Generator().manual_seed(1)
    mean_old, mean_new = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    std_old, std_new = torch.full((5, 2), 0.5), torch.full((5, 2), 2.0)
    normal = torch.distributions.Normal
    old = torch.distributions.Independent(normal(mean_old, std_old), 1)
    new = torch.distributions.Independent(normal(mean_new, std_new), 1)
    torch.testing.assert_close(
        post_update_kl(old, new, "new_old"), _gaussian_kl(mean_new, std_new, mean_old, std_old)
    )
    torch.testing.assert_close(
        post_update_kl(old, new, "old_new"), _gaussian_kl(mean_old, std_old, mean_new, std_new)
    )
    gap = post_update_kl(old, new, "new_old") - post_update_kl(old, new, "old_new")
    assert float(gap.abs().min()) > 0.1
    with pytest.raises(ValueError, match="kl_direction must be one of"):
        post_update_kl(old, new, "symmetric")
