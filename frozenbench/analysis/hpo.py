"""Optimizer comparisons a paper can use.

- Budgets in units of the table's *median full-fidelity cost* (one unit = training one typical
  config fully), so numbers compare across tables whose seconds differ by orders of magnitude.
- Regret against the common-seed reference (:func:`frozenbench.analysis.seeds.reference_scores`):
  the incumbent's full-fidelity score minus the best config's; final and anytime, as the mean
  over replay seeds with a 95% bootstrap interval.
- Across tables: the average rank of each method (rank 1 = lowest final regret, per table and
  replay seed), with a bootstrap interval and the Nemenyi critical difference (Demsar 2006).

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=30, n_z=3, n_epochs=9, diverge_frac=0.0)
>>> cmp = compare(bench, {"random": ("random", "full"), "hb-z": ("hyperband", "z")},
...               runs=3, budget_units=5, n_workers=2)
>>> sorted(cmp.runs), len(cmp.runs["random"])
(['hb-z', 'random'], 3)
>>> final = final_regret(cmp)
>>> list(final.columns), bool((final["regret"] >= 0).all())
(['table', 'label', 'run', 'regret'], True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.analysis.seeds import common_cost, reference_scores
from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark

#: Methods compared by default: (optimizer, fidelity path) per label.
DEFAULT_METHODS: dict[str, tuple[str, Any]] = {
    "random (full)": ("random", "full"),
    "hyperband (epoch)": ("hyperband", "epoch"),
    "hyperband (z)": ("hyperband", "z"),
    "hyperband (z+epoch-geometric)": ("hyperband", "z+epoch-geometric"),
    "asha (z+epoch-linear)": ("asha", "z+epoch-linear"),
}
#: Nemenyi's q_0.05 for k = 2..10 methods (Demsar 2006, table 5a).
NEMENYI_Q05: dict[int, float] = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949,
                                 8: 3.031, 9: 3.102, 10: 3.164}


def budget_unit(bench: Benchmark, cost: str | None = None) -> float:
    """The median over configs of the full-fidelity cost (common seeds): one budget unit.

    >>> from frozenbench.synthetic import make_benchmark
    >>> budget_unit(make_benchmark(n_configs=8, n_z=2, n_epochs=3)) > 0
    True
    """
    return float(np.nanmedian(common_cost(bench, cost)[:, -1, -1]))


@dataclass(frozen=True)
class Comparison:
    """Replays of several methods on one table: trajectories per label (one per replay seed),
    the budget unit and the reference scores regret is measured against."""

    table: str
    unit: float
    budget_units: float
    runs: dict[str, list[pd.DataFrame]]
    reference: np.ndarray = field(repr=False)
    positions: np.ndarray = field(repr=False)  # table position of every config_id (-1: none)


def compare(bench: Benchmark, methods: Mapping[str, tuple[str, Any]] | None = None, *,
            runs: int = 10, budget_units: float = 20.0, n_workers: int = 4,
            cost: str | None = None, metric: str | None = None, eta: float = 3.0
            ) -> Comparison:
    """Replay every method ``runs`` times (replay seeds 0..runs-1) with a budget of
    ``budget_units`` median full-fidelity costs of simulated time."""
    from frozenbench.sim import simulate

    problems = []
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        problems.append(f"runs={runs!r} must be a positive integer")
    if not isinstance(budget_units, (int, float)) or not budget_units > 0:
        problems.append(f"budget_units={budget_units!r} must be a positive number")
    if problems:
        raise InvalidValueError("; ".join(problems))
    methods = dict(DEFAULT_METHODS if methods is None else methods)
    unit = budget_unit(bench, cost)
    out: dict[str, list[pd.DataFrame]] = {}
    for label, (optimizer, fidelity) in methods.items():
        out[label] = [simulate(bench, optimizer, fidelity, n_workers=n_workers,
                               budget=budget_units * unit, seed=s, eta=eta, metric=metric,
                               cost=cost) for s in range(runs)]
    return Comparison(bench.name, unit, float(budget_units), out,
                      reference_scores(bench, metric), bench.index.pos_of_id)


def _regret_at(cmp: Comparison, traj: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Regret of the incumbent at each budget in ``grid`` (units); NaN before the first one."""
    ref = cmp.reference
    if not len(traj):
        return np.full(len(grid), np.nan)
    inc = traj["incumbent"].to_numpy()
    regret = ref[cmp.positions[inc]] - np.nanmin(ref)
    t = traj["time"].to_numpy() / cmp.unit
    at = np.searchsorted(t, grid, side="right") - 1
    return np.where(at >= 0, regret[np.clip(at, 0, None)], np.nan)


def _mean_ci(x: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not x.size:
        return math.nan, math.nan, math.nan
    draws = np.random.default_rng(seed).choice(x, size=(n_boot, x.size)).mean(axis=1)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(x.mean()), float(lo), float(hi)


def anytime_regret(cmp: Comparison, grid: np.ndarray | None = None, n_boot: int = 1000
                   ) -> pd.DataFrame:
    """Mean regret over replay seeds at each budget (units), with a 95% bootstrap interval over
    seeds; rows ``label``, ``budget``, ``mean``, ``low``, ``high``, ``median``, ``started``
    (share of runs with an incumbent; the mean is over those)."""
    grid = np.geomspace(0.05, cmp.budget_units, 60) if grid is None else np.asarray(grid)
    rows = []
    for label, trajs in cmp.runs.items():
        mat = np.vstack([_regret_at(cmp, t, grid) for t in trajs])
        for j, b in enumerate(grid):
            col = mat[:, j]
            mean, lo, hi = _mean_ci(col, n_boot)
            rows.append({"label": label, "budget": float(b), "mean": mean, "low": lo,
                         "high": hi, "median": float(np.nanmedian(col)) if
                         np.isfinite(col).any() else math.nan,
                         "started": float(np.isfinite(col).mean())})
    return pd.DataFrame(rows)


def final_regret(cmp: Comparison) -> pd.DataFrame:
    """Regret at the end of the budget, one row per (label, replay seed)."""
    rows = [{"table": cmp.table, "label": label, "run": s,
             "regret": float(_regret_at(cmp, t, np.array([cmp.budget_units]))[0])}
            for label, trajs in cmp.runs.items() for s, t in enumerate(trajs)]
    return pd.DataFrame(rows, columns=["table", "label", "run", "regret"])


def final_summary(cmp: Comparison, n_boot: int = 1000) -> pd.DataFrame:
    """Final regret per label: mean with a 95% bootstrap interval over replay seeds, median."""
    f = final_regret(cmp)
    rows = []
    for label, g in f.groupby("label", sort=False):
        mean, lo, hi = _mean_ci(g["regret"].to_numpy(), n_boot)
        rows.append({"label": label, "runs": len(g), "final_regret_mean": mean,
                     "final_regret_low": lo, "final_regret_high": hi,
                     "final_regret_median": float(g["regret"].median())})
    return pd.DataFrame(rows)


def average_ranks(finals: Sequence[pd.DataFrame] | pd.DataFrame, *, n_boot: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """Average rank of each method over problems (a problem = one table and replay seed; rank
    1 = lowest final regret, ties averaged), with a 95% bootstrap interval over problems and
    the Nemenyi critical difference at alpha = 0.05 (``critical_difference``, the same on every
    row): two methods whose average ranks differ by less are not told apart.

    >>> f = pd.DataFrame({"table": ["a"] * 4, "run": [0, 0, 1, 1],
    ...                   "label": ["x", "y", "x", "y"], "regret": [0.0, 0.1, 0.0, 0.2]})
    >>> average_ranks(f, n_boot=20)[["label", "average_rank"]].values.tolist()
    [['x', 1.0], ['y', 2.0]]
    """
    from scipy.stats import rankdata

    f = pd.concat(list(finals), ignore_index=True) if not isinstance(finals, pd.DataFrame) \
        else finals
    wide = f.pivot_table(index=["table", "run"], columns="label", values="regret",
                         aggfunc="first")
    wide = wide.dropna()
    labels = list(wide.columns)
    if wide.empty or len(labels) < 2:
        raise InvalidValueError(
            f"ranks need at least two methods with a final regret on a common problem; got "
            f"methods {labels} on {len(wide)} problems")
    ranks = rankdata(wide.to_numpy(), axis=1)
    n, k = ranks.shape
    draws = ranks[np.random.default_rng(seed).integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    q = NEMENYI_Q05.get(k, math.nan)
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    out = pd.DataFrame({"label": labels, "average_rank": ranks.mean(axis=0), "low": lo,
                        "high": hi, "problems": n, "critical_difference": cd})
    return out.sort_values("average_rank", ignore_index=True)
