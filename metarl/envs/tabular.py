"""Random tabular MDPs of the RL^2 paper (Duan et al., 2016)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from metarl.envs.core import BatchDynamics, NumpyTaskEnv, NumpyTaskVectorEnv
from metarl.tasks import Dirichlet, Normal, TaskDistribution
from metarl.validation import require_int

__all__ = ["TabularMDPEnv", "TabularMDPVectorEnv"]


class TabularMDPDynamics(BatchDynamics):
    family = "TabularMDP"
    varies = "transition probabilities, reward means"
    reference = "Duan et al. 2016 (RL^2), sec. 3.2"
    horizon = 10

    def __init__(
        self, num_envs: int, num_states: int = 10, num_actions: int = 5, num_test_tasks: int = 40
    ):
        super().__init__(num_envs)
        require_int("num_states", num_states, minimum=2)
        require_int("num_actions", num_actions, minimum=2)
        require_int("num_test_tasks", num_test_tasks)
        self.num_states, self.num_actions = num_states, num_actions
        self.task_distribution = TaskDistribution(
            self.family,
            [
                Dirichlet(
                    "transitions",
                    (num_states, num_actions, num_states),
                    doc="P(s' | s, a), each row on the simplex",
                ),
                Normal(
                    "reward_means",
                    1.0,
                    1.0,
                    shape=(num_states, num_actions),
                    doc="mean reward of each (s, a); rewards ~ N(mean, 1)",
                ),
            ],
            num_test=num_test_tasks,
        )
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(num_states,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(num_actions)
        self.state = np.zeros(self.num_envs, dtype=np.intp)
        self._rows = np.arange(self.num_envs)

    def reset(self, index: np.ndarray) -> None:
        self.state[index] = 0

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.state
        noise = self.rng.normal(1)[:, 0]
        u = self.rng.uniform(1)
        reward = self.params["reward_means"][self._rows, s, action] + noise
        cumulative = np.cumsum(self.params["transitions"][self._rows, s, action], axis=1)
        self.state = np.minimum((cumulative < u).sum(axis=1), self.num_states - 1)
        return reward, np.zeros(self.num_envs, dtype=bool)

    def observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, self.num_states), dtype=np.float32)
        obs[self._rows, self.state] = 1.0
        return obs


class TabularMDPEnv(NumpyTaskEnv):
    """A random tabular MDP whose transitions and reward means differ per task.

    ## Description
    The tabular setting of RL^2: ``num_states`` states, ``num_actions`` actions, episodes of 10
    steps. Each task is an MDP drawn from the prior below; the agent must learn it from experience.

    ## Action Space
    ``Discrete(num_actions)``.

    ## Observation Space
    ``Box(0, 1, (num_states,), float32)``: the one-hot current state.

    ## Rewards
    ``r ~ N(reward_means[s, a], 1)``.

    ## Starting State
    State 0.

    ## Episode End
    - Termination: never.
    - Truncation: 10 steps (``max_episode_steps``).

    ## Task distribution
    | Parameter        | Training range                     | test-ood | Default       | Reference |
    |------------------|------------------------------------|----------|---------------|-----------|
    | ``transitions``  | Dirichlet(1) rows, shape (S, A, S) | -        | uniform rows  | RL^2      |
    | ``reward_means`` | N(1, 1^2), shape (S, A)            | -        | all 1         | RL^2      |

    ``train`` and ``test`` are disjoint (``test``: ``num_test_tasks`` (40) fixed seeded MDPs,
    rejected by ``train``).

    ## Arguments
    | Argument          | Default | Meaning            |
    |-------------------|---------|--------------------|
    | ``task``          | default | initial task       |
    | ``num_states``    | 10      | S                  |
    | ``num_actions``   | 5       | A                  |
    | ``num_test_tasks``| 40      | size of ``test``   |

    ## Vectorized environment
    ``gymnasium.make_vec("metarl/TabularMDP-v0", num_envs=n)`` gives :class:`TabularMDPVectorEnv`.

    ## Version History
    - v0: initial version.
    """

    dynamics_class = TabularMDPDynamics


class TabularMDPVectorEnv(NumpyTaskVectorEnv):
    """Native vector version of :class:`TabularMDPEnv`."""

    dynamics_class = TabularMDPDynamics
