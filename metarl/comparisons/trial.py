"""RL^2 trials: several consecutive episodes of one task as one episode (:class:`TrialWrapper`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from metarl.envs.wrappers import TaskResampling
from metarl.tasks import TaskDistribution
from metarl.validation import require_int

TASK_STREAM_KEY = 0x7A5C  # TaskResampling's key: the same seed draws the same task stream


def has_wrapper(env: gym.Env, wrapper: type[gym.Wrapper]) -> bool:
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
        if has_wrapper(env, TaskResampling):
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
            self._task_rng = np.random.default_rng([seed, TASK_STREAM_KEY])
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
