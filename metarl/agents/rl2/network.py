"""The RL^2 recurrent policy and value function: a recurrent core, a policy and a value head.

The core (a GRU by default, an LSTM, or a layer-normalised GRU) reads, at each step of a trial, the
observation, the previous action (one-hot for ``Discrete`` spaces), the previous reward and a flag
"the previous step ended an episode" (:class:`TrialInputs`). The value head shares the policy's
core, or has a core of its own (``separate_value_network``). The state is one tensor
``[B, state_size]`` per batch of trials (an LSTM's ``h`` and ``c``, and a separate value core's
state, side by side), zero at the start of a trial.
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

__all__ = ["CELLS", "Cell", "LayerNormGRU", "RecurrentActorCritic", "TrialInputs"]

Cell = Literal["gru", "lstm", "ln_gru"]
CELLS: tuple[str, ...] = ("gru", "lstm", "ln_gru")
"""The recurrent cells :class:`RecurrentActorCritic` accepts."""


_LAYER_NORM_EPS = 1e-8  # pytorch_rl2's


class LayerNormGRU(nn.Module):
    """A GRU whose four projections are layer-normalised (Ba et al. 2016), with a forget bias on
    the update gate and a ReLU candidate, as pytorch_rl2 builds RL^2's core:

    ``[z, r] = sigmoid(LN(W_x x) + LN(W_h h) - [forget_bias, 0])`` (one layer norm over both
    gates' projections, as the reference has it),
    ``c = relu(LN(W_xc x) + r * LN(W_hc h))``, ``h' = (1 - z) * h + z * c``.

    A positive ``forget_bias`` starts the cell keeping most of its state. The input projections
    run for all steps in one product; the loop over steps holds the recurrent ones. Called as
    ``nn.GRU``: ``inputs [T, B, input_size]``, ``h0 [1, B, hidden_size]`` ->
    ``(features [T, B, hidden_size], h_T [1, B, hidden_size])``.
    """

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0):
        super().__init__()
        self.hidden_size = hidden_size
        self.forget_bias = require_finite("forget_bias", forget_bias, -100.0, maximum=100.0)
        self.input_gates = nn.Linear(input_size, 2 * hidden_size, bias=False)
        self.state_gates = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        self.input_candidate = nn.Linear(input_size, hidden_size, bias=False)
        self.state_candidate = nn.Linear(hidden_size, hidden_size, bias=False)
        for layer in (self.input_gates, self.state_gates, self.input_candidate):
            nn.init.xavier_normal_(layer.weight)
        nn.init.orthogonal_(self.state_candidate.weight)
        self.input_gates_norm = nn.LayerNorm(2 * hidden_size, eps=_LAYER_NORM_EPS)
        self.state_gates_norm = nn.LayerNorm(2 * hidden_size, eps=_LAYER_NORM_EPS)
        self.input_candidate_norm = nn.LayerNorm(hidden_size, eps=_LAYER_NORM_EPS)
        self.state_candidate_norm = nn.LayerNorm(hidden_size, eps=_LAYER_NORM_EPS)

    def forward(
        self, inputs: torch.Tensor, h0: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        input_z, input_r = self.input_gates_norm(self.input_gates(inputs)).chunk(2, dim=-1)
        input_c = self.input_candidate_norm(self.input_candidate(inputs))
        h = h0.squeeze(0)
        features = []
        # unbind, not input_z[t]: indexing's backward fills a whole [T, B, H] tensor per step
        for x_z, x_r, x_c in zip(input_z.unbind(0), input_r.unbind(0), input_c.unbind(0), strict=True):
            state_z, state_r = self.state_gates_norm(self.state_gates(h)).chunk(2, dim=-1)
            z = torch.sigmoid(x_z + state_z - self.forget_bias)
            r = torch.sigmoid(x_r + state_r)
            candidate = torch.relu(x_c + r * self.state_candidate_norm(self.state_candidate(h)))
            h = (1 - z) * h + z * candidate
            features.append(h)
        return torch.stack(features), h.unsqueeze(0)


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


class _Core(nn.Module):
    """An optional tanh MLP embedding followed by a recurrent cell; ``forward(inputs [T, B, in],
    state [B, state_size]) -> (features [T, B, hidden_size], state after the last step)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        cell: Cell,
        embedding_sizes: tuple[int, ...],
        forget_bias: float,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        for size in embedding_sizes:
            layers += [nn.Linear(input_size, require_int("embedding size", size)), nn.Tanh()]
            input_size = size
        self.embedding = nn.Sequential(*layers)
        self.cell = cell
        if cell == "ln_gru":
            self.core: nn.Module = LayerNormGRU(input_size, hidden_size, forget_bias)
        else:
            self.core = (nn.GRU if cell == "gru" else nn.LSTM)(input_size, hidden_size)
        self.state_size = hidden_size * (2 if cell == "lstm" else 1)

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = self.embedding(inputs)
        if self.cell != "lstm":
            features, h = self.core(inputs, state.unsqueeze(0).contiguous())
            return features, h.squeeze(0)
        h, c = state.unsqueeze(0).chunk(2, dim=-1)
        features, (h, c) = self.core(inputs, (h.contiguous(), c.contiguous()))
        return features, torch.cat([h, c], dim=-1).squeeze(0)


class RecurrentActorCritic(nn.Module):
    """A recurrent core with a policy head (categorical or diagonal Gaussian) and a value head.

    Args:
        input_size: width of a step's input (:attr:`TrialInputs.size`).
        action_space: ``Discrete`` (categorical policy) or 1-D ``Box`` (Gaussian, with a learned
            state-independent log standard deviation starting at ``log(init_std)``).
        hidden_size: units of the recurrent core.
        cell: ``gru``, ``lstm`` or ``ln_gru`` (:class:`LayerNormGRU`).
        init_std: initial standard deviation of a Gaussian policy.
        embedding_sizes: hidden layers (tanh) of an MLP applied to each step's input before the
            core; none: the core reads the input itself.
        forget_bias: the ``ln_gru`` cell's update-gate bias (ignored by the others).
        separate_value_network: the value head reads a core (and embedding) of its own, so the
            value loss does not shape the policy's features; the state holds both cores' states
            (policy first).
    """

    def __init__(
        self,
        input_size: int,
        action_space: gym.Space,
        hidden_size: int = 256,
        cell: Cell = "gru",
        init_std: float = 1.0,
        embedding_sizes: tuple[int, ...] = (),
        forget_bias: float = 1.0,
        separate_value_network: bool = False,
    ):
        super().__init__()
        require_int("input_size", input_size)
        self.hidden_size = require_int("hidden_size", hidden_size)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}")
        self.cell = cell
        cores = [
            _Core(input_size, hidden_size, cell, tuple(embedding_sizes), forget_bias)
            for _ in range(2 if separate_value_network else 1)
        ]
        # the first core keeps the names (embedding, core) of checkpoints without a value core
        self.embedding, self.core = cores[0].embedding, cores[0].core
        self._cores = cores
        self.value_core = cores[1] if separate_value_network else None
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
        """Width of the recurrent state (``2 * hidden_size`` for an LSTM; doubled again with a
        separate value core)."""
        return sum(core.state_size for core in self._cores)

    def initial_state(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """The state at the start of a trial: zeros ``[batch, state_size]``."""
        return torch.zeros(batch, self.state_size, device=device)

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the core(s) over ``inputs`` ``[T, B, input_size]`` from ``state``
        ``[B, state_size]``.

        Returns the features ``[T, B, hidden_size]`` (``2 * hidden_size`` with a separate value
        core: the policy's, then the value's) for :meth:`distribution` and :meth:`value`, and the
        state after the last step.
        """
        states = state.split([core.state_size for core in self._cores], dim=-1)
        outputs = [core(inputs, part) for core, part in zip(self._cores, states, strict=True)]
        features = torch.cat([f for f, _ in outputs], dim=-1)
        return features, torch.cat([s for _, s in outputs], dim=-1)

    def distribution(self, features: torch.Tensor) -> Distribution:
        """The policy at ``features`` (batch shape ``features.shape[:-1]``)."""
        out = self.policy_head(features[..., : self.hidden_size])
        if self.discrete:
            return Categorical(logits=out)
        return Independent(Normal(out, self.log_std.exp().expand_as(out)), 1)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """The value at ``features``, shape ``features.shape[:-1]``."""
        return self.value_head(features[..., -self.hidden_size :]).squeeze(-1)
