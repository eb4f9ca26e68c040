"""RL^2 (Duan et al. 2016): a recurrent policy that learns a new task in its state, across the
episodes of a trial, meta-trained with PPO on whole trials.

- :mod:`~metarl.agents.rl2.network`: the per-step inputs and the recurrent policy and value net.
- :mod:`~metarl.agents.rl2.rollout`: acting in trials, recording what PPO needs.
- :mod:`~metarl.agents.rl2.ppo`: GAE over whole trials and PPO with truncated BPTT.
- :mod:`~metarl.agents.rl2.trainer`: the trainer (``agent: rl2`` in a run config) and the graded
  agent.
- :mod:`~metarl.agents.rl2.adaptive`: the inference protocol (``metarl.load``): adapt by running
  the first episodes of a trial, then continue it with ``predict``.
"""

from metarl.agents.rl2.network import RecurrentActorCritic, TrialInputs
from metarl.agents.rl2.trainer import RL2Agent, RL2Options, RL2Trainer

__all__ = ["RL2Agent", "RL2Options", "RL2Trainer", "RecurrentActorCritic", "TrialInputs"]
