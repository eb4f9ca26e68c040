"""2D point-robot navigation of the MAML paper (Finn et al., 2017), dense and sparse rewards."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.tasks import Arc, Parameter, TaskDistribution, Uniform

__all__ = ["Navigation2DEnv", "Navigation2DVectorEnv"]

REWARD_TYPES = ("dense", "sparse")
GOAL_REGIONS = ("square", "semicircle")


def goal_prior(region: str) -> Parameter:
    """The goal's prior: ``square``, MAML's U[-0.5, 0.5]^2; ``semicircle``, PEARL's sparse point
    robot's upper half circle of radius 1 (oyster's goals lie at evenly spaced angles in
    [0, pi]; here the angle is drawn uniformly)."""
    if region == "semicircle":
        return Arc("goal", 1.0, 0.0, np.pi, default=(0.0, 1.0), doc="goal position (x, y)")
    if region != "square":
        raise ValueError(f"goal_region must be one of {GOAL_REGIONS}, got {region!r}")
    return Uniform(
        "goal", -0.5, 0.5, shape=(2,), default=(0.25, 0.25), ood=(-1.0, 1.0),
        doc="goal position (x, y)",
    )


class Navigation2DDynamics(BatchDynamics):
    family = "Navigation2D"
    varies = "goal position"
    reference = "Finn et al. 2017 (MAML), sec. 5.2; sparse: Rakelly et al. 2019 (PEARL)"
    horizon = 100
    max_step = 0.1
    goal_tolerance = 0.01

    def __init__(
        self,
        num_envs: int,
        reward_type: str = "dense",
        goal_radius: float = 0.2,
        goal_region: str = "square",
    ):
        super().__init__(num_envs)
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}")
        if not goal_radius > 0:
            raise ValueError(f"goal_radius must be > 0, got {goal_radius!r}")
        self.reward_type = reward_type
        self.goal_radius = float(goal_radius)
        self.task_distribution = TaskDistribution(self.family, [goal_prior(goal_region)])
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.single_action_space = spaces.Box(
            -self.max_step, self.max_step, shape=(2,), dtype=np.float32
        )
        self.position = np.zeros((self.num_envs, 2))

    def reset(self, index: np.ndarray) -> None:
        self.position[index] = 0.0

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.position += np.clip(action, -self.max_step, self.max_step)
        offset = self.position - self.params["goal"]
        distance = np.linalg.norm(offset, axis=1)
        if self.reward_type == "dense":
            reward = -distance
        else:
            reward = np.where(distance <= self.goal_radius, 1.0 - distance, 0.0)
        return reward, np.all(np.abs(offset) < self.goal_tolerance, axis=1)

    def observe(self) -> np.ndarray:
        return self.position.astype(np.float32)


class Navigation2DEnv(NumpyTaskEnv):
    """A point robot moves in the plane towards a goal that differs per task.

    ## Description
    The point-robot task of the MAML paper. The robot starts at the origin and must reach a goal
    position it cannot see; the goal varies per task, so it is found only from rewards.

    ## Action Space
    ``Box(-0.1, 0.1, (2,), float32)``: the displacement (dx, dy), clipped to [-0.1, 0.1] per axis.

    ## Observation Space
    ``Box(-inf, inf, (2,), float32)``:

    | Num | Observation | Min  | Max |
    |-----|-------------|------|-----|
    | 0   | x position  | -Inf | Inf |
    | 1   | y position  | -Inf | Inf |

    ## Rewards
    - ``dense`` (default): minus the Euclidean distance to the goal after the move.
    - ``sparse``: ``1 - distance`` within ``goal_radius`` of the goal, 0 elsewhere (PEARL).

    ## Starting State
    The origin (0, 0).

    ## Episode End
    - Termination: the robot is within 0.01 of the goal on both axes (``|dx| < 0.01`` and
      ``|dy| < 0.01``), as in the MAML authors' rllab code and pytorch-maml-rl.
    - Truncation: 100 steps (``max_episode_steps``).

    ## Task distribution
    | Parameter | Training range     | test-ood                          | Default      | Reference |
    |-----------|--------------------|-----------------------------------|--------------|-----------|
    | ``goal``  | U[-0.5, 0.5]^2     | [-1, 1]^2 outside [-0.5, 0.5]^2   | (0.25, 0.25) | MAML      |

    With ``goal_region="semicircle"`` the goals lie on the upper half circle of radius 1 (angle
    U[0, pi], default (0, 1), no test-ood region), as in PEARL's sparse point robot.

    ## Arguments
    | Argument       | Default   | Meaning                                  |
    |----------------|-----------|------------------------------------------|
    | ``task``       | default   | initial task (a ``metarl.Task``)         |
    | ``reward_type``| "dense"   | "dense" or "sparse"                      |
    | ``goal_radius``| 0.2       | radius of the sparse reward              |
    | ``goal_region``| "square"  | "square" (MAML) or "semicircle" (PEARL)  |

    >>> import gymnasium, metarl
    >>> env = gymnasium.make("metarl/Navigation2D-v0")
    >>> task = env.unwrapped.task_distribution.split("train").sample(1, seed=0)[0]
    >>> obs, info = env.reset(seed=0, options={"task": task})

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/Navigation2D-v0", num_envs=n)`` gives :class:`Navigation2DVectorEnv`,
    one task per sub-env.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = Navigation2DDynamics


class Navigation2DVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`Navigation2DEnv`."""

    dynamics_class = Navigation2DDynamics
