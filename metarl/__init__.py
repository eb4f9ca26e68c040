"""metarl: meta-reinforcement learning on Gymnasium task families.

Importing ``metarl`` registers every ``metarl/...`` env id with Gymnasium.
"""

from metarl import envs
from metarl.envs import TaskObservation, TaskResampling, list_families
from metarl.tasks import Task, TaskDistribution

__version__ = "0.1.0"

__all__ = [
    "Task",
    "TaskDistribution",
    "TaskObservation",
    "TaskResampling",
    "__version__",
    "envs",
    "list_families",
]
