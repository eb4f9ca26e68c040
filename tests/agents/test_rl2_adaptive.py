"""RL^2 under the inference protocol: adapt from a task, an env or episodes (the same trial state
by every route), then continue the trial with ``predict``; ``metarl.load`` rebuilds it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import metarl
from metarl.agents.rl2 import RecurrentActorCritic, TrialInputs
from metarl.agents.rl2.adaptive import RL2AdaptiveAgent, RL2Policy, RL2State
from metarl.runs.config import TrainConfig
from metarl.runs.train import train
from metarl.sampling import Episode
from metarl.sampling.trials import make_trial_envs

NAV = "metarl/Navigation2D-v0"
BANDIT = "metarl/Bandit-v0"
STEPS = 6


def _agent(env_id: str, context: int, num_envs: int = 1, **env_kwargs) -> RL2AdaptiveAgent:
    envs = make_trial_envs(env_id, num_envs, env_kwargs)
    inputs = TrialInputs(envs.single_observation_space, envs.single_action_space)
    torch.manual_seed(0)
    network = RecurrentActorCritic(
        inputs.size, envs.single_action_space, 16, init_std=0.1, embedding_sizes=(8,)
    )
    return RL2AdaptiveAgent(network, envs, context)


def _user_env(env_id: str, task, **env_kwargs) -> gym.Env:
    """A plain Gymnasium env running ``task`` (the task stays across its resets)."""
    env = gym.make(env_id, **env_kwargs)
    env.reset(options={"task": task})
    return env


def _trial(policy: RL2Policy, env: gym.Env, episodes: int) -> tuple[list[Episode], RL2State]:
    """``episodes`` episodes continuing the trial with ``predict``, recorded as Episodes."""
    recorded, state, reward = [], None, 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=k)
        observations, actions, rewards, done = [], [], [], False
        while not done:
            action, state = policy.predict(
                obs, state, episode_start=not rewards and k > 0,
                reward=None if state is None else reward,
            )
            observations.append(obs)
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
        recorded.append(
            Episode(np.array(observations), np.array(actions), np.array(rewards), terminated, obs)
        )
    return recorded, state


@pytest.mark.parametrize("context", [1, 2])
def test_adapting_on_a_task_or_in_an_env_reaches_the_same_trial_state(context):
    """Navigation2D starts at the origin and the action noise is one seeded stream, so the
    trial run on the vector env and the one run in a user's env are the same trial."""
    agent = _agent(NAV, context, max_episode_steps=STEPS)
    task = agent.task_distribution.split("test").tasks[0]
    on_task = agent.adapt(task, seed=3).start
    in_env = agent.adapt(env=_user_env(NAV, task, max_episode_steps=STEPS), seed=3).start
    if context == 1:  # the vector env's restart step draws noise it does not use
        torch.testing.assert_close(in_env.hidden, on_task.hidden)
        np.testing.assert_allclose(in_env.previous, on_task.previous, rtol=1e-6)
    assert in_env.previous[0, -1] == on_task.previous[0, -1] == 1.0  # an episode just ended
    again = agent.adapt(task, seed=3).start
    torch.testing.assert_close(again.hidden, on_task.hidden, rtol=0, atol=0)
    assert not torch.equal(agent.adapt(task, seed=4).start.hidden, on_task.hidden)
    agent.close()


def test_feeding_episodes_equals_acting_them_step_by_step():
    """The state after a trial played through ``predict`` equals one forward over its episodes
    (actions, rewards and episode ends in the input, state kept across episodes)."""
    agent = _agent(NAV, 0, max_episode_steps=STEPS)
    task = agent.task_distribution.split("train").sample(1, seed=2)[0]
    fresh = agent.adapt(task, seed=1)
    torch.testing.assert_close(fresh.start.hidden, torch.zeros(1, 16))
    episodes, state = _trial(fresh, _user_env(NAV, task, max_episode_steps=STEPS), 2)
    fed = agent.adapt(episodes=episodes).start
    torch.testing.assert_close(fed.hidden, state.hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fed.previous[0, :2], episodes[-1].actions[-1], rtol=1e-6)
    np.testing.assert_allclose(fed.previous[0, -2:], [episodes[-1].rewards[-1], 1.0], rtol=1e-6)
    agent.close()


def test_predict_batches_rows_and_keeps_actions_in_bounds():
    agent = _agent(NAV, 1, num_envs=3, max_episode_steps=STEPS)
    task = agent.task_distribution.split("test").tasks[1]
    policy = agent.adapt(task, seed=0)
    obs = np.array([[0.0, 0.0], [0.2, -0.1]], dtype=np.float32)
    actions, state = policy.predict(obs, deterministic=True)
    assert actions.shape == (2, 2) and np.all(np.abs(actions) <= 0.1)
    single, _ = policy.predict(obs[1], deterministic=True)
    np.testing.assert_allclose(single, actions[1], rtol=1e-5, atol=1e-7)
    following, state = policy.predict(obs, state, reward=np.array([-0.3, -0.2]))
    assert following.shape == (2, 2) and state.hidden.shape == (2, 16)
    with pytest.raises(ValueError, match="reads the previous step's reward"):
        policy.predict(obs, state)
    with pytest.raises(ValueError, match="the state holds 2 rows, the observation 1"):
        policy.predict(obs[0], state, reward=0.0)
    with pytest.raises(ValueError, match="observation must have shape"):
        policy.predict(np.zeros(3))
    agent.close()


def test_discrete_actions_and_bad_episodes():
    agent = _agent(BANDIT, 0, max_episode_steps=5)
    task = agent.task_distribution.split("test").tasks[0]
    episodes, _ = _trial(agent.adapt(task, seed=2), _user_env(BANDIT, task, max_episode_steps=5), 1)
    assert episodes[0].actions.dtype.kind == "i" and len(episodes[0].rewards) == 5
    fed = agent.adapt(episodes=episodes).start
    assert fed.previous[0, : agent.inputs.action_size].sum() == 1.0  # one-hot last arm
    wrong = Episode(episodes[0].observations, episodes[0].actions + 7, episodes[0].rewards)
    with pytest.raises(ValueError, match="integers in"):
        agent.adapt(episodes=[wrong])
    with pytest.raises(ValueError, match="exactly one of task, env, episodes"):
        agent.adapt(task, episodes=episodes)
    with pytest.raises(ValueError, match="non-empty list"):
        agent.adapt(episodes=[])
    agent.close()


def test_non_finite_inputs_and_misshapen_actions_are_refused():
    agent = _agent(NAV, 0, max_episode_steps=STEPS)
    task = agent.task_distribution.split("test").tasks[0]
    policy = agent.adapt(task, seed=0)
    with pytest.raises(ValueError, match=r"observation must hold finite .*observation\[0\] is nan"):
        policy.predict(np.array([np.nan, 0.0]))
    _, state = policy.predict(np.zeros(2))
    with pytest.raises(ValueError, match="reward must hold finite float32 numbers, got inf"):
        policy.predict(np.zeros(2), state, reward=np.inf)
    with pytest.raises(ValueError, match=r"reward must be a number or have shape \(1,\)"):
        policy.predict(np.zeros(2), state, reward=[0.0, 1.0])
    episodes, _ = _trial(policy, _user_env(NAV, task, max_episode_steps=STEPS), 1)
    e = episodes[0]
    with pytest.raises(ValueError, match=rf"actions must have shape \({STEPS}, 2\), got \({STEPS}, 1\)"):
        agent.adapt(episodes=[Episode(e.observations, e.actions[:, :1], e.rewards)])
    with pytest.raises(ValueError, match=r"final_observation must hold finite .* is nan"):
        Episode(e.observations, e.actions, e.rewards, final_observation=[0.0, np.nan])
    agent.close()


def test_predict_before_adapting_plays_a_trial_from_its_start():
    """``agent.predict`` is a trial with no experience: step by step the same as the policy
    adapted on no context episodes; ``state=None`` starts a new trial."""
    agent = _agent(NAV, 0, max_episode_steps=STEPS)
    fresh = agent.adapt(agent.task_distribution.split("test").tasks[0], seed=0)
    start = np.array([[0.0, 0.0], [0.2, -0.1]], dtype=np.float32)
    obs, ours, theirs, reward = start, None, None, None
    for _ in range(3):
        action, ours = agent.predict(obs, ours, deterministic=True, reward=reward)
        expected, theirs = fresh.predict(obs, theirs, deterministic=True, reward=reward)
        np.testing.assert_array_equal(action, expected)
        torch.testing.assert_close(ours.hidden, theirs.hidden, rtol=0, atol=0)
        obs, reward = obs + action, -np.linalg.norm(obs, axis=1)
    first, _ = fresh.predict(start, deterministic=True)
    np.testing.assert_array_equal(agent.predict(start, deterministic=True)[0], first)
    single, _ = agent.predict(start[1], deterministic=True)
    assert single.shape == (2,)
    np.testing.assert_allclose(single, first[1], rtol=1e-6)
    with pytest.raises(ValueError, match="reads the previous step's reward"):
        agent.predict(obs, ours)
    with pytest.raises(ValueError, match=r"observation must have shape \(2,\) or \(n, 2\)"):
        agent.predict(np.zeros(3))
    with pytest.raises(ValueError, match=r"observation\[0\] is nan"):
        agent.predict(np.array([np.nan, 0.0]))
    agent.close()


def test_metarl_load_rebuilds_an_rl2_run(tmp_path):
    config = TrainConfig(
        env=NAV, env_kwargs={"max_episode_steps": STEPS}, agent="rl2",
        agent_options={"hidden_size": 8, "episodes_per_trial": 2, "bptt_steps": 3, "epochs": 1},
        iterations=1, meta_batch_size=2, checkpoint_every=1,
    )
    train(config, tmp_path / "run", progress=False).close()
    agent = metarl.load(tmp_path / "run")
    assert isinstance(agent, RL2AdaptiveAgent) and agent.context_episodes == 1
    task = agent.task_distribution.split("test").tasks[0]
    action, state = agent.adapt(task, seed=0).predict(np.zeros(2, dtype=np.float32))
    assert action.shape == (2,) and isinstance(state, RL2State)
    # un-adapted: the network's first step of a trial (no previous action, reward or episode end)
    obs = np.array([[0.0, 0.0], [0.3, -0.2]], dtype=np.float32)
    actions, state = agent.predict(obs, deterministic=True)
    x = torch.from_numpy(np.concatenate([obs, np.zeros((2, 4), dtype=np.float32)], axis=1))
    with torch.no_grad():
        features, hidden = agent.network(x[None], agent.network.initial_state(2))
        mode = agent.network.distribution(features[0]).mode.numpy()
    assert actions.shape == (2, 2)
    np.testing.assert_allclose(actions, np.clip(mode, -0.1, 0.1), rtol=1e-6)
    torch.testing.assert_close(state.hidden, hidden)
    agent.close()


def test_predict_offsets_discrete_actions_by_the_space_start():
    """A ``Discrete(3, start=2)`` space: actions 2-4, and the next input's one-hot at action - 2."""
    obs_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    inputs = TrialInputs(obs_space, gym.spaces.Discrete(3, start=2))
    torch.manual_seed(0)
    network = RecurrentActorCritic(inputs.size, inputs.action_space, 8)
    inputs.reset(1)
    policy = RL2Policy(network, inputs, RL2State(network.initial_state(1), inputs.previous), 0)
    state = None
    for _ in range(20):
        action, state = policy.predict(np.zeros(2), state, reward=None if state is None else 1.0)
        assert action in (2, 3, 4)
        np.testing.assert_array_equal(state.previous[0, :3], np.eye(3)[action - 2])
