"""Optimizers replayed across a suite of tables, summarised per task and over tasks.

Every method runs ``runs`` times (replay seeds 0..runs-1) on every table with a budget of
``budget_units`` (default :data:`~frozenbench.sim.budget.DEFAULT_BUDGET_UNITS`, 100) x the
table's median full-fidelity cost (:func:`~frozenbench.sim.budget.budget_unit`), so one
budget means the same on tables whose seconds differ by
orders of magnitude. One replay answers every smaller budget, so the numbers come at the
budgets of :data:`~frozenbench.analysis.hpo.CHECKPOINTS` (1x, 10x, 100x) and as anytime curves
from 0.1x up. The replays of one table form a :class:`~frozenbench.analysis.hpo.Comparison`.

- **regret**: the incumbent's full-fidelity score on the regret metric (test where the table
  has one, else validation: the ``regret_metric`` column) minus the best config's;
- **normalised regret**: regret divided by the table's *median minus best* full-fidelity
  reference score (the ``scale_median_minus_best`` column). 0 is the best config of the table,
  1 a median config, whatever the metric and its scale; a chance-level config (which a range
  such as worst - best would be set by) does not squeeze the differences;
- **per task** (one row per task, method and budget): the mean normalised regret over replay
  seeds with a 95% bootstrap interval over those seeds (runs with an incumbent), and the
  average rank of each method within the task's replay seeds (a description, not a test);
- **over tasks** (the task is the unit, :mod:`frozenbench.analysis.stats`): each method's
  per-task mean normalised regret, aggregated by the interquartile mean (IQM, as rliable
  reports) and the mean, with 95% intervals from a bootstrap over tasks; the average rank of
  the per-task means (rank 1 = lowest regret) with a bootstrap interval over tasks, the
  Friedman test and Nemenyi's critical difference, all with N = the number of tasks
  (``n_test``).

A run that has no incumbent at a budget has no regret there: it is left out of the means (the
``with_incumbent`` column counts the others) and ranks below every run that has one.

>>> from frozenbench.synthetic import make_benchmark
>>> tables = [make_benchmark(name=n, n_configs=20, n_z=3, n_epochs=9, diverge_frac=0.0, seed=i)
...           for i, n in enumerate(["a", "b"])]
>>> result = run_suite(tables, {"random": ("random", "full"), "hb-z": ("hyperband", "z")},
...                    runs=3, budget_units=4, n_workers=2, n_boot=50)
>>> result.tables, result.labels, sorted(set(result.aggregate["budget"]))
(('a', 'b'), ('random', 'hb-z'), [1.0, 4.0])
>>> list(result.aggregate.columns[:5])
['label', 'budget', 'tasks', 'regret_metric', 'normalized_regret_iqm']
>>> float(result.aggregate["average_rank"].mean()), set(result.aggregate["n_test"])
(1.5, {2})
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.analysis.hpo import (
    DEFAULT_METHODS,
    Comparison,
    anytime_grid,
    average_ranks,
    final_regret,
    regret_at,
    replay,
    replay_requests,
)
from frozenbench.analysis.stats import bootstrap_ci, iqm
from frozenbench.errors import InvalidValueError, not_loaded, raise_problems
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS
from frozenbench.sim.request import ReplayRequest, requests_problems
from frozenbench.table import Benchmark

#: The name of the scale column (what normalised regret divides by).
SCALE = "scale_median_minus_best"
#: The ``table`` of the anytime rows aggregated over tasks.
ALL_TASKS = "all tasks"

__all__ = [
    "ALL_TASKS",
    "DEFAULT_METHODS",
    "SCALE",
    "SuiteResult",
    "anytime_suite",
    "normalization_scale",
    "replay_suite",
    "run_suite",
    "summarize_suite",
]


@dataclass(frozen=True, eq=False)
class SuiteResult:
    """Replays of several methods on several tables and their summaries (see the module
    docstring for the definitions).

    ``finals``: one row per (table, label, run, budget): ``regret_metric``, ``regret``,
    ``scale_median_minus_best`` and ``normalized_regret``. ``per_task``: one row per (table,
    label, budget): ``runs``, ``with_incumbent``, ``final_regret_mean``,
    ``normalized_regret_mean`` / ``_low`` / ``_high`` (95% interval over replay seeds),
    ``average_rank`` / ``rank_low`` / ``rank_high`` (within the task's seeds). ``aggregate``:
    one row per (label, budget): ``tasks``, ``regret_metric`` (of every task, joined by
    ``+``), ``normalized_regret_iqm`` / ``_iqm_low`` /
    ``_iqm_high`` and ``normalized_regret_mean`` / ``_mean_low`` / ``_mean_high`` (intervals
    over tasks), ``average_rank`` / ``rank_low`` / ``rank_high`` (over tasks), ``n_test`` (N of
    the tests: the number of tasks), ``friedman_p`` and Nemenyi's ``critical_difference``;
    sorted by budget, then average rank. ``anytime``: :func:`anytime_suite`.
    """

    tables: tuple[str, ...]
    labels: tuple[str, ...]
    runs: int
    budget_units: float
    finals: pd.DataFrame = field(repr=False)
    per_task: pd.DataFrame = field(repr=False)
    aggregate: pd.DataFrame = field(repr=False)
    anytime: pd.DataFrame = field(repr=False)
    comparisons: tuple[Comparison, ...] = field(repr=False, default=())


def run_suite(
    benches: Iterable[Benchmark],
    methods: Mapping[str, Any] | None = None,
    *,
    runs: int = 20,
    budget_units: float = DEFAULT_BUDGET_UNITS,
    n_workers: int = 4,
    eta: float = 3.0,
    cost: str | None = None,
    n_boot: int = 1000,
    on_replayed: Callable[[str, str], None] | None = None,
) -> SuiteResult:
    """Replay every method (``{label: method}``: a :class:`~frozenbench.sim.methods.Method`,
    a label such as ``"asha:z"`` or ``"optuna:tpe+hyperband"``, or an ``(optimizer,
    fidelity)`` pair; default :data:`~frozenbench.analysis.hpo.DEFAULT_METHODS`) ``runs`` times
    on every table and summarise (:func:`summarize_suite`). Benchmarks are loaded
    :class:`Benchmark` objects (``fb.load`` resolves names; ``frozenbench suite`` does for the
    CLI). Every argument is checked, with every problem reported at once, before the first
    replay: one :class:`~frozenbench.sim.request.ReplayRequest` per method, checked on every
    table. ``on_replayed(table, label)`` is called after each method has run all its seeds on
    a table (a progress bar, for instance).
    """
    given = list(benches)
    loaded = [b for b in given if isinstance(b, Benchmark)]
    problems = [str(not_loaded("each benchmark", b)) for b in given if not isinstance(b, Benchmark)]
    if not given:
        problems.append("give at least one benchmark")
    names = [b.name for b in loaded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"benchmarks named twice: {twice}; each table is one task")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        problems.append(f"n_boot={n_boot!r} must be a positive integer")
    requests, more = replay_requests(methods, runs=runs, budget_units=budget_units,
                                     n_workers=n_workers, eta=eta, cost=cost)
    problems += more
    for bench in loaded:
        problems += requests_problems(requests, bench)
    raise_problems("run_suite", list(dict.fromkeys(problems)))
    return replay_suite(loaded, requests, n_boot=n_boot, on_replayed=on_replayed)


def replay_suite(benches: Sequence[Benchmark], requests: Mapping[str, ReplayRequest], *,
                 n_boot: int = 1000, on_replayed: Callable[[str, str], None] | None = None
                 ) -> SuiteResult:
    """Run replay requests already checked on every table (one per label, see
    :func:`~frozenbench.analysis.hpo.replay_requests`) and summarise (:func:`summarize_suite`);
    :func:`run_suite` checks its arguments and calls this."""
    comparisons = [replay(bench, requests, on_replayed=on_replayed) for bench in benches]
    return summarize_suite(comparisons, n_boot=n_boot)


def summarize_suite(comparisons: Sequence[Comparison], *, n_boot: int = 1000, seed: int = 0
                    ) -> SuiteResult:
    """Per-task and aggregate numbers of replays already made (one :class:`Comparison` per
    table, the same labels on each); see the module docstring for the definitions.

    >>> from frozenbench.analysis.hpo import compare
    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(name="t", n_configs=20, n_z=3, n_epochs=9, diverge_frac=0.0)
    >>> cmp = compare(bench, {"r": ("random", "full")}, runs=2, budget_units=3, n_workers=2)
    >>> s = summarize_suite([cmp], n_boot=20)
    >>> s.per_task[["table", "label", "budget", "runs"]].values.tolist()
    [['t', 'r', 1.0, 2], ['t', 'r', 3.0, 2]]
    >>> s.aggregate[["label", "budget", "tasks", "average_rank"]].values.tolist()[-1]
    ['r', 3.0, 1, 1.0]
    """
    if not comparisons:
        raise InvalidValueError("summarize_suite needs the replays of at least one table")
    labels = tuple(comparisons[0].runs)
    budgets = comparisons[0].checkpoints
    for cmp in comparisons:
        if tuple(cmp.runs) != labels or cmp.budget_units != comparisons[0].budget_units:
            raise InvalidValueError(
                f"every table needs the same methods and budget: {cmp.table} has "
                f"{list(cmp.runs)} for {cmp.budget_units:g} units, {comparisons[0].table} has "
                f"{list(labels)} for {comparisons[0].budget_units:g}")
    finals = pd.concat([_finals(cmp, budgets) for cmp in comparisons], ignore_index=True)
    per_task = pd.concat([_per_task(finals[finals["table"] == cmp.table], n_boot, seed)
                          for cmp in comparisons], ignore_index=True)
    aggregate = pd.concat([_aggregate(finals[finals["budget"] == b], labels, n_boot, seed)
                           for b in budgets], ignore_index=True)
    runs = max(len(trajs) for cmp in comparisons for trajs in cmp.runs.values())
    return SuiteResult(tuple(c.table for c in comparisons), labels, runs,
                       comparisons[0].budget_units, finals, per_task, aggregate,
                       anytime_suite(comparisons, n_boot=n_boot, seed=seed), tuple(comparisons))


def normalization_scale(reference: np.ndarray) -> float:
    """The scale normalised regret divides by: the median minus the best of the table's
    full-fidelity reference scores (a chance-level config, far above the median, does not set
    it); NaN when no score is finite.

    >>> normalization_scale(np.array([0.1, 0.2, 0.3, 0.9]))  # median 0.25 - best 0.1
    0.15
    """
    ref = reference[np.isfinite(reference)]
    return round(float(np.median(ref) - ref.min()), 12) if ref.size else math.nan


def _normalized(regret: pd.Series | np.ndarray, scale: float) -> Any:
    return regret / scale if scale > 0 else regret * 0.0


def _finals(cmp: Comparison, budgets: Sequence[float]) -> pd.DataFrame:
    """Regret per (label, run, budget) with the table's scale and the normalised regret."""
    scale = normalization_scale(cmp.reference)
    f = final_regret(cmp, budgets)
    f[SCALE] = scale
    f["normalized_regret"] = _normalized(f["regret"], scale)
    return f


def _per_task(finals: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """One row per (label, budget) of one task: means over replay seeds, intervals over them."""
    rows = []
    for budget, at in finals.groupby("budget", sort=True):
        ranks = _ranks(at, by="run", n_boot=n_boot, seed=seed).set_index("label")
        for label, g in at.groupby("label", sort=False):
            x = g["normalized_regret"].to_numpy(float)
            mean, lo, hi = bootstrap_ci(x, n_boot=n_boot, seed=seed)
            rows.append({"table": g["table"].iloc[0], "label": label, "budget": budget,
                         "runs": len(g), "with_incumbent": int(np.isfinite(x).sum()),
                         "regret_metric": g["regret_metric"].iloc[0],
                         "final_regret_mean": float(g["regret"].mean()),
                         "normalized_regret_mean": mean, "normalized_regret_low": lo,
                         "normalized_regret_high": hi,
                         **ranks.loc[label, ["average_rank", "rank_low",
                                             "rank_high"]].to_dict()})
    return pd.DataFrame(rows)


def _ranks(finals: pd.DataFrame, *, by: str, n_boot: int, seed: int) -> pd.DataFrame:
    """:func:`average_ranks` renamed for the suite's tables; one method ranks 1 everywhere."""
    labels = list(dict.fromkeys(finals["label"]))
    if len(labels) < 2:
        n = finals["table"].nunique() if by == "table" else finals["run"].nunique()
        return pd.DataFrame({"label": labels, "average_rank": 1.0, "rank_low": 1.0,
                             "rank_high": 1.0, "n": n, "friedman_p": math.nan,
                             "critical_difference": math.nan})
    r = average_ranks(finals, by=by, n_boot=n_boot, seed=seed)
    return r.rename(columns={"low": "rank_low", "high": "rank_high"}).drop(columns="unit")


def _aggregate(finals: pd.DataFrame, labels: Sequence[str], n_boot: int, seed: int
               ) -> pd.DataFrame:
    """One row per label at one budget: the per-task mean normalised regrets aggregated over
    tasks (IQM and mean, intervals over tasks) and the ranks over tasks (N = tasks)."""
    per_task = finals.groupby(["label", "table"], sort=False)["normalized_regret"].mean()
    rows = []
    for label in labels:
        scores = per_task.loc[label].to_numpy(float)
        row: dict[str, Any] = {"label": label, "budget": float(finals["budget"].iloc[0]),
                               "tasks": int(np.isfinite(scores).sum()),
                               "regret_metric": _metrics(finals["regret_metric"])}
        for name, statistic in (("iqm", iqm), ("mean", np.mean)):
            est, lo, hi = bootstrap_ci(scores, statistic, n_boot=n_boot, seed=seed)
            row |= {f"normalized_regret_{name}": est, f"normalized_regret_{name}_low": lo,
                    f"normalized_regret_{name}_high": hi}
        rows.append(row)
    ranks = _ranks(finals, by="table", n_boot=n_boot, seed=seed).rename(columns={"n": "n_test"})
    out = pd.DataFrame(rows).merge(ranks, on="label")
    return out.sort_values(["average_rank", "normalized_regret_iqm"], ignore_index=True)


def _metrics(names: pd.Series) -> str:
    """The regret metrics of several tasks in one cell: ``"val_error+val_loss"``."""
    return "+".join(sorted(set(names)))


def anytime_suite(comparisons: Sequence[Comparison], *, points: int = 40, n_boot: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """Normalised regret against budget (units, log-spaced from 0.1x to the replays' budget),
    per task (``table`` = its name; mean over replay seeds with an interval over the seeds) and
    over tasks (``table`` = :data:`ALL_TASKS`; the IQM of the per-task means with an interval
    over tasks); ``started`` is the share of runs (of tasks, over tasks) with an incumbent.
    """
    grid = anytime_grid(comparisons[0].budget_units, points)
    rows = []
    per_task: dict[str, list[np.ndarray]] = {}
    for cmp in comparisons:
        scale = normalization_scale(cmp.reference)
        for label, trajs in cmp.runs.items():
            mat = _normalized(np.vstack([regret_at(cmp, t, grid) for t in trajs]), scale)
            means = []
            for j, b in enumerate(grid):
                est, lo, hi = bootstrap_ci(mat[:, j], n_boot=n_boot, seed=seed)
                means.append(est)
                rows.append({"table": cmp.table, "regret_metric": cmp.metric, "label": label,
                             "budget": float(b),
                             "estimate": est, "low": lo, "high": hi,
                             "started": float(np.isfinite(mat[:, j]).mean())})
            per_task.setdefault(label, []).append(np.asarray(means))
    every = _metrics(pd.Series([cmp.metric for cmp in comparisons]))
    for label, curves in per_task.items():
        mat = np.vstack(curves)  # tasks x budgets
        for j, b in enumerate(grid):
            est, lo, hi = bootstrap_ci(mat[:, j], iqm, n_boot=n_boot, seed=seed)
            rows.append({"table": ALL_TASKS, "regret_metric": every, "label": label,
                         "budget": float(b),
                         "estimate": est, "low": lo, "high": hi,
                         "started": float(np.isfinite(mat[:, j]).mean())})
    return pd.DataFrame(rows)
