"""The RL^2 recurrent policy and value function: one recurrent core, a policy and a value head.

The core (a GRU by default, or an LSTM) reads, at each step of a trial, the observation, the
previous action (one-hot for ``Discrete`` spaces), the previous reward and a flag "the previous
step ended an episode" (:class:`TrialInputs`). Its state is one tensor ``[B, state_size]`` per
batch of trials (an LSTM's ``h`` and ``c`` side by side), zero at the start of a trial.
"""

from __future__ import annotations

import math
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from metarl.validation import require_finite, require_int

__all__ = ["CELLS", "Cell", "RecurrentActorCritic", "TrialInputs"]

Cell = Literal["gru", "lstm"]
CELLS: tuple[str, ...] = ("gru", "lstm")
"""The recurrent cells :class:`RecurrentActorCritic` accepts."""


class TrialInputs:
    """Builds the network's per-step input ``[obs, previous action, previous reward, episode
    ended]`` for a batch of trial rows, and keeps each row's previous-step part.

    ``Discrete`` actions are one-hot; ``Box`` actions are clipped to the bounds. The previous
    action, reward and flag are 0 at the start of a trial (:meth:`reset`).
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.Space):
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"RL^2 needs a 1-D Box observation space, got {observation_space}")
        if isinstance(action_space, gym.spaces.Discrete):
            action_size = int(action_space.n)
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            action_size = int(action_space.shape[0])
        else:
            raise ValueError(f"RL^2 needs a Discrete or 1-D Box action space, got {action_space}")
        self.action_space = action_space
        self.obs_size, self.action_size = int(observation_space.shape[0]), action_size
        self.size = self.obs_size + action_size + 2
        """Width of one step's input."""
        self._previous = np.zeros((0, action_size + 2), dtype=np.float32)

    def reset(self, num_rows: int) -> None:
        """Start ``num_rows`` trials: no previous step."""
        self._previous = np.zeros((num_rows, self.action_size + 2), dtype=np.float32)

    def build(self, obs: np.ndarray) -> np.ndarray:
        """``[B, size]`` float32 inputs at observations ``obs`` (``[B, obs_size]``)."""
        return np.concatenate([np.asarray(obs, dtype=np.float32), self._previous], axis=1)

    @property
    def previous(self) -> np.ndarray:
        """A copy of the rows' previous-step parts ``[B, action_size + 2]``."""
        return self._previous.copy()

    def encode(
        self, actions: np.ndarray, rewards: np.ndarray, episode_end: np.ndarray
    ) -> np.ndarray:
        """The previous-step parts ``[n, action_size + 2]`` of ``n`` steps."""
        part = np.zeros((len(actions), self.action_size + 2), dtype=np.float32)
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            part[np.arange(len(part)), np.asarray(actions) - int(space.start)] = 1.0
        else:
            part[:, : self.action_size] = np.clip(actions, space.low, space.high)
        part[:, -2], part[:, -1] = rewards, episode_end
        return part

    def record(
        self, actions: np.ndarray, rewards: np.ndarray, episode_end: np.ndarray, rows: np.ndarray
    ) -> None:
        """The step the rows ``rows`` (a bool mask) just took becomes their previous step."""
        self._previous[rows] = self.encode(actions[rows], rewards[rows], episode_end[rows])


class RecurrentActorCritic(nn.Module):
    """A recurrent core with a policy head (categorical or diagonal Gaussian) and a value head.

    Args:
        input_size: width of a step's input (:attr:`TrialInputs.size`).
        action_space: ``Discrete`` (categorical policy) or 1-D ``Box`` (Gaussian, with a learned
            state-independent log standard deviation starting at ``log(init_std)``).
        hidden_size: units of the recurrent core.
        cell: ``gru`` or ``lstm``.
        init_std: initial standard deviation of a Gaussian policy.
        embedding_sizes: hidden layers (tanh) of an MLP applied to each step's input before the
            core; none: the core reads the input itself.
    """

    def __init__(
        self,
        input_size: int,
        action_space: gym.Space,
        hidden_size: int = 256,
        cell: Cell = "gru",
        init_std: float = 1.0,
        embedding_sizes: tuple[int, ...] = (),
    ):
        super().__init__()
        require_int("input_size", input_size)
        layers: list[nn.Module] = []
        for size in embedding_sizes:
            layers += [nn.Linear(input_size, require_int("embedding size", size)), nn.Tanh()]
            input_size = size
        self.embedding = nn.Sequential(*layers)
        self.hidden_size = require_int("hidden_size", hidden_size)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}")
        self.cell = cell
        self.core = (nn.GRU if cell == "gru" else nn.LSTM)(input_size, hidden_size)
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        out = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.policy_head = nn.Linear(hidden_size, out)
        self.value_head = nn.Linear(hidden_size, 1)
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)
        if not self.discrete:
            std = require_finite("init_std", init_std, 0.0, inclusive=False)
            self.log_std = nn.Parameter(torch.full((out,), math.log(std)))

    @property
    def state_size(self) -> int:
        """Width of the recurrent state (``2 * hidden_size`` for an LSTM)."""
        return self.hidden_size * (2 if self.cell == "lstm" else 1)

    def initial_state(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """The state at the start of a trial: zeros ``[batch, state_size]``."""
        return torch.zeros(batch, self.state_size, device=device)

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the core over ``inputs`` ``[T, B, input_size]`` from ``state`` ``[B, state_size]``.

        Returns the features ``[T, B, hidden_size]`` (for :meth:`distribution` and
        :meth:`value`) and the state after the last step.
        """
        inputs = self.embedding(inputs)
        if self.cell == "gru":
            features, h = self.core(inputs, state.unsqueeze(0).contiguous())
            return features, h.squeeze(0)
        h, c = state.unsqueeze(0).chunk(2, dim=-1)
        features, (h, c) = self.core(inputs, (h.contiguous(), c.contiguous()))
        return features, torch.cat([h, c], dim=-1).squeeze(0)

    def distribution(self, features: torch.Tensor) -> Distribution:
        """The policy at ``features`` (batch shape ``features.shape[:-1]``)."""
        out = self.policy_head(features)
        if self.discrete:
            return Categorical(logits=out)
        return Independent(Normal(out, self.log_std.exp().expand_as(out)), 1)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """The value at ``features``, shape ``features.shape[:-1]``."""
        return self.value_head(features).squeeze(-1)
