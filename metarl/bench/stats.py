"""Statistics over seeds: the mean with a 95% percentile-bootstrap confidence interval, and the
normalised score (the fraction of the pretrained-to-oracle gap an agent closes).

Plain numpy: ``rliable`` (Agarwal et al. 2021) computes the same bootstrap, but it ships as a
source archive only and pulls in ``arch`` (compiled; with statsmodels), ``scipy``, ``pandas``,
``seaborn`` and ``absl-py``, none of which metarl needs otherwise; the few lines below do what the
suite needs, seeded, so that a page rebuilt from the same result files is the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LEVEL", "RESAMPLES", "Interval", "bootstrap", "mean_over_seeds", "normalised_score"]

RESAMPLES = 10_000
"""Bootstrap resamples of the seeds."""

LEVEL = 0.95
"""Confidence level of the intervals."""


@dataclass(frozen=True)
class Interval:
    """A statistic per adaptation step and its confidence interval (NaN where undefined)."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def mean_over_seeds(samples: np.ndarray) -> np.ndarray:
    """The mean over axis 1 (the seeds of each resample ``[resamples, seeds, ...]``)."""
    return samples.mean(axis=1)


def bootstrap(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = mean_over_seeds,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """``statistic`` of ``values`` (one row per seed) and its 95% percentile-bootstrap interval:
    the seeds are resampled with replacement ``resamples`` times (a generator seeded with
    ``seed``), and the interval holds the middle 95% of the finite statistics.

    ``statistic`` maps ``[resamples, seeds, ...]`` to ``[resamples, ...]``. With fewer than two
    seeds the interval is undefined (NaN).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1 or len(values) == 0:
        raise ValueError(f"values must hold one row per seed, got shape {values.shape}")
    value = statistic(values[None])[0]
    if len(values) < 2:
        nan = np.full_like(value, np.nan)
        return Interval(value, nan, nan.copy())
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(values), size=(resamples, len(values)))
    stats = statistic(values[index])
    tail = 100 * (1 - LEVEL) / 2
    stats = np.where(np.isfinite(stats), stats, np.nan)
    with warnings.catch_warnings():  # a step whose every resample is NaN: NaN, said by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(stats, [tail, 100 - tail], axis=0)
    return Interval(value, low, high)


def _gap_closed(samples: np.ndarray) -> np.ndarray:
    """``(agent - pretrained) / (oracle - pretrained)`` of the means over axis 1 of
    ``samples[..., 0 | 1 | 2, :]`` (agent, pretrained, oracle); NaN where the oracle is not
    above the pretrained agent (no gap to close)."""
    agent, pretrained, oracle = np.moveaxis(samples.mean(axis=1), -2, 0)
    gap = oracle - pretrained
    with np.errstate(all="ignore"):
        return np.where(gap > 0, (agent - pretrained) / gap, np.nan)


def normalised_score(
    agent: np.ndarray, pretrained: np.ndarray, oracle: np.ndarray, seed: int = 0
) -> Interval:
    """The fraction of the pretrained-to-oracle gap that ``agent`` closes, per adaptation step:
    ``(mean agent - mean pretrained) / (mean oracle - mean pretrained)``, means over seeds (rows of
    the ``[seeds, steps + 1]`` arrays), with a paired bootstrap interval (the same resampled seeds
    for the three). 0: the pretrained agent's level, 1: the oracle's; NaN where the oracle's mean
    is not above the pretrained agent's."""
    return bootstrap(np.stack([agent, pretrained, oracle], axis=1), _gap_closed, seed=seed)
