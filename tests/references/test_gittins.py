"""The Gittins index against published values and an independent calibration, its structure, and
the policy over trials longer than its table."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.references.gittins import gittins_index_bounds, gittins_indices, truncation_depth


@pytest.mark.parametrize(
    ("gamma", "successes", "failures", "published"),
    [
        (0.9, 0, 0, 0.7029),
        (0.9, 1, 1, 0.6346),
        (0.9, 2, 2, 0.6010),
        (0.9, 9, 1, 0.8695),
        (0.99, 0, 0, 0.8699),
    ],
)
def test_indices_equal_the_published_tables(gamma, successes, failures, published):
    """Four-decimal Gittins indices of Beta(1 + s, 1 + f), from the tables reprinted in
    Christian & Griffiths, Algorithms to Live By (2016), ch. 2."""
    index = gittins_indices(gamma, 10)[successes, failures]
    assert index == pytest.approx(published, abs=5e-5)


def _calibrated_index(gamma: float, successes: int, failures: int, depth: int) -> float:
    """The index of one count pair by bisection on the retirement reward, each step a plain
    recursion over the counts reachable in ``depth`` pulls (valued at ``max(lam, p) / (1 -
    gamma)`` beyond), memoised per reward."""

    def value(s: int, f: int, lam: float, memo: dict) -> float:
        if (s, f) not in memo:
            p = (1 + s) / (2 + s + f)
            if s + f - successes - failures == depth:
                memo[s, f] = max(lam, p) / (1 - gamma)
            else:
                memo[s, f] = max(lam / (1 - gamma), pull(s, f, lam, memo))
        return memo[s, f]

    def pull(s: int, f: int, lam: float, memo: dict) -> float:
        p = (1 + s) / (2 + s + f)
        return p * (1 + gamma * value(s + 1, f, lam, memo)) + (1 - p) * gamma * value(s, f + 1, lam, memo)

    low, high = 0.0, 1.0
    while high - low > 1e-10:
        lam = (low + high) / 2
        if pull(successes, failures, lam, {}) > lam / (1 - gamma):
            low = lam
        else:
            high = lam
    return (low + high) / 2


@pytest.mark.parametrize("pair", [(0, 0), (1, 0), (0, 1), (2, 3), (5, 1), (0, 6)])
def test_indices_equal_an_independent_calibration(pair):
    """gamma = 0.7: the recursion runs 70 pulls deep (0.7^70 ~ 1e-11); the bounds hold the index
    (up to the truncation's 1e-6) and the index is within 1e-5 of it."""
    gamma, (s, f) = 0.7, pair
    exact = _calibrated_index(gamma, s, f, depth=70)
    lower, upper = gittins_index_bounds(gamma, 6)
    assert lower[s, f] - 1e-6 <= exact <= upper[s, f] + 1e-6
    assert gittins_indices(gamma, 6)[s, f] == pytest.approx(exact, abs=1e-5)


def test_indices_exceed_the_posterior_mean_and_rise_with_successes():
    indices = gittins_indices(0.9, 20)
    s, f = np.indices(indices.shape)
    known = s + f <= 20
    assert (indices[known] > ((1 + s) / (2 + s + f))[known]).all()
    assert (np.diff(indices, axis=0)[known[1:]] > 0).all()  # one more success, one less failure
    assert (np.diff(indices, axis=1)[known[:, 1:]] < 0).all()
    assert np.isnan(indices[~known]).all()
    assert not indices.flags.writeable


def test_truncation_depth_and_the_refusals():
    assert truncation_depth(0.5) < truncation_depth(0.9) < truncation_depth(0.99)
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \(0, 0.99\], got 1.0"):
        gittins_indices(1.0, 10)
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \(0, 0.99\], got 0"):
        gittins_indices(0, 10)
    with pytest.raises(ValueError, match="max_pulls must be an int >= 0, got -1"):
        gittins_indices(0.9, -1)
