"""Goal-varying MuJoCo locomotion: target velocities, directions and goal positions per task.

The settings of the MAML paper (Finn et al., 2017, sec. 5.3) unless noted, on Gymnasium's v5
robots. Direction families (+-1) are finite: their ``train`` and ``test`` splits are both
{-1, +1}, as in MAML.
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv

from metarl.envs.mujoco.locomotion import Direction, Goal, Heading, LocomotionEnv, TargetVelocity
from metarl.envs.process_vector import vector_env_class
from metarl.tasks import Choice, Disk, Uniform

__all__ = [
    "AntDir2DEnv",
    "AntDir2DVectorEnv",
    "AntDirEnv",
    "AntDirVectorEnv",
    "AntGoalEnv",
    "AntGoalVectorEnv",
    "AntVelEnv",
    "AntVelVectorEnv",
    "HalfCheetahDirEnv",
    "HalfCheetahDirVectorEnv",
    "HalfCheetahVelEnv",
    "HalfCheetahVelVectorEnv",
    "HumanoidDirEnv",
    "HumanoidDirVectorEnv",
]

MAML = "Finn et al. 2017 (MAML), sec. 5.3"
# MAML's HalfCheetah control cost: 0.5 * 0.1 |a|^2.
CHEETAH = {"ctrl_cost_weight": 0.05}


def _direction() -> Direction:
    return Direction(
        Choice("direction", (-1.0, 1.0), default=1.0, doc="+1 forward, -1 backward along x")
    )


def _angle() -> Heading:
    return Heading(
        Uniform("angle", 0.0, 2 * np.pi, default=0.0, doc="running direction in the floor plane")
    )


class HalfCheetahVelEnv(LocomotionEnv, HalfCheetahEnv):
    """HalfCheetah must run at a target forward velocity that differs per task.

    ## Description
    The velocity task of the MAML paper on Gymnasium's HalfCheetah-v5: the reward peaks when the
    forward velocity equals the task's target, which the agent cannot see.

    ## Task distribution
    | Parameter      | Training range | test-ood                      | Default | Reference |
    |----------------|----------------|-------------------------------|---------|-----------|
    | ``velocity``   | U[0, 2]        | [0, 3] outside training range | 1       | MAML      |
    """

    family = "HalfCheetahVel"
    varies = "target forward velocity"
    reference = MAML
    defaults = CHEETAH
    objective = TargetVelocity(
        Uniform("velocity", 0.0, 2.0, default=1.0, ood=(0.0, 3.0), doc="target velocity (m/s)")
    )


class HalfCheetahDirEnv(LocomotionEnv, HalfCheetahEnv):
    """HalfCheetah must run forward or backward, the direction differing per task.

    ## Description
    The direction task of the MAML paper on Gymnasium's HalfCheetah-v5.

    ## Task distribution
    | Parameter       | Training range | test-ood | Default | Reference |
    |-----------------|----------------|----------|---------|-----------|
    | ``direction``   | {-1, 1}        | -        | 1       | MAML      |

    Finite: ``train`` and ``test`` are both {-1, +1} (as in MAML); there is no ``test-ood``.
    """

    family = "HalfCheetahDir"
    varies = "running direction (+-1)"
    reference = MAML
    defaults = CHEETAH
    objective = _direction()


class AntVelEnv(LocomotionEnv, AntEnv):
    """Ant must run along x at a target velocity that differs per task.

    ## Description
    The velocity task of the MAML paper on Gymnasium's Ant-v5 (its survive bonus, control and
    contact costs and termination; MAML used a 0.05 survive bonus and no termination:
    ``healthy_reward=0.05, terminate_when_unhealthy=False``).

    ## Task distribution
    | Parameter      | Training range | test-ood                      | Default | Reference |
    |----------------|----------------|-------------------------------|---------|-----------|
    | ``velocity``   | U[0, 3]        | [0, 4] outside training range | 1.5     | MAML      |
    """

    family = "AntVel"
    varies = "target forward velocity"
    reference = MAML
    objective = TargetVelocity(
        Uniform("velocity", 0.0, 3.0, default=1.5, ood=(0.0, 4.0), doc="target velocity (m/s)")
    )


class AntDirEnv(LocomotionEnv, AntEnv):
    """Ant must run forward or backward along x, the direction differing per task.

    ## Description
    The direction task of the MAML paper on Gymnasium's Ant-v5.

    ## Task distribution
    | Parameter       | Training range | test-ood | Default | Reference |
    |-----------------|----------------|----------|---------|-----------|
    | ``direction``   | {-1, 1}        | -        | 1       | MAML      |

    Finite: ``train`` and ``test`` are both {-1, +1} (as in MAML); there is no ``test-ood``.
    """

    family = "AntDir"
    varies = "running direction (+-1)"
    reference = MAML
    objective = _direction()


class AntDir2DEnv(LocomotionEnv, AntEnv):
    """Ant must run in a direction of the floor plane that differs per task.

    ## Description
    The 2-D direction task of ProMP on Gymnasium's Ant-v5: the reward is the velocity along the
    task's direction.

    ## Task distribution
    | Parameter   | Training range | test-ood | Default | Reference |
    |-------------|----------------|----------|---------|-----------|
    | ``angle``   | U[0, 2pi]      | -        | 0       | ProMP     |

    The circle has no outside, so there is no ``test-ood``.
    """

    family = "AntDir2D"
    varies = "running direction (angle)"
    reference = "Rothfuss et al. 2019 (ProMP), sec. 7"
    objective = _angle()


class AntGoalEnv(LocomotionEnv, AntEnv):
    """Ant must walk to a goal position on the floor that differs per task.

    ## Description
    The goal task of PEARL on Gymnasium's Ant-v5: the reward is minus the distance of the torso to
    the goal, plus Gymnasium's survive bonus, minus its costs.

    ## Task distribution
    | Parameter  | Training range                        | test-ood            | Default  | Reference |
    |------------|---------------------------------------|---------------------|----------|-----------|
    | ``goal``   | uniform in the disk of radius 3       | distance in (3, 4]  | (2, 0)   | PEARL     |
    """

    family = "AntGoal"
    varies = "goal position"
    reference = "Rakelly et al. 2019 (PEARL), appendix"
    objective = Goal(Disk("goal", 3.0, default=(2.0, 0.0), ood_radius=4.0, doc="goal (x, y)"))


class HumanoidDirEnv(LocomotionEnv, HumanoidEnv):
    """Humanoid must walk in a direction of the floor plane that differs per task.

    ## Description
    The direction task of PEARL on Gymnasium's Humanoid-v5: the forward term of Gymnasium's reward
    is replaced by the velocity of the centre of mass along the task's direction.

    ## Task distribution
    | Parameter   | Training range | test-ood | Default | Reference |
    |-------------|----------------|----------|---------|-----------|
    | ``angle``   | U[0, 2pi]      | -        | 0       | PEARL     |

    The circle has no outside, so there is no ``test-ood``.
    """

    family = "HumanoidDir"
    varies = "walking direction (angle)"
    reference = "Rakelly et al. 2019 (PEARL), appendix"
    objective = _angle()


HalfCheetahVelVectorEnv = vector_env_class(HalfCheetahVelEnv)
HalfCheetahDirVectorEnv = vector_env_class(HalfCheetahDirEnv)
AntVelVectorEnv = vector_env_class(AntVelEnv)
AntDirVectorEnv = vector_env_class(AntDirEnv)
AntDir2DVectorEnv = vector_env_class(AntDir2DEnv)
AntGoalVectorEnv = vector_env_class(AntGoalEnv)
HumanoidDirVectorEnv = vector_env_class(HumanoidDirEnv)
