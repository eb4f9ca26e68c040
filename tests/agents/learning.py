"""Small seeded meta-training runs shared by the learning tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from metarl.agents import PPO, TRPO, InnerLoop, MetaLearner, ProMP, make_policy
from metarl.evaluation import adaptation_returns
from metarl.sampling import MultiTaskSampler


@dataclass
class LearningResult:
    meta_trained: np.ndarray  # [tasks, 2]: returns before / after one adaptation step
    random_init: np.ndarray  # the same protocol from a randomly initialised policy
    history: list[dict[str, float]]


def meta_train(
    algorithm: str,
    env_id: str,
    iterations: int,
    num_tasks: int = 10,
    episodes: int = 10,
    step_size: float = 0.1,
    hidden_sizes: tuple[int, ...] = (32, 32),
    seed: int = 0,
    env_kwargs: dict | None = None,
) -> LearningResult:
    torch.manual_seed(seed)
    sampler = MultiTaskSampler(env_id, episodes_per_task=episodes, env_kwargs=env_kwargs)
    policy = make_policy(sampler.observation_space, sampler.action_space, hidden_sizes)
    estimator = "lvc" if algorithm == "promp" else "reinforce"
    inner = InnerLoop(policy, step_size=step_size, estimator=estimator)
    outer = {
        "trpo": lambda: TRPO(),
        "ppo": lambda: PPO(learning_rate=3e-3, epochs=5),
        "promp": lambda: ProMP(learning_rate=3e-3, epochs=5),
    }[algorithm]()
    agent = MetaLearner(policy, sampler, inner, outer, seed=seed)
    train = sampler.task_distribution.split("train")
    history = [
        agent.meta_step(train.sample(num_tasks, seed=seed * 1000 + i)) for i in range(iterations)
    ]
    test_tasks = sampler.task_distribution.split("test").tasks[:num_tasks]
    meta_trained = adaptation_returns(policy, inner, sampler, test_tasks, 1, seed=seed + 1)
    torch.manual_seed(seed + 1)
    fresh = make_policy(sampler.observation_space, sampler.action_space, hidden_sizes)
    fresh_inner = InnerLoop(fresh, step_size=step_size, estimator=estimator)
    random_init = adaptation_returns(fresh, fresh_inner, sampler, test_tasks, 1, seed=seed + 1)
    sampler.close()
    return LearningResult(meta_trained, random_init, history)
