"""``evaluate_run``: a run's agent beside the comparison agents."""

from metarl.agents import InnerLoop


def test_comparison_agents_adapt_with_the_inner_loop_of_the_run(tmp_path, monkeypatch):
    """Every agent the evaluation adapts by the inner loop gets the meta-learner's inner loop
    settings, value baseline and weighting included (the ``random`` comparison once adapted with
    the linear baseline under ``value_function: mlp``)."""
    from metarl.agents import MLPValueBaseline
    from metarl.comparisons import random_init
    from metarl.runs.config import TrainConfig
    from metarl.runs.evaluate import evaluate_run
    from metarl.runs.train import train

    config = TrainConfig(
        env="metarl/Navigation2D-v0", env_kwargs={"max_episode_steps": 5}, iterations=1,
        meta_batch_size=2, episodes_per_task=2, hidden_sizes=(4,), eval_tasks=2, eval_steps=1,
        value_function="mlp", weighting="step", bootstrap_truncated=True, inner_lr=0.05,
    )
    train(config, tmp_path / "run", progress=False)
    built = []

    class RecordingInnerLoop(InnerLoop):
        def __init__(self, policy, **kwargs):
            super().__init__(policy, **kwargs)
            built.append(self)

    monkeypatch.setattr(random_init, "InnerLoop", RecordingInnerLoop)
    evaluate_run(tmp_path / "run", comparisons=["random"])
    assert len(built) == 1
    (random_inner,) = built
    assert isinstance(random_inner.baseline_factory(), MLPValueBaseline)
    assert (random_inner.weighting, random_inner.bootstrap_truncated) == ("step", True)
    assert random_inner.step_size == 0.05
