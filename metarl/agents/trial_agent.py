"""In-context agents under the adaptation protocol: one unit of adaptation is one episode.

A :class:`TrialAgent` runs ``setting.episodes`` independent trials of ``setting.steps + 1``
episodes on each held-out task (:func:`~metarl.sampling.trials.run_trials`); column ``k`` of its
curves is the mean return of episode ``k + 1`` of the trials, i.e. after ``k`` episodes of
experience on the task. RL^2 and the classical bandit and MDP algorithms are trial agents.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.sampling.trials import TrialActor, make_trial_envs, run_trials

__all__ = ["TrialAgent"]


class TrialAgent(ABC):
    """A :class:`~metarl.agents.adaptation.GradedAgent` that adapts within a trial.

    Args:
        env: registered family id.
        env_kwargs: arguments of the env (``max_episode_steps``, family options).
    """

    def __init__(self, env: str, env_kwargs: Mapping[str, Any] | None = None):
        self.env, self.env_kwargs = env, dict(env_kwargs or {})

    @abstractmethod
    def actor(self, envs: gym.vector.VectorEnv, seed: int) -> TrialActor:
        """The actor of one trial per sub-env of ``envs``, its randomness seeded by ``seed``."""

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        if setting.evaluation_sampler is not None:
            raise ValueError(
                "a trial agent measures each episode of its trials; it does not follow the "
                "separate evaluation episodes (--evaluation-episodes) of Meta-World's protocol"
            )
        rows = [task for task in setting.tasks for _ in range(setting.episodes)]
        envs = make_trial_envs(self.env, len(rows), self.env_kwargs)
        try:
            returns = run_trials(
                envs, rows, setting.steps + 1, self.actor(envs, setting.seed), setting.seed
            )
        finally:
            envs.close()
        curves = returns.reshape(len(setting.tasks), setting.episodes, setting.steps + 1)
        return AdaptationCurves(curves.mean(axis=1), None)
