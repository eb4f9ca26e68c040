"""Classic-control physics with task-varying dynamics: CartPole, Pendulum, MountainCarContinuous.

Dynamics, rewards and termination equal Gymnasium's ``CartPole-v1``, ``Pendulum-v1`` and
``MountainCarContinuous-v0``; the physical constants become task parameters whose defaults are
Gymnasium's values. Every parameter trains on 0.5x-1.5x its default; ``test-ood`` draws from
0.25x-2x outside that range; user-made tasks may use 0.1x-10x. The env argument
``scale_range=[low, high]`` widens (or narrows) the training range to ``low``-``high`` x the
default, with ``test-ood`` in ``low / 2``-``high * 4 / 3`` x outside it: a family on which a
robust policy already solves every variant becomes one where adaptation matters.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.tasks import TaskDistribution, Uniform

__all__ = [
    "CartPoleEnv",
    "CartPoleVectorEnv",
    "MountainCarContinuousEnv",
    "MountainCarContinuousVectorEnv",
    "PendulumEnv",
    "PendulumVectorEnv",
]

DYNAMICS_REFERENCE = "Gymnasium classic control; ranges as in CARL (Benjamins et al. 2023)"


SCALE_RANGE = (0.5, 1.5)
"""The default training range of every constant, as multiples of its default."""


def check_scale_range(scale_range: object) -> tuple[float, float]:
    """``scale_range`` as ``(low, high)`` floats with ``0.2 <= low < 1 < high <= 7.5`` (so that
    the test-ood envelope stays within the allowed 0.1x-10x); ``ValueError`` otherwise."""
    if (
        not isinstance(scale_range, list | tuple)
        or len(scale_range) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in scale_range)
        or not (0.2 <= scale_range[0] < 1.0 < scale_range[1] <= 7.5)
    ):
        raise ValueError(
            f"scale_range must be [low, high] with 0.2 <= low < 1 < high <= 7.5 (multiples of "
            f"each constant's default), got {scale_range!r}"
        )
    return float(scale_range[0]), float(scale_range[1])


def scaled(
    name: str, default: float, doc: str, scale_range: tuple[float, float] = SCALE_RANGE
) -> Uniform:
    """A physical constant: trains on ``scale_range`` x ``default`` (0.5x-1.5x), test-ood in
    ``[low / 2, high * 4 / 3]`` x ``default`` outside that (0.25x-2x), allowed 0.1x-10x."""
    low, high = check_scale_range(scale_range)
    return Uniform(
        name,
        low * default,
        high * default,
        default=default,
        ood=(low / 2 * default, high * 4 / 3 * default),
        limits=(0.1 * default, 10.0 * default),
        doc=doc,
    )


class CartPoleDynamics(BatchDynamics):
    family = "CartPole"
    varies = "gravity, cart mass, pole mass, pole length, force magnitude"
    reference = DYNAMICS_REFERENCE
    horizon = 500
    tau = 0.02
    theta_threshold = 12 * 2 * np.pi / 360
    x_threshold = 2.4

    def __init__(self, num_envs: int, scale_range: tuple[float, float] = SCALE_RANGE):
        super().__init__(num_envs)
        self.task_distribution = TaskDistribution(
            self.family,
            [
                scaled("gravity", 9.8, "gravitational acceleration (m/s^2)", scale_range),
                scaled("masscart", 1.0, "cart mass (kg)", scale_range),
                scaled("masspole", 0.1, "pole mass (kg)", scale_range),
                scaled("length", 0.5, "half the pole's length (m)", scale_range),
                scaled("force_mag", 10.0, "magnitude of the push (N)", scale_range),
            ],
        )
        high = np.array(
            [2 * self.x_threshold, np.inf, 2 * self.theta_threshold, np.inf], dtype=np.float32
        )
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.state = np.zeros((4, self.num_envs))

    def reset(self, index: np.ndarray) -> None:
        self.state[:, index] = self.rng.uniform(4, index).T * 0.1 - 0.05

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        gravity, masspole, length = p["gravity"], p["masspole"], p["length"]
        total_mass = masspole + p["masscart"]
        polemass_length = masspole * length
        x, x_dot, theta, theta_dot = self.state
        force = np.where(action == 1, p["force_mag"], -p["force_mag"])
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + polemass_length * theta_dot**2 * sintheta) / total_mass
        thetaacc = (gravity * sintheta - costheta * temp) / (
            length * (4.0 / 3.0 - masspole * costheta**2 / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = np.stack((x, x_dot, theta, theta_dot))
        terminated = (np.abs(x) > self.x_threshold) | (np.abs(theta) > self.theta_threshold)
        return np.ones(self.num_envs), terminated

    def observe(self) -> np.ndarray:
        return self.state.T.astype(np.float32)


class PendulumDynamics(BatchDynamics):
    family = "Pendulum"
    varies = "gravity `g`, mass `m`, length `l` (Pendulum-v1's names)"
    reference = DYNAMICS_REFERENCE
    horizon = 200
    dt = 0.05
    max_speed = 8.0
    max_torque = 2.0

    def __init__(self, num_envs: int, scale_range: tuple[float, float] = SCALE_RANGE):
        super().__init__(num_envs)
        self.task_distribution = TaskDistribution(
            self.family,
            [
                scaled("g", 10.0, "gravitational acceleration (m/s^2)", scale_range),
                scaled("m", 1.0, "pendulum mass (kg)", scale_range),
                scaled("l", 1.0, "pendulum length (m)", scale_range),
            ],
        )
        high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Box(
            -self.max_torque, self.max_torque, shape=(1,), dtype=np.float32
        )
        self.theta = np.zeros(self.num_envs)
        self.theta_dot = np.zeros(self.num_envs)

    def reset(self, index: np.ndarray) -> None:
        u = self.rng.uniform(2, index)
        self.theta[index] = np.pi * (2 * u[:, 0] - 1)
        self.theta_dot[index] = 2 * u[:, 1] - 1

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, m, length = self.params["g"], self.params["m"], self.params["l"]
        th, thdot = self.theta, self.theta_dot
        u = np.clip(action[:, 0], -self.max_torque, self.max_torque)
        angle = (th + np.pi) % (2 * np.pi) - np.pi
        costs = angle**2 + 0.1 * thdot**2 + 0.001 * u**2
        thdot = thdot + (3 * g / (2 * length) * np.sin(th) + 3.0 / (m * length**2) * u) * self.dt
        self.theta_dot = np.clip(thdot, -self.max_speed, self.max_speed)
        self.theta = th + self.theta_dot * self.dt
        return -costs, np.zeros(self.num_envs, dtype=bool)

    def observe(self) -> np.ndarray:
        return np.stack((np.cos(self.theta), np.sin(self.theta), self.theta_dot), axis=1).astype(
            np.float32
        )


class MountainCarContinuousDynamics(BatchDynamics):
    family = "MountainCarContinuous"
    varies = "engine power, gravity"
    reference = DYNAMICS_REFERENCE
    horizon = 999
    min_position, max_position = -1.2, 0.6
    max_speed = 0.07
    goal_position = 0.45

    def __init__(self, num_envs: int, scale_range: tuple[float, float] = SCALE_RANGE):
        super().__init__(num_envs)
        self.task_distribution = TaskDistribution(
            self.family,
            [
                scaled("power", 0.0015, "engine power: velocity gain per unit action", scale_range),
                scaled("gravity", 0.0025, "gravity coefficient of the slope term", scale_range),
            ],
        )
        low = np.array([self.min_position, -self.max_speed], dtype=np.float32)
        high = np.array([self.max_position, self.max_speed], dtype=np.float32)
        self.single_observation_space = spaces.Box(low, high, dtype=np.float32)
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.position = np.zeros(self.num_envs)
        self.velocity = np.zeros(self.num_envs)

    def reset(self, index: np.ndarray) -> None:
        self.position[index] = -0.6 + 0.2 * self.rng.uniform(1, index)[:, 0]
        self.velocity[index] = 0.0

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = action[:, 0].astype(np.float64)
        force = np.clip(raw, -1.0, 1.0)
        velocity = self.velocity + force * self.params["power"]
        velocity -= self.params["gravity"] * np.cos(3 * self.position)
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        position = np.clip(self.position + velocity, self.min_position, self.max_position)
        velocity[(position == self.min_position) & (velocity < 0)] = 0.0
        terminated = (position >= self.goal_position) & (velocity >= 0)
        # Gymnasium keeps this env's state in float32 between steps.
        self.position = position.astype(np.float32).astype(np.float64)
        self.velocity = velocity.astype(np.float32).astype(np.float64)
        reward = np.where(terminated, 100.0, 0.0) - 0.1 * raw**2
        return reward, terminated

    def observe(self) -> np.ndarray:
        return np.stack((self.position, self.velocity), axis=1).astype(np.float32)


class CartPoleEnv(NumpyTaskEnv):
    """CartPole (Gymnasium ``CartPole-v1``) whose physical constants differ per task.

    ## Description
    A pole is hinged to a cart on a frictionless track; push the cart left or right to keep the
    pole upright. Equations, constants and termination are Gymnasium's; the constants below vary.

    ## Action Space
    ``Discrete(2)``: 0 pushes the cart left, 1 right, with ``force_mag`` newtons.

    ## Observation Space
    ``Box(4,)``, float32:

    | Num | Observation           | Min     | Max    |
    |-----|-----------------------|---------|--------|
    | 0   | Cart position         | -4.8    | 4.8    |
    | 1   | Cart velocity         | -Inf    | Inf    |
    | 2   | Pole angle            | -0.418  | 0.418  |
    | 3   | Pole angular velocity | -Inf    | Inf    |

    ## Rewards
    +1 for every step, including the terminating one.

    ## Starting State
    Every state variable ~ U(-0.05, 0.05).

    ## Episode End
    - Termination: |pole angle| > 12 degrees or |cart position| > 2.4.
    - Truncation: 500 steps.

    ## Task distribution
    | Parameter     | Training range   | test-ood                     | Default | Reference |
    |---------------|------------------|------------------------------|---------|-----------|
    | ``gravity``   | U[4.9, 14.7]     | [2.45, 19.6] outside training | 9.8     | Gymnasium |
    | ``masscart``  | U[0.5, 1.5]      | [0.25, 2] outside training    | 1.0     | Gymnasium |
    | ``masspole``  | U[0.05, 0.15]    | [0.025, 0.2] outside training | 0.1     | Gymnasium |
    | ``length``    | U[0.25, 0.75]    | [0.125, 1] outside training   | 0.5     | Gymnasium |
    | ``force_mag`` | U[5, 15]         | [2.5, 20] outside training    | 10.0    | Gymnasium |

    A test-ood task has at least one constant outside its training range. Allowed values for
    user-made tasks: 0.1x-10x the default.

    ## Arguments
    ``task``: the initial task (default: Gymnasium's constants). ``scale_range``: the training
    range as multiples of each default, ``(0.5, 1.5)`` (the table's) unless widened.

    >>> import gymnasium, metarl
    >>> env = gymnasium.make("metarl/CartPole-v0")
    >>> heavy = env.unwrapped.task_distribution.task(masspole=0.15, length=0.7)
    >>> obs, info = env.reset(seed=1, options={"task": heavy})

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/CartPole-v0", num_envs=n)`` gives :class:`CartPoleVectorEnv`.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = CartPoleDynamics


class CartPoleVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`CartPoleEnv`."""

    dynamics_class = CartPoleDynamics


class PendulumEnv(NumpyTaskEnv):
    """Pendulum swing-up (Gymnasium ``Pendulum-v1``) whose gravity, mass and length differ per task.

    ## Description
    Swing a pendulum hinged at one end upright and keep it there with a bounded torque.

    ## Action Space
    ``Box(-2, 2, (1,), float32)``: torque at the free end.

    ## Observation Space
    ``Box(3,)``, float32:

    | Num | Observation      | Min  | Max |
    |-----|------------------|------|-----|
    | 0   | cos(theta)       | -1   | 1   |
    | 1   | sin(theta)       | -1   | 1   |
    | 2   | angular velocity | -8   | 8   |

    ## Rewards
    ``-(theta^2 + 0.1 thetadot^2 + 0.001 torque^2)``, theta normalised to [-pi, pi).

    ## Starting State
    theta ~ U[-pi, pi], angular velocity ~ U[-1, 1].

    ## Episode End
    - Termination: never.
    - Truncation: 200 steps.

    ## Task distribution
    | Parameter | Training range | test-ood                    | Default | Reference |
    |-----------|----------------|-----------------------------|---------|-----------|
    | ``g``     | U[5, 15]       | [2.5, 20] outside training  | 10.0    | Gymnasium |
    | ``m``     | U[0.5, 1.5]    | [0.25, 2] outside training  | 1.0     | Gymnasium |
    | ``l``     | U[0.5, 1.5]    | [0.25, 2] outside training  | 1.0     | Gymnasium |

    ## Arguments
    ``task``: the initial task (default: Gymnasium's constants). ``scale_range``: the training
    range as multiples of each default, ``(0.5, 1.5)`` (the table's) unless widened.

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/Pendulum-v0", num_envs=n)`` gives :class:`PendulumVectorEnv`.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = PendulumDynamics


class PendulumVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`PendulumEnv`."""

    dynamics_class = PendulumDynamics


class MountainCarContinuousEnv(NumpyTaskEnv):
    """Continuous mountain car (Gymnasium ``MountainCarContinuous-v0``) with task-varying power and gravity.

    ## Description
    Drive an under-powered car up the right hill of a valley by swinging back and forth.

    ## Action Space
    ``Box(-1, 1, (1,), float32)``: engine force (clipped to [-1, 1]).

    ## Observation Space
    ``Box(2,)``, float32:

    | Num | Observation | Min   | Max  |
    |-----|-------------|-------|------|
    | 0   | position    | -1.2  | 0.6  |
    | 1   | velocity    | -0.07 | 0.07 |

    ## Rewards
    ``-0.1 action^2`` each step, +100 on reaching the goal.

    ## Starting State
    position ~ U[-0.6, -0.4], velocity 0.

    ## Episode End
    - Termination: position >= 0.45 with non-negative velocity.
    - Truncation: 999 steps.

    ## Task distribution
    | Parameter     | Training range        | test-ood                          | Default | Reference |
    |---------------|-----------------------|-----------------------------------|---------|-----------|
    | ``power``     | U[0.00075, 0.00225]   | [0.000375, 0.003] outside training | 0.0015  | Gymnasium |
    | ``gravity``   | U[0.00125, 0.00375]   | [0.000625, 0.005] outside training | 0.0025  | Gymnasium |

    ## Arguments
    ``task``: the initial task (default: Gymnasium's constants). ``scale_range``: the training
    range as multiples of each default, ``(0.5, 1.5)`` (the table's) unless widened.

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/MountainCarContinuous-v0", num_envs=n)`` gives
    :class:`MountainCarContinuousVectorEnv`.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = MountainCarContinuousDynamics


class MountainCarContinuousVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`MountainCarContinuousEnv`."""

    dynamics_class = MountainCarContinuousDynamics
