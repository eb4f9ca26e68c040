"""The ``rl2`` agent kind: ``agent: rl2`` in a run config trains :class:`~metarl.agents.rl2.RL2Trainer`
with the config's ``agent_options`` (:class:`~metarl.agents.rl2.RL2Options`)."""

from __future__ import annotations

from metarl.agents.rl2 import RL2Options, RL2Trainer
from metarl.runs.config import TrainConfig
from metarl.runs.kinds import AgentKind

__all__ = ["RL2_KIND", "build_rl2"]


def build_rl2(config: TrainConfig) -> RL2Trainer:
    """The RL^2 trainer of ``config``: its env, ``meta_batch_size`` tasks per iteration, seed,
    device and ``agent_options``."""
    return RL2Trainer(
        config.env, config.env_kwargs, config.kind_options(), config.meta_batch_size,
        config.seed, config.device,
    )


RL2_KIND = AgentKind(
    build_rl2, RL2Options, score="trial_return", progress=("first_return", "last_return")
)
"""RL^2: the best mean trial return writes ``checkpoints/best.pt``."""
