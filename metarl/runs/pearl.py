"""The ``pearl`` agent kind: PEARL's trainer built from a run config (``agent: pearl``, its
hyperparameters in ``agent_options``, see :class:`~metarl.agents.pearl.PEARLOptions`).

The config's shared keys keep their meaning: ``env``, ``env_kwargs``, ``iterations``,
``meta_batch_size`` (tasks per gradient step), ``seed``, ``device``; the evaluation grades
``episodes_per_task`` trials per held-out task.
"""

from __future__ import annotations

from metarl.agents.pearl import PEARLOptions, PEARLTrainer
from metarl.memory import FLOAT32, Need, mlp_parameters
from metarl.runs.config import ConfigError, TrainConfig
from metarl.runs.kinds import AgentKind, EnvSizes, option_settings

__all__ = ["PEARL_KIND", "build_pearl", "pearl_memory"]


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


def pearl_memory(config: TrainConfig, sizes: EnvSizes) -> list[Need]:
    """PEARL's memory: the networks (parameters, gradients, Adam's two moments), the replay
    buffers, a gradient step's transitions with the networks' activations, and the episodes
    collected at once."""
    o: PEARLOptions = config.kind_options()
    obs, action, latent = sizes.obs_dim, sizes.action_dim, o.latent_size
    hidden, encoder = list(o.hidden_sizes), list(o.encoder_hidden_sizes)
    context = obs + action + 1 + (obs if o.context_next_obs else 0)
    params = (
        mlp_parameters([context, *encoder, 2 * latent])
        + mlp_parameters([obs + latent, *hidden, 2 * action])
        + 4 * mlp_parameters([obs + action + latent, *hidden, 1])  # twin critics, their targets
    )
    transition = 2 * obs + action + 3  # obs, action, reward, next_obs, terminal, critic reward
    recent = max(o.initial_episodes, o.prior_episodes + o.posterior_episodes)
    rows = o.replay_capacity + min(o.replay_capacity, recent * sizes.horizon)  # RL + context
    batch = config.meta_batch_size * (o.batch_size + o.context_batch_size)
    per_row = transition + 5 * sum(hidden) + sum(encoder)  # data, then activations
    return [
        Need(
            f"agent_options.hidden_sizes {hidden} with agent_options.encoder_hidden_sizes "
            f"{encoder}",
            f"the networks' {params:,} parameters",
            4 * FLOAT32 * params,
        ),
        Need(
            f"agent_options.num_train_tasks {o.num_train_tasks} x agent_options.replay_capacity "
            f"{o.replay_capacity}",
            "the replay buffers",
            o.num_train_tasks * rows * FLOAT32 * transition,
        ),
        Need(
            f"meta_batch_size {config.meta_batch_size} x (agent_options.batch_size "
            f"{o.batch_size} + agent_options.context_batch_size {o.context_batch_size})",
            f"a gradient step's {batch:,} transitions (with the networks' activations)",
            batch * FLOAT32 * per_row,
        ),
        Need(
            f"agent_options.tasks_per_iteration {o.tasks_per_iteration} x "
            f"env_kwargs.max_episode_steps {sizes.horizon}",
            "the episodes collected at once",
            o.tasks_per_iteration * sizes.horizon * FLOAT32 * (transition + 1),
        ),
    ]


PEARL_KIND = AgentKind(
    build_pearl,
    PEARLOptions,
    memory=pearl_memory,
    finite=("critic_loss", "actor_loss", "kl", "q"),
    step_settings=option_settings("learning_rate", "reward_scale", "entropy_coef"),
)
"""PEARL: best checkpoint by the return of the episodes acted with the posterior."""
