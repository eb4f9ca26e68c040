"""MuJoCo task families (needs the ``mujoco`` extra: ``pip install 'metarl[mujoco]'``).

- :mod:`~metarl.envs.mujoco.goals`: goal-varying locomotion (HalfCheetahVel/Dir, AntVel/Dir/Dir2D,
  AntGoal, HumanoidDir).
- :mod:`~metarl.envs.mujoco.rand_params`: dynamics-varying bodies (HalfCheetah, Hopper, Walker2d,
  Ant RandParams).
- :mod:`~metarl.envs.mujoco.model_params`: any MuJoCo env as a family, by declaring which model
  fields vary (:class:`ModelField`, :class:`MujocoTaskEnv`, :func:`register_family`).
- Their vector envs: :class:`~metarl.envs.process_vector.ProcessVectorEnv` (one task per sub-env on
  worker processes), one subclass per family.

The ``metarl/...`` ids of these families are registered whenever ``metarl`` is imported;
making one without MuJoCo installed raises ``DependencyNotInstalled`` naming the extra.
"""

try:
    import mujoco  # noqa: F401
except ImportError as err:
    from gymnasium.error import DependencyNotInstalled

    raise DependencyNotInstalled(
        "metarl's MuJoCo families need MuJoCo: pip install 'metarl[mujoco]'"
    ) from err

from metarl.envs.mujoco.env import MujocoTaskEnv, register_family
from metarl.envs.mujoco.locomotion import LocomotionEnv
from metarl.envs.mujoco.model_params import ModelField, ModelParams

__all__ = [
    "LocomotionEnv",
    "ModelField",
    "ModelParams",
    "MujocoTaskEnv",
    "register_family",
]
