"""The registry of agents the evaluation grades beside a run's own agent, by name.

An entry maps a name to a factory ``factory(context) -> GradedAgent``, or to the
``"module:attribute"`` path of one, imported on first use (so that naming the SB3-trained
comparisons costs nothing until one is evaluated). Adding an agent family means registering it,
from anywhere, never editing the evaluation.

>>> from metarl.evaluation import registered_agents
>>> registered_agents()
['bayes-optimal', 'epsilon-greedy', 'epsilon-greedy-tuned', 'gittins', 'gittins-tuned', 'greedy',
 'oracle', 'oracle-sac', 'pretrained', 'psrl', 'random', 'random-actions', 'scratch', 'thompson',
 'ucb1', 'ucb1-tuned']
"""

from __future__ import annotations

from collections.abc import Callable

from metarl.evaluation.protocol import AgentContext, GradedAgent
from metarl.lazy import resolve_entry

__all__ = ["AgentFactory", "agent_factory", "register_agent", "registered_agents", "unregister_agent"]

AgentFactory = Callable[[AgentContext], GradedAgent]
"""Builds a graded agent from what the run offers it (:class:`AgentContext`)."""

_AGENTS: dict[str, AgentFactory | str] = {}


def register_agent(name: str, factory: AgentFactory | str) -> None:
    """Make ``name`` evaluable: ``metarl evaluate RUN --comparisons name``.

    Args:
        name: the agent's name in tables, plots and ``eval.json``; not yet registered.
        factory: ``factory(context) -> GradedAgent``, or its ``"module:attribute"`` path.
    """
    if not isinstance(name, str) or not name or "," in name or name == "meta-trained":
        raise ValueError(f"an agent name must be a non-empty string without ',', got {name!r}")
    if name in _AGENTS:
        raise ValueError(f"agent {name!r} is already registered")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise TypeError(f"factory must be callable or a 'module:attribute' path, got {factory!r}")
    _AGENTS[name] = factory


def unregister_agent(name: str) -> None:
    """Remove ``name`` from the registry (``KeyError`` if it is not there)."""
    del _AGENTS[name]


def registered_agents() -> list[str]:
    """The names :func:`agent_factory` knows, sorted."""
    return sorted(_AGENTS)


def agent_factory(name: str) -> AgentFactory:
    """The factory registered as ``name`` (``ValueError`` naming the registered ones)."""
    return resolve_entry(_AGENTS, name, "agent")


for _name, _path in {
    "random": "metarl.comparisons.random_init:RandomInitAgent",
    "pretrained": "metarl.comparisons.pretrained:PretrainedAgent",
    "oracle": "metarl.comparisons.oracle:OracleAgent",
    "oracle-sac": "metarl.comparisons.sac_oracle:SACOracleAgent",
    "scratch": "metarl.comparisons.scratch:ScratchAgent",
    "thompson": "metarl.references.bandits:ThompsonSampling",
    "ucb1": "metarl.references.bandits:UCB1",
    "ucb1-tuned": "metarl.references.tuning:UCB1Tuned",
    "epsilon-greedy": "metarl.references.bandits:EpsilonGreedy",
    "epsilon-greedy-tuned": "metarl.references.tuning:EpsilonGreedyTuned",
    "greedy": "metarl.references.bandits:Greedy",
    "gittins": "metarl.references.gittins:Gittins",
    "gittins-tuned": "metarl.references.tuning:GittinsTuned",
    "bayes-optimal": "metarl.references.bayes_optimal:BayesOptimalBandit",
    "psrl": "metarl.references.psrl:PSRL",
    "random-actions": "metarl.references.uniform:RandomActions",
}.items():
    register_agent(_name, _path)
