"""MuJoCo task families (needs the ``mujoco`` extra: ``pip install 'metarl[mujoco]'``).

- :mod:`~metarl.envs.mujoco.goals`: goal-varying locomotion (HalfCheetahVel/Dir, AntVel/Dir/Dir2D,
  AntGoal, HumanoidDir).
- :mod:`~metarl.envs.mujoco.rand_params`: dynamics-varying bodies (HalfCheetah, Hopper, Walker2d,
  Ant RandParams).
- :mod:`~metarl.envs.mujoco.model_params`: any MuJoCo env as a family, by declaring which model
  fields vary (:class:`ModelField`, :class:`MujocoTaskEnv`), registered with
  :func:`register_family` (:func:`metarl.envs.register_family`, re-exported here).
- Their vector envs: :class:`~metarl.envs.process_vector.ProcessVectorEnv` (one task per sub-env on
  worker processes), one subclass per family.

The ``metarl/...`` ids of these families are registered whenever ``metarl`` is imported;
making one without MuJoCo installed raises ``DependencyNotInstalled`` naming the extra.
"""

import warnings

try:
    import mujoco
except ImportError as err:
    from gymnasium.error import DependencyNotInstalled

    raise DependencyNotInstalled(
        "metarl's MuJoCo families need MuJoCo: pip install 'metarl[mujoco]'"
    ) from err

from metarl.envs.mujoco.env import MujocoTaskEnv
from metarl.envs.mujoco.locomotion import LocomotionEnv
from metarl.envs.mujoco.model_params import ModelField, ModelParams
from metarl.envs.registration import register_family


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warnings as Python ``RuntimeWarning`` s (shown once each per process), except the
    deprecation of ``settotalmass`` that Gymnasium's own model files trigger in MuJoCo 4, which
    nothing a user of these envs can change and every worker process would print again."""
    if "settotalmass" not in message:
        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)


if mujoco.get_mju_user_warning() is None:  # a handler of the user's own stays
    mujoco.set_mju_user_warning(_mujoco_warning)

__all__ = [
    "LocomotionEnv",
    "ModelField",
    "ModelParams",
    "MujocoTaskEnv",
    "register_family",
]
