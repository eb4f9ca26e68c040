"""PEARL's hyperparameters: the ``agent_options`` of a run with ``agent: pearl``.

Defaults are PEARL's (Rakelly et al. 2019; ``katerakelly/oyster`` ``configs/default.py`` and
``cheetah-vel.json``), with collection counted in episodes instead of env steps (400 prior steps
of 200-step episodes: ``prior_episodes: 2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metarl.agents.pearl.encoder import AGGREGATIONS, Aggregation
from metarl.validation import MAX_LEARNING_RATE, MAX_LOSS_SCALE, require_finite, require_int

__all__ = ["PEARLOptions"]


@dataclass(frozen=True)
class PEARLOptions:
    """Everything PEARL depends on beyond the run's shared keys (env, iterations, seed,
    ``meta_batch_size`` = tasks per gradient step, device)."""

    aggregation: Aggregation = "product"
    """How a task's transition embeddings combine: ``product`` of Gaussians (PEARL) or their
    ``mean`` (a deterministic prototype)."""
    latent_size: int = 5
    """Size of the task variable ``z``."""
    hidden_sizes: tuple[int, ...] = (300, 300, 300)
    """Hidden layers of the policy and of each critic."""
    encoder_hidden_sizes: tuple[int, ...] = (200, 200, 200)
    """Hidden layers of the context encoder."""
    context_next_obs: bool = True
    """Context transitions are ``(s, a, r, s')``; false: ``(s, a, r)`` (PEARL's default, enough
    when only the reward depends on the task)."""
    kl_weight: float = 0.1
    """Weight of ``KL(q(z | c) || N(0, I))`` in the encoder's loss (``product`` only); in [0, 1e4]
    (:data:`~metarl.validation.MAX_LOSS_SCALE`)."""
    num_train_tasks: int = 100
    """Training tasks, drawn once from the train split; each has its own replay buffers."""
    initial_episodes: int = 10
    """Episodes collected with ``z`` from the prior for every training task before training."""
    tasks_per_iteration: int = 5
    """Training tasks whose data is collected each iteration."""
    prior_episodes: int = 2
    """Episodes per collected task with ``z`` from the prior (into both buffers)."""
    posterior_episodes: int = 0
    """Episodes per collected task with ``z`` from the posterior (into both buffers)."""
    extra_posterior_episodes: int = 3
    """Episodes per collected task with ``z`` from the posterior, for the RL buffer only."""
    gradient_steps: int = 2000
    """Gradient steps per iteration."""
    batch_size: int = 256
    """RL transitions per task and gradient step."""
    context_batch_size: int = 100
    """Context transitions per task and gradient step."""
    gamma: float = 0.99
    """Discount."""
    tau: float = 0.005
    """Polyak rate of the target critics."""
    learning_rate: float = 3e-4
    """Adam step size of the policy, critics, encoder and entropy coefficient; in (0, 1]
    (:data:`~metarl.validation.MAX_LEARNING_RATE`)."""
    reward_scale: float = 5.0
    """Rewards are multiplied by this in the critic target (with ``entropy_coef`` 1, the inverse
    of SAC's temperature); in (0, 1e4]."""
    entropy_coef: float = 1.0
    """SAC's ``alpha`` (its initial value under ``auto_entropy``); in (0, 1e4]."""
    auto_entropy: bool = False
    """Tune ``alpha`` so the policy's entropy tracks ``-action_dim`` (SAC v2); PEARL keeps it
    fixed."""
    policy_reg: float = 1e-3
    """Weight of PEARL's regularisers of the policy's pre-tanh mean and log-std (squared); in
    [0, 1e4]."""
    replay_capacity: int = 100_000
    """Transitions kept per training task (oldest dropped first)."""
    critic_env_kwargs: dict[str, Any] | None = None
    """Env options whose rewards the critics learn from, the encoder keeping the env's own (see
    :mod:`metarl.agents.pearl.collect`): ``{reward_type: dense}`` on Navigation2DSparse is PEARL's
    sparse point robot (dense rewards for the critics, sparse context). Must not change the
    dynamics."""
    eval_deterministic: bool = True
    """Act with the mean action when graded (PEARL's evaluation)."""

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")
        for name in (
            "latent_size", "num_train_tasks", "tasks_per_iteration", "gradient_steps",
            "batch_size", "context_batch_size", "replay_capacity",
        ):
            require_int(name, getattr(self, name))
        for name in ("initial_episodes", "prior_episodes", "posterior_episodes",
                     "extra_posterior_episodes"):
            require_int(name, getattr(self, name), minimum=0)
        for name in ("hidden_sizes", "encoder_hidden_sizes"):
            for size in getattr(self, name):
                require_int(f"{name} entry", size)
        for name in ("kl_weight", "policy_reg", "reward_scale", "entropy_coef"):
            require_finite(
                name, getattr(self, name), 0.0, maximum=MAX_LOSS_SCALE,
                inclusive=name in {"kl_weight", "policy_reg"},
            )
        require_finite(
            "learning_rate", self.learning_rate, 0.0, maximum=MAX_LEARNING_RATE, inclusive=False
        )
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau!r}")
        if self.tasks_per_iteration > self.num_train_tasks:
            raise ValueError(
                f"tasks_per_iteration ({self.tasks_per_iteration}) must not exceed "
                f"num_train_tasks ({self.num_train_tasks})"
            )
        if self.initial_episodes + self.prior_episodes + self.posterior_episodes == 0:
            raise ValueError(
                "the context buffer needs data: initial_episodes, prior_episodes or "
                "posterior_episodes must be positive"
            )
