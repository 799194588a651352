"""Analysis of tables and replays. Everything returns values (pandas objects, frozen
dataclasses); plotting lives in :mod:`frozenbench.plot`, the HTML page in
:mod:`frozenbench.report`.

- :mod:`~frozenbench.analysis.seeds`: the one seed design (common seeds per cell) that every
  ranking uses;
- :mod:`~frozenbench.analysis.correlation`: Spearman and Kendall of every (z, epoch) with full
  fidelity, shared- and cross-seed, with bootstrap intervals; top-k; the seed-noise ceiling;
- :mod:`~frozenbench.analysis.formalism`: cost per z and the paper's fidelity formalism as
  verdicts;
- :mod:`~frozenbench.analysis.diagonal`: the paper's successive halving along the linear
  diagonal against all layers;
- :mod:`~frozenbench.analysis.fidelity_table`: all of the above as one table of a benchmark,
  a row per (z, epoch);
- :mod:`~frozenbench.analysis.paper`: a table's numbers beside the paper's;
- :mod:`~frozenbench.analysis.hpo`: optimizer comparisons in budget units, regret with
  intervals at 1x, 10x and 100x and against budget, average ranks;
- :mod:`~frozenbench.analysis.stats`: statistics over tasks, the task as the unit (Friedman,
  Nemenyi, IQM, bootstrap over tasks);
- :mod:`~frozenbench.analysis.suite`: many tables, summarised per task and over tasks;
- :mod:`~frozenbench.analysis.runs`: incumbent curves and summaries of replays;
- :mod:`~frozenbench.analysis.thaw`: does continuing a run by thawing layers pay (issue 25):
  per-epoch correlations of the thaw run against fixed z at the same cost and all layers at
  the same epoch, the cost to reach each rung, the methods of the regret comparison.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=40, n_z=4, n_epochs=5)
>>> rho, n = seed_ceiling(bench)
>>> n, bool(0.5 < rho < 1)
(40, True)
"""

from __future__ import annotations

from frozenbench.analysis.correlation import (
    Ceiling,
    CorrelationGrid,
    Estimate,
    ceiling,
    correlation_grid,
    rank_correlations,
    seed_ceiling,
    spearman,
)
from frozenbench.analysis.diagonal import diagonal_analysis
from frozenbench.analysis.formalism import cost_profile, verdicts
from frozenbench.analysis.hpo import (
    Comparison,
    anytime_regret,
    average_ranks,
    budget_unit,
    compare,
    final_regret,
    final_summary,
)
from frozenbench.analysis.paper import comparison_markdown, format_comparison, paper_comparison
from frozenbench.analysis.runs import aggregate, incumbent_curve, summarize, time_to_target
from frozenbench.analysis.seeds import common_seeds, reference_scores

__all__ = [
    "Ceiling",
    "Comparison",
    "CorrelationGrid",
    "Estimate",
    "aggregate",
    "anytime_regret",
    "average_ranks",
    "budget_unit",
    "ceiling",
    "common_seeds",
    "compare",
    "comparison_markdown",
    "correlation_grid",
    "cost_profile",
    "diagonal_analysis",
    "final_regret",
    "final_summary",
    "format_comparison",
    "incumbent_curve",
    "paper_comparison",
    "rank_correlations",
    "reference_scores",
    "seed_ceiling",
    "spearman",
    "summarize",
    "time_to_target",
    "verdicts",
]
