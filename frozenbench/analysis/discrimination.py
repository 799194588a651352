"""Does a table tell HPO methods apart? Final regret of random search at full fidelity against
the best multi-fidelity method, at 1x, 3x and 10x the median full-fidelity cost.

Each method replays ``runs`` seeds with 4 workers on the table's default clock; the final
regret (incumbent's full-fidelity score minus the best config's, on the seeds common to every
config) gets a 95% confidence interval over runs (mean +- 1.96 standard errors). A table
discriminates when, at one budget at least, the interval of ``random:full`` and that of the
best multi-fidelity method do not overlap (the tables issue's standard; every shipped suite
table meets it, ``tests/test_shipped.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from frozenbench.analysis.correlation import Estimate
from frozenbench.errors import InvalidValueError
from frozenbench.sim.budget import budget_unit
from frozenbench.sim.methods import Method
from frozenbench.sim.request import ReplayRequest
from frozenbench.table import Benchmark

#: Random search at full fidelity and the multi-fidelity methods it is compared with.
METHODS = ("random:full", "hyperband:z", "hyperband:epoch", "hyperband:z+epoch-geometric",
           "asha:z+epoch-geometric", "asha:z", "asha:epoch")
#: Budgets in units of the table's median full-fidelity cost.
BUDGETS = (1.0, 3.0, 10.0)


@dataclass(frozen=True)
class BudgetVerdict:
    """The final regret of every method at one budget, and whether random search and the best
    multi-fidelity method separate there. ``empty`` counts runs that ended before any job
    finished (left out of the intervals)."""

    multiple: float
    regret: dict[str, Estimate]
    best: str
    separate: bool
    empty: dict[str, int]


@dataclass(frozen=True)
class Discrimination:
    """:func:`discrimination` of one table: a verdict per budget."""

    benchmark: str
    full_cost: float
    runs: int
    budgets: tuple[BudgetVerdict, ...]

    @property
    def discriminates(self) -> bool:
        """The intervals separate at one budget at least."""
        return any(b.separate for b in self.budgets)


def final_regrets(bench: Benchmark, method: str, budget_units: float, runs: int) -> np.ndarray:
    """Final regret of ``runs`` replays of ``method`` (a label, ``"optimizer:fidelity"``) with
    4 workers and a budget of ``budget_units``; NaN for a run whose budget ends before its first
    job."""
    request = ReplayRequest(Method.parse(method), n_workers=4, budget=budget_units,
                            seeds=tuple(range(runs)))
    # a budget that ends before the first result: no incumbent
    return np.asarray([float(t["regret"].iloc[-1]) if len(t) else math.nan
                       for t in request.prepare(bench, "discrimination").run_all()])


def interval(x: np.ndarray) -> Estimate:
    """Mean and 95% interval over the runs that found an incumbent (NaN when none did).

    >>> str(interval(np.array([1.0, 2.0, 3.0, np.nan])))
    '2.000 [0.868, 3.132]'
    """
    x = x[np.isfinite(x)]
    if not len(x):
        return Estimate(math.nan, math.nan, math.nan)
    mean = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.inf
    return Estimate(mean, mean - half, mean + half)


def discrimination(bench: Benchmark, runs: int = 100,
                   methods: tuple[str, ...] = METHODS,
                   budgets: tuple[float, ...] = BUDGETS) -> Discrimination:
    """Replay ``methods`` at each budget (multiples of the median full-fidelity cost) and
    compare ``random:full`` with the best multi-fidelity method.

    >>> from frozenbench.synthetic import make_benchmark
    >>> out = discrimination(make_benchmark(n_configs=30, n_z=3, n_epochs=3), runs=5,
    ...                      methods=("random:full", "hyperband:z"), budgets=(3.0,))
    >>> out.budgets[0].best, isinstance(out.discriminates, bool)
    ('hyperband:z', True)
    """
    if "random:full" not in methods or len(methods) < 2:
        raise InvalidValueError(f"methods={list(methods)}: need 'random:full' and at least one "
                                "multi-fidelity method")
    full = budget_unit(bench)
    verdicts = []
    for k in budgets:
        regrets = {m: final_regrets(bench, m, k, runs) for m in methods}
        rows = {m: interval(r) for m, r in regrets.items()}
        finite = [m for m in methods if m != "random:full" and math.isfinite(rows[m].value)]
        if not finite:
            raise InvalidValueError(f"{bench.name}: no multi-fidelity method finished a job "
                                    f"within {k:g}x the full-fidelity cost")
        best = min(finite, key=lambda m: rows[m].value)
        rnd, top = rows["random:full"], rows[best]
        separate = top.high < rnd.low or rnd.high < top.low
        empty = {m: int(np.isnan(r).sum()) for m, r in regrets.items() if np.isnan(r).any()}
        verdicts.append(BudgetVerdict(k, rows, best, separate, empty))
    return Discrimination(bench.name, full, runs, tuple(verdicts))
