"""Replay budgets in units of a table's median full-fidelity cost.

One *budget unit* is the cost of training a typical config of the table fully: the median over
configs of the full-fidelity cumulative cost, each config's cost the mean over the seeds present
for every config there (the common seeds, :func:`common_cost`). A budget in units means the
same on tables whose seconds differ by orders of magnitude; it is what ``simulate``,
``compare``, ``suite``, ``report`` and the command lines take. Seconds (or FLOPs, with a FLOPs
cost) only through an explicit option (``budget_seconds=``, ``--budget-seconds``).

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=8, n_z=2, n_epochs=3)
>>> unit = budget_unit(bench)
>>> unit > 0, default_budget(bench) == DEFAULT_BUDGET_UNITS * unit
(True, True)
"""

from __future__ import annotations

import numpy as np

from frozenbench.table import Benchmark

#: The one default budget (units) of every replay entry point: 100 x the median full-fidelity
#: cost, so the tables at 1x, 10x and 100x and the anytime curves from 0.1x come from one set
#: of replays.
DEFAULT_BUDGET_UNITS = 100.0


def common_cost(bench: Benchmark, cost: str | None = None) -> np.ndarray:
    """Cumulative cost ``[config, z, epoch]``, the mean over the seeds present for every config
    at that (z, epoch) (NaN where a column is absent from the table).

    >>> from frozenbench.synthetic import make_benchmark
    >>> common_cost(make_benchmark(n_configs=5, n_z=2, n_epochs=3)).shape
    (5, 2, 3)
    """
    per_seed = bench.cost_array(cost, per_seed=True)
    present = np.isfinite(bench.objective(per_seed=True))
    every = present.all(axis=0)  # [z, epoch, seed]
    use = np.broadcast_to(every[None], per_seed.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(use, per_seed, 0.0).sum(axis=3)
        out: np.ndarray = total / use.sum(axis=3)
    out[~np.isfinite(np.where(use, per_seed, 0.0)).all(axis=3)] = np.nan
    return out


def budget_unit(bench: Benchmark, cost: str | None = None) -> float:
    """The median over configs of the full-fidelity cost (common seeds): one budget unit, in
    the unit of ``cost`` (a cost column or its alias; default: the table's).

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=8, n_z=2, n_epochs=3)
    >>> budget_unit(bench) > 0, budget_unit(bench, "flops") > budget_unit(bench)
    (True, True)
    """
    return float(np.nanmedian(common_cost(bench, cost)[:, -1, -1]))


def default_budget(bench: Benchmark, cost: str | None = None) -> float:
    """The default budget in the unit of ``cost``: :data:`DEFAULT_BUDGET_UNITS` x
    :func:`budget_unit`.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=6, n_z=2, n_epochs=2)
    >>> default_budget(bench) > 0, default_budget(bench, "flops") > default_budget(bench)
    (True, True)
    """
    return DEFAULT_BUDGET_UNITS * budget_unit(bench, cost)
