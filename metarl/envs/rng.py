"""Counter-based random streams: one independent stream per sub-env, drawn in one array operation.

A single env and sub-env ``i`` of a vector env seeded with ``seed + i`` hold the same stream key, so
their random draws (initial states, stochastic rewards and transitions) are identical while the vector
env draws for all sub-envs at once. The generator is SplitMix64 (Steele et al., 2014) evaluated at
``key + counter * golden_gamma``.
"""

from __future__ import annotations

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def key_from_generator(rng: np.random.Generator) -> np.uint64:
    """A stream key drawn from a seeded numpy generator (Gymnasium's ``np_random``)."""
    return rng.integers(0, 2**64, dtype=np.uint64, endpoint=False)


def key_from_seed(seed: int) -> np.uint64:
    """The key an env derives after ``reset(seed=seed)``."""
    return key_from_generator(np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed))))


class StreamRNG:
    """``num_streams`` independent uniform/normal streams addressed by sub-env index."""

    def __init__(self, num_streams: int):
        self.keys = np.zeros(num_streams, dtype=np.uint64)
        self.counters = np.zeros(num_streams, dtype=np.uint64)

    def seed(self, index: np.ndarray | slice, keys: np.ndarray) -> None:
        """Restart the streams at ``index`` with new ``keys``."""
        self.keys[index] = keys
        self.counters[index] = 0

    def uniform(self, size: int, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """``(len(index), size)`` floats in [0, 1); advances each addressed stream by ``size``."""
        keys, counters = self.keys[index], self.counters[index]
        steps = counters[:, None] + np.arange(1, size + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = keys[:, None] + steps * _GAMMA
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
        z ^= z >> np.uint64(31)
        self.counters[index] = counters + np.uint64(size)
        return (z >> np.uint64(11)).astype(np.float64) * _TO_UNIT

    def normal(self, size: int, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """``(len(index), size)`` standard normal draws (Box-Muller on ``2 * size`` uniforms)."""
        u = self.uniform(2 * size, index)
        radius = np.sqrt(-2.0 * np.log1p(-u[:, :size]))
        return radius * np.cos(2.0 * np.pi * u[:, size:])
