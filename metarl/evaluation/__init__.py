"""Evaluation: how every agent is graded on held-out tasks, and the report of the grades.

- :mod:`~metarl.evaluation.protocol`: the interface every graded agent implements: returns (and
  success) after 0..k units of adaptation, and what one unit costs in episodes.
- :mod:`~metarl.evaluation.registry`: the agents the evaluation can grade, by name.
- :mod:`~metarl.evaluation.report`: tables, JSON, CSV and the plot of an :class:`EvaluationResult`.
"""

from metarl.evaluation.protocol import (
    AdaptationCurves,
    AdaptationSetting,
    AgentContext,
    GradedAgent,
    InnerLoopAgent,
    adaptation_curves,
    adaptation_returns,
)
from metarl.evaluation.registry import (
    AgentFactory,
    agent_factory,
    register_agent,
    registered_agents,
    unregister_agent,
)
from metarl.evaluation.report import (
    EvaluationResult,
    adaptation_figure,
    confidence_interval,
    markdown_table,
    output_paths,
    paired_differences,
    plot_adaptation,
    table_digits,
    write_tensorboard,
)

__all__ = [
    "AdaptationCurves",
    "AdaptationSetting",
    "AgentContext",
    "AgentFactory",
    "EvaluationResult",
    "GradedAgent",
    "InnerLoopAgent",
    "adaptation_curves",
    "adaptation_figure",
    "adaptation_returns",
    "agent_factory",
    "confidence_interval",
    "markdown_table",
    "output_paths",
    "paired_differences",
    "plot_adaptation",
    "register_agent",
    "registered_agents",
    "table_digits",
    "unregister_agent",
    "write_tensorboard",
]
