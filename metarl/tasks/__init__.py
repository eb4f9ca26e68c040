"""Tasks and task distributions: the task API every metarl family follows.

A :class:`Task` is an immutable set of named parameters (floats or small float arrays) that belongs to
one family. A :class:`TaskDistribution` describes how a family's tasks are drawn: it samples them
deterministically for a seed, validates user-made tasks, and splits into disjoint ``train`` / ``test``
(and, where the family defines an outside region, ``test-ood``) task sets that are the same on every
machine.

>>> from metarl.tasks import TaskDistribution, Uniform
>>> dist = TaskDistribution("Toy", [Uniform("speed", 0.0, 2.0, default=1.0, ood=(0.0, 3.0))])
>>> task = dist.task(speed=0.5)
>>> task["speed"]
0.5
>>> Task.from_dict(task.to_dict()) == task
True
>>> len(dist.split("test").tasks)
40
"""

from metarl.tasks.distribution import SPLIT_NAMES, TaskDistribution
from metarl.tasks.enumerated import EnumeratedTaskDistribution
from metarl.tasks.parameters import Arc, Choice, Dirichlet, Disk, Index, Normal, Parameter, Uniform
from metarl.tasks.task import Task, tasks_from_json, tasks_to_json

__all__ = [
    "SPLIT_NAMES",
    "Arc",
    "Choice",
    "Dirichlet",
    "Disk",
    "EnumeratedTaskDistribution",
    "Index",
    "Normal",
    "Parameter",
    "Task",
    "TaskDistribution",
    "Uniform",
    "tasks_from_json",
    "tasks_to_json",
]
