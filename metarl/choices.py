"""The named choices of the MAML-family agents, declared once for the config (which must stay
torch-free) and the agents that act on them."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "DEVICES",
    "ESTIMATORS",
    "KL_DIRECTIONS",
    "WEIGHTINGS",
    "Device",
    "Estimator",
    "KLDirection",
    "Weighting",
]

Device = Literal["auto", "cpu", "cuda"]
"""Where an agent's networks live, as in SB3: ``auto`` is ``cuda`` where CUDA is available, else
``cpu``."""
Estimator = Literal["reinforce", "lvc"]
"""Inner-loss estimator: REINFORCE (MAML) or ProMP's low-variance curvature estimator."""
Weighting = Literal["episode", "step"]
"""How a task's steps are averaged (:func:`metarl.agents.inner.step_weights`)."""
KLDirection = Literal["new_old", "old_new"]
"""The post-update KL of TRPO's trust region: KL(new || old) (pytorch-maml-rl) or KL(old || new)
(Schulman et al. 2015, rllab); ``old`` is the sampling-time adapted policy."""

DEVICES: tuple[str, ...] = get_args(Device)
ESTIMATORS: tuple[str, ...] = get_args(Estimator)
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
KL_DIRECTIONS: tuple[str, ...] = get_args(KLDirection)
