"""One logging schema for every agent kind: cumulative ``env_steps`` and ``time_total`` on every
row, integers written as integers, TensorBoard tags grouped (``train/``, ``loss/``, ``time/``,
``eval/``)."""

import csv

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from metarl.cli import main
from metarl.runs.config import TrainConfig
from metarl.runs.metrics import tensorboard_tag
from metarl.runs.train import train

KINDS = {
    "maml": TrainConfig(
        env_kwargs={"max_episode_steps": 5}, iterations=2, meta_batch_size=2,
        episodes_per_task=2, hidden_sizes=(8,), eval_tasks=2, eval_steps=1,
    ),
    "rl2": TrainConfig(
        env="metarl/TabularMDP-v0", env_kwargs={"max_episode_steps": 4}, agent="rl2",
        agent_options={"hidden_size": 8, "episodes_per_trial": 2, "bptt_steps": 3, "epochs": 1},
        iterations=2, meta_batch_size=2, eval_tasks=2, eval_steps=1, episodes_per_task=2,
    ),
    "pearl": TrainConfig(
        env="metarl/Navigation2DSparse-v0", env_kwargs={"max_episode_steps": 5}, agent="pearl",
        agent_options={
            "hidden_sizes": [8], "encoder_hidden_sizes": [8], "num_train_tasks": 4,
            "initial_episodes": 1, "tasks_per_iteration": 2, "prior_episodes": 1,
            "posterior_episodes": 1, "extra_posterior_episodes": 1, "gradient_steps": 2,
            "batch_size": 4, "context_batch_size": 4,
        },
        iterations=2, meta_batch_size=2, eval_tasks=2, eval_steps=1, episodes_per_task=2,
    ),
}


def _tags(folder):
    tags = set()
    for events in folder.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    return tags


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_logs_one_schema(tmp_path, kind):
    run = tmp_path / "run"
    train(KINDS[kind], run, progress=False)
    with open(run / "metrics.csv", newline="") as f:
        text = f.read()
        rows = list(csv.DictReader(text.splitlines()))
    assert [row["iteration"] for row in rows] == ["1", "2"]  # integers, not 1.0
    steps = [row["env_steps"] for row in rows]
    assert all(s.isdigit() for s in steps) and 0 < int(steps[0]) < int(steps[1])
    times = [float(row["time_total"]) for row in rows]
    assert 0 < times[0] < times[1]
    tags = _tags(run / "tb")
    assert {"train/env_steps", "time/total"} <= tags
    assert all(tag.split("/")[0] in ("train", "loss", "time") for tag in tags), tags
    assert any(tag.startswith("loss/") for tag in tags)


def test_a_run_s_maml_env_steps_count_every_sampled_step(tmp_path):
    config = KINDS["maml"]
    train(config, tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # Navigation2D episodes run the whole horizon here: 2 batches (pre, post) x tasks x episodes
    per_iteration = 2 * config.meta_batch_size * config.episodes_per_task * 5
    assert [int(row["env_steps"]) for row in rows] == [per_iteration, 2 * per_iteration]


def test_evaluate_writes_its_table_to_the_run_s_tensorboard(tmp_path):
    run = tmp_path / "run"
    train(KINDS["maml"], run, progress=False)
    assert main(["evaluate", str(run), "--comparisons", "random-actions"]) == 0
    tags = _tags(run / "tb")
    assert {"eval/test/meta-trained/return", "eval/test/random-actions/return"} <= tags


@pytest.mark.parametrize(
    "metric, tag",
    [
        ("time_sampling", "time/sampling"), ("time_total", "time/total"),
        ("loss_before", "loss/loss_before"), ("kl_after", "loss/kl_after"),
        ("policy_entropy", "loss/policy_entropy"), ("explained_variance", "loss/explained_variance"),
        ("post_return", "train/post_return"), ("env_steps", "train/env_steps"),
    ],
)
def test_tensorboard_tags_group_the_metrics(metric, tag):
    assert tensorboard_tag(metric) == tag
