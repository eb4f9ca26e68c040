"""State-value baselines fitted to returns: linear on hand-made features, or a small MLP.

Both share one interface: ``fit(observations [T, B, d], returns [T, B], mask [T, B])``,
``predict(observations, mask) -> [T, B]`` (0 where ``mask`` is 0) and
``predict_final(final_observations [B, d], lengths [B]) -> [B]``, the value of the observation after
an episode's last step (time index ``lengths[b]``), used to bootstrap truncated episodes. A baseline
fits on whatever episodes it is given; callers fit one per task. Predictions carry no gradient.

>>> import torch
>>> baseline = LinearFeatureBaseline()
>>> obs, mask = torch.randn(10, 4, 3), torch.ones(10, 4)
>>> baseline.fit(obs, obs[..., 0] + 1.0, mask)
>>> bool(torch.allclose(baseline.predict(obs, mask), obs[..., 0] + 1.0, atol=1e-4))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from metarl.validation import require_int

__all__ = [
    "Baseline",
    "BaselineFitError",
    "LinearFeatureBaseline",
    "MLPValueBaseline",
    "time_feature",
]

TIME_SCALE = 100.0
"""Time indices are divided by this before entering features (as in rllab)."""


class BaselineFitError(RuntimeError):
    """The baseline cannot be fitted to the given returns (huge or non-finite values)."""


@runtime_checkable
class Baseline(Protocol):
    """What agents need from a baseline."""

    def fit(self, observations: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> None:
        """Fit values to ``returns`` on the valid steps of ``observations``."""

    def predict(self, observations: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[T, B]`` values, 0 where ``mask`` is 0."""

    def predict_final(
        self, final_observations: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """``[B]`` values of the observations after the last steps (time index ``lengths``)."""


def time_feature(observations: torch.Tensor) -> torch.Tensor:
    """``[T, B, 1]`` time index ``t / 100`` matching time-major ``observations [T, B, d]``."""
    steps, batch = observations.shape[:2]
    t = torch.arange(steps, dtype=observations.dtype, device=observations.device)
    return (t / TIME_SCALE).view(steps, 1, 1).expand(steps, batch, 1)


def _check_batch(observations: torch.Tensor, mask: torch.Tensor) -> None:
    if observations.dim() != 3 or mask.shape != observations.shape[:2]:
        raise ValueError(
            "need observations [T, B, d] and mask [T, B], got "
            f"{tuple(observations.shape)} and {tuple(mask.shape)}"
        )


def _check_final(final_observations: torch.Tensor, lengths: torch.Tensor) -> None:
    if final_observations.dim() != 2 or lengths.shape != final_observations.shape[:1]:
        raise ValueError(
            "need final_observations [B, d] and lengths [B], got "
            f"{tuple(final_observations.shape)} and {tuple(lengths.shape)}"
        )


class LinearFeatureBaseline:
    """Ridge regression on ``[obs, obs**2, a, a**2, a**3, 1]`` with ``a = t / 100``.

    The features of Duan et al. 2016 (rllab) and pytorch-maml-rl. ``fit`` solves
    ``(X^T X + reg I) w = X^T y`` in float64 by Cholesky; if that fails or gives a non-finite
    solution, ``reg`` is multiplied by 10, up to 5 times, before raising ``RuntimeError``. The
    regulariser actually used is kept in ``fitted_reg_coeff``.
    """

    MAX_ESCALATIONS = 5

    def __init__(self, reg_coeff: float = 1e-5):
        if not reg_coeff > 0:
            raise ValueError(f"reg_coeff must be positive, got {reg_coeff!r}")
        self.reg_coeff = float(reg_coeff)
        self.weights: torch.Tensor | None = None
        self.fitted_reg_coeff: float | None = None

    @staticmethod
    def _features(observations: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """Features of ``observations [..., d]`` at scaled times ``time [..., 1]``, in float64."""
        obs, a = observations.detach().double(), time.double()
        return torch.cat([obs, obs**2, a, a**2, a**3, torch.ones_like(a)], dim=-1)

    def fit(self, observations: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> None:
        """Fit the weights to ``returns`` on the steps where ``mask`` is 1."""
        _check_batch(observations, mask)
        valid = mask > 0
        if not bool(valid.any()):
            raise ValueError("cannot fit a baseline without valid steps (mask is all 0)")
        x = self._features(observations, time_feature(observations))[valid]
        y = returns.double()[valid].unsqueeze(-1)
        gram, target = x.T @ x, x.T @ y
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        reg = self.reg_coeff
        for _ in range(self.MAX_ESCALATIONS + 1):
            factor, info = torch.linalg.cholesky_ex(gram + reg * eye)
            if int(info) == 0:
                weights = torch.cholesky_solve(target, factor).squeeze(-1)
                if bool(torch.isfinite(weights).all()):
                    self.weights, self.fitted_reg_coeff = weights, reg
                    return
            reg *= 10.0
        raise BaselineFitError(
            "linear baseline: normal equations unsolvable with regularisation up to "
            f"{reg / 10.0:g} (check observations for huge or non-finite values)"
        )

    def _weights(self) -> torch.Tensor:
        if self.weights is None:
            raise RuntimeError("LinearFeatureBaseline used before fit(); call fit() first")
        return self.weights

    def predict(self, observations: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[T, B]`` values, 0 where ``mask`` is 0."""
        _check_batch(observations, mask)
        values = self._features(observations, time_feature(observations)) @ self._weights()
        return torch.where(mask > 0, values, 0.0).to(observations.dtype)

    def predict_final(
        self, final_observations: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """``[B]`` values of ``final_observations`` at time index ``lengths``."""
        _check_final(final_observations, lengths)
        time = (lengths.double() / TIME_SCALE).unsqueeze(-1)
        values = self._features(final_observations, time) @ self._weights()
        return values.to(final_observations.dtype)


class MLPValueBaseline(nn.Module):
    """MLP value function on ``[obs, t / 100]``, trained by full-batch Adam on the MSE.

    Each ``fit`` continues from the current weights for ``epochs`` gradient steps on returns
    standardised with that fit's mean and standard deviation (predictions are mapped back). Weights
    are initialised from the torch global RNG; fitting itself draws no random numbers.
    """

    def __init__(
        self,
        obs_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        epochs: int = 100,
        lr: float = 1e-2,
    ):
        super().__init__()
        require_int("epochs", epochs)
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        sizes = [obs_dim + 1, *hidden_sizes]
        layers: list[nn.Module] = []
        for fan_in, fan_out in pairwise(sizes):
            layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
        layers.append(nn.Linear(sizes[-1], 1))
        self.net = nn.Sequential(*layers)
        self.epochs = epochs
        self.lr = float(lr)
        self.register_buffer("return_mean", torch.zeros(()))
        self.register_buffer("return_std", torch.ones(()))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Values of ``inputs [..., obs_dim + 1]`` (observation then scaled time)."""
        return self.net(inputs).squeeze(-1) * self.return_std + self.return_mean

    def _inputs(self, observations: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        dtype = self.return_mean.dtype
        return torch.cat([observations.detach().to(dtype), time.to(dtype)], dim=-1)

    def fit(self, observations: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> None:
        """Train on the steps where ``mask`` is 1 (on the observations' device)."""
        _check_batch(observations, mask)
        self.to(observations.device)
        valid = mask > 0
        if not bool(valid.any()):
            raise ValueError("cannot fit a baseline without valid steps (mask is all 0)")
        inputs = self._inputs(observations, time_feature(observations))[valid]
        targets = returns.detach()[valid].to(inputs.dtype)
        mean = targets.mean()
        std = targets.std(unbiased=False).clamp(min=1e-6)
        self.return_mean.copy_(mean)
        self.return_std.copy_(std)
        scaled = (targets - mean) / std
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.epochs):
                optimizer.zero_grad()
                loss = (self.net(inputs).squeeze(-1) - scaled).pow(2).mean()
                loss.backward()
                optimizer.step()

    @torch.no_grad()
    def predict(self, observations: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[T, B]`` values, 0 where ``mask`` is 0."""
        _check_batch(observations, mask)
        values = self(self._inputs(observations, time_feature(observations)))
        return torch.where(mask > 0, values, 0.0).to(observations.dtype)

    @torch.no_grad()
    def predict_final(
        self, final_observations: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """``[B]`` values of ``final_observations`` at time index ``lengths``."""
        _check_final(final_observations, lengths)
        time = (lengths.double() / TIME_SCALE).unsqueeze(-1)
        return self(self._inputs(final_observations, time)).to(final_observations.dtype)
