"""``metarl evaluate``: the fast-adaptation evaluation of a run folder's agent beside comparison agents."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from metarl.agents.device import resolve_device
from metarl.evaluation import (
    AdaptationSetting,
    AgentContext,
    EvaluationResult,
    agent_factory,
)
from metarl.provenance import provenance, utc_now
from metarl.runs.build import inner_loop_kwargs
from metarl.runs.folder import RunFolder
from metarl.runs.train import checkpoint_path, load_run
from metarl.sampling import MultiTaskSampler
from metarl.tasks import EnumeratedTaskDistribution
from metarl.validation import require_int, require_seed

logger = logging.getLogger(__name__)

__all__ = ["evaluate_run", "output_folders"]


def output_folders(source: str | Path, split: str = "test") -> tuple[Path, Path]:
    """Where the evaluation of ``source`` on ``split`` writes its outputs and caches comparison
    agents: ``RUN/eval/<split>`` and ``RUN/baselines`` for a run folder, ``<stem>-eval/<split>``
    and ``<stem>-eval/baselines`` beside a checkpoint file ``<stem>.pt``."""
    source = Path(source)
    if source.is_file():
        folder = source.with_name(f"{source.stem}-eval")
        return folder / split, folder / "baselines"
    run = RunFolder(source)
    return run.eval / split, run.baselines


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    num_tasks: int | None = None,
    steps: int | None = None,
    episodes: int | None = None,
    comparisons: Sequence[str] = (),
    seed: int = 0,
    checkpoint: str = "last",
    device: str = "cpu",
    evaluation_episodes: int | None = None,
    paired_with: str | None = None,
) -> EvaluationResult:
    """The fast-adaptation evaluation of a run folder's (or checkpoint file's) agent, beside the
    named ``comparisons``
    (agents of the registry, :func:`~metarl.evaluation.registered_agents`).

    Every agent sees the same ``num_tasks`` tasks of ``split`` (default: the config's
    ``eval_tasks``), ``episodes`` episodes per adaptation step (default: the config's
    ``episodes_per_task``) and ``steps`` steps (default: the config's ``eval_steps``).
    Comparison agents that train (the SB3 ones) train on ``device`` (``auto``, ``cpu``,
    ``cuda``), once: they are cached in ``<run>/baselines``. With ``evaluation_episodes``
    (Meta-World's protocol), each point is measured on that many separate episodes per task
    that no agent adapts on (:class:`~metarl.evaluation.AdaptationSetting`). The report's paired
    differences are taken against ``paired_with`` (default: the first comparison). The result's
    ``provenance`` (:func:`metarl.provenance.provenance`) names the run's config and the seeds.
    """
    started, clock = utc_now(), time.perf_counter()
    factories = {name: agent_factory(name) for name in comparisons}
    agents = ["meta-trained", *comparisons]
    if paired_with is None and comparisons:
        paired_with = comparisons[0]
    if paired_with is not None and paired_with not in agents:
        raise ValueError(f"paired_with must be one of the evaluated agents {agents}, got {paired_with!r}")
    resolve_device(device)
    if split == "train":
        raise ValueError("evaluate on held-out tasks: split must be 'test' or 'test-ood'")
    seed = require_seed("seed", seed)
    config, learner = load_run(run_dir, checkpoint)
    path = checkpoint_path(run_dir, checkpoint)[0]
    # Recorded relative to the run folder (or as the file's name), so that a copied run says the same.
    shown = path.name if Path(run_dir).is_file() else path.relative_to(run_dir).as_posix()
    distribution = learner.task_distribution
    tasks = list(distribution.split(split).tasks)
    num_tasks = config.eval_tasks if num_tasks is None else require_int("num_tasks", num_tasks)
    if num_tasks > len(tasks):
        raise ValueError(f"split {split!r} holds {len(tasks)} tasks, asked for {num_tasks}")
    tasks = tasks[:num_tasks]
    steps = config.eval_steps if steps is None else require_int("steps", steps, minimum=0)
    episodes = config.episodes_per_task if episodes is None else require_int("episodes", episodes)
    if evaluation_episodes is not None:
        evaluation_episodes = require_int("evaluation_episodes", evaluation_episodes)
    groups = None
    if isinstance(distribution, EnumeratedTaskDistribution) and distribution.has_groups:
        groups = [distribution.group(t) for t in tasks]
    result = EvaluationResult(
        config.env, split, steps, episodes, tasks, groups=groups,
        evaluation_episodes=evaluation_episodes, checkpoint=shown, paired_with=paired_with,
    )
    sampler = MultiTaskSampler(config.env, episodes, config.env_kwargs)
    evaluation_sampler = None if evaluation_episodes is None else MultiTaskSampler(
        config.env, evaluation_episodes, config.env_kwargs
    )
    try:
        setting = AdaptationSetting(tasks, steps, episodes, seed, sampler, evaluation_sampler)
        context = AgentContext(
            env=config.env,
            env_kwargs=config.env_kwargs,
            hidden_sizes=config.hidden_sizes,
            activation=config.activation,
            inner_kwargs=inner_loop_kwargs(config, int(sampler.observation_space.shape[0])),
            timesteps=config.comparison_timesteps,
            cache_dir=output_folders(run_dir, split)[1],
            device=device,
            sac_timesteps=config.sac_timesteps,
        )
        agents = {"meta-trained": learner.graded_agent()}
        agents.update((name, factory(context)) for name, factory in factories.items())
        for name, agent in agents.items():
            logger.info("evaluating %s", name)
            result.add(name, agent.adaptation_curves(setting), agent.episodes_per_unit(setting))
    finally:
        sampler.close()
        if evaluation_sampler is not None:
            evaluation_sampler.close()
        learner.close()
    result.provenance = provenance(
        config.to_dict(), {"train": config.seed, "evaluation": seed}, started,
        time.perf_counter() - clock,
    )
    tuned = {
        name: asdict(agent.tuning)
        for name, agent in agents.items()
        if getattr(agent, "tuning", None) is not None
    }
    if tuned:  # the hyperparameters tuned references chose on the training split
        result.provenance["tuned"] = tuned
    return result
