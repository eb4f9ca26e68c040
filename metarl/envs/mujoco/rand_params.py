"""Dynamics-varying MuJoCo bodies: the rand-param setting of ProMP, PEARL and VariBAD.

Every element of ``body_mass``, ``body_inertia``, ``dof_damping`` and ``geom_friction`` of the
compiled model is scaled by ``base ** u`` with its own ``u ~ U[-3, 3]``; the task holds the
exponents ``u`` (arrays shaped like the model fields), not the scales. The bases are those of the
reference code (``rand_param_envs``): 1.5 for masses, inertias and frictions, 1.3 for damping.
``test-ood`` tasks have every ``|u|`` in (3, 4]. The reward is Gymnasium's own (forward velocity,
survive bonus, costs); only the dynamics vary.
"""

from __future__ import annotations

from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

from metarl.envs.mujoco.locomotion import LocomotionEnv
from metarl.envs.mujoco.model_params import ModelField
from metarl.envs.process_vector import vector_env_class

__all__ = [
    "RAND_PARAMS",
    "AntRandParamsEnv",
    "AntRandParamsVectorEnv",
    "HalfCheetahRandParamsEnv",
    "HalfCheetahRandParamsVectorEnv",
    "HopperRandParamsEnv",
    "HopperRandParamsVectorEnv",
    "Walker2dRandParamsEnv",
    "Walker2dRandParamsVectorEnv",
    "rand_params",
]

REFERENCE = (
    "Rothfuss et al. 2019 (ProMP); Rakelly et al. 2019 (PEARL); Zintgraf et al. 2020 (VariBAD)"
)


def rand_params(limit: float = 3.0, ood_limit: float = 4.0) -> tuple[ModelField, ...]:
    """The four log-scaled fields: element ``x`` becomes ``x * base ** u``, ``u ~ U[-limit, limit]``."""
    bases = {"body_mass": 1.5, "body_inertia": 1.5, "dof_damping": 1.3, "geom_friction": 1.5}
    return tuple(
        ModelField(
            field,
            -limit,
            limit,
            mode="log-scale",
            base=base,
            ood=(-ood_limit, ood_limit),
            ood_per_element=True,
        )
        for field, base in bases.items()
    )


RAND_PARAMS = rand_params()
"""The fields of every RandParams family."""

_TABLE = """
    ## Description
    Gymnasium's {robot}-v5 whose body masses, inertias, joint damping and geom frictions are scaled
    per element by ``base ** u``, ``u`` drawn per task (the rand-param setting of ProMP, PEARL and
    VariBAD, which otherwise runs only on MuJoCo 1.31). Writing a task restores the nominal model
    first and recomputes MuJoCo's derived constants (``mj_setConst``).

    ## Task distribution
    The task holds the exponents ``u`` (shapes of the model fields); the default task ``u = 0``
    is Gymnasium's nominal model.

    | Parameter         | Shape      | Base | Training range       | test-ood      | Default |
    |-------------------|------------|------|----------------------|---------------|---------|
    | ``body_mass``     | (nbody,)   | 1.5  | U[-3, 3] per element | (3, 4] in abs | 0       |
    | ``body_inertia``  | (nbody, 3) | 1.5  | U[-3, 3] per element | (3, 4] in abs | 0       |
    | ``dof_damping``   | (nv,)      | 1.3  | U[-3, 3] per element | (3, 4] in abs | 0       |
    | ``geom_friction`` | (ngeom, 3) | 1.5  | U[-3, 3] per element | (3, 4] in abs | 0       |

    test-ood: every element ``u`` in [-4, -3) or (3, 4]. Reference: ProMP, PEARL, VariBAD.
"""


def _doc(summary: str, robot: str) -> str:
    return f"{summary}\n{_TABLE.format(robot=robot)}"


class HalfCheetahRandParamsEnv(LocomotionEnv, HalfCheetahEnv):
    __doc__ = _doc(
        "HalfCheetah runs forward; its masses, inertias, damping and frictions vary.", "HalfCheetah"
    )
    family = "HalfCheetahRandParams"
    varies = "body mass, inertia, damping, friction"
    reference = REFERENCE
    model_fields = RAND_PARAMS


class HopperRandParamsEnv(LocomotionEnv, HopperEnv):
    __doc__ = _doc(
        "Hopper hops forward; its masses, inertias, damping and frictions vary.", "Hopper"
    )
    family = "HopperRandParams"
    varies = "body mass, inertia, damping, friction"
    reference = REFERENCE
    model_fields = RAND_PARAMS


class Walker2dRandParamsEnv(LocomotionEnv, Walker2dEnv):
    __doc__ = _doc(
        "Walker2d walks forward; its masses, inertias, damping and frictions vary.", "Walker2d"
    )
    family = "Walker2dRandParams"
    varies = "body mass, inertia, damping, friction"
    reference = REFERENCE
    model_fields = RAND_PARAMS


class AntRandParamsEnv(LocomotionEnv, AntEnv):
    __doc__ = _doc("Ant runs forward; its masses, inertias, damping and frictions vary.", "Ant")
    family = "AntRandParams"
    varies = "body mass, inertia, damping, friction"
    reference = REFERENCE
    model_fields = RAND_PARAMS


HalfCheetahRandParamsVectorEnv = vector_env_class(HalfCheetahRandParamsEnv)
HopperRandParamsVectorEnv = vector_env_class(HopperRandParamsEnv)
Walker2dRandParamsVectorEnv = vector_env_class(Walker2dRandParamsEnv)
AntRandParamsVectorEnv = vector_env_class(AntRandParamsEnv)
