"""Reviewer baselines of the fast-adaptation evaluation, built on stable-baselines3.

Every ``*_returns`` function gives per-task returns of shape ``[len(tasks), num_steps + 1]``
(float64) on the same held-out tasks as :func:`metarl.evaluation.adaptation_returns`, column ``k``
being the return after ``k`` adaptation steps of ``E`` episodes each:

===============  ==============================================================================
baseline         column ``k``
===============  ==============================================================================
pretrained       multi-task PPO (task hidden, trained on the train split), then fine-tuned by
                 the *same* :class:`~metarl.agents.inner.InnerLoop` as the meta-learners, through
                 :func:`~metarl.evaluation.adaptation_curves` (``E = sampler.episodes_per_task``;
                 :func:`pretrained_curves` gives returns and success rates).
oracle           PPO that sees the task (:class:`~metarl.envs.wrappers.TaskObservation`): an upper
                 bound with no adaptation, the same value in every column.
scratch          a fresh PPO per task after ``k`` PPO updates of ``E`` episodes' worth of steps
                 (``n_steps = E * max_episode_steps``): learning without any prior.
RL^2             a recurrent PPO meta-trained on trials of several episodes (:class:`TrialWrapper`);
                 column ``k`` is the ``(k + 1)``-th episode of a trial on the task, i.e. after
                 ``k`` episodes of experience held in the LSTM state (``k``, not ``k * E``;
                 ``episodes`` counts the independent trials averaged).
===============  ==============================================================================

Trained models are cached in a folder as ``<kind>.pt`` (``pretrained``, ``oracle``, ``rl2``): the
policy's ``state_dict`` only, read with ``torch.load(weights_only=True)`` into a freshly built model
(SB3's own ``.zip`` format unpickles objects, so loading one could run code). Next to it,
``<kind>.json`` records what the model was trained with (env, env kwargs, timesteps, seed,
architecture, PPO keyword arguments) plus the SHA-256 of the weights. A later ``train_*`` call with
the same configuration loads the weights; a missing file or a different configuration trains
again and overwrites both. Both files are written atomically (:func:`metarl.files.atomic_write`,
metadata last), so weights that do not load or do not match their recorded hash were damaged
outside metarl: that raises :class:`CacheError` naming the file rather than silently training
over it.

Arguments are checked up front: a bad value (unknown env id or activation, non-positive budget,
a task of another family, a model that does not fit the env, ...) raises ``ValueError`` naming
the value and what is allowed, before anything is trained.

Randomness: SB3 models get ``seed=`` (which, as in SB3, also seeds the global ``random`` / numpy /
torch streams); evaluation envs are reset with seeds derived from ``seed`` and the task / episode
index, and evaluation actions are drawn from a dedicated ``torch.Generator`` seeded with ``seed``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn
from torch.distributions import Categorical, Normal

from metarl.agents.inner import InnerLoop
from metarl.agents.policies import (
    ACTIVATIONS,
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    make_policy,
)
from metarl.checkpoint import CheckpointError, load_plain
from metarl.envs import metaworld_ids, registered_ids
from metarl.envs.wrappers import TaskObservation, TaskResampling
from metarl.evaluation import AdaptationCurves, adaptation_curves
from metarl.files import atomic_write, atomic_write_text, remove_stale_temps
from metarl.sampling import MultiTaskSampler
from metarl.tasks import Task, TaskDistribution
from metarl.validation import require_int

if TYPE_CHECKING:
    from sb3_contrib import RecurrentPPO

__all__ = [
    "CacheError",
    "TrialWrapper",
    "oracle_returns",
    "policy_from_sb3",
    "pretrained_curves",
    "rl2_returns",
    "scratch_returns",
    "train_oracle",
    "train_pretrained",
    "train_rl2",
]

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseAlgorithm)

_TASK_STREAM_KEY = 0x7A5C  # TaskResampling's key: the same seed draws the same task stream
_RESERVED_PPO_KWARGS = frozenset({"policy", "env", "seed", "device", "policy_kwargs"})
_RESERVED_RL2_KWARGS = frozenset({"policy", "env", "seed", "device"})


class CacheError(ValueError):
    """A cached model file exists but is damaged (unreadable, or not the file its metadata names).

    Delete the ``<kind>.pt`` / ``<kind>.json`` pair named in the message to retrain.
    """


# --------------------------------------------------------------------------- argument checks
def _check_env_id(env_id: Any) -> str:
    allowed = registered_ids() + metaworld_ids()
    if env_id not in allowed:
        raise ValueError(f"unknown env_id {env_id!r}; allowed: {allowed}")
    return env_id


def _check_json_mapping(
    name: str, value: Any, reserved: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``value`` (``None`` -> ``{}``) as a dict of JSON-serialisable values without ``reserved`` keys."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name} must be a dict with string keys or None, got {value!r}")
    clash = sorted(set(value) & reserved)
    if clash:
        raise ValueError(f"{name} must not set {clash}; these are set by metarl.baselines")
    try:
        return json.loads(json.dumps(dict(value), sort_keys=True))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must hold JSON-serialisable values (they are recorded in the cache metadata), "
            f"got {value!r}"
        ) from err


def _check_env_kwargs(env_kwargs: Any) -> dict[str, Any]:
    kwargs = _check_json_mapping("env_kwargs", env_kwargs)
    if "task" in kwargs:
        raise ValueError("env_kwargs must not set 'task'; the baselines choose the tasks")
    return kwargs


def _check_arch(hidden_sizes: Any, activation: Any) -> tuple[tuple[int, ...], str]:
    if isinstance(hidden_sizes, str | bytes) or not isinstance(hidden_sizes, Sequence):
        raise ValueError(f"hidden_sizes must be a sequence of positive ints, got {hidden_sizes!r}")
    sizes = tuple(require_int("hidden_sizes entry", size) for size in hidden_sizes)
    key = activation.lower() if isinstance(activation, str) else activation
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; allowed: {sorted(ACTIVATIONS)}")
    return sizes, key


def _task_distribution(env_id: str, env_kwargs: Mapping[str, Any]) -> TaskDistribution:
    env = gym.make(env_id, **env_kwargs)
    try:
        return env.unwrapped.task_distribution
    finally:
        env.close()


def _check_tasks(tasks: Any, distribution: TaskDistribution) -> list[Task]:
    if isinstance(tasks, Task) or not isinstance(tasks, Sequence) or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty sequence of metarl.Task, got {tasks!r}")
    checked = []
    for index, task in enumerate(tasks):
        try:
            checked.append(distribution.validate(task))
        except (TypeError, ValueError) as err:
            raise ValueError(f"tasks[{index}]: {err}") from err
    return checked


def _max_episode_steps(env_id: str, env_kwargs: Mapping[str, Any]) -> int:
    steps = env_kwargs.get("max_episode_steps")
    return require_int(
        "max_episode_steps", gym.spec(env_id).max_episode_steps if steps is None else steps
    )


def _derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and ``keys`` (independent streams per key tuple)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def _policy_kwargs(hidden_sizes: tuple[int, ...], activation: str) -> dict[str, Any]:
    return {
        "net_arch": {"pi": list(hidden_sizes), "vf": list(hidden_sizes)},
        "activation_fn": ACTIVATIONS[activation],
    }


# --------------------------------------------------------------------------- model cache
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _cached_model(
    kind: str,
    config: dict[str, Any],
    cache_dir: Path | str,
    build: Callable[[], ModelT],
    timesteps: int,
) -> ModelT:
    """A model from ``build()`` with the cached policy weights ``cache_dir/<kind>.pt`` if its
    metadata records ``config``; else ``build()`` trained for ``timesteps`` and cached."""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model_path, meta_path = folder / f"{kind}.pt", folder / f"{kind}.json"
    remove_stale_temps(folder, [model_path.name, meta_path.name])  # left by a killed write
    reason = "no cached model"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            recorded = meta["config"]
            if not isinstance(recorded, dict):
                raise TypeError(f"'config' must be an object, got {recorded!r}")
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CacheError(
                f"cannot read the cache metadata {meta_path}: {err}; delete it and {model_path} "
                "to retrain"
            ) from err
        if recorded != config:
            changed = sorted(
                k for k in set(recorded) | set(config) if recorded.get(k) != config.get(k)
            )
            reason = f"cached model was trained with different {changed}"
        elif not model_path.exists():
            reason = f"{model_path} is missing"
        else:
            if _sha256(model_path) != meta.get("sha256"):
                raise CacheError(
                    f"{model_path} does not match the SHA-256 recorded in {meta_path}; "
                    "delete both to retrain"
                )
            model = build()
            try:
                state = load_plain(model_path)  # weights_only: a crafted file runs no code
                model.policy.load_state_dict(state)
            except (CheckpointError, RuntimeError, TypeError, AttributeError) as err:
                raise CacheError(
                    f"cannot load the cached {kind} policy {model_path}: {err}; delete it and "
                    f"{meta_path} to retrain"
                ) from err
            logger.info("loaded the cached %s policy from %s", kind, model_path)
            return model
    logger.info("training the %s baseline (%s): %s", kind, reason, config)
    started = time.perf_counter()
    model = build()
    model.learn(total_timesteps=timesteps)
    seconds = time.perf_counter() - started
    meta_path.unlink(missing_ok=True)  # never leave old metadata next to new weights
    atomic_write(model_path, lambda file: torch.save(model.policy.state_dict(), file))
    meta = {
        "kind": kind,
        "config": config,
        "sha256": _sha256(model_path),
        "train_seconds": round(seconds, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {
            p: _version(p) for p in ("metarl", "stable_baselines3", "sb3_contrib", "torch")
        },
    }
    atomic_write_text(meta_path, json.dumps(meta, indent=2))
    logger.info("trained the %s model in %.1f s; cached at %s", kind, seconds, model_path)
    return model


def _ppo_config(
    kind: str,
    env_id: Any,
    env_kwargs: Any,
    timesteps: Any,
    seed: Any,
    hidden_sizes: Any,
    activation: Any,
    ppo_kwargs: Any,
) -> dict[str, Any]:
    sizes, act = _check_arch(hidden_sizes, activation)
    return {
        "kind": kind,
        "env_id": _check_env_id(env_id),
        "env_kwargs": _check_env_kwargs(env_kwargs),
        "timesteps": require_int("timesteps", timesteps),
        "seed": require_int("seed", seed, minimum=0),
        "hidden_sizes": list(sizes),
        "activation": act,
        "ppo_kwargs": _check_json_mapping("ppo_kwargs", ppo_kwargs, _RESERVED_PPO_KWARGS),
    }


def _train_ppo(
    config: dict[str, Any], cache_dir: Path | str, wrap: Callable[[gym.Env], gym.Env]
) -> PPO:
    def build() -> PPO:
        base = gym.make(config["env_id"], **config["env_kwargs"])
        env = wrap(TaskResampling(base, split="train", seed=config["seed"]))
        return PPO(
            "MlpPolicy",
            env,
            seed=config["seed"],
            device="cpu",
            policy_kwargs=_policy_kwargs(tuple(config["hidden_sizes"]), config["activation"]),
            **config["ppo_kwargs"],
        )

    return _cached_model(config["kind"], config, cache_dir, build, config["timesteps"])


def _sb3_contrib() -> Any:
    """``sb3_contrib`` (RecurrentPPO), imported on first use: only RL^2 needs it."""
    try:
        import sb3_contrib
    except ImportError as err:
        raise ImportError(
            "the RL^2 baseline needs sb3-contrib (RecurrentPPO): pip install sb3-contrib"
        ) from err
    return sb3_contrib


def _is_recurrent(policy: Any) -> bool:
    """Whether ``policy`` is an sb3_contrib recurrent policy (it holds an LSTM actor)."""
    return isinstance(getattr(policy, "lstm_actor", None), nn.LSTM)


# --------------------------------------------------------------------------- pretrained
def train_pretrained(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
) -> PPO:
    """Multi-task PPO on train-split tasks (task hidden), cached as ``cache_dir/pretrained.pt``.

    ``ppo_kwargs`` (JSON values, e.g. ``n_steps``) go to ``PPO``; the policy is an ``MlpPolicy``
    with ``hidden_sizes`` / ``activation`` for actor and critic, so :func:`policy_from_sb3` can copy
    it into a metarl policy.
    """
    config = _ppo_config(
        "pretrained", env_id, env_kwargs, timesteps, seed, hidden_sizes, activation, ppo_kwargs
    )
    return _train_ppo(config, cache_dir, lambda env: env)


def _actor_linears(policy: ActorCriticPolicy, activation: str) -> list[nn.Linear]:
    net = policy.mlp_extractor.policy_net
    for layer in net:
        if not isinstance(layer, nn.Linear | ACTIVATIONS[activation]):
            raise ValueError(
                f"the SB3 actor has a {type(layer).__name__} layer; expected Linear layers and "
                f"{ACTIVATIONS[activation].__name__} (activation {activation!r})"
            )
    return [layer for layer in net if isinstance(layer, nn.Linear)] + [policy.action_net]


def policy_from_sb3(
    model: BaseAlgorithm | ActorCriticPolicy,
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden_sizes: Sequence[int],
    activation: str,
) -> GaussianMLPPolicy | CategoricalMLPPolicy:
    """A metarl policy (:func:`~metarl.agents.policies.make_policy`) with the SB3 actor's weights.

    Copies ``mlp_extractor.policy_net`` and ``action_net`` (and ``log_std`` for ``Box`` actions), so
    the metarl policy's distribution equals SB3's on every observation and the metarl inner loop
    can fine-tune it. The critic is not copied.
    """
    sizes, act = _check_arch(hidden_sizes, activation)
    policy = model.policy if isinstance(model, BaseAlgorithm) else model
    if _is_recurrent(policy) or not isinstance(policy, ActorCriticPolicy):
        raise ValueError(
            f"need a feed-forward SB3 ActorCriticPolicy (PPO/A2C 'MlpPolicy'), got "
            f"{type(policy).__name__}"
        )
    if policy.use_sde or policy.squash_output:
        raise ValueError(
            "gSDE / squashed SB3 policies have no metarl counterpart; use use_sde=False"
        )
    if not isinstance(policy.pi_features_extractor, FlattenExtractor):
        raise ValueError(
            f"need SB3's FlattenExtractor, got {type(policy.pi_features_extractor).__name__}"
        )
    for name, ours, theirs in (
        ("observation", observation_space, policy.observation_space),
        ("action", action_space, policy.action_space),
    ):
        if ours != theirs:
            raise ValueError(f"{name} space {ours} differs from the SB3 model's {theirs}")
    target = make_policy(observation_space, action_space, sizes, act)
    target_linears = [m for m in target.modules() if isinstance(m, nn.Linear)]
    source_linears = _actor_linears(policy, act)
    source_shapes = [tuple(m.weight.shape) for m in source_linears]
    target_shapes = [tuple(m.weight.shape) for m in target_linears]
    if source_shapes != target_shapes:
        raise ValueError(
            f"the SB3 actor's layers {source_shapes} do not match hidden_sizes {list(sizes)} "
            f"(layers {target_shapes})"
        )
    with torch.no_grad():
        for ours, theirs in zip(target_linears, source_linears, strict=True):
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
        if isinstance(target, GaussianMLPPolicy):
            target.log_std.copy_(policy.log_std)
    return target


def _check_inner_kwargs(inner_kwargs: Any) -> dict[str, Any]:
    if not isinstance(inner_kwargs, Mapping):
        raise ValueError(f"inner_kwargs must be a dict, got {inner_kwargs!r}")
    allowed = set(inspect.signature(InnerLoop).parameters) - {"policy"}
    unknown = sorted(set(inner_kwargs) - allowed)
    if unknown:
        raise ValueError(f"unknown inner_kwargs {unknown}; allowed: {sorted(allowed)}")
    return dict(inner_kwargs)


def pretrained_curves(
    model: PPO,
    inner_kwargs: Mapping[str, Any],
    sampler: MultiTaskSampler,
    tasks: Sequence[Task],
    num_steps: int,
    seed: int,
    hidden_sizes: Sequence[int],
    activation: str,
) -> AdaptationCurves:
    """Pretrained PPO fine-tuned by ``InnerLoop(policy, **inner_kwargs)``: returns (and success
    rates) ``[K, num_steps + 1]``.

    Runs :func:`metarl.evaluation.adaptation_curves` unchanged (the meta-learners' protocol,
    which seeds the sampler's envs and action noise from ``seed``).
    """
    inner_kwargs = _check_inner_kwargs(inner_kwargs)
    if not isinstance(sampler, MultiTaskSampler):
        raise ValueError(f"sampler must be a metarl MultiTaskSampler, got {sampler!r}")
    tasks = _check_tasks(tasks, sampler.task_distribution)
    num_steps = require_int("num_steps", num_steps, minimum=0)
    seed = require_int("seed", seed, minimum=0)
    policy = policy_from_sb3(
        model, sampler.observation_space, sampler.action_space, hidden_sizes, activation
    )
    inner = InnerLoop(policy, **inner_kwargs)
    return adaptation_curves(policy, inner, sampler, tasks, num_steps, seed)


# --------------------------------------------------------------------------- oracle
def train_oracle(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
) -> PPO:
    """Multi-task PPO that sees the task (``TaskObservation``), cached as ``oracle.pt``."""
    config = _ppo_config(
        "oracle", env_id, env_kwargs, timesteps, seed, hidden_sizes, activation, ppo_kwargs
    )
    return _train_ppo(config, cache_dir, TaskObservation)


def _draw(dist: torch.distributions.Distribution, generator: torch.Generator) -> torch.Tensor:
    if isinstance(dist, Normal):
        return dist.loc + dist.scale * torch.randn(dist.loc.shape, generator=generator)
    if isinstance(dist, Categorical):
        return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
    raise ValueError(f"cannot sample from {type(dist).__name__}; need a Gaussian or categorical")


def _to_env_actions(actions: torch.Tensor, space: gym.Space) -> np.ndarray:
    """SB3's ``predict`` conversion: ``Box`` actions clipped to the bounds."""
    array = actions.numpy().reshape(-1, *space.shape)
    if isinstance(space, gym.spaces.Box):
        return np.clip(array, space.low, space.high).astype(space.dtype)
    return array


def _run_episodes(
    envs: Sequence[gym.Env],
    seeds: Sequence[int],
    tasks: Sequence[Task],
    act: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """One episode per env in lockstep (one batched ``act`` per step); undiscounted returns."""
    first = [
        env.reset(seed=s, options={"task": t}) for env, s, t in zip(envs, seeds, tasks, strict=True)
    ]
    obs = np.stack([o for o, _ in first])
    returns = np.zeros(len(envs))
    alive = np.ones(len(envs), dtype=bool)
    while alive.any():
        actions = act(obs)
        for i in np.flatnonzero(alive):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += reward
            alive[i] = not (terminated or truncated)
    return returns


def _feedforward_actor(
    model: BaseAlgorithm, generator: torch.Generator
) -> Callable[[np.ndarray], np.ndarray]:
    policy = model.policy
    if _is_recurrent(policy) or not isinstance(policy, ActorCriticPolicy):
        raise ValueError(f"need a feed-forward SB3 PPO model, got {type(policy).__name__}")
    policy.set_training_mode(False)

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            dist = policy.get_distribution(torch.as_tensor(obs, dtype=torch.float32))
        return _to_env_actions(_draw(dist.distribution, generator), policy.action_space)

    return act


def _check_eval_args(
    env_id: Any, env_kwargs: Any, tasks: Any, num_steps: Any, episodes: Any, seed: Any
) -> tuple[str, dict[str, Any], list[Task], int, int, int]:
    env_id = _check_env_id(env_id)
    env_kwargs = _check_env_kwargs(env_kwargs)
    tasks = _check_tasks(tasks, _task_distribution(env_id, env_kwargs))
    return (
        env_id,
        env_kwargs,
        tasks,
        require_int("num_steps", num_steps, minimum=0),
        require_int("episodes", episodes),
        require_int("seed", seed, minimum=0),
    )


def _check_model_spaces(model: BaseAlgorithm, env: gym.Env, what: str) -> None:
    if model.observation_space != env.observation_space or model.action_space != env.action_space:
        raise ValueError(
            f"the model's spaces ({model.observation_space}, {model.action_space}) do not match "
            f"{what} ({env.observation_space}, {env.action_space}); was it trained on this env?"
        )


def oracle_returns(
    model: PPO,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """Oracle: mean return over ``episodes`` seeded stochastic episodes per task, in every column."""
    env_id, env_kwargs, tasks, num_steps, episodes, seed = _check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    envs = [TaskObservation(gym.make(env_id, **env_kwargs)) for _ in range(len(tasks) * episodes)]
    _check_model_spaces(model, envs[0], "TaskObservation(env)")
    seeds = [_derive_seed(seed, k, e) for k in range(len(tasks)) for e in range(episodes)]
    per_env = [t for t in tasks for _ in range(episodes)]
    generator = torch.Generator().manual_seed(seed)
    returns = _run_episodes(envs, seeds, per_env, _feedforward_actor(model, generator))
    for env in envs:
        env.close()
    per_task = returns.reshape(len(tasks), episodes).mean(axis=1)
    return np.repeat(per_task[:, None], num_steps + 1, axis=1).astype(np.float64)


# --------------------------------------------------------------------------- scratch
def _batch_size_near(n_steps: int, target: int = 64) -> int:
    """The divisor of ``n_steps`` (> 1 where possible) closest to ``target``: no ragged minibatch."""
    divisors = [d for d in range(2, n_steps + 1) if n_steps % d == 0] or [n_steps]
    return min(divisors, key=lambda d: (abs(d - target), d))


def scratch_returns(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """A fresh PPO per task: column ``k`` after ``k`` updates of ``episodes * horizon`` steps.

    Each PPO trains on an env fixed to its task with ``n_steps = episodes * max_episode_steps``
    (one rollout and one PPO update per column; column 0 is the untrained policy) and is evaluated
    on ``episodes`` seeded stochastic episodes. ``ppo_kwargs`` (not ``n_steps``) go to ``PPO``;
    ``batch_size`` defaults to the divisor of ``n_steps`` closest to 64.
    """
    env_id, env_kwargs, tasks, num_steps, episodes, seed = _check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    sizes, act = _check_arch(hidden_sizes, activation)
    extra = _check_json_mapping("ppo_kwargs", ppo_kwargs, _RESERVED_PPO_KWARGS | {"n_steps"})
    n_steps = episodes * _max_episode_steps(env_id, env_kwargs)
    extra.setdefault("batch_size", _batch_size_near(n_steps))
    generator = torch.Generator().manual_seed(seed)
    returns = np.zeros((len(tasks), num_steps + 1))
    for k, task in enumerate(tasks):
        model = PPO(
            "MlpPolicy",
            gym.make(env_id, task=task, **env_kwargs),
            n_steps=n_steps,
            seed=_derive_seed(seed, k),
            device="cpu",
            policy_kwargs=_policy_kwargs(sizes, act),
            **extra,
        )
        envs = [gym.make(env_id, **env_kwargs) for _ in range(episodes)]
        for step in range(num_steps + 1):
            if step > 0:
                model.learn(total_timesteps=n_steps, reset_num_timesteps=False)
            seeds = [_derive_seed(seed, k, e, step) for e in range(episodes)]
            episode_returns = _run_episodes(
                envs, seeds, [task] * episodes, _feedforward_actor(model, generator)
            )
            returns[k, step] = episode_returns.mean()
        logger.info("scratch PPO on task %d/%d: %s", k + 1, len(tasks), returns[k].round(2))
        model.get_env().close()
        for env in envs:
            env.close()
    return returns


# --------------------------------------------------------------------------- RL^2
def _has_wrapper(env: gym.Env, wrapper: type[gym.Wrapper]) -> bool:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, wrapper):
            return True
        env = env.env
    return False


class TrialWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """RL^2 trials (Duan et al., 2016): ``trial_episodes`` consecutive episodes of one task.

    One wrapper episode is a whole trial, so a recurrent policy's hidden state persists across the
    inner episodes and resets between trials. Each trial draws a new task from ``split`` with a
    seeded stream like :class:`~metarl.envs.wrappers.TaskResampling` (``reset(seed=s)`` restarts it;
    ``reset(options={"task": t})`` fixes the trial's task).

    Observation: ``[obs, previous action, previous reward, done]`` (float32), where the previous
    action is one-hot for ``Discrete`` spaces and the raw action clipped to the bounds for ``Box``
    spaces, and ``done`` is 1 when the previous step ended an inner episode (the observation is
    then the first of the next one). All three are 0 after ``reset``.

    The trial terminates (``terminated=True``: no reward follows) when its last inner episode
    ends. ``info["episode_index"]`` is the inner episode a step belongs to; the step that ends an
    inner episode adds ``info["inner_episode_return"]``; the trial's last step adds
    ``info["episode_returns"]`` (all inner returns, also in :attr:`episode_returns`).

    Args:
        env: a metarl env with a time limit (``gymnasium.make("metarl/...")``), not resampling
            tasks itself.
        trial_episodes: inner episodes per trial (>= 1).
        split: split the trial tasks are drawn from.
        seed: seed of the task stream.
    """

    def __init__(
        self, env: gym.Env, trial_episodes: int, split: str = "train", seed: int | None = None
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self, trial_episodes=trial_episodes, split=split, seed=seed
        )  # lets ``env.spec.make()`` recreate the wrapped env
        gym.Wrapper.__init__(self, env)
        self.trial_episodes = require_int("trial_episodes", trial_episodes)
        distribution = getattr(env.unwrapped, "task_distribution", None)
        if not isinstance(distribution, TaskDistribution):
            raise ValueError(f"{env.unwrapped!r} is not a metarl family (no task_distribution)")
        if _has_wrapper(env, TaskResampling):
            raise ValueError("TrialWrapper draws the tasks itself; do not wrap in TaskResampling")
        try:
            env.get_wrapper_attr("_max_episode_steps")
        except AttributeError:
            raise ValueError(
                "TrialWrapper needs episodes of bounded length; make the env with "
                "gymnasium.make(...) (which adds a TimeLimit)"
            ) from None
        self.tasks = distribution.split(split)
        self._task_rng = np.random.default_rng(seed)
        obs_space, action_space = env.observation_space, env.action_space
        if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"TrialWrapper needs a 1-D Box observation space, got {obs_space}")
        if isinstance(action_space, gym.spaces.Discrete):
            action_low = np.zeros(int(action_space.n), dtype=np.float32)
            action_high = np.ones(int(action_space.n), dtype=np.float32)
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            action_low = action_space.low.astype(np.float32)
            action_high = action_space.high.astype(np.float32)
        else:
            raise ValueError(
                f"TrialWrapper needs a Discrete or 1-D Box action space, got {action_space}"
            )
        reward_done_low = np.array([-np.inf, 0.0], dtype=np.float32)
        reward_done_high = np.array([np.inf, 1.0], dtype=np.float32)
        self.observation_space = gym.spaces.Box(
            np.concatenate([obs_space.low.astype(np.float32), action_low, reward_done_low]),
            np.concatenate([obs_space.high.astype(np.float32), action_high, reward_done_high]),
            dtype=np.float32,
        )
        self._action_size = len(action_low)
        self._episode_index = 0
        self._episode_return = 0.0
        self.episode_returns: list[float] = []

    @property
    def episode_index(self) -> int:
        """Index of the current inner episode within the trial (0-based)."""
        return self._episode_index

    def _augment(self, obs: np.ndarray, action: Any, reward: float, done: bool) -> np.ndarray:
        features = np.zeros(self._action_size + 2, dtype=np.float32)
        if action is not None:
            space = self.env.action_space
            if isinstance(space, gym.spaces.Discrete):
                features[int(action) - int(space.start)] = 1.0
            else:
                features[: self._action_size] = np.clip(action, space.low, space.high)
        features[-2], features[-1] = reward, float(done)
        return np.concatenate([np.asarray(obs, dtype=np.float32), features])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._task_rng = np.random.default_rng([seed, _TASK_STREAM_KEY])
        options = dict(options or {})
        if "task" not in options:
            options["task"] = self.tasks.sample(1, seed=self._task_rng)[0]
        obs, info = self.env.reset(seed=seed, options=options)
        self._episode_index, self._episode_return = 0, 0.0
        self.episode_returns = []
        return self._augment(obs, None, 0.0, False), {**info, "episode_index": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._episode_index >= self.trial_episodes:
            raise RuntimeError("the trial is over; call reset() to start the next one")
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = float(reward)
        self._episode_return += reward
        info = {**info, "episode_index": self._episode_index}
        inner_done = bool(terminated or truncated)
        trial_done = False
        if inner_done:
            info["inner_episode_return"] = self._episode_return
            self.episode_returns.append(self._episode_return)
            self._episode_index += 1
            self._episode_return = 0.0
            if self._episode_index < self.trial_episodes:
                obs, _ = self.env.reset()  # same task: the inner env keeps it
            else:
                trial_done = True
                info["episode_returns"] = list(self.episode_returns)
        return self._augment(obs, action, reward, inner_done), reward, trial_done, False, info


def train_rl2(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    timesteps: int,
    seed: int,
    cache_dir: Path | str,
    trial_episodes: int,
    *,
    ppo_kwargs: Mapping[str, Any] | None = None,
) -> RecurrentPPO:
    """RL^2: ``RecurrentPPO`` (``MlpLstmPolicy``) on :class:`TrialWrapper` trials of train tasks.

    Cached as ``rl2.pt``. ``ppo_kwargs`` (JSON values, may include ``policy_kwargs`` such as
    ``{"lstm_hidden_size": 64}``) go to ``RecurrentPPO``.
    """
    config = {
        "kind": "rl2",
        "env_id": _check_env_id(env_id),
        "env_kwargs": _check_env_kwargs(env_kwargs),
        "timesteps": require_int("timesteps", timesteps),
        "seed": require_int("seed", seed, minimum=0),
        "trial_episodes": require_int("trial_episodes", trial_episodes),
        "ppo_kwargs": _check_json_mapping("ppo_kwargs", ppo_kwargs, _RESERVED_RL2_KWARGS),
    }

    recurrent_ppo = _sb3_contrib().RecurrentPPO

    def build() -> RecurrentPPO:
        env = TrialWrapper(
            gym.make(config["env_id"], **config["env_kwargs"]),
            config["trial_episodes"],
            split="train",
            seed=config["seed"],
        )
        return recurrent_ppo(
            "MlpLstmPolicy", env, seed=config["seed"], device="cpu", **config["ppo_kwargs"]
        )

    return _cached_model("rl2", config, cache_dir, build, config["timesteps"])


def rl2_returns(
    model: RecurrentPPO,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    tasks: Sequence[Task],
    num_steps: int,
    episodes: int,
    seed: int,
) -> np.ndarray:
    """RL^2: column ``k`` = mean return of inner episode ``k + 1`` over ``episodes`` seeded trials.

    Each trial runs ``num_steps + 1`` episodes of the task with the LSTM state carried across them
    (stochastic actions from a generator seeded with ``seed``).
    """
    env_id, env_kwargs, tasks, num_steps, episodes, seed = _check_eval_args(
        env_id, env_kwargs, tasks, num_steps, episodes, seed
    )
    policy = model.policy
    if not _is_recurrent(policy):
        raise ValueError(f"need an sb3_contrib RecurrentPPO model, got {type(policy).__name__}")
    envs = [
        TrialWrapper(gym.make(env_id, **env_kwargs), num_steps + 1)
        for _ in range(len(tasks) * episodes)
    ]
    _check_model_spaces(model, envs[0], "TrialWrapper(env)")
    policy.set_training_mode(False)
    generator = torch.Generator().manual_seed(seed)
    first = [
        env.reset(seed=_derive_seed(seed, i // episodes, i % episodes), options={"task": t})
        for i, (env, t) in enumerate(
            zip(envs, [t for t in tasks for _ in range(episodes)], strict=True)
        )
    ]
    obs = np.stack([o for o, _ in first])
    shape = list(policy.lstm_hidden_state_shape)
    shape[1] = len(envs)
    state = (torch.zeros(shape), torch.zeros(shape))
    starts = torch.ones(len(envs))
    trial_returns = np.zeros((len(envs), num_steps + 1))
    alive = np.ones(len(envs), dtype=bool)
    while alive.any():
        with torch.no_grad():
            dist, state = policy.get_distribution(
                torch.as_tensor(obs, dtype=torch.float32), state, starts
            )
        actions = _to_env_actions(_draw(dist.distribution, generator), policy.action_space)
        starts = torch.zeros(len(envs))
        for i in np.flatnonzero(alive):
            obs[i], _, terminated, _, info = envs[i].step(actions[i])
            if terminated:
                trial_returns[i] = info["episode_returns"]
                alive[i] = False
    for env in envs:
        env.close()
    return trial_returns.reshape(len(tasks), episodes, num_steps + 1).mean(axis=1)
