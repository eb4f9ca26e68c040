"""Bootstrap intervals and normalised scores against naive computations."""

import numpy as np
import pytest

from metarl.bench.stats import RESAMPLES, bootstrap, normalised_score


def _naive_interval(statistic, rows, resamples=RESAMPLES, seed=0):
    """One resample at a time, one seed index at a time, as the textbook loop."""
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(resamples):
        picked = [rows[int(rng.integers(0, len(rows)))] for _ in range(len(rows))]
        stats.append(statistic(picked))
    stats = np.array(stats, dtype=float)
    stats = stats[np.isfinite(stats)]
    return np.percentile(stats, 2.5), np.percentile(stats, 97.5)


def test_the_bootstrap_interval_of_the_mean_equals_a_naive_loop():
    values = np.array([[1.0, 2.0], [2.0, 3.5], [4.0, 5.0], [0.5, 7.0]])
    result = bootstrap(values)
    np.testing.assert_allclose(result.value, values.mean(axis=0))
    for step in range(2):
        low, high = _naive_interval(lambda rows, s=step: np.mean([r[s] for r in rows]), values)
        assert result.low[step] == pytest.approx(low) and result.high[step] == pytest.approx(high)
    assert np.all(result.low <= result.value) and np.all(result.value <= result.high)


def test_one_seed_has_an_undefined_interval():
    result = bootstrap(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(result.value, [1.0, 2.0])
    assert np.isnan(result.low).all() and np.isnan(result.high).all()


def test_the_normalised_score_is_the_gap_closed_with_a_paired_interval():
    agent = np.array([[-5.0, -2.0], [-6.0, -3.0], [-4.0, -1.0]])
    pretrained = np.array([[-8.0, -7.0], [-9.0, -8.0], [-7.0, -6.5]])
    oracle = np.array([[-1.0], [-2.0], [-1.5]]).repeat(2, axis=1)
    result = normalised_score(agent, pretrained, oracle)
    gap = oracle.mean(0) - pretrained.mean(0)
    np.testing.assert_allclose(result.value, (agent.mean(0) - pretrained.mean(0)) / gap)
    for step in range(2):
        def closed(rows, s=step):
            a, p, o = (np.mean([r[i][s] for r in rows]) for i in range(3))
            return (a - p) / (o - p) if o > p else np.nan

        rows = list(zip(agent, pretrained, oracle, strict=True))
        low, high = _naive_interval(closed, rows)
        assert result.low[step] == pytest.approx(low) and result.high[step] == pytest.approx(high)


def test_no_gap_to_close_is_an_undefined_score():
    level = np.array([[1.0], [2.0]])
    result = normalised_score(level + 1, level, level - 1)  # the oracle is below the pretrained
    assert np.isnan(result.value).all() and np.isnan(result.low).all()
