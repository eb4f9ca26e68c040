"""The top-level API: what a user needs is importable from ``metarl``, which stays light."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import metarl
from metarl.agents.inference import GradientAdaptiveAgent
from metarl.runs.build import build
from metarl.runs.evaluate import evaluate_run
from metarl.runs.train import load_run, train


def test_import_metarl_registers_the_ids_and_loads_no_torch():
    code = (
        "import sys, gymnasium, metarl; "
        "assert 'metarl/Navigation2D-v0' in gymnasium.registry; "
        "heavy = [m for m in ('torch', 'stable_baselines3', 'matplotlib', 'ray') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "metarl.TrainConfig; assert 'torch' not in sys.modules; "
        "metarl.train; assert 'torch' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_public_names_are_the_library_s_own():
    assert (metarl.train, metarl.load_run, metarl.evaluate) == (train, load_run, evaluate_run)
    assert {"Task", "TaskObservation", "list_families", "train", "evaluate"} <= set(dir(metarl))
    assert set(metarl.__all__) <= set(dir(metarl))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        metarl.nope  # noqa: B018


def test_adapt_and_predict_refuse_misshapen_or_non_finite_arrays():
    """``agent.adapt(episodes=...)`` and ``policy.predict`` (here MAML's) name the bad argument,
    the expected and given shape or the first non-finite entry, instead of broadcasting or
    acting on NaN."""
    learner = build(metarl.TrainConfig(env="metarl/Navigation2D-v0", hidden_sizes=(8,)))
    agent = learner.adaptive_agent()
    obs, actions, rewards = np.zeros((4, 2)), np.zeros((4, 2)), np.linspace(-1.0, 0.0, 4)
    with pytest.raises(ValueError, match=r"episodes\[0\].actions must have shape \(4, 2\), got \(4, 1\)"):
        agent.adapt(episodes=[metarl.Episode(obs, actions[:, :1], rewards)])
    with pytest.raises(ValueError, match=r"observations must hold finite .*observations\[3, 1\] is inf"):
        metarl.Episode(np.where(np.arange(8).reshape(4, 2) == 7, np.inf, obs), actions, rewards)
    with pytest.raises(TypeError, match="actions must hold real numbers"):
        metarl.Episode(obs, actions > 0, rewards)
    with pytest.raises(ValueError, match=r"adapting on the given episodes failed .* too large"):
        agent.adapt(episodes=[metarl.Episode(obs, actions, np.full(4, 3e38))])
    policy = agent.adapt(episodes=[metarl.Episode(obs, actions, rewards)])
    with pytest.raises(ValueError, match=r"observation must hold finite .*observation\[0\] is nan"):
        policy.predict(np.array([np.nan, 0.0]))
    assert np.isfinite(policy.predict(np.zeros(2))[0]).all()
    learner.close()


def test_the_loaded_agent_predicts_with_the_meta_learned_policy(tmp_path):
    """Before adapting, a MAML agent acts with its meta-learned parameters: deterministic
    actions are the policy module's mean action (clipped to the action space), sampled ones
    come from one stream seeded when the agent is made."""
    config = metarl.TrainConfig(
        env="metarl/Navigation2D-v0", env_kwargs={"max_episode_steps": 5}, hidden_sizes=(8,),
        iterations=1, meta_batch_size=2, episodes_per_task=2,
    )
    train(config, tmp_path / "run", progress=False).close()
    agent = metarl.load(tmp_path / "run")
    space = agent.sampler.action_space
    obs = np.array([[0.0, 0.0], [0.3, -0.2], [-0.4, 0.1]], dtype=np.float32)
    with torch.no_grad():
        mean = agent.policy(torch.from_numpy(obs)).base_dist.loc.numpy()
    actions, state = agent.predict(obs, deterministic=True)
    assert state is None and actions.shape == (3, 2)
    np.testing.assert_allclose(actions, np.clip(mean, space.low, space.high), rtol=1e-6)
    single, _ = agent.predict(obs[1], deterministic=True)
    assert single.shape == (2,)
    np.testing.assert_allclose(single, actions[1], rtol=1e-6)
    sampled, _ = agent.predict(obs)
    assert sampled.shape == (3, 2) and np.all((space.low <= sampled) & (sampled <= space.high))
    assert not np.allclose(sampled, actions)
    again = GradientAdaptiveAgent(agent.policy, agent.inner, agent.sampler, 1)
    np.testing.assert_array_equal(again.predict(obs)[0], sampled)
    with pytest.raises(ValueError, match=r"observation must have shape \(2,\) or \(n, 2\), got \(3,\)"):
        agent.predict(np.zeros(3))
    with pytest.raises(ValueError, match=r"observation\[1, 0\] is nan"):
        agent.predict([[0.0, 0.0], [np.nan, 0.0]])
    agent.close()
