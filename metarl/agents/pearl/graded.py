"""PEARL under the adaptation protocol: posterior sampling on held-out tasks.

Column ``k`` of a curve is the return of episode ``k + 1`` of a trial on a held-out task, acted
with ``z`` sampled from the posterior given the trial's first ``k`` episodes (all their
transitions), the first episode with ``z`` from the prior, as PEARL evaluates
(``num_exp_traj_eval = 1``, the posterior re-inferred after every episode). One unit of
adaptation is one episode. Each point averages ``E`` independent trials per task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from metarl.agents.adaptation import AdaptationCurves, AdaptationSetting
from metarl.agents.pearl.collect import Collector, Episodes
from metarl.agents.pearl.encoder import Gaussian
from metarl.agents.pearl.model import PEARLModel
from metarl.tasks import Task

__all__ = ["PEARLAgent", "posterior_trial", "task_latent", "task_posterior", "trial_context"]


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


def task_posterior(model: PEARLModel, history: list[Episodes], num_tasks: int) -> Gaussian:
    """The posterior over ``z`` of each of ``n`` tasks given the trial's past episodes
    ``history`` (fields ``[H, n, ...]``); the prior before the first episode."""
    device = model.log_alpha.device
    if not history:
        return model.encoder.prior(num_tasks, device)
    context, mask = trial_context(history, device)
    return model.posterior(context, mask)


def task_latent(
    model: PEARLModel, history: list[Episodes], num_tasks: int, generator: torch.Generator
) -> torch.Tensor:
    """``z`` ``[n, L]`` drawn from :func:`task_posterior`."""
    return task_posterior(model, history, num_tasks).sample(generator)


@torch.no_grad()
def posterior_trial(
    model: PEARLModel,
    collector: Collector,
    tasks: Sequence[Task],
    num_episodes: int,
    seed: int,
    generator: torch.Generator,
    deterministic: bool,
) -> list[Episodes]:
    """The first ``num_episodes`` episodes of a PEARL trial on each of ``tasks`` (PEARL's
    evaluation): episode ``k + 1`` acts with ``z`` from :func:`task_latent` given episodes
    ``1..k``; its sub-envs are seeded from ``seed + k * len(tasks)``."""
    history: list[Episodes] = []
    for k in range(num_episodes):
        z = task_latent(model, history, len(tasks), generator)
        history.append(
            collector.episodes(
                tasks,
                lambda obs, z=z: model.act(obs, z, deterministic, generator),
                seed=seed + k * len(tasks),
            )
        )
    return history


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
        collector = Collector(self.env_id, self.env_kwargs, max_envs=1)
        try:
            history = posterior_trial(
                self.model, collector, tasks, setting.steps + 1, setting.seed,
                torch.Generator().manual_seed(setting.seed), self.deterministic,
            )
        finally:
            collector.close()
        returns = [episodes.returns for episodes in history]
        success = [episodes.success for episodes in history]

        def per_task(columns: list[np.ndarray]) -> np.ndarray:
            stacked = np.stack(columns, axis=1).astype(np.float64)
            return stacked.reshape(len(setting.tasks), setting.episodes, -1).mean(axis=1)

        return AdaptationCurves(
            per_task(returns), None if success[0] is None else per_task(success)
        )
