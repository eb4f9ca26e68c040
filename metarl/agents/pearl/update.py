"""One PEARL gradient step on a meta-batch of tasks (Rakelly et al. 2019, algorithm 1).

For each task ``t`` of the meta-batch: ``z_t ~ q(z | c_t)`` (reparameterised) from its context
batch; the critics are trained on its RL batch with ``z_t`` appended to every transition, and
their gradients flow through ``z_t`` into the encoder, which also receives
``kl_weight * KL(q(z | c_t) || N(0, I))`` (summed over tasks, as in oyster); the policy and the
entropy coefficient are trained with ``z_t`` detached. The target critics follow by Polyak
averaging.

The meta-batch goes through every network in one forward: tasks are rows of one ``[T * B, ...]``
batch. ``groups`` splits it into task groups taking a forward each, with the losses weighted so
that the gradients are those of the whole batch: ``scripts/benchmark.py`` times the one-forward
update against the one-task-per-forward loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from metarl.agents.pearl.encoder import kl_to_unit_gaussian
from metarl.agents.pearl.model import PEARLModel
from metarl.agents.pearl.options import PEARLOptions
from metarl.agents.pearl.sac import (
    actor_loss,
    critic_loss,
    critic_target,
    entropy_coef_loss,
    soft_update,
)

__all__ = ["PEARLUpdate"]

Batch = dict[str, torch.Tensor]


def _rows(batch: Batch, group: slice) -> Batch:
    """The tasks ``group`` of ``batch`` with their transitions flattened: fields ``[t * B, ...]``."""
    return {k: v[group].reshape(-1, *v.shape[2:]) for k, v in batch.items()}


class PEARLUpdate:
    """The optimisers of a :class:`PEARLModel` and its gradient step.

    Args:
        model: the networks.
        options: ``learning_rate``, ``gamma``, ``tau``, ``reward_scale``, ``kl_weight``,
            ``policy_reg``, ``auto_entropy``.
    """

    def __init__(self, model: PEARLModel, options: PEARLOptions):
        self.model, self.options = model, options
        lr = options.learning_rate
        self.optimizers = {
            "policy": torch.optim.Adam(model.policy.parameters(), lr=lr),
            "critic": torch.optim.Adam(model.critic.parameters(), lr=lr),
            "encoder": torch.optim.Adam(model.encoder.parameters(), lr=lr),
            "alpha": torch.optim.Adam([model.log_alpha], lr=lr),
        }
        self.target_entropy = -float(model.policy.action_dim)

    def step(
        self,
        batch: Batch,
        context: Batch,
        generator: torch.Generator,
        groups: Sequence[slice] | None = None,
    ) -> dict[str, float]:
        """One gradient step on ``T`` tasks: ``batch`` (RL transitions, fields ``[T, B, ...]``),
        ``context`` (fields ``[T, N, ...]``); noise from ``generator``. Returns the losses."""
        m, o = self.model, self.options
        num_tasks = batch["obs"].shape[0]
        groups = [slice(0, num_tasks)] if groups is None else list(groups)
        alpha = m.log_alpha.exp().detach()
        for name in ("critic", "encoder"):
            self.optimizers[name].zero_grad()
        stats = {"critic_loss": 0.0, "kl": 0.0, "q": 0.0}
        latents = []
        for group in groups:
            weight = (group.stop - group.start) / num_tasks
            rows = _rows(batch, group)
            posterior = m.posterior({k: v[group] for k, v in context.items()})
            z = posterior.sample(generator).repeat_interleave(batch["obs"].shape[1], dim=0)
            latents.append(z.detach())
            with torch.no_grad():
                following = m.policy(rows["next_obs"], z, generator=generator)
                target = critic_target(
                    rows["reward"], rows["terminal"],
                    *m.critic_target(rows["next_obs"], following.action, z),
                    following.log_prob, alpha, o.gamma, o.reward_scale,
                )
            q1, q2 = m.critic(rows["obs"], rows["action"], z)
            loss = weight * critic_loss(q1, q2, target)
            stats["critic_loss"] += float(loss.detach())
            if m.encoder.aggregation == "product":
                kl = kl_to_unit_gaussian(posterior).sum()
                loss = loss + o.kl_weight * kl
                stats["kl"] += float(kl.detach()) / num_tasks
            loss.backward()
            stats["q"] += weight * float(q1.detach().mean())
        self.optimizers["critic"].step()
        self.optimizers["encoder"].step()

        self.optimizers["policy"].zero_grad()
        m.critic.requires_grad_(False)
        log_probs = []
        stats["actor_loss"] = 0.0
        for group, z in zip(groups, latents, strict=True):
            weight = (group.stop - group.start) / num_tasks
            obs = _rows({"obs": batch["obs"]}, group)["obs"]
            pi = m.policy(obs, z, generator=generator)
            regulariser = o.policy_reg * (pi.mean.pow(2).mean() + pi.log_std.pow(2).mean())
            loss = weight * (actor_loss(pi.log_prob, *m.critic(obs, pi.action, z), alpha)
                             + regulariser)
            loss.backward()
            stats["actor_loss"] += float(loss.detach())
            log_probs.append(pi.log_prob.detach())
        m.critic.requires_grad_(True)
        self.optimizers["policy"].step()

        if o.auto_entropy:
            self.optimizers["alpha"].zero_grad()
            entropy_coef_loss(m.log_alpha, torch.cat(log_probs), self.target_entropy).backward()
            self.optimizers["alpha"].step()
        soft_update(m.critic_target, m.critic, o.tau)
        stats["alpha"] = float(alpha)
        stats["entropy"] = -float(torch.cat(log_probs).mean())
        return stats

    def state_dict(self) -> dict[str, Any]:
        """The networks and the optimisers' moments."""
        return {
            "model": self.model.state_dict(),
            "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.model.load_state_dict(state["model"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
