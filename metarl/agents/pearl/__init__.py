"""PEARL (Rakelly et al. 2019): a context encoder that infers a task variable from transitions,
and an off-policy SAC learner conditioned on it.

Modules, in the order data flows: :mod:`~metarl.agents.pearl.collect` (episodes on the family's
vector env), :mod:`~metarl.agents.pearl.buffers` (per-task replay), :mod:`~metarl.agents.pearl.encoder`
(Gaussian factors and their aggregation), :mod:`~metarl.agents.pearl.networks` and
:mod:`~metarl.agents.pearl.model` (the networks), :mod:`~metarl.agents.pearl.sac` (losses),
:mod:`~metarl.agents.pearl.update` (one gradient step), :mod:`~metarl.agents.pearl.trainer`
(the meta-training loop) and :mod:`~metarl.agents.pearl.graded` (evaluation by the protocol).
"""

from metarl.agents.pearl.encoder import ContextEncoder, Gaussian
from metarl.agents.pearl.graded import PEARLAgent
from metarl.agents.pearl.model import PEARLModel
from metarl.agents.pearl.options import PEARLOptions
from metarl.agents.pearl.trainer import PEARLTrainer

__all__ = ["ContextEncoder", "Gaussian", "PEARLAgent", "PEARLModel", "PEARLOptions", "PEARLTrainer"]
