"""Classical references graded beside the meta-learners on the same tasks and seeds.

They adapt within a trial as an in-context agent does (one unit = one episode; see
:class:`~metarl.evaluation.trials.TrialAgent`) and are registered in the evaluation registry:

================  ===========================================================================
name              algorithm
================  ===========================================================================
thompson          Thompson sampling, Beta(1, 1) prior (Bernoulli bandits)
ucb1              UCB1 (Bernoulli bandits)
epsilon-greedy    epsilon-greedy, epsilon = 0.1 (Bernoulli bandits)
bayes-optimal     the exact Bayes-optimal policy for the trial's pulls (Bernoulli bandits)
psrl              posterior sampling for RL with the family's prior (tabular MDPs)
random-actions    uniformly random actions (any family)
================  ===========================================================================
"""

from metarl.references.bandits import UCB1, EpsilonGreedy, ThompsonSampling
from metarl.references.bayes_optimal import BayesOptimalBandit
from metarl.references.psrl import PSRL, value_iteration
from metarl.references.uniform import RandomActions

__all__ = [
    "PSRL",
    "UCB1",
    "BayesOptimalBandit",
    "EpsilonGreedy",
    "RandomActions",
    "ThompsonSampling",
    "value_iteration",
]
