"""Batched locomotion families: a Gymnasium v5 robot, a task objective, one step for many sims.

A :class:`LocomotionEnv` subclass of one of Gymnasium's v5 envs (HalfCheetah, Hopper, Walker2d,
Ant, Humanoid) replaces the forward-progress term of Gymnasium's reward with an
:class:`Objective` of the task::

    reward = forward_reward_weight * objective(velocity, position, task)
             + healthy_reward * healthy - ctrl_cost - contact_cost

keeping Gymnasium's observation, survive bonus, costs, reset noise and termination (and all its
constructor arguments). :func:`step_batch` advances ``n`` envs with raw ``mujoco.mj_step`` calls
and computes observations and rewards for all of them with numpy; the single env's ``step`` is
the same function with ``n = 1``, so the vector env's workers reproduce single envs exactly.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import mujoco
import numpy as np

from metarl.envs.core import check_actions
from metarl.envs.mujoco.env import MujocoTaskEnv
from metarl.envs.mujoco.robots import Robot, gymnasium_defaults, robot_for
from metarl.tasks import Parameter, Task

__all__ = [
    "Direction",
    "Forward",
    "Goal",
    "Heading",
    "LocomotionEnv",
    "Objective",
    "StepBatch",
    "TargetVelocity",
    "reward_terms",
    "step_batch",
]


class Objective:
    """The task term of a locomotion reward, from velocity and position after the step.

    Args:
        parameters: the task parameters it reads (``params[name]`` has a leading axis ``n``).
    """

    formula: ClassVar[str]
    """The term as text, for docstrings."""
    needs_floor: ClassVar[bool] = False
    """Whether it needs (x, y) motion (a robot on the floor, not a planar one)."""

    def __init__(self, *parameters: Parameter):
        self.parameters = parameters

    def reward(
        self, velocity: np.ndarray, position: np.ndarray, params: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """The term for ``n`` sims: ``velocity`` and ``position`` are ``(n, 1)`` or ``(n, 2)``."""
        raise NotImplementedError


class Forward(Objective):
    """Gymnasium's own term: forward velocity (no task parameter)."""

    formula = "v_x"

    def reward(self, velocity, position, params):
        return velocity[:, 0]


class TargetVelocity(Objective):
    """Run at a target forward velocity (parameter ``velocity``)."""

    formula = "-|v_x - velocity|"

    def reward(self, velocity, position, params):
        return -np.abs(velocity[:, 0] - params["velocity"])


class Direction(Objective):
    """Run forward or backward along x (parameter ``direction`` in {-1, +1})."""

    formula = "direction * v_x"

    def reward(self, velocity, position, params):
        return params["direction"] * velocity[:, 0]


class Heading(Objective):
    """Run in the direction of an angle in the floor plane (parameter ``angle``)."""

    formula = "cos(angle) v_x + sin(angle) v_y"
    needs_floor = True

    def reward(self, velocity, position, params):
        angle = params["angle"]
        return np.cos(angle) * velocity[:, 0] + np.sin(angle) * velocity[:, 1]


class Goal(Objective):
    """Reach a goal position on the floor (parameter ``goal``)."""

    formula = "-|(x, y) - goal|"
    needs_floor = True

    def reward(self, velocity, position, params):
        return -np.linalg.norm(position - params["goal"], axis=1)


class StepBatch(NamedTuple):
    """Results of :func:`step_batch` for ``n`` envs."""

    observations: np.ndarray  # (n, obs_dim) float64
    rewards: np.ndarray  # (n,) float64
    terminated: np.ndarray  # (n,) bool
    parts: dict[str, np.ndarray]  # reward terms and velocities, each (n,)


def reward_terms(robot: type[Robot]) -> tuple[str, ...]:
    """The ``info`` entries of a locomotion step: reward terms and velocities."""
    floor = () if robot.planar else ("reward_contact", "y_velocity")
    return ("reward_task", "reward_survive", "reward_ctrl", *floor, "x_velocity")


def step_batch(envs: Sequence[LocomotionEnv], actions: np.ndarray) -> StepBatch:
    """Advance ``envs`` (of one class and settings) by one step each; see the module docstring."""
    first = envs[0]
    robot, objective = first.robot, first.objective
    n = len(envs)
    before = np.empty((n, robot.position_dim))
    after = np.empty((n, robot.position_dim))
    dt = np.empty((n, 1))  # per env: a task may vary opt.timestep
    state = {name: np.empty((n, *shape)) for name, shape in robot.shapes.items()}
    buffers = tuple(state.values())
    frame_skip, contacts = robot.frame_skip, robot.needs_contact_forces
    mj_step, mj_rne = mujoco.mj_step, mujoco.mj_rnePostConstraint
    for i, env in enumerate(envs):
        # Views into the env's MjData, made once: reading them gives the current values.
        model, data, ctrl, position, fields = env.views
        before[i] = robot.position(model, data) if position is None else position
        dt[i] = model.opt.timestep * frame_skip
        ctrl[:] = actions[i]
        mj_step(model, data, nstep=frame_skip)
        if contacts:  # cfrc_ext is computed only on request, as Gymnasium does
            mj_rne(model, data)
        after[i] = robot.position(model, data) if position is None else position
        for array, field in zip(buffers, fields, strict=True):
            array[i] = field
    velocity = (after - before) / dt
    params = {
        p.name: np.array([env.objective_values[p.name] for env in envs])
        for p in objective.parameters
    }
    task_reward = robot.forward_reward_weight * objective.reward(velocity, after, params)
    healthy = robot.healthy(state)
    survive = robot.healthy_reward * healthy
    ctrl_cost, contact_cost = robot.costs(state, actions)
    rewards = (task_reward + survive) - (ctrl_cost + contact_cost)
    terminated = ~healthy if robot.terminate_when_unhealthy else np.zeros(n, dtype=bool)
    values = {
        "reward_task": task_reward,
        "reward_survive": survive,
        "reward_ctrl": -ctrl_cost,
        "reward_contact": -contact_cost,
        "x_velocity": velocity[:, 0],
        "y_velocity": velocity[:, -1],
    }
    parts = {key: values[key] for key in reward_terms(type(robot))}
    return StepBatch(robot.observe(state), rewards, terminated, parts)


class LocomotionEnv(MujocoTaskEnv):
    """Base of the batched locomotion families: ``class X(LocomotionEnv, HalfCheetahEnv)``.

    Subclasses set ``family``, ``varies``, ``reference``, ``objective`` (default :class:`Forward`),
    optionally ``model_fields`` and ``defaults`` (Gymnasium constructor arguments that differ from
    Gymnasium's, e.g. ``{"ctrl_cost_weight": 0.05}``), and write a docstring with a Description and
    a "## Task distribution" table; the sections shared by every family (spaces, rewards with the
    actual weights, starting state, episode end, arguments, vector env) are added from the robot
    and objective.
    """

    objective: ClassVar[Objective] = Forward()
    """The task term of the reward."""
    defaults: ClassVar[Mapping[str, Any]] = {}
    """Constructor arguments that differ from the Gymnasium env's defaults."""
    robot: Robot

    def __init__(self, task: Task | None = None, **kwargs: Any):
        robot_class = robot_for(type(self))
        if self.objective.needs_floor and robot_class.planar:
            raise TypeError(f"{type(self.objective).__name__} needs a robot that moves in (x, y)")
        settings = {**self.defaults, **kwargs}
        super().__init__(task=task, **settings)
        full = {**gymnasium_defaults(robot_class.gymnasium_class), **settings}
        self.robot = robot_class(full, self.model, self.data)
        data = self.data
        self.views = (
            self.model,
            data,
            data.ctrl,
            self.robot.position_view(data),
            tuple(getattr(data, name) for name in self.robot.fields),
        )
        """``(model, data, ctrl, position view or None, gathered fields)`` for :func:`step_batch`."""

    def task_parameters(self) -> Sequence[Parameter]:
        return self.objective.parameters

    def on_task(self, task: Task) -> None:
        self.objective_values = {p.name: task.params[p.name] for p in self.objective.parameters}
        """The current task's values of the objective's parameters (read at every step)."""

    def _get_obs(self) -> np.ndarray:
        state = {name: getattr(self.data, name)[None] for name in self.robot.fields}
        return self.robot.observe(state)[0]

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = check_actions(self.action_space, action, self.action_space.shape)
        out = step_batch([self], action[None])
        info = {"task_id": self._task.id, **{k: float(v[0]) for k, v in out.parts.items()}}
        if self.render_mode == "human":
            self.render()
        return out.observations[0], float(out.rewards[0]), bool(out.terminated[0]), False, info

    @classmethod
    def step_many(
        cls, envs: Sequence[MujocoTaskEnv], actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        out = step_batch(envs, actions)
        infos = np.stack([out.parts[key] for key in cls.info_keys], axis=1)
        return out.observations, out.rewards, out.terminated, infos.reshape(len(envs), -1)

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if "family" in cls.__dict__:  # the reward terms of step_batch, passed on by the vector env
            cls.info_keys = reward_terms(robot_for(cls))
        if "family" in cls.__dict__ and cls.__doc__ and "## Task distribution" in cls.__doc__:
            cls.__doc__ = _compose_doc(cls)


def _compose_doc(cls: type[LocomotionEnv]) -> str:
    """The family docstring: its own Description and task table plus the shared sections."""
    robot = robot_for(cls)
    settings = {**gymnasium_defaults(robot.gymnasium_class), **cls.defaults}
    head, table = inspect.cleandoc(cls.__doc__).split("## Task distribution", 1)
    weight = settings["forward_reward_weight"]
    scale = "" if weight == 1 else f"{weight:g} * "
    changed = ", ".join(f"``{k}={v!r}``" for k, v in cls.defaults.items())
    changed = f"Gymnasium's, except {changed}" if changed else "Gymnasium's"
    name = cls.__name__.removesuffix("Env")
    return f"""{head.rstrip()}

## Action Space
{robot.action_doc} Finite values outside the bounds act as the bounds (MuJoCo's ``ctrlrange``)
while the control cost charges them as given; NaN, inf and booleans raise, as in every family.

## Observation Space
{robot.observation_doc} The task is not observed.

## Rewards
``reward = {scale}{cls.objective.formula} {robot.cost_doc(settings)}``, velocities being
displacements over ``dt`` of the {"root x" if robot.planar else "torso (x, y)"} as in Gymnasium;
``info`` holds the terms (``reward_task``, ``reward_ctrl``, ...) and ``task_id``.

## Starting State
{robot.start_doc}

## Episode End
- Termination: {robot.termination_doc(settings)}
- Truncation: {cls.horizon} steps (``max_episode_steps``).

## Task distribution{table.rstrip()}

## Arguments
| Argument | Default | Meaning |
|----------|---------|---------|
| ``task`` | default task | initial task (a ``metarl.Task``) |
| ``max_episode_steps`` | {cls.horizon} | episode length (``gymnasium.make``) |
| any {robot.gymnasium_class.__name__[:-3]}-v5 argument | {changed} | \
``xml_file``, ``frame_skip``, cost weights, ... |

>>> import gymnasium, metarl
>>> env = gymnasium.make("metarl/{name}-v0")
>>> task = env.unwrapped.task_distribution.split("train").sample(1, seed=0)[0]
>>> obs, info = env.reset(seed=0, options={{"task": task}})

## Vectorized environment
``gymnasium.make_vec("metarl/{name}-v0", num_envs=n)`` gives :class:`{name}VectorEnv`: worker
processes each step a slice of the sub-envs in one batched call, one task per sub-env.

## Version History
- v0: initial version (Gymnasium v5 robots, MuJoCo >= 3).
"""
