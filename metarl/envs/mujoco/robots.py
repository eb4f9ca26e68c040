"""Gymnasium's v5 locomotion robots as batched numpy functions: observation, health and costs.

A :class:`Robot` reads the constructor settings of its Gymnasium env (``ctrl_cost_weight``,
``healthy_z_range``, ``exclude_current_positions_from_observation``, ...) and computes, for ``n``
simulations at once, what Gymnasium's ``_get_obs``, ``is_healthy`` and cost terms compute for one,
from ``MjData`` arrays gathered into ``(n, ...)`` arrays. The same functions serve a single env
(``n = 1``) and the vector env's workers, so both give identical numbers; at the nominal model they
reproduce Gymnasium's envs (tested against them).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

__all__ = [
    "ROBOTS",
    "AntRobot",
    "HalfCheetahRobot",
    "HopperRobot",
    "HumanoidRobot",
    "Robot",
    "Walker2dRobot",
    "gymnasium_defaults",
    "robot_for",
]

State = Mapping[str, np.ndarray]
"""``MjData`` arrays of ``n`` simulations, each ``(n, *field_shape)``."""


def gymnasium_defaults(env_class: type) -> dict[str, Any]:
    """Default constructor arguments of a Gymnasium env class (its public signature)."""
    parameters = inspect.signature(env_class.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


class Robot(ABC):
    """Batched observation, position, health and cost terms of one Gymnasium v5 robot.

    Args:
        settings: the env's constructor arguments, Gymnasium's defaults filled in.
        model, data: the env's compiled model and data (for shapes and body ids).
    """

    gymnasium_class: ClassVar[type]
    """The Gymnasium env whose observation and reward terms this robot reproduces."""
    planar: ClassVar[bool] = True
    """Moves in the x-z plane (position and velocity are x only) rather than on the floor (x, y)."""
    fields: ClassVar[tuple[str, ...]] = ("qpos", "qvel")
    """``MjData`` arrays gathered after each step."""
    needs_contact_forces: ClassVar[bool] = False
    """Whether ``cfrc_ext`` is used, so each step ends with ``mj_rnePostConstraint``."""
    action_doc: ClassVar[str]
    observation_doc: ClassVar[str]
    start_doc: ClassVar[str]

    def __init__(self, settings: Mapping[str, Any], model: mujoco.MjModel, data: mujoco.MjData):
        self.frame_skip = int(settings["frame_skip"])
        self.forward_reward_weight = float(settings["forward_reward_weight"])
        self.ctrl_cost_weight = float(settings["ctrl_cost_weight"])
        self.healthy_reward = float(settings.get("healthy_reward", 0.0))
        self.terminate_when_unhealthy = bool(settings.get("terminate_when_unhealthy", False))
        self.skip = 0
        if settings["exclude_current_positions_from_observation"]:
            self.skip = 1 if self.planar else 2
        self.position_dim = 1 if self.planar else 2
        self.shapes = {name: getattr(data, name).shape for name in self.fields}

    def position(self, model: mujoco.MjModel, data: mujoco.MjData) -> Any:
        """Position whose change per ``dt`` is the velocity: x (planar) or (x, y)."""
        return self.position_view(data)

    def position_view(self, data: mujoco.MjData) -> np.ndarray | None:
        """A live view of ``data`` holding the position, or ``None`` if it must be computed."""
        return data.qpos[:1]

    @abstractmethod
    def observe(self, state: State) -> np.ndarray:
        """Observations, ``(n, obs_dim)`` float64."""

    def healthy(self, state: State) -> np.ndarray:
        """Boolean ``(n,)``: which simulations are healthy (always, for robots that cannot fall)."""
        return np.ones(len(state["qpos"]), dtype=bool)

    def costs(self, state: State, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Control and contact costs, each ``(n,)`` (positive; subtracted from the reward).

        The control cost is Gymnasium's, computed in the actions' dtype; where that overflows
        (``|a| > 1e19`` in float32) it is computed in float64, so any finite action costs a
        finite amount.
        """
        with np.errstate(over="ignore"):
            ctrl = self.ctrl_cost_weight * np.square(actions).sum(axis=1)
        if not np.isfinite(ctrl).all():
            wide = self.ctrl_cost_weight * np.square(actions, dtype=np.float64).sum(axis=1)
            ctrl = np.where(np.isfinite(ctrl), ctrl, wide)
        return ctrl, np.zeros_like(ctrl)

    @classmethod
    def termination_doc(cls, settings: Mapping[str, Any]) -> str:
        """Text of the termination condition, for family docstrings."""
        return f"never (a {cls.gymnasium_class.__name__[:-3]} cannot fall)."

    @classmethod
    def cost_doc(cls, settings: Mapping[str, Any]) -> str:
        """Text of the survive bonus and cost terms, for family docstrings."""
        return f"- {settings['ctrl_cost_weight']:g} |a|^2"


class PlanarRobot(Robot):
    """HalfCheetah, Hopper and Walker2d: a root slide joint along x, hinge joints in the plane."""

    velocity_clip: ClassVar[float | None] = None

    def __init__(self, settings: Mapping[str, Any], model: mujoco.MjModel, data: mujoco.MjData):
        super().__init__(settings, model, data)
        self.z_range = settings.get("healthy_z_range")
        self.angle_range = settings.get("healthy_angle_range")
        self.state_range = settings.get("healthy_state_range")

    def observe(self, state: State) -> np.ndarray:
        qvel = state["qvel"]
        if self.velocity_clip is not None:
            qvel = np.clip(qvel, -self.velocity_clip, self.velocity_clip)
        return np.concatenate([state["qpos"][:, self.skip :], qvel], axis=1)

    def healthy(self, state: State) -> np.ndarray:
        qpos = state["qpos"]
        ok = np.ones(len(qpos), dtype=bool)
        if self.z_range is not None:
            ok &= (self.z_range[0] < qpos[:, 1]) & (qpos[:, 1] < self.z_range[1])
        if self.angle_range is not None:
            ok &= (self.angle_range[0] < qpos[:, 2]) & (qpos[:, 2] < self.angle_range[1])
        if self.state_range is not None:
            rest = np.concatenate([qpos[:, 2:], state["qvel"]], axis=1)
            ok &= ((self.state_range[0] < rest) & (rest < self.state_range[1])).all(axis=1)
        return ok

    @classmethod
    def termination_doc(cls, settings: Mapping[str, Any]) -> str:
        if "healthy_z_range" not in settings:
            return super().termination_doc(settings)
        text = (
            f"when unhealthy (if ``terminate_when_unhealthy``, default "
            f"{settings['terminate_when_unhealthy']}): the torso height leaves "
            f"{tuple(settings['healthy_z_range'])} or its angle leaves "
            f"{tuple(settings['healthy_angle_range'])}"
        )
        if "healthy_state_range" in settings:
            text += (
                f", or an element of ``state[2:]`` leaves {tuple(settings['healthy_state_range'])}"
            )
        return text + "."

    @classmethod
    def cost_doc(cls, settings: Mapping[str, Any]) -> str:
        bonus = (
            f"+ {settings['healthy_reward']:g} * healthy " if "healthy_reward" in settings else ""
        )
        return bonus + super().cost_doc(settings)


class HalfCheetahRobot(PlanarRobot):
    gymnasium_class = HalfCheetahEnv
    action_doc = "``Box(-1, 1, (6,), float32)``: torques of the thigh, shin and foot joints."
    observation_doc = (
        "``Box(-inf, inf, (17,), float64)``, as Gymnasium's HalfCheetah-v5: ``qpos[1:]`` (8: "
        "root z and angle, 6 joint angles) then ``qvel`` (9)."
    )
    start_doc = (
        "Gymnasium's: the nominal pose plus U(-0.1, 0.1) noise on ``qpos`` and N(0, 0.1^2) on "
        "``qvel``."
    )


class HopperRobot(PlanarRobot):
    gymnasium_class = HopperEnv
    velocity_clip = 10.0
    action_doc = "``Box(-1, 1, (3,), float32)``: torques of the thigh, leg and foot joints."
    observation_doc = (
        "``Box(-inf, inf, (11,), float64)``, as Gymnasium's Hopper-v5: ``qpos[1:]`` (5) then "
        "``qvel`` (6) clipped to [-10, 10]."
    )
    start_doc = (
        "Gymnasium's: the nominal pose plus U(-0.005, 0.005) noise on ``qpos`` and ``qvel``."
    )


class Walker2dRobot(PlanarRobot):
    gymnasium_class = Walker2dEnv
    velocity_clip = 10.0
    action_doc = "``Box(-1, 1, (6,), float32)``: torques of both legs' thigh, leg and foot joints."
    observation_doc = (
        "``Box(-inf, inf, (17,), float64)``, as Gymnasium's Walker2d-v5: ``qpos[1:]`` (8) then "
        "``qvel`` (9) clipped to [-10, 10]."
    )
    start_doc = HopperRobot.start_doc


class FloorRobot(Robot):
    """Ant and Humanoid: a free root joint, moving on the floor in (x, y)."""

    planar = False
    needs_contact_forces = True

    @classmethod
    def termination_doc(cls, settings: Mapping[str, Any]) -> str:
        return (
            f"when unhealthy (if ``terminate_when_unhealthy``, default "
            f"{settings['terminate_when_unhealthy']}): the torso height leaves "
            f"{tuple(settings['healthy_z_range'])}."
        )

    @classmethod
    def cost_doc(cls, settings: Mapping[str, Any]) -> str:
        return (
            f"+ {settings['healthy_reward']:g} * healthy {super().cost_doc(settings)} "
            f"- {settings['contact_cost_weight']:g} |contact forces|^2"
        )


class AntRobot(FloorRobot):
    gymnasium_class = AntEnv
    fields = ("qpos", "qvel", "cfrc_ext")
    action_doc = "``Box(-1, 1, (8,), float32)``: torques of the hip and ankle joints of four legs."
    observation_doc = (
        "``Box(-inf, inf, (105,), float64)``, as Gymnasium's Ant-v5: ``qpos[2:]`` (13), ``qvel`` "
        "(14), then the external contact forces of bodies 1.. (78) clipped to "
        "``contact_force_range``."
    )
    start_doc = (
        "Gymnasium's: the nominal pose plus U(-0.1, 0.1) noise on ``qpos`` and N(0, 0.1^2) on "
        "``qvel``."
    )

    def __init__(self, settings: Mapping[str, Any], model: mujoco.MjModel, data: mujoco.MjData):
        super().__init__(settings, model, data)
        main_body = settings["main_body"]
        self.main_body = data.body(main_body).id
        self.z_range = settings["healthy_z_range"]
        self.force_range = settings["contact_force_range"]
        self.contact_cost_weight = float(settings["contact_cost_weight"])
        self.include_forces = bool(settings["include_cfrc_ext_in_observation"])

    def position_view(self, data: mujoco.MjData) -> np.ndarray | None:
        return data.xpos[self.main_body, :2]

    def _forces(self, state: State) -> np.ndarray:
        return np.clip(state["cfrc_ext"], *self.force_range)

    def observe(self, state: State) -> np.ndarray:
        parts = [state["qpos"][:, self.skip :], state["qvel"]]
        if self.include_forces:
            parts.append(self._forces(state)[:, 1:].reshape(len(state["qpos"]), -1))
        return np.concatenate(parts, axis=1)

    def healthy(self, state: State) -> np.ndarray:
        finite = np.isfinite(state["qpos"]).all(axis=1) & np.isfinite(state["qvel"]).all(axis=1)
        z = state["qpos"][:, 2]
        return finite & (self.z_range[0] <= z) & (z <= self.z_range[1])

    def costs(self, state: State, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ctrl, _ = super().costs(state, actions)
        forces = self._forces(state).reshape(len(actions), -1)
        return ctrl, self.contact_cost_weight * np.square(forces).sum(axis=1)


class HumanoidRobot(FloorRobot):
    gymnasium_class = HumanoidEnv
    fields = ("qpos", "qvel", "cinert", "cvel", "qfrc_actuator", "cfrc_ext")
    action_doc = (
        "``Box(-0.4, 0.4, (17,), float32)``: torques of the abdomen, hip, knee, shoulder and "
        "elbow joints."
    )
    observation_doc = (
        "``Box(-inf, inf, (348,), float64)``, as Gymnasium's Humanoid-v5: ``qpos[2:]`` (22), "
        "``qvel`` (23), then of bodies 1..: ``cinert`` (130), ``cvel`` (78), "
        "``qfrc_actuator[6:]`` (17), ``cfrc_ext`` (78)."
    )
    start_doc = "Gymnasium's: the nominal pose plus U(-0.01, 0.01) noise on ``qpos`` and ``qvel``."

    def __init__(self, settings: Mapping[str, Any], model: mujoco.MjModel, data: mujoco.MjData):
        super().__init__(settings, model, data)
        self.z_range = settings["healthy_z_range"]
        self.contact_cost_weight = float(settings["contact_cost_weight"])
        self.contact_cost_range = settings["contact_cost_range"]
        self.include = [
            settings[f"include_{name}_in_observation"]
            for name in ("cinert", "cvel", "qfrc_actuator", "cfrc_ext")
        ]

    def position(self, model: mujoco.MjModel, data: mujoco.MjData) -> Any:
        mass = model.body_mass[:, None]
        return ((mass * data.xipos).sum(axis=0) / mass.sum())[:2]

    def position_view(self, data: mujoco.MjData) -> np.ndarray | None:
        return None  # the centre of mass is computed

    def observe(self, state: State) -> np.ndarray:
        n = len(state["qpos"])
        parts = [state["qpos"][:, self.skip :], state["qvel"]]
        extra = (
            state["cinert"][:, 1:],
            state["cvel"][:, 1:],
            state["qfrc_actuator"][:, 6:],
            state["cfrc_ext"][:, 1:],
        )
        parts += [part.reshape(n, -1) for part, on in zip(extra, self.include, strict=True) if on]
        return np.concatenate(parts, axis=1)

    def healthy(self, state: State) -> np.ndarray:
        z = state["qpos"][:, 2]
        return (self.z_range[0] < z) & (z < self.z_range[1])

    def costs(self, state: State, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Gymnasium's Humanoid charges data.ctrl (float64), not the float32 action.
        ctrl, _ = super().costs(state, actions.astype(np.float64))
        contact = self.contact_cost_weight * np.square(state["cfrc_ext"]).reshape(len(actions), -1)
        return ctrl, np.clip(contact.sum(axis=1), *self.contact_cost_range)


ROBOTS: tuple[type[Robot], ...] = (
    HalfCheetahRobot,
    HopperRobot,
    Walker2dRobot,
    AntRobot,
    HumanoidRobot,
)
"""Every robot with a batched implementation."""


def robot_for(env_class: type) -> type[Robot]:
    """The robot whose Gymnasium env ``env_class`` derives from."""
    for robot in ROBOTS:
        if issubclass(env_class, robot.gymnasium_class):
            return robot
    names = [r.gymnasium_class.__name__ for r in ROBOTS]
    raise TypeError(
        f"{env_class.__name__} derives from none of Gymnasium's {names}; a batched locomotion "
        "env needs one of them (use MujocoTaskEnv for any other MujocoEnv)"
    )
