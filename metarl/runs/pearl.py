"""The ``pearl`` agent kind: PEARL's trainer built from a run config (``agent: pearl``, its
hyperparameters in ``agent_options``, see :class:`~metarl.agents.pearl.PEARLOptions`).

The config's shared keys keep their meaning: ``env``, ``env_kwargs``, ``iterations``,
``meta_batch_size`` (tasks per gradient step), ``seed``, ``device``; the evaluation grades
``episodes_per_task`` trials per held-out task.
"""

from __future__ import annotations

from metarl.agents.pearl import PEARLOptions, PEARLTrainer
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind

__all__ = ["PEARL_KIND", "build_pearl"]


def build_pearl(config: TrainConfig) -> PEARLTrainer:
    """The PEARL trainer of ``config``."""
    options: PEARLOptions = config.kind_options()
    try:
        return PEARLTrainer(
            config.env, config.env_kwargs, options, config.meta_batch_size, config.seed,
            config.device,
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None


PEARL_KIND = AgentKind(build_pearl, PEARLOptions)
"""PEARL: best checkpoint by the return of the episodes acted with the posterior."""
