"""Runs: the plumbing around the agents, on top of the flow.

- :mod:`~metarl.runs.config`: :class:`~metarl.runs.config.TrainConfig`, read from YAML.
- :mod:`~metarl.runs.build`: the sampler, inner loop and meta-learner of a config.
- :mod:`~metarl.runs.folder`: the run folder, its marker and what metarl may delete there.
- :mod:`~metarl.runs.train`: ``train``, ``resume`` and ``load_run``.
- :mod:`~metarl.runs.describe`: what a checkpoint says about itself (spaces), checked on load.
- :mod:`~metarl.runs.load`: ``metarl.load``, a trained agent ready to adapt and act.
- :mod:`~metarl.runs.evaluate`: ``evaluate_run``, the evaluation of a run beside comparison agents.

Nothing is imported here, so that reading a config does not load torch.
"""
