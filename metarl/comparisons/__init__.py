"""Comparison agents of the fast-adaptation evaluation, built on stable-baselines3.

Every ``*_returns`` function gives per-task returns of shape ``[len(tasks), num_steps + 1]``
(float64) on the same held-out tasks as :func:`metarl.evaluation.adaptation_returns`, column ``k``
being the return after ``k`` adaptation steps of ``E`` episodes each:

===============  ==============================================================================
comparison       column ``k``
===============  ==============================================================================
pretrained       multi-task PPO (task hidden, trained on the train split), then fine-tuned by
                 the *same* :class:`~metarl.agents.inner.InnerLoop` as the meta-learners, through
                 :func:`~metarl.evaluation.adaptation_curves` (``E = sampler.episodes_per_task``;
                 :func:`pretrained_curves` gives returns and success rates).
oracle           PPO that sees the task (:class:`~metarl.envs.wrappers.TaskObservation`): an upper
                 bound with no adaptation, the same value in every column.
oracle-sac       SB3's SAC that sees the task, trained on the train split (deterministic actions):
                 the upper bound of the off-policy family (PEARL), the same value in every column.
scratch          a fresh PPO per task after ``k`` PPO updates of ``E`` episodes' worth of steps
                 (``n_steps = E * max_episode_steps``): learning without any prior.
===============  ==============================================================================

Trained models are cached in a folder as ``<kind>.pt`` (``pretrained``, ``oracle``,
``oracle-sac``): the policy's ``state_dict`` only, read with ``torch.load(weights_only=True)`` into a
freshly built model (SB3's own ``.zip`` format unpickles objects, so loading one could run code).
Next to it, ``<kind>.json`` records what the model was trained with (env, env kwargs, timesteps,
seed, architecture, PPO keyword arguments) plus the SHA-256 of the weights. A later ``train_*`` call
with the same configuration loads the weights; a missing file or a different configuration trains
again and overwrites both. Both files are written atomically (:func:`metarl.files.atomic_write`,
metadata last), so weights that do not load or do not match their recorded hash were damaged outside
metarl: that raises :class:`CacheError` naming the file rather than silently training over it.

Arguments are checked up front: a bad value (unknown env id or activation, non-positive budget,
a task of another family, a model that does not fit the env, ...) raises ``ValueError`` naming
the value and what is allowed, before anything is trained.

Randomness: SB3 models get ``seed=`` (which, as in SB3, also seeds the global ``random`` / numpy /
torch streams); evaluation envs are reset with seeds derived from ``seed`` and the task / episode
index, and evaluation actions are drawn from a dedicated ``torch.Generator`` seeded with ``seed``.
"""

from metarl.comparisons.cache import CacheError
from metarl.comparisons.multitask_ppo import train_oracle, train_pretrained
from metarl.comparisons.oracle import oracle_returns
from metarl.comparisons.pretrained import pretrained_curves
from metarl.comparisons.sb3_policy import policy_from_sb3
from metarl.comparisons.scratch import scratch_returns

__all__ = [
    "CacheError",
    "oracle_returns",
    "policy_from_sb3",
    "pretrained_curves",
    "scratch_returns",
    "train_oracle",
    "train_pretrained",
]
