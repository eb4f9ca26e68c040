"""Self-describing checkpoints, metarl.load and the inference API (adapt, then predict)."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import metarl
from metarl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from metarl.cli import main
from metarl.runs.build import build
from metarl.runs.config import TrainConfig
from metarl.runs.folder import RunFolder
from metarl.runs.train import train
from metarl.sampling import Episode, MultiTaskSampler, collect_episodes, stack_params

TINY = TrainConfig(
    env="metarl/Navigation2D-v0",
    env_kwargs={"max_episode_steps": 10},
    iterations=2,
    meta_batch_size=3,
    episodes_per_task=2,
    hidden_sizes=(8,),
    eval_tasks=3,
    seed=3,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("load") / "run"
    train(TINY, root, progress=False)
    return root


def test_a_checkpoint_describes_itself(run):
    state = load_checkpoint(RunFolder(run).last)
    assert state["format"] == "metarl-checkpoint/2" and state["agent"] == "maml"
    assert state["env"] == {"id": TINY.env, "kwargs": TINY.env_kwargs}
    assert state["spaces"]["observation"]["shape"] == [2]
    action = state["spaces"]["action"]
    assert action["type"] == "Box" and action["shape"] == [2] and action["dtype"] == "float32"
    assert action["high"] == pytest.approx([0.1, 0.1])
    assert TrainConfig.from_dict(state["config"]) == TINY


def test_load_a_run_or_a_checkpoint_file_adapt_and_predict(run, tmp_path):
    copy = tmp_path / "model.pt"  # a checkpoint alone, away from its run folder
    copy.write_bytes(RunFolder(run).last.read_bytes())
    for source in (run, copy):
        agent = metarl.load(source)
        task = agent.task_distribution.task(goal=[0.4, -0.3])
        policy = agent.adapt(task, seed=1)
        again = agent.adapt(task, seed=1)
        assert all(torch.equal(policy.params[k], again.params[k]) for k in policy.params)
        initial = dict(agent.policy.named_parameters())
        assert not torch.equal(policy.params["mean.0.weight"], initial["mean.0.weight"])
        action, state = policy.predict(np.zeros(2, dtype=np.float32), deterministic=True)
        assert action.shape == (2,) and action.dtype == np.float32 and state is None
        actions, _ = policy.predict(np.zeros((5, 2)))
        assert actions.shape == (5, 2) and np.all(np.abs(actions) <= 0.1)  # clipped, as SB3
        assert np.array_equal(policy.predict(np.ones(2), deterministic=True)[0],
                              policy.predict(np.ones(2), deterministic=True)[0])
        agent.close()


def test_adapt_from_an_env_or_from_episodes_in_a_plain_gymnasium_loop(run):
    agent = metarl.load(run)
    task = agent.task_distribution.task(goal=[-0.2, 0.3])
    env = gym.make("metarl/Navigation2D-v0", max_episode_steps=10)
    env.reset(options={"task": task})  # the env keeps its task from here on
    from_env = agent.adapt(env=env, seed=0)
    episodes = collect_episodes(env, from_env, num_episodes=2, seed=5)
    assert [len(e) for e in episodes] == [10, 10] and episodes[0].actions.shape == (10, 2)
    from_episodes = agent.adapt(episodes=episodes)
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        action, _ = from_episodes.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    with pytest.raises(ValueError, match="exactly one of task, env, episodes; got none"):
        agent.adapt()
    with pytest.raises(ValueError, match=r"got \['task', 'env'\]"):
        agent.adapt(task, env=env)
    with pytest.raises(ValueError, match="observations have size 3, the policy's 2"):
        agent.adapt(episodes=[Episode(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(4))])
    with pytest.raises(ValueError, match="rewards must have shape"):
        Episode(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros(3))
    agent.close()


def test_episodes_from_arrays_adapt_exactly_as_the_sampler_s_batch():
    learner = build(TINY)
    task = learner.task_distribution.task(goal=[0.1, 0.2])
    sampler = MultiTaskSampler(TINY.env, 3, TINY.env_kwargs)
    params = {
        k: v.detach() for k, v in stack_params(dict(learner.policy.named_parameters()), 1).items()
    }
    batch = sampler.sample(learner.policy, [task], params, seed=0)
    episodes = [  # the same episodes, as a user would hand them over: plain arrays
        Episode(
            batch.observations[: n, b].numpy(),
            batch.actions[: n, b].numpy(),
            batch.rewards[: n, b].numpy(),
            bool(batch.terminated[n - 1, b]),
            batch.final_observations[b].numpy(),
        )
        for b, n in enumerate(batch.lengths.tolist())
    ]
    expected = learner.inner.adapt(batch, params)
    adapted = learner.adaptive_agent().adapt(episodes=episodes)
    for name, value in expected.items():
        assert torch.equal(adapted.params[name], value[0])
    sampler.close()
    learner.close()


def test_discrete_actions_are_integers():
    bandit = TINY.with_overrides(["env=metarl/Bandit-v0", "env_kwargs={}"])
    learner = build(bandit)
    agent = learner.adaptive_agent()
    policy = agent.adapt(agent.task_distribution.default_task())
    env = gym.make(bandit.env)
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs)
    assert action.shape == () and np.issubdtype(action.dtype, np.integer)
    assert env.action_space.contains(action)
    assert policy.predict(np.stack([obs, obs]))[0].shape == (2,)
    learner.close()


def test_incompatible_checkpoints_raise_checkpoint_error_naming_the_mismatch(run, tmp_path):
    path = RunFolder(run).last
    wider = build(TINY.with_overrides(["hidden_sizes=[16]"]))
    # Before: RuntimeError: Error(s) in loading state_dict ... size mismatch.
    with pytest.raises(CheckpointError, match=r"mean.0.weight: checkpoint \(8, 2\), here \(16, 2\)"):
        wider.load(path)
    ppo = build(TINY.with_overrides(["outer=ppo"]))
    # Before: the TRPO checkpoint loaded silently into the PPO learner.
    with pytest.raises(CheckpointError, match="holds TRPO, this learner's outer loop is PPO"):
        ppo.load(path)
    meta_sgd = build(TINY.with_overrides(["learn_inner_lr=true"]))
    with pytest.raises(CheckpointError, match="has no learned inner step sizes, this learner has"):
        meta_sgd.load(path)
    state = load_checkpoint(path)
    state["spaces"]["observation"]["shape"] = [3]
    save_checkpoint({k: v for k, v in state.items() if k != "format"}, tmp_path / "changed.pt")
    with pytest.raises(CheckpointError, match=r"observation space is now Box\(shape=\(2,\).*\(3,\)"):
        metarl.load(tmp_path / "changed.pt")
    old = {k: v for k, v in load_checkpoint(path).items() if k not in ("agent", "env", "spaces")}
    torch.save({**old, "format": "metarl-checkpoint/1"}, tmp_path / "old.pt")
    metarl.load(tmp_path / "old.pt").close()  # checkpoints of the first format still load
    for learner in (wider, ppo, meta_sgd):
        learner.close()


def test_cli_evaluates_a_checkpoint_file_and_trains_without_a_config(run, tmp_path, capsys):
    model = tmp_path / "model.pt"
    model.write_bytes(RunFolder(run).best.read_bytes())
    # Before: "not a run folder: model.pt/config.yaml is missing".
    assert main(["evaluate", str(model), "--tasks", "2", "--steps", "1", "--episodes", "2"]) == 0
    result = json.loads((tmp_path / "model-eval" / "test" / "eval.json").read_text())
    assert result["env"] == TINY.env and result["checkpoint"] == "model.pt"
    assert (tmp_path / "model-eval" / "test" / "adaptation.png").is_file()
    # Before: "train needs --config FILE (or --resume DIR)".
    out = tmp_path / "defaults"
    assert main(["train", "--set", "iterations=1", "--set", "meta_batch_size=2", "--set",
                 "episodes_per_task=2", "--set", "hidden_sizes=[8]", "--out", str(out)]) == 0
    assert metarl.load_config(out / "config.yaml").env == "metarl/Navigation2D-v0"
    capsys.readouterr()
    assert main(["envs", "--import", "no_such_module_xyz"]) == 2
    assert "--import: cannot import module 'no_such_module_xyz'" in capsys.readouterr().err


def test_the_plot_says_what_its_bands_are_and_what_it_measured():
    from metarl.evaluation.report import EvaluationResult

    result = EvaluationResult("env", "test", 1, 5, [None] * 3, checkpoint="runs/x/last.pt")
    assert result.caption() == (
        "3 test tasks; each point: the mean over tasks of 5 episodes per task; bands: 95% "
        "confidence intervals over tasks; checkpoint runs/x/last.pt"
    )


def test_help_shows_each_config_field_s_documentation():
    import pydoc

    text = " ".join(pydoc.render_doc(TrainConfig, renderer=pydoc.plaintext).split())
    assert "inner_lr (default 0.1): Inner step size alpha" in text
    assert "imports (default ()): Modules imported before the env is made" in text


def test_load_names_an_agent_kind_without_the_inference_api(run, monkeypatch):
    from metarl.agents import MetaLearner

    monkeypatch.delattr(MetaLearner, "adaptive_agent")
    with pytest.raises(TypeError, match="agent kind 'maml' offers no inference API"):
        metarl.load(run)


def test_a_checkpoint_file_s_evaluation_never_writes_through_a_linked_folder(run, tmp_path, capsys):
    from metarl.cli import main

    model = tmp_path / "model.pt"
    model.write_bytes(RunFolder(run).last.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "model-eval").symlink_to(elsewhere)
    assert main(["evaluate", str(model), "--tasks", "2", "--steps", "1"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not any(elsewhere.iterdir())
