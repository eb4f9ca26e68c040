"""Classical references graded beside the meta-learners on the same tasks and seeds.

They adapt within a trial as an in-context agent does (one unit = one episode; see
:class:`~metarl.evaluation.trials.TrialAgent`) and are registered in the evaluation registry:

====================  ======================================================================
name                  algorithm
====================  ======================================================================
thompson              Thompson sampling, Beta(1, 1) prior (Bernoulli bandits)
ucb1                  UCB1, untuned: the textbook exploration constant c = sqrt(2) (bandits)
ucb1-tuned            UCB1, c tuned on the training split (bandits)
epsilon-greedy        epsilon-greedy, untuned: epsilon = 0.1 (bandits)
epsilon-greedy-tuned  epsilon-greedy, epsilon tuned on the training split (bandits)
greedy                the best empirical mean, untried arms at 0: epsilon = 0 (bandits)
gittins               the Gittins index policy, untuned: discount gamma = 0.9 (bandits)
gittins-tuned         the Gittins index policy, gamma tuned on the training split (bandits)
bayes-optimal         the exact Bayes-optimal policy for the trial's pulls (bandits)
psrl                  posterior sampling for RL with the family's prior (tabular MDPs)
random-actions        uniformly random actions (any family)
====================  ======================================================================

The tuned ones (:mod:`~metarl.references.tuning`) pick their hyperparameter at evaluation time
from a fixed grid (each reference's ``grid``), by the mean trial return on tasks of the family's
``train`` split, and log the value they chose.
"""

from metarl.references.agent import ReferenceAgent, TunableReference
from metarl.references.bandits import UCB1, EpsilonGreedy, Greedy, ThompsonSampling
from metarl.references.bayes_optimal import BayesOptimalBandit
from metarl.references.gittins import Gittins, gittins_indices
from metarl.references.psrl import PSRL, value_iteration
from metarl.references.tuning import (
    EpsilonGreedyTuned,
    GittinsTuned,
    TunedReference,
    Tuning,
    UCB1Tuned,
    tune,
)
from metarl.references.uniform import RandomActions

__all__ = [
    "PSRL",
    "UCB1",
    "BayesOptimalBandit",
    "EpsilonGreedy",
    "EpsilonGreedyTuned",
    "Gittins",
    "GittinsTuned",
    "Greedy",
    "RandomActions",
    "ReferenceAgent",
    "ThompsonSampling",
    "TunableReference",
    "TunedReference",
    "Tuning",
    "UCB1Tuned",
    "gittins_indices",
    "tune",
    "value_iteration",
]
