"""Meta-World benchmarks (ML1, ML10, ML45) as metarl task families.

Needs the ``metaworld`` extra: ``pip install 'metarl[metaworld]'``. Its ids
(``metarl/MetaWorld-ML1-<env>-v0``, ``metarl/MetaWorld-ML10-v0``, ``metarl/MetaWorld-ML45-v0``)
are registered whenever ``metarl`` is imported; making one without Meta-World raises
``DependencyNotInstalled`` naming the extra.

- :mod:`~metarl.envs.metaworld.benchmarks`: each benchmark's train and test tasks, built once
  from a fixed seed and cached on disk, as an :class:`~metarl.tasks.EnumeratedTaskDistribution`.
- :mod:`~metarl.envs.metaworld.env`: :class:`MetaWorldEnv` (the task API over Meta-World's envs)
  and :class:`MetaWorldVectorEnv` (one task per sub-env, on worker processes).
"""

try:
    import metaworld  # noqa: F401
except ImportError as err:
    from gymnasium.error import DependencyNotInstalled

    raise DependencyNotInstalled(
        "metarl's Meta-World families need Meta-World: pip install 'metarl[metaworld]'"
    ) from err

from metarl.envs.metaworld.benchmarks import BENCHMARK_SEED, benchmark_tasks, task_distribution
from metarl.envs.metaworld.env import MetaWorldEnv, MetaWorldVectorEnv

__all__ = [
    "BENCHMARK_SEED",
    "MetaWorldEnv",
    "MetaWorldVectorEnv",
    "benchmark_tasks",
    "task_distribution",
]
