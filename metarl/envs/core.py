"""The shared mechanism behind every cheap family: batched dynamics, a single env and a vector env.

A family implements :class:`BatchDynamics` once, in array operations over a leading sub-env axis.
:class:`NumpyTaskEnv` runs it with one sub-env as a plain ``gymnasium.Env``;
:class:`NumpyTaskVectorEnv` runs it with ``num_envs`` sub-envs, each holding its own task, as a
native ``gymnasium.vector.VectorEnv``.
Because both run the same code on the same per-sub-env random streams, a vector env seeded with
``seed`` reproduces single envs seeded with ``seed, seed + 1, ...`` exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from metarl.envs.rng import StreamRNG, key_from_generator, key_from_seed
from metarl.envs.task_env import TaskSwitching
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int, short_repr

__all__ = [
    "BatchDynamics",
    "NumpyTaskEnv",
    "NumpyTaskVectorEnv",
    "as_array",
    "check_actions",
    "check_options",
    "check_tasks",
    "finite_array",
    "require_reset",
    "sub_env_seeds",
    "tasks_option",
]


class BatchDynamics(ABC):
    """Physics, rewards and task parameters of one family for ``num_envs`` sub-envs.

    Subclasses set the class attributes, build their task distribution and spaces in ``__init__``
    and implement :meth:`reset`, :meth:`step` and :meth:`observe` as array operations. Task parameter
    values are available as ``self.params[name]`` with shape ``(num_envs, *param_shape)``; random
    numbers come from ``self.rng`` (one stream per sub-env).
    """

    family: ClassVar[str]
    """Family name recorded in its tasks."""
    varies: ClassVar[str] = "task parameters"
    """What the task changes, for the family table (e.g. ``"goal position"``)."""
    reference: ClassVar[str] = "-"
    """Paper the family's setting follows."""
    horizon: ClassVar[int]
    """Default episode length (``max_episode_steps`` of the registered id)."""

    task_distribution: TaskDistribution
    single_observation_space: gym.spaces.Space
    single_action_space: gym.spaces.Space

    def __init__(self, num_envs: int):
        self.num_envs = require_int("num_envs", num_envs)
        self.rng = StreamRNG(self.num_envs)
        self.params: dict[str, np.ndarray] = {}

    def set_tasks(self, tasks: Sequence[Task], index: np.ndarray | slice = slice(None)) -> None:
        """Write the parameters of already validated ``tasks`` into sub-envs ``index``."""
        for name, parameter in self.task_distribution.parameters.items():
            if name not in self.params:
                self.params[name] = np.zeros((self.num_envs, *parameter.shape))
            self.params[name][index] = np.stack([t.params[name] for t in tasks])

    @abstractmethod
    def reset(self, index: np.ndarray) -> None:
        """Draw initial states for the sub-envs in ``index`` (an int array)."""

    @abstractmethod
    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance every sub-env by one step; return ``(reward, terminated)``, each ``(num_envs,)``."""

    @abstractmethod
    def observe(self) -> np.ndarray:
        """Observations of every sub-env, ``(num_envs, *obs_shape)``, in the space's dtype."""


def check_options(options: Mapping[str, Any] | None, allowed: set[str]) -> dict[str, Any]:
    """Reset ``options`` as a dict; ``TypeError``/``ValueError`` naming what is not allowed."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"reset options must be a dict, got {type(options).__name__}: {options!r}")
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; allowed: {sorted(allowed)}")
    return dict(options)


def tasks_option(options: Mapping[str, Any] | None, num_envs: int) -> Sequence[Task] | None:
    """The tasks a vector env's reset ``options`` give: ``"tasks"`` (one per sub-env), or
    ``"task"`` (one for every sub-env, as Gymnasium's ``SyncVectorEnv`` passes it on); ``None``
    if neither. ``TypeError``/``ValueError`` naming what is not allowed (other options, both)."""
    options = check_options(options, {"tasks", "task"})
    if "task" in options and "tasks" in options:
        raise ValueError("give reset option 'tasks' (one per sub-env) or 'task' (all), not both")
    if "task" in options:
        if not isinstance(options["task"], Task):
            raise TypeError(f"reset option 'task' must be a metarl.Task, got {options['task']!r}")
        return [options["task"]] * num_envs
    return options.get("tasks")


def as_array(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)``; ``ValueError`` naming ``name`` for ragged nested sequences."""
    try:
        return np.asarray(value)
    except ValueError as err:
        raise ValueError(f"{name} must be an array, got {short_repr(value)}: {err}") from None


def finite_array(name: str, value: Any, dtype: Any = np.float32) -> np.ndarray:
    """``value`` as an array in ``dtype`` whose entries are all finite real numbers.

    Finiteness is checked after the cast, so a value beyond ``dtype``'s range (``1e39`` for
    ``float32``) counts as infinite. ``TypeError`` unless ``value`` holds integers or floats
    (booleans are not numbers here); ``ValueError`` naming ``name`` and the first non-finite entry.
    """
    array = as_array(name, value)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got {short_repr(value)}")
    with np.errstate(over="ignore", invalid="ignore"):
        cast = array.astype(dtype, copy=False)
    finite = np.isfinite(cast)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        entry = f"{name}[{', '.join(map(str, where))}]" if where else name
        shown = value.tolist() if isinstance(value, np.ndarray) else value  # on one line
        raise ValueError(
            f"{name} must hold finite {np.dtype(dtype).name} numbers, got {short_repr(shown)} "
            f"({entry} is {array[where]})"
        )
    return cast


def check_actions(
    space: gym.spaces.Space, actions: Any, shape: tuple[int, ...], what: str = "action"
) -> np.ndarray:
    """``actions`` (of ``shape``: ``space.shape`` or a batch of them) as an array in ``space.dtype``.

    The same rule for every family's single and vector envs: a ``Discrete`` space takes integers
    inside it, as Gymnasium's ``action_space.contains`` does; a ``Box`` takes finite real numbers
    (:func:`finite_array`; finite values outside its bounds are clipped by the family, as in
    Gymnasium's classic control and MuJoCo envs). ``TypeError``/``ValueError`` naming the bad
    action and what is allowed otherwise.
    """
    array = as_array(what, actions)
    if array.shape != shape:
        raise ValueError(
            f"{what} must have shape {shape}, got {array.shape}: {short_repr(actions)}"
        )
    if isinstance(space, gym.spaces.Discrete):
        low, high = int(space.start), int(space.start + space.n - 1)
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(
                f"{what} must hold integers in [{low}, {high}], got {short_repr(actions)}"
            )
        if array.size and not (low <= array.min() and array.max() <= high):
            raise ValueError(
                f"{what} must hold integers in [{low}, {high}], got {short_repr(actions)}"
            )
        return array.astype(space.dtype, copy=False)
    return finite_array(what, actions, space.dtype)


def require_reset(env: VectorEnv, has_reset: bool) -> None:
    """Raise ``ResetNeeded`` if ``env`` is stepped before its first ``reset`` (every vector env
    of metarl follows the rule that Gymnasium's ``OrderEnforcing`` gives single envs)."""
    if not has_reset:
        raise gym.error.ResetNeeded(
            f"Cannot call {type(env).__name__}.step() before calling reset()"
        )


def sub_env_seeds(seed: Any, num_envs: int) -> list[int] | None:
    """The seed of each sub-env: ``seed + i`` for an int, the given ones for a sequence.

    ``ValueError`` unless ``seed`` is ``None``, an int >= 0 or ``num_envs`` of them.
    """
    if seed is None:
        return None
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return [require_int("seed", seed, minimum=0) + i for i in range(num_envs)]
    if not isinstance(seed, Sequence) or isinstance(seed, str) or len(seed) != num_envs:
        raise ValueError(
            f"seed must be None, an int >= 0 or a sequence of {num_envs} of them (one per "
            f"sub-env), got {short_repr(seed)}"
        )
    return [require_int(f"seed[{i}]", s, minimum=0) for i, s in enumerate(seed)]


def check_tasks(
    tasks: Sequence[Task], num_envs: int, distribution: TaskDistribution
) -> tuple[Task, ...]:
    """One validated task per sub-env; ``TypeError``/``ValueError`` naming what is wrong."""
    if isinstance(tasks, Task) or not isinstance(tasks, Sequence):
        raise TypeError(
            f"tasks must be a sequence of {num_envs} metarl.Task, got {type(tasks).__name__}"
        )
    if len(tasks) != num_envs:
        raise ValueError(f"need one task per sub-env ({num_envs}), got {len(tasks)}")
    return tuple(distribution.validate(t) for t in tasks)


class NumpyTaskEnv(TaskSwitching, gym.Env):
    """A single environment of a family: one sub-env of its :class:`BatchDynamics`.

    The current task is ``env.unwrapped.task``; ``reset(options={"task": task})`` or ``set_task``
    switch it (the new task holds from that reset on). ``info["task_id"]`` identifies it. The task
    is hidden from observations (wrap in :class:`metarl.envs.wrappers.TaskObservation` to show it).
    """

    dynamics_class: ClassVar[type[BatchDynamics]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, task: Task | None = None, render_mode: str | None = None, **config: Any):
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: None")
        self._dynamics = self.dynamics_class(1, **config)
        self.observation_space = self._dynamics.single_observation_space
        self.action_space = self._dynamics.single_action_space
        self.task_distribution: TaskDistribution = self._dynamics.task_distribution
        self._stream_keyed = False
        self.set_task(self.task_distribution.default_task() if task is None else task)

    def _apply_task(self, task: Task) -> None:
        """Takes effect at once."""
        self._dynamics.set_tasks([task])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = check_options(options, {"task"})
        if "task" in options:
            self.set_task(options["task"])
        if seed is not None or not self._stream_keyed:
            self._dynamics.rng.seed(slice(None), key_from_generator(self.np_random))
            self._stream_keyed = True
        self._dynamics.reset(np.zeros(1, dtype=np.intp))
        return self._dynamics.observe()[0], {"task_id": self._task.id}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        batched = check_actions(self.action_space, action, self.action_space.shape)[None]
        reward, terminated = self._dynamics.step(batched)
        obs = self._dynamics.observe()[0]
        return obs, float(reward[0]), bool(terminated[0]), False, {"task_id": self._task.id}


class NumpyTaskVectorEnv(VectorEnv):
    """A native vector env of a family: every sub-env holds its own task, all step in one array op.

    Tasks are set with ``reset(options={"tasks": [...]})`` (one per sub-env), ``reset(options=
    {"task": t})`` (``t`` in every sub-env) or :meth:`set_tasks`. Episodes are truncated after
    ``max_episode_steps``; finished sub-envs reset on the next step
    (Gymnasium's ``AutoresetMode.NEXT_STEP``), keeping their task. Seeded with ``seed``, sub-env
    ``i`` reproduces the single env seeded with ``seed + i`` under the same actions. Stepping
    before the first ``reset`` raises ``gymnasium.error.ResetNeeded``.
    """

    dynamics_class: ClassVar[type[BatchDynamics]]
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        tasks: Sequence[Task] | None = None,
        render_mode: str | None = None,
        **config: Any,
    ):
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: None")
        self._dynamics = self.dynamics_class(num_envs, **config)
        self.num_envs = self._dynamics.num_envs
        if max_episode_steps is None:
            max_episode_steps = self._dynamics.horizon
        self.max_episode_steps = require_int("max_episode_steps", max_episode_steps)
        self.render_mode = None
        self.single_observation_space = self._dynamics.single_observation_space
        self.single_action_space = self._dynamics.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.task_distribution: TaskDistribution = self._dynamics.task_distribution
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._stream_keyed = False
        self._has_reset = False
        self.set_tasks(
            [self.task_distribution.default_task()] * self.num_envs if tasks is None else tasks
        )

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The task of each sub-env."""
        return self._tasks

    def set_tasks(self, tasks: Sequence[Task]) -> None:
        """Give sub-env ``i`` the task ``tasks[i]``; takes effect at once (call ``reset`` next)."""
        self._tasks = check_tasks(tasks, self.num_envs, self.task_distribution)
        self._dynamics.set_tasks(self._tasks)
        task_ids = np.array([t.id for t in self._tasks], dtype=object)
        task_ids.setflags(write=False)
        self._info = {"task_id": task_ids, "_task_id": np.ones(self.num_envs, dtype=bool)}

    def _stream_keys(self, seeds: list[int] | None) -> np.ndarray:
        if seeds is None:
            return np.array([key_from_generator(self.np_random) for _ in range(self.num_envs)])
        return np.array([key_from_seed(s) for s in seeds])

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = sub_env_seeds(seed, self.num_envs)
        tasks = tasks_option(options, self.num_envs)
        super().reset(seed=None if seeds is None else seeds[0])
        if tasks is not None:
            self.set_tasks(tasks)
        if seeds is not None or not self._stream_keyed:
            self._dynamics.rng.seed(slice(None), self._stream_keys(seeds))
            self._stream_keyed = True
        self._dynamics.reset(np.arange(self.num_envs))
        self._steps[:] = 0
        self._prev_done[:] = False
        self._has_reset = True
        return self._dynamics.observe(), dict(self._info)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        require_reset(self, self._has_reset)
        actions = check_actions(
            self.single_action_space, actions, self.action_space.shape, what="actions"
        )
        restarting = np.flatnonzero(self._prev_done)
        # Sub-envs that finished last step are stepped with the rest (one array op) but their
        # random streams are rewound and their state is redrawn, as if they had only been reset.
        counters = self._dynamics.rng.counters[restarting]
        reward, terminated = self._dynamics.step(actions)
        self._steps += 1
        truncated = self._steps >= self.max_episode_steps
        if restarting.size:
            self._dynamics.rng.counters[restarting] = counters
            self._dynamics.reset(restarting)
            self._steps[restarting] = 0
            reward[restarting] = 0.0
            terminated[restarting] = False
            truncated[restarting] = False
        self._prev_done = terminated | truncated
        return self._dynamics.observe(), reward, terminated, truncated, dict(self._info)
