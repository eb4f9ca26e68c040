"""MAML-style meta-learners and their parts: policies, baselines, returns, inner and outer loops."""

from metarl.agents.inner import InnerLoop
from metarl.agents.maml import MetaLearner
from metarl.agents.outer import PPO, TRPO, ProMP
from metarl.agents.policies import CategoricalMLPPolicy, GaussianMLPPolicy, make_policy
from metarl.agents.value_functions import LinearFeatureBaseline, MLPValueBaseline

__all__ = [
    "PPO",
    "TRPO",
    "CategoricalMLPPolicy",
    "GaussianMLPPolicy",
    "InnerLoop",
    "LinearFeatureBaseline",
    "MLPValueBaseline",
    "MetaLearner",
    "ProMP",
    "make_policy",
]
