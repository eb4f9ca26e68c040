"""``metarl.load``: a meta-trained agent, ready to adapt and act, from a run folder or a checkpoint."""

from __future__ import annotations

from pathlib import Path

from metarl.agents.inference import AdaptiveAgent
from metarl.runs.train import load_run

__all__ = ["load"]


def load(source: str | Path, checkpoint: str = "last") -> AdaptiveAgent:
    """The agent of a run folder (its ``checkpoints/<checkpoint>.pt``) or of a checkpoint file.

    The checkpoint describes itself (agent kind, config, env, spaces): the agent is rebuilt from
    the file alone, through its agent kind, and the modules its config imports (``imports``, an
    env written ``module:id``) are imported. ``agent.adapt(...)`` then gives a policy with
    ``predict`` (see :class:`~metarl.agents.inference.AdaptiveAgent`); ``agent.close()`` releases
    its envs.

    Raises:
        CheckpointError: ``source`` is no run folder or checkpoint, or the checkpoint does not fit
            the agent or env it names (naming the difference).
        TypeError: the agent kind offers no inference API (its trainer lacks ``adaptive_agent``).
    """
    config, trainer = load_run(source, checkpoint)
    make = getattr(trainer, "adaptive_agent", None)
    if make is None:
        trainer.close()
        raise TypeError(
            f"agent kind {config.agent!r} offers no inference API: its trainer "
            f"{type(trainer).__name__} has no adaptive_agent() (see metarl.agents.inference)"
        )
    return make()
