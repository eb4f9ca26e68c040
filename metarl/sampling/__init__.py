"""Sampling: episodes of many tasks at once into an :class:`EpisodeBatch`.

- :mod:`~metarl.sampling.batch`: :class:`EpisodeBatch`, per-task parameters (:func:`stack_params`).
- :mod:`~metarl.sampling.noise`: the per-task action-noise streams that make sampling reproducible
  however a call is split.
- :mod:`~metarl.sampling.local`: :class:`MultiTaskSampler`, one vector env in this process.
- :mod:`~metarl.sampling.episodes`: :class:`Episode`, experience collected outside metarl, as
  arrays; :func:`collect_episodes` from any single env.
- :mod:`~metarl.sampling.ray_sampler`: ``RaySampler``, the same batches from Ray workers (needs the
  ``ray`` extra; import it from its module).
"""

from metarl.sampling.batch import BatchedPolicy, EpisodeBatch, Params, stack_params
from metarl.sampling.episodes import Episode, check_episodes, collect_episodes, episode_batch
from metarl.sampling.local import MultiTaskSampler
from metarl.sampling.noise import task_generators

__all__ = [
    "BatchedPolicy",
    "Episode",
    "EpisodeBatch",
    "MultiTaskSampler",
    "Params",
    "check_episodes",
    "collect_episodes",
    "episode_batch",
    "stack_params",
    "task_generators",
]
