"""The results suite: which agent adapts where.

``metarl bench run [CELL ...] --budget cpu|paper`` trains and evaluates the cells of
``benchmarks/suite.yaml`` (:mod:`metarl.bench.suite`) for each seed, into run folders
``runs/bench/<cell>/<budget>-seed<k>`` (:mod:`metarl.bench.runner`; locally or as Ray tasks,
:mod:`metarl.bench.schedule`), and writes one result file per cell, budget and seed,
``benchmarks/results/<cell>/<budget>-seed<k>.json``: the evaluation's summary and its provenance
(:mod:`metarl.bench.results`, :mod:`metarl.provenance`).

``metarl bench report`` rebuilds the pages from those files alone (:mod:`metarl.bench.report`):
per cell, the mean over seeds with a bootstrap interval and the normalised score
(:mod:`metarl.bench.aggregate`, :mod:`metarl.bench.stats`), the adaptation curves, the provenance
(``docs/results/suite/<cell>.md``); and the headline matrix of agents by families
(``docs/results/matrix.md``).
"""
