"""Evaluation: how every agent is graded on held-out tasks, and the report of the grades.

- :mod:`~metarl.evaluation.protocol`: returns (and success) after 0..k units of adaptation.
- :mod:`~metarl.evaluation.report`: tables, JSON, CSV and the plot of an :class:`EvaluationResult`.
"""

from metarl.evaluation.protocol import AdaptationCurves, adaptation_curves, adaptation_returns
from metarl.evaluation.report import (
    EvaluationResult,
    confidence_interval,
    markdown_table,
    output_paths,
    plot_adaptation,
)

__all__ = [
    "AdaptationCurves",
    "EvaluationResult",
    "adaptation_curves",
    "adaptation_returns",
    "confidence_interval",
    "markdown_table",
    "output_paths",
    "plot_adaptation",
]
