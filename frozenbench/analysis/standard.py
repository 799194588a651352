"""The suite's standard: what every table and the suite as a whole must show before they ship.

Per table (:func:`table_standard`):

- at least :data:`MIN_CONFIGS` configs, every z from 1 to n with ``6 <= n <= 12``, at least
  :data:`MIN_RECORDS` epochs or checkpoints (so Hyperband over epochs has three rungs at
  eta = 3);
- seeds 0 and 1 at every (config, z, epoch);
- a held-out test metric beside the validation metric that is optimised;
- a seed ceiling (the Spearman correlation of two training seeds' full-fidelity scores) of at
  least :data:`MIN_CEILING`;
- random search at full fidelity with 4 workers trains at most :data:`MAX_RANDOM_SHARE` of the
  configs within 10 budget units (10x the median full-fidelity cost): a table small enough for
  random search to cover is no test of an optimizer.

Over the suite (:func:`suite_standard`, tasks are the unit, never seeds or replays): the best
multi-fidelity default method beats random search at full fidelity at 1x and at 10x (one-sided
Wilcoxon signed-rank test over the tasks' mean normalised regrets, p < :data:`WILCOXON_ALPHA`),
and the Friedman test over tasks rejects equal ranks of the default methods (p <
:data:`FRIEDMAN_ALPHA`).

>>> from frozenbench.synthetic import make_benchmark
>>> s = table_standard(make_benchmark(n_configs=20, n_z=3, n_epochs=4), runs=2)
>>> s.configs, s.n_layers, s.records
(20, 3, 4)
>>> [p.split(":")[0] for p in s.problems()][:2]
['configs', 'n']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import seed_ceiling, spearman
from frozenbench.analysis.hpo import DEFAULT_METHODS
from frozenbench.analysis.seeds import common_mean
from frozenbench.analysis.suite import SuiteResult, run_suite
from frozenbench.errors import InvalidValueError
from frozenbench.schema import TEST_METRICS
from frozenbench.sim.methods import Method
from frozenbench.sim.request import ReplayRequest
from frozenbench.table import Benchmark

MIN_CONFIGS = 512
MIN_RECORDS = 9
N_RANGE = (6, 12)
REQUIRED_SEEDS = (0, 1)
MIN_CEILING = 0.9
MAX_RANDOM_SHARE = 0.10
#: Budget (units) and workers of the random-search check.
RANDOM_BUDGET, RANDOM_WORKERS = 10.0, 4
WILCOXON_ALPHA = 0.01
FRIEDMAN_ALPHA = 0.05
#: The budgets (units) at which the best multi-fidelity method must beat random search.
SUITE_BUDGETS = (1.0, 10.0)
RANDOM_LABEL = "random (full)"


@dataclass(frozen=True)
class TableStandard:
    """One table measured against the standard (see the module docstring)."""

    name: str
    configs: int
    n_layers: int
    records: int
    seeds_everywhere: bool
    test_metric: str | None
    ceiling: float
    lowest_z_rho: float
    random_share: float

    def problems(self) -> list[str]:
        """Every way the table misses the standard (empty: it meets it)."""
        out = []
        if self.configs < MIN_CONFIGS:
            out.append(f"configs: {self.configs} < {MIN_CONFIGS}")
        if not N_RANGE[0] <= self.n_layers <= N_RANGE[1]:
            out.append(f"n: {self.n_layers} outside {N_RANGE[0]}..{N_RANGE[1]}")
        if self.records < MIN_RECORDS:
            out.append(f"records: {self.records} epochs/checkpoints < {MIN_RECORDS}")
        if not self.seeds_everywhere:
            out.append(f"seeds: not every (config, z, epoch) has seeds {list(REQUIRED_SEEDS)}")
        if self.test_metric is None:
            out.append("test: no held-out test metric")
        if not self.ceiling >= MIN_CEILING:
            out.append(f"ceiling: seed-vs-seed Spearman {self.ceiling:.3f} < {MIN_CEILING}")
        if not self.random_share <= MAX_RANDOM_SHARE:
            out.append(f"random share: random search at full fidelity trains "
                       f"{self.random_share:.1%} of the configs in {RANDOM_BUDGET:g} units "
                       f"with {RANDOM_WORKERS} workers (> {MAX_RANDOM_SHARE:.0%})")
        return out


def _seeds_everywhere(bench: Benchmark) -> bool:
    present = bench.seed_mask()  # [config, z, seed] at the last epoch
    seeds = list(bench.seeds)
    if not all(s in seeds for s in REQUIRED_SEEDS):
        return False
    return bool(all(present[:, :, seeds.index(s)].all() for s in REQUIRED_SEEDS))


def _test_metric(bench: Benchmark) -> str | None:
    """The table's held-out test metric, if it measures one."""
    test = TEST_METRICS.get(bench.metric)
    if test is None or not np.isfinite(bench.objective(test, per_seed=True)).any():
        return None
    return test


def _lowest_z_rho(bench: Benchmark) -> float:
    """Spearman of the seed-mean final scores at the lowest z against those at full z."""
    try:
        low = common_mean(bench, z=min(bench.fidelities["z"]))
    except InvalidValueError:
        return math.nan
    return spearman(low, common_mean(bench))


def random_share(bench: Benchmark, runs: int = 20) -> float:
    """The mean share of the table's configs that random search at full fidelity evaluates
    within :data:`RANDOM_BUDGET` units with :data:`RANDOM_WORKERS` workers (replay seeds
    0..runs-1)."""
    request = ReplayRequest(Method("random", "full"), n_workers=RANDOM_WORKERS,
                            budget=RANDOM_BUDGET, seeds=tuple(range(runs)))
    trajectories = request.prepare(bench, "random_share").run_all()
    return float(np.mean([t["config_id"].nunique() / len(bench) for t in trajectories]))


def table_standard(bench: Benchmark, runs: int = 20) -> TableStandard:
    """Measure ``bench`` against the per-table standard."""
    ceiling, _ = seed_ceiling(bench)
    return TableStandard(
        name=bench.name, configs=len(bench), n_layers=max(bench.fidelities["z"]),
        records=len(bench.fidelities["epoch"]), seeds_everywhere=_seeds_everywhere(bench),
        test_metric=_test_metric(bench), ceiling=ceiling, lowest_z_rho=_lowest_z_rho(bench),
        random_share=random_share(bench, runs))


@dataclass(frozen=True)
class SuiteStandard:
    """The suite-level tests (see the module docstring): at each budget of
    :data:`SUITE_BUDGETS`, the best multi-fidelity method (by mean normalised regret over
    tasks), the one-sided Wilcoxon p-value of it against random search at full fidelity, and
    the Friedman p-value over the default methods; N is the number of tasks."""

    tasks: int
    best: Mapping[float, str]
    wilcoxon_p: Mapping[float, float]
    friedman_p: Mapping[float, float]
    result: SuiteResult

    def problems(self) -> list[str]:
        out = []
        for budget in SUITE_BUDGETS:
            p = self.wilcoxon_p[budget]
            if not p < WILCOXON_ALPHA:
                out.append(f"at {budget:g}x {self.best[budget]} does not beat {RANDOM_LABEL} "
                           f"over {self.tasks} tasks (Wilcoxon p = {p:.3g} >= {WILCOXON_ALPHA})")
            f = self.friedman_p[budget]
            if not f < FRIEDMAN_ALPHA:
                out.append(f"at {budget:g}x the Friedman test does not reject equal ranks "
                           f"(p = {f:.3g} >= {FRIEDMAN_ALPHA})")
        return out


def paired_wilcoxon(better: Sequence[float] | pd.Series, worse: Sequence[float] | pd.Series
                    ) -> float:
    """One-sided Wilcoxon signed-rank p-value that ``better`` is lower than ``worse`` (paired
    per task). 1.0 when every pair is tied.

    >>> round(paired_wilcoxon([0.1, 0.2, 0.1, 0.3, 0.2, 0.1], [0.5, 0.6, 0.4, 0.7, 0.9, 0.3]), 4)
    0.0156
    """
    from scipy.stats import wilcoxon

    diff = np.asarray(better, float) - np.asarray(worse, float)
    if not np.any(diff != 0):
        return 1.0
    return float(wilcoxon(diff, alternative="less", zero_method="wilcox").pvalue)


def suite_standard(benches: Iterable[Benchmark], *, runs: int = 20,
                   methods: Mapping[str, Method] | None = None, n_boot: int = 200
                   ) -> SuiteStandard:
    """Replay the default methods on every table and test the suite-level standard."""
    methods = dict(methods or DEFAULT_METHODS)
    if RANDOM_LABEL not in methods:
        methods[RANDOM_LABEL] = Method("random", "full")
    result = run_suite(list(benches), methods, runs=runs, budget_units=max(SUITE_BUDGETS),
                       n_boot=n_boot)
    per_task = result.per_task
    best, wil, fried = {}, {}, {}
    for budget in SUITE_BUDGETS:
        at = per_task[np.isclose(per_task["budget"], budget)]
        means = at.pivot(index="table", columns="label", values="normalized_regret_mean")
        others = [label for label in means.columns if label != RANDOM_LABEL]
        best[budget] = str(means[others].mean().idxmin())
        wil[budget] = paired_wilcoxon(means[best[budget]], means[RANDOM_LABEL])
        agg = result.aggregate
        fried[budget] = float(agg.loc[np.isclose(agg["budget"], budget), "friedman_p"].iloc[0])
    return SuiteStandard(tasks=len(result.tables), best=best, wilcoxon_p=wil,
                         friedman_p=fried, result=result)


def standard_frame(standards: Sequence[TableStandard]) -> pd.DataFrame:
    """One row per table with its figures and its problems (for the note and the README)."""
    return pd.DataFrame([{**s.__dict__, "problems": "; ".join(s.problems())}
                         for s in standards])
