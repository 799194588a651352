"""Optimizer comparisons a paper can use.

- Budgets in units of the table's *median full-fidelity cost* (one unit = training one typical
  config fully, :func:`frozenbench.sim.budget.budget_unit`), so numbers compare across tables
  whose seconds differ by orders of magnitude.
  One replay with the largest budget answers every smaller budget too (a run stopped at b saw
  exactly the results before b), so anytime curves and the tables at :data:`CHECKPOINTS`
  come from the same trajectories.
- Regret against the common-seed reference (:func:`frozenbench.analysis.seeds.reference_scores`)
  on the *regret metric* (:func:`frozenbench.sim.trajectory.regret_metric`: the table's test
  metric where it has one, else the validation metric that was optimised; ``Comparison.metric``
  and the ``regret_metric`` columns say which): the incumbent's full-fidelity score minus the
  best config's. A run without an incumbent yet has no regret (NaN).
- Within one task, means over replay seeds with a 95% bootstrap interval over those seeds.
- Across tables (:mod:`frozenbench.analysis.suite`), the task is the unit
  (:mod:`frozenbench.analysis.stats`): average ranks of per-task means, Friedman and Nemenyi
  with N = tasks.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=30, n_z=3, n_epochs=9, diverge_frac=0.0)
>>> cmp = compare(bench, {"random": ("random", "full"), "hb-z": ("hyperband", "z")},
...               runs=3, budget_units=5, n_workers=2)
>>> sorted(cmp.runs), len(cmp.runs["random"]), cmp.metric
(['hb-z', 'random'], 3, 'val_error')
>>> final = final_regret(cmp)
>>> list(final.columns), bool((final["regret"] >= 0).all())
(['table', 'label', 'run', 'budget', 'regret_metric', 'regret'], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.analysis.seeds import reference_scores
from frozenbench.analysis.stats import bootstrap_ci, rank_test, task_ranks
from frozenbench.errors import InvalidValueError, raise_problems
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS, budget_unit
from frozenbench.sim.methods import Method, parse_methods
from frozenbench.sim.request import ReplayRequest, requests_problems
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT
from frozenbench.table import Benchmark

__all__ = ["ANYTIME_START", "CHECKPOINTS", "DEFAULT_METHODS", "Comparison", "anytime_grid",
           "anytime_regret", "average_ranks", "budget_unit", "compare", "final_regret",
           "final_summary", "regret_at", "replay", "replay_requests"]

#: Methods compared by default, per label. Every one reaches full fidelity within 10 budget
#: units on every shipped table (a test replays them all).
DEFAULT_METHODS: dict[str, Method] = {
    "random (full)": Method("random", "full"),
    "hyperband (epoch)": Method("hyperband", "epoch"),
    "hyperband (z)": Method("hyperband", "z"),
    "hyperband (z+epoch-geometric)": Method("hyperband", "z+epoch-geometric"),
    "asha (z+epoch-linear)": Method("asha", "z+epoch-linear"),
}
#: Budgets (in budget units) the tables report: 1x, 10x and 100x the median full-fidelity cost.
CHECKPOINTS: tuple[float, ...] = (1.0, 10.0, 100.0)
#: The smallest budget of the anytime curves (units).
ANYTIME_START = 0.1


@dataclass(frozen=True)
class Comparison:
    """Replays of several methods on one table: trajectories per label (one per replay seed),
    the budget unit, the reference scores regret is measured against and their metric."""

    table: str
    unit: float
    budget_units: float
    runs: dict[str, list[pd.DataFrame]]
    reference: np.ndarray = field(repr=False)
    positions: np.ndarray = field(repr=False)  # table position of every config_id (-1: none)
    metric: str = ""  # the regret metric (test where the table has one, else validation)

    @property
    def checkpoints(self) -> tuple[float, ...]:
        """The budgets the tables report: :data:`CHECKPOINTS` up to the replays' budget, and
        that budget itself."""
        return tuple(sorted({*(b for b in CHECKPOINTS if b <= self.budget_units),
                             self.budget_units}))


def replay_requests(methods: Mapping[str, Any] | None = None, *, runs: int = 10,
                    budget_units: float = DEFAULT_BUDGET_UNITS, n_workers: int = 4,
                    cost: str | None = None, metric: str | None = None, eta: float = 3.0,
                    incumbent: str = DEFAULT_INCUMBENT
                    ) -> tuple[dict[str, ReplayRequest], list[str]]:
    """One :class:`~frozenbench.sim.request.ReplayRequest` per method (``{label: method}``,
    each a :class:`~frozenbench.sim.methods.Method`, a label or an ``(optimizer, fidelity)``
    pair; default :data:`DEFAULT_METHODS`) for replay seeds 0..runs-1 with a budget of
    ``budget_units``, and the problems found building them (checked on a table by
    :func:`~frozenbench.sim.request.requests_problems`).

    >>> requests, problems = replay_requests({"r": ("random", "full")}, runs=0)
    >>> problems
    ['runs=0 must be a positive integer']
    """
    problems: list[str] = []
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        problems.append(f"runs={runs!r} must be a positive integer")
    methods = dict(DEFAULT_METHODS if methods is None else methods)
    if not methods:
        problems.append("give at least one method")
    seeds = tuple(range(runs)) if isinstance(runs, int) and runs > 0 else (0,)
    parsed, more = parse_methods(methods)
    requests = {label: ReplayRequest(method, n_workers=n_workers, budget=budget_units,
                                     seeds=seeds, eta=eta, metric=metric, cost=cost,
                                     incumbent=incumbent)
                for label, method in parsed.items()}
    return requests, problems + more


def replay(bench: Benchmark, requests: Mapping[str, ReplayRequest], *,
           on_replayed: Callable[[str, str], None] | None = None) -> Comparison:
    """Run checked requests (one per label, all with the same budget in units) on ``bench``:
    every replay seed of every method. ``on_replayed(table, label)`` follows each method."""
    out: dict[str, list[pd.DataFrame]] = {}
    prepared = None
    for label, request in requests.items():
        prepared = request.prepare(bench, checked=True)
        out[label] = prepared.run_all()
        if on_replayed is not None:
            on_replayed(bench.name, label)
    if prepared is None or prepared.request.budget is None:
        raise InvalidValueError("a comparison needs at least one method with a budget in units")
    scored_on = prepared.regret_metric
    return Comparison(bench.name, prepared.unit, float(prepared.request.budget), out,
                      reference_scores(bench, scored_on), bench.index.pos_of_id, scored_on)


def compare(bench: Benchmark, methods: Mapping[str, Any] | None = None, *,
            runs: int = 10, budget_units: float = DEFAULT_BUDGET_UNITS, n_workers: int = 4,
            cost: str | None = None, metric: str | None = None, eta: float = 3.0,
            incumbent: str = DEFAULT_INCUMBENT) -> Comparison:
    """Replay every method (``{label: method}``, see :func:`replay_requests`) ``runs`` times
    (replay seeds 0..runs-1) with a budget of ``budget_units`` median full-fidelity costs of
    simulated time. Every argument is checked first, every problem reported at once."""
    requests, problems = replay_requests(
        methods, runs=runs, budget_units=budget_units, n_workers=n_workers, cost=cost,
        metric=metric, eta=eta, incumbent=incumbent)
    raise_problems("compare", [*problems, *requests_problems(requests, bench)])
    return replay(bench, requests)


def regret_at(cmp: Comparison, traj: pd.DataFrame, budgets: np.ndarray) -> np.ndarray:
    """Regret of the incumbent at each budget (units) of one replay; NaN where the run has no
    incumbent yet.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=20, n_z=3, n_epochs=6, diverge_frac=0.0)
    >>> cmp = compare(bench, {"r": ("random", "full")}, runs=1, budget_units=3, n_workers=1)
    >>> r = regret_at(cmp, cmp.runs["r"][0], np.array([1e-6, 3.0]))
    >>> bool(np.isnan(r[0])), bool(r[1] >= 0)
    (True, True)
    """
    grid = np.asarray(budgets, dtype=float)
    if not len(traj):
        return np.full(len(grid), np.nan)
    ref = cmp.reference
    inc = traj["incumbent"].to_numpy()
    pos = cmp.positions[np.clip(inc, 0, None)]
    regret = np.where((inc >= 0) & (pos >= 0), ref[pos] - np.nanmin(ref), np.nan)
    t = traj["time"].to_numpy() / cmp.unit
    at = np.searchsorted(t, grid, side="right") - 1
    return np.where(at >= 0, regret[np.clip(at, 0, None)], np.nan)


def anytime_grid(budget_units: float, points: int = 40) -> np.ndarray:
    """Budgets (units) of the anytime curves: log-spaced from :data:`ANYTIME_START` to
    ``budget_units``.

    >>> anytime_grid(100.0, 4).tolist()
    [0.1, 1.0, 10.0, 100.0]
    """
    return np.geomspace(min(ANYTIME_START, budget_units), budget_units, points)


def anytime_regret(cmp: Comparison, grid: np.ndarray | None = None, n_boot: int = 1000
                   ) -> pd.DataFrame:
    """Mean regret over replay seeds at each budget (units; default :func:`anytime_grid`),
    with a 95% bootstrap interval over the seeds; rows ``label``, ``budget``, ``mean``,
    ``low``, ``high``, ``median``, ``started`` (share of runs with an incumbent; the mean is
    over those) and ``regret_metric``."""
    grid = anytime_grid(cmp.budget_units) if grid is None else np.asarray(grid)
    rows = []
    for label, trajs in cmp.runs.items():
        mat = np.vstack([regret_at(cmp, t, grid) for t in trajs])
        for j, b in enumerate(grid):
            col = mat[:, j]
            mean, lo, hi = bootstrap_ci(col, n_boot=n_boot)
            rows.append({"label": label, "budget": float(b), "mean": mean, "low": lo,
                         "high": hi, "median": float(np.nanmedian(col)) if
                         np.isfinite(col).any() else math.nan,
                         "started": float(np.isfinite(col).mean()),
                         "regret_metric": cmp.metric})
    return pd.DataFrame(rows)


def final_regret(cmp: Comparison, budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """Regret at each of ``budgets`` (units; default: the end of the budget), one row per
    (label, replay seed, budget); NaN for a run without an incumbent by then."""
    grid = np.asarray([cmp.budget_units] if budgets is None else list(budgets), dtype=float)
    rows = [{"table": cmp.table, "label": label, "run": s, "budget": float(b),
             "regret_metric": cmp.metric, "regret": float(r)}
            for label, trajs in cmp.runs.items() for s, t in enumerate(trajs)
            for b, r in zip(grid, regret_at(cmp, t, grid))]
    return pd.DataFrame(rows, columns=["table", "label", "run", "budget", "regret_metric",
                                       "regret"])


def final_summary(cmp: Comparison, n_boot: int = 1000,
                  budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """Regret per label at each of ``budgets`` (default: :attr:`Comparison.checkpoints`):
    mean with a 95% bootstrap interval over replay seeds (runs with an incumbent), median,
    and how many runs had an incumbent."""
    f = final_regret(cmp, cmp.checkpoints if budgets is None else budgets)
    rows = []
    for (budget, label), g in f.groupby(["budget", "label"], sort=False):
        x = g["regret"].to_numpy()
        mean, lo, hi = bootstrap_ci(x, n_boot=n_boot)
        rows.append({"budget": budget, "label": label, "runs": len(g),
                     "with_incumbent": int(np.isfinite(x).sum()),
                     "regret_metric": cmp.metric, "final_regret_mean": mean,
                     "final_regret_low": lo, "final_regret_high": hi,
                     "final_regret_median": float(np.nanmedian(x)) if np.isfinite(x).any()
                     else math.nan})
    return pd.DataFrame(rows)


def average_ranks(finals: Sequence[pd.DataFrame] | pd.DataFrame, *, by: str = "table",
                  n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Average rank of each method (rank 1 = lowest regret, ties averaged), one row per label:
    ``average_rank``, ``low`` / ``high`` (95% bootstrap interval), ``n`` and ``unit`` (what was
    ranked), ``friedman_p`` and the Nemenyi ``critical_difference`` at alpha = 0.05.

    ``by="table"`` (across tasks, the default): the unit is the task; each method's score on a
    task is its mean regret over replay seeds, the ranks are those of the tasks (N = tables),
    the interval resamples tasks. ``by="run"`` (within one task): methods are ranked within
    each replay seed and the interval resamples seeds; no test is made (``friedman_p`` and
    ``critical_difference`` are NaN), since seeds of one task are not independent tasks.
    A run without an incumbent ranks below every run that has one (its regret is taken as one
    more than the largest on its table).

    >>> f = pd.DataFrame({"table": ["a"] * 4 + ["b"] * 4, "run": [0, 0, 1, 1] * 2,
    ...                   "label": ["x", "y"] * 4, "regret": [0.0, 0.1, 0.0, 0.2] * 2})
    >>> average_ranks(f, n_boot=20)[["label", "average_rank", "n", "unit"]].values.tolist()
    [['x', 1.0, 2, 'tasks'], ['y', 2.0, 2, 'tasks']]
    >>> average_ranks(f[f.table == "a"], by="run", n_boot=20)["n"].tolist()
    [2, 2]
    """
    f = pd.concat(list(finals), ignore_index=True) if not isinstance(finals, pd.DataFrame) \
        else finals
    if by not in ("table", "run"):
        raise InvalidValueError(f"by={by!r}; valid: 'table' (tasks are the unit) or 'run' "
                                f"(replay seeds of one task)")
    f = f.assign(regret=f["regret"].fillna(_worst_regret(f)))
    wide = f.pivot_table(index=["table", "run"], columns="label", values="regret",
                         aggfunc="first", sort=False)
    if by == "table":
        wide = wide.groupby(level="table", sort=False).mean()
    if wide.shape[1] < 2:
        raise InvalidValueError(f"ranks need at least two methods; got {list(wide.columns)}")
    test = rank_test(wide)
    ranks = task_ranks(wide).to_numpy()
    n = ranks.shape[0]
    draws = ranks[np.random.default_rng(seed).integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    across = by == "table"
    out = pd.DataFrame({"label": list(wide.columns), "average_rank": test.ranks.to_numpy(),
                        "low": lo, "high": hi, "n": test.n_tasks,
                        "unit": "tasks" if across else "replay seeds",
                        "friedman_p": test.friedman_p if across else math.nan,
                        "critical_difference": test.critical_difference if across
                        else math.nan})
    return out.sort_values("average_rank", ignore_index=True)


def _worst_regret(finals: pd.DataFrame) -> pd.Series:
    """Per row, the regret a run without an incumbent is ranked by: one more than the largest
    regret of any run on its table, so it ranks below every run that has one."""
    return finals.groupby("table")["regret"].transform("max").fillna(0.0) + 1.0
