"""The exact Bayes-optimal policy for Bernoulli bandits over a finite horizon of ``n`` pulls.

With independent Beta(1, 1) priors on the arms (the Bandit family's U[0, 1] arm means), an arm
with ``s`` successes and ``f`` failures has posterior Beta(1 + s, 1 + f), and choosing arms is a
finite MDP on the posterior counts (Bellman 1956). Its optimal value with pulls left is

    V(c) = max_a [p_a (1 + V(c + success of a)) + (1 - p_a) V(c + failure of a)],
    p_a = (1 + s_a) / (2 + s_a + f_a),

and V = 0 once the ``n`` pulls are spent. This is the optimum of the expected trial return over
the family's tasks: no agent can beat it on average, so it is the ceiling of the bandit tables.
(The Gittins index is optimal for infinite discounted horizons, not for ``n`` undiscounted pulls.)

The value is computed by memoised recursion over the counts reachable within ``n`` pulls. The
arms are exchangeable, so a state is the sorted tuple of the arms' ``(s, f)`` pairs. The number
of count vectors, ``C(n + 2k, 2k)`` for ``k`` arms, bounds the work; above :data:`MAX_STATES`
the policy refuses to start (k = 5 arms: n = 10 pulls is 184,756, n = 100 about 5e13).
"""

from __future__ import annotations

import math
from functools import lru_cache

import gymnasium as gym
import numpy as np

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.references.agent import ReferenceAgent
from metarl.references.bandits import BANDIT, BanditActor
from metarl.validation import require_int

__all__ = ["MAX_STATES", "BayesOptimalActor", "BayesOptimalBandit", "BayesOptimalValues"]

MAX_STATES = 5_000_000
"""The largest ``C(n + 2k, 2k)`` (count vectors of ``k`` arms within ``n`` pulls) solved."""

Counts = tuple[tuple[int, int], ...]
"""The arms' ``(successes, failures)``, sorted (the arms are exchangeable)."""


def _success_probability(successes: int, failures: int) -> float:
    return (1 + successes) / (2 + successes + failures)


class BayesOptimalValues:
    """The optimal expected return still to come, for ``num_arms`` arms and ``horizon`` pulls.

    Raises:
        ValueError: ``C(horizon + 2 num_arms, 2 num_arms)`` exceeds :data:`MAX_STATES`.
    """

    def __init__(self, num_arms: int, horizon: int):
        self.num_arms = require_int("num_arms", num_arms, minimum=2)
        self.horizon = require_int("horizon", horizon)
        states = math.comb(horizon + 2 * num_arms, 2 * num_arms)
        if states > MAX_STATES:
            raise ValueError(
                f"the exact Bayes-optimal bandit policy for {num_arms} arms and {horizon} pulls "
                f"would search up to {states:.3g} count vectors; allowed: at most {MAX_STATES:,}"
            )
        self.value = lru_cache(maxsize=None)(self._value)

    def _value(self, counts: Counts) -> float:
        """V(counts): the optimal expected return of the pulls left after ``counts``."""
        if sum(s + f for s, f in counts) == self.horizon:
            return 0.0
        return max(self.arm_value(counts, arm) for arm in range(len(counts)))

    def arm_value(self, counts: Counts, arm: int) -> float:
        """The expected return of pulling ``arm`` now and acting optimally after."""
        s, f = counts[arm]
        p = _success_probability(s, f)
        success = self.value(_replace(counts, arm, (s + 1, f)))
        failure = self.value(_replace(counts, arm, (s, f + 1)))
        return p * (1.0 + success) + (1.0 - p) * failure

    def prior_value(self) -> float:
        """The Bayes-optimal expected trial return before any pull."""
        return self.value(((0, 0),) * self.num_arms)

    def best_arm(self, successes: np.ndarray, failures: np.ndarray) -> int:
        """The arm to pull given each arm's counts (ties: the lowest arm)."""
        counts = tuple((int(s), int(f)) for s, f in zip(successes, failures, strict=True))
        order = sorted(range(len(counts)), key=counts.__getitem__)
        canonical = tuple(counts[i] for i in order)
        values = np.empty(len(counts))
        for position, arm in enumerate(order):
            values[arm] = self.arm_value(canonical, position)
        return int(values.argmax())


def _replace(counts: Counts, arm: int, pair: tuple[int, int]) -> Counts:
    """``counts`` with ``arm``'s pair replaced, sorted again."""
    return tuple(sorted((*counts[:arm], pair, *counts[arm + 1 :])))


class BayesOptimalActor(BanditActor):
    """Each row pulls the Bayes-optimal arm for its counts and the pulls left."""

    def __init__(self, num_rows: int, num_arms: int, horizon: int, rng: np.random.Generator):
        super().__init__(num_rows, num_arms, rng)
        self.values = BayesOptimalValues(num_arms, horizon)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        failures = self.pulls - self.successes
        actions = np.zeros(len(active), dtype=np.int64)
        for row in np.flatnonzero(active):
            actions[row] = self.values.best_arm(self.successes[row], failures[row])
        return actions


class BayesOptimalBandit(ReferenceAgent):
    """The exact Bayes-optimal policy for the trial's pulls (one-episode trials only)."""

    name = "bayes-optimal"
    env_ids = (BANDIT,)

    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> BayesOptimalActor:
        arms, horizon = int(envs.single_action_space.n), int(envs.max_episode_steps)
        return BayesOptimalActor(envs.num_envs, arms, horizon, np.random.default_rng(seed))

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        if setting.steps != 0:
            raise ValueError(
                f"bayes-optimal plans one episode of pulls per trial (--steps 0), got --steps "
                f"{setting.steps}"
            )
        return super().adaptation_curves(setting)
