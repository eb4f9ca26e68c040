"""PEARL under the adaptation protocol: posterior sampling on held-out tasks.

Column ``k`` of a curve is the return of episode ``k + 1`` of a trial on a held-out task, acted
with ``z`` sampled from the posterior given the trial's first ``k`` episodes (all their
transitions), the first episode with ``z`` from the prior, as PEARL evaluates
(``num_exp_traj_eval = 1``, the posterior re-inferred after every episode). One unit of
adaptation is one episode. Each point averages ``E`` independent trials per task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.agents.pearl.collect import Collector, Episodes
from metarl.agents.pearl.model import PEARLModel

__all__ = ["PEARLAgent", "trial_context"]


def trial_context(
    history: list[Episodes], device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The transitions of a trial's past episodes as context fields ``[n, k * H, ...]`` and their
    mask ``[n, k * H]``."""
    fields = {
        name: torch.from_numpy(
            np.concatenate([getattr(e, name) for e in history], axis=0).swapaxes(0, 1).copy()
        ).to(device)
        for name in ("obs", "action", "reward", "next_obs", "mask")
    }
    return fields, fields.pop("mask")


class PEARLAgent:
    """A trained PEARL model graded by the protocol (see the module docstring).

    Args:
        model: the networks.
        env_id, env_kwargs: the family the model was trained on.
        deterministic: act with the mean action (PEARL's evaluation) instead of sampling.
    """

    def __init__(
        self,
        model: PEARLModel,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        deterministic: bool = True,
    ):
        self.model, self.env_id, self.env_kwargs = model, env_id, dict(env_kwargs)
        self.deterministic = deterministic

    def episodes_per_unit(self, setting: AdaptationSetting) -> int:
        return 1

    @torch.no_grad()
    def adaptation_curves(self, setting: AdaptationSetting) -> AdaptationCurves:
        if not setting.tasks:
            raise ValueError("adaptation needs at least one task")
        tasks = [t for t in setting.tasks for _ in range(setting.episodes)]
        n, device = len(tasks), self.model.log_alpha.device
        generator = torch.Generator().manual_seed(setting.seed)
        collector = Collector(self.env_id, self.env_kwargs, max_envs=1)
        history: list[Episodes] = []
        returns, success = [], []
        try:
            for k in range(setting.steps + 1):
                if history:
                    context, mask = trial_context(history, device)
                    z = self.model.posterior(context, mask).sample(generator)
                else:
                    z = self.model.encoder.prior(n, device).sample(generator)
                episodes = collector.episodes(
                    tasks,
                    lambda obs, z=z: self.model.act(obs, z, self.deterministic, generator),
                    seed=setting.seed + k * n,
                )
                history.append(episodes)
                returns.append(episodes.returns)
                success.append(episodes.success)
        finally:
            collector.close()

        def per_task(columns: list[np.ndarray]) -> np.ndarray:
            stacked = np.stack(columns, axis=1).astype(np.float64)
            return stacked.reshape(len(setting.tasks), setting.episodes, -1).mean(axis=1)

        return AdaptationCurves(
            per_task(returns), None if success[0] is None else per_task(success)
        )
