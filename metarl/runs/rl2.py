"""The ``rl2`` agent kind: ``agent: rl2`` in a run config trains :class:`~metarl.agents.rl2.RL2Trainer`
with the config's ``agent_options`` (:class:`~metarl.agents.rl2.RL2Options`)."""

from __future__ import annotations

from metarl.agents.rl2 import RL2Options, RL2Trainer
from metarl.memory import FLOAT32, Need, mlp_parameters
from metarl.runs.config import TrainConfig
from metarl.runs.kinds import AgentKind, EnvSizes, option_settings

__all__ = ["RL2_KIND", "build_rl2", "rl2_memory"]


def build_rl2(config: TrainConfig) -> RL2Trainer:
    """The RL^2 trainer of ``config``: its env, ``meta_batch_size`` tasks per iteration, seed,
    device and ``agent_options``."""
    return RL2Trainer(
        config.env, config.env_kwargs, config.kind_options(), config.meta_batch_size,
        config.seed, config.device,
    )


def rl2_memory(config: TrainConfig, sizes: EnvSizes) -> list[Need]:
    """RL^2's memory: the network (parameters, gradient, Adam's two moments) and an iteration's
    trials with the network's activations on them."""
    o: RL2Options = config.kind_options()
    inputs = sizes.obs_dim + sizes.action_dim + 2  # obs, previous action and reward, episode flag
    embedding, h = [inputs, *o.embedding_sizes], o.hidden_size
    gates = 4 if o.cell == "lstm" else 3
    params = (
        mlp_parameters(embedding)
        + gates * h * (embedding[-1] + h + 2)
        + mlp_parameters([h, sizes.action_dim + 1])  # the policy and value heads
    )
    steps = config.meta_batch_size * o.trials_per_task * o.episodes_per_trial * sizes.horizon
    per_step = inputs + 8 + sum(o.embedding_sizes) + (gates + 1) * h  # data, then activations
    return [
        Need(
            f"agent_options.hidden_size {h} with agent_options.embedding_sizes "
            f"{list(o.embedding_sizes)}",
            f"the network's {params:,} parameters",
            4 * FLOAT32 * params,
        ),
        Need(
            f"meta_batch_size {config.meta_batch_size} x agent_options.trials_per_task "
            f"{o.trials_per_task} x agent_options.episodes_per_trial {o.episodes_per_trial} x "
            f"env_kwargs.max_episode_steps {sizes.horizon}",
            f"an iteration's trials of {steps:,} steps (with agent_options.hidden_size {h})",
            steps * FLOAT32 * per_step,
        ),
    ]


RL2_KIND = AgentKind(
    build_rl2,
    RL2Options,
    score="trial_return",
    progress=("first_return", "last_return"),
    memory=rl2_memory,
    finite=("policy_loss", "value_loss", "entropy", "approx_kl"),
    step_settings=option_settings("learning_rate", "reward_scale"),
)
"""RL^2: the best mean trial return writes ``checkpoints/best.pt``."""
