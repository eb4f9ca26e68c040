"""The task API over Meta-World's envs: :class:`MetaWorldEnv` and :class:`MetaWorldVectorEnv`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from metaworld.env_dict import ALL_V3_ENVIRONMENTS
from metaworld.sawyer_xyz_env import SawyerXYZEnv

from metarl.envs.core import check_actions, check_options
from metarl.envs.metaworld.benchmarks import benchmark_tasks, task_distribution, task_parameters
from metarl.envs.mujoco.env import step_each
from metarl.envs.process_vector import ProcessVectorEnv
from metarl.envs.task_env import TaskSwitching
from metarl.tasks import Index, Task, TaskDistribution

__all__ = ["MetaWorldEnv", "MetaWorldVectorEnv"]

# Meta-World envs of this process that no MetaWorldEnv holds, by env name. Building one loads its
# model (~0.15 s); an ML10 vector env switches task classes every meta-batch, so it reuses them.
_IDLE: defaultdict[str, list[SawyerXYZEnv]] = defaultdict(list)


def _acquire(env_name: str) -> SawyerXYZEnv:
    idle = _IDLE[env_name]
    return idle.pop() if idle else ALL_V3_ENVIRONMENTS[env_name]()


class MetaWorldEnv(TaskSwitching, gym.Env):
    """A Meta-World benchmark as a metarl family: one env whose task picks the class and goal.

    ## Description
    The Sawyer arm tasks of Meta-World v3 (Yu et al. 2019; McLean et al. 2025), as the ML
    benchmarks define them: the goal is hidden from the observation (the last three entries are
    zero), the reward is Meta-World's v2 reward in [0, 10] per step, and ``info["success"]`` is 1
    on steps where the task is solved. Episodes never terminate; they are truncated after 500
    steps (Meta-World's ``max_path_length``, which also bounds ``max_episode_steps``).

    ## Task distribution
    | Benchmark | train split | test split |
    |---|---|---|
    | ``ML1-<env>`` | 50 goals of ``<env>`` | 50 other goals of ``<env>`` |
    | ``ML10`` | 10 classes x 50 goals | 5 held-out classes x 50 goals |
    | ``ML45`` | 45 classes x 50 goals | 5 held-out classes x 50 goals |

    Parameters (all :class:`~metarl.tasks.Index`): ``split`` (0 train, 1 test), ``env_class``
    (into the split's classes) and ``goal``. The goals are Meta-World's, drawn with
    ``BENCHMARK_SEED`` (see :mod:`metarl.envs.metaworld.benchmarks`);
    ``env.unwrapped.env_name`` names the current class.

    ## Arguments
    ``benchmark`` (``"ML1-reach-v3"``, ``"ML10"``, ``"ML45"``), ``task`` (initial task).

    >>> import gymnasium, metarl
    >>> env = gymnasium.make("metarl/MetaWorld-ML1-reach-v0")
    >>> task = env.unwrapped.task_distribution.split("test").tasks[0]
    >>> obs, info = env.reset(seed=0, options={"task": task})
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    horizon: ClassVar[int] = 500
    """Episode length (Meta-World's ``max_path_length``)."""
    info_keys: ClassVar[tuple[str, ...]] = ("success",)
    """``info`` entries the vector env passes on."""
    varies: ClassVar[str] = "goal and object positions (ML1); task class and goal (ML10, ML45)"
    reference: ClassVar[str] = "Yu et al. 2019 (Meta-World)"

    def __init__(
        self,
        benchmark: str = "ML1-reach-v3",
        task: Task | None = None,
        render_mode: str | None = None,
    ):
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: None")
        self.benchmark = benchmark
        self._benchmark_tasks = benchmark_tasks(benchmark)
        self.task_distribution: TaskDistribution = task_distribution(benchmark)
        self.family = self.task_distribution.family
        self._env: SawyerXYZEnv | None = None
        self.env_name = ""
        self.set_task(self.task_distribution.default_task() if task is None else task)
        self.observation_space = self._env.observation_space
        self.action_space = self._env.action_space

    @classmethod
    def describer(cls, benchmark: str) -> Any:
        """The family's name and parameters without building its goals (for the family table)."""
        train_classes = {"ML10": 10, "ML45": 45}.get(benchmark, 1)
        parameters = task_parameters(train_classes, num_goals=50)
        return _Description(f"MetaWorld-{benchmark}", cls.varies, cls.reference, parameters)

    def _apply_task(self, task: Task) -> None:
        """Takes effect at the next ``reset``."""
        env_name = self._benchmark_tasks.env_name(task)
        if env_name != self.env_name:
            self._release()
            self._env, self.env_name = _acquire(env_name), env_name
        self._env.set_task(self._benchmark_tasks.metaworld_task(task))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = check_options(options, {"task"})
        if "task" in options:
            self.set_task(options["task"])
        if seed is not None:
            self._env.seed(seed)
        obs, info = self._env.reset()
        info["task_id"] = self._task.id
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = check_actions(self.action_space, action, self.action_space.shape)
        obs, reward, terminated, truncated, info = self._env.step(action)
        info["task_id"] = self._task.id
        return obs, float(reward), bool(terminated), bool(truncated), info

    @classmethod
    def step_many(
        cls, envs: Sequence[MetaWorldEnv], actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step ``envs`` one by one (see ``MujocoTaskEnv.step_many``)."""
        return step_each(envs, actions, cls.info_keys)

    def _release(self) -> None:
        if self._env is not None:
            _IDLE[self.env_name].append(self._env)
            self._env, self.env_name = None, ""

    def close(self) -> None:
        """Hand the Meta-World env back for reuse by this process's next env of its class."""
        self._release()


class _Description:
    def __init__(self, family: str, varies: str, reference: str, parameters: list[Index]):
        self.family, self.varies, self.reference = family, varies, reference
        self.task_distribution = TaskDistribution(family, parameters)


class MetaWorldVectorEnv(ProcessVectorEnv):
    """Vector env of a Meta-World benchmark: one task per sub-env, on worker processes.

    As :class:`~metarl.envs.process_vector.ProcessVectorEnv` (``NEXT_STEP`` autoreset, ``seed + i`` per
    sub-env); ``info["success"]`` holds every sub-env's success flag of the step. Arguments as
    there, plus ``benchmark``; ``max_episode_steps`` may not exceed 500.
    """

    env_class = MetaWorldEnv

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        tasks: Sequence[Task] | None = None,
        **kwargs: Any,
    ):
        horizon = MetaWorldEnv.horizon
        if max_episode_steps is not None and not (
            isinstance(max_episode_steps, int) and 1 <= max_episode_steps <= horizon
        ):
            raise ValueError(
                f"max_episode_steps must be an int in [1, {horizon}] (Meta-World's "
                f"max_path_length), got {max_episode_steps!r}"
            )
        super().__init__(num_envs, max_episode_steps, tasks, **kwargs)
