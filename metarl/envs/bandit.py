"""Multi-armed Bernoulli bandits of the RL^2 paper (Duan et al., 2016)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.tasks import TaskDistribution, Uniform
from metarl.validation import require_int

__all__ = ["BanditEnv", "BanditVectorEnv"]


class BanditDynamics(BatchDynamics):
    family = "Bandit"
    varies = "arm success probabilities"
    reference = "Duan et al. 2016 (RL^2), sec. 3.1"
    horizon = 10

    def __init__(self, num_envs: int, num_arms: int = 5, num_test_tasks: int = 40):
        super().__init__(num_envs)
        require_int("num_arms", num_arms, minimum=2)
        require_int("num_test_tasks", num_test_tasks)
        self.task_distribution = TaskDistribution(
            self.family,
            [
                Uniform(
                    "arm_means",
                    0.0,
                    1.0,
                    shape=(num_arms,),
                    default=np.linspace(0.1, 0.9, num_arms),
                    doc="success probability of each arm",
                )
            ],
            num_test=num_test_tasks,
        )
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(num_arms)

    def reset(self, index: np.ndarray) -> None:
        """A bandit has no state."""

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means = self.params["arm_means"][np.arange(self.num_envs), action]
        reward = (self.rng.uniform(1)[:, 0] < means).astype(np.float64)
        return reward, np.zeros(self.num_envs, dtype=bool)

    def observe(self) -> np.ndarray:
        return np.zeros((self.num_envs, 1), dtype=np.float32)


class BanditEnv(NumpyTaskEnv):
    """A k-armed Bernoulli bandit whose arm success probabilities differ per task.

    ## Description
    The bandit setting of RL^2. Each step pulls one arm; the arm pays 1 with its task-specific
    probability, else 0. An episode is one trial of ``max_episode_steps`` pulls on the same task,
    so a good agent explores the arms, then exploits the best one.

    ## Action Space
    ``Discrete(num_arms)``: the arm to pull.

    ## Observation Space
    ``Box(0, 1, (1,), float32)``, always 0: a bandit has no state (RL^2 agents see the previous
    action and reward through :class:`metarl.envs.wrappers` trial wrappers).

    ## Rewards
    1 with probability ``arm_means[action]``, else 0.

    ## Starting State
    None (stateless).

    ## Episode End
    - Termination: never.
    - Truncation: after ``max_episode_steps`` pulls (default 10; RL^2 uses 10, 100 and 500).

    ## Task distribution
    | Parameter     | Training range      | test-ood | Default                    | Reference |
    |---------------|---------------------|----------|----------------------------|-----------|
    | ``arm_means`` | U[0, 1]^k (k arms)  | -        | linspace(0.1, 0.9, k)      | RL^2      |

    Arm means are continuous, so ``train`` and ``test`` are disjoint: ``test`` is a fixed set of
    ``num_test_tasks`` (40) seeded tasks and ``train`` rejects any of them.

    ## Arguments
    | Argument              | Default | Meaning                       |
    |-----------------------|---------|-------------------------------|
    | ``task``              | default | initial task                  |
    | ``num_arms``          | 5       | k, the number of arms         |
    | ``num_test_tasks``    | 40      | size of the ``test`` split    |
    | ``max_episode_steps`` | 10      | pulls per trial (``make``)    |

    >>> import gymnasium, metarl
    >>> env = gymnasium.make("metarl/Bandit-v0", num_arms=10, max_episode_steps=100)

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/Bandit-v0", num_envs=n)`` gives :class:`BanditVectorEnv`.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = BanditDynamics


class BanditVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`BanditEnv`."""

    dynamics_class = BanditDynamics
