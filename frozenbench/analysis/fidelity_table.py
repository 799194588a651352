"""The paper's analyses of one benchmark as one table: a row per (z, epoch).

Each row holds, from the seeds every config has at that cell (:mod:`frozenbench.analysis.
seeds`):

- **rank correlation with full fidelity**: Spearman and Kendall's tau-b, cross-seed (the low
  fidelity from one seed against full fidelity from another: comparable with the ceiling) and
  shared-seed (how the paper, with one seed per cell, measured it), each with its 95%
  bootstrap interval over configs (:mod:`frozenbench.analysis.correlation`);
- **against the seed-noise ceiling** (two seeds at full fidelity against each other):
  ``below_ceiling`` where the cross-seed Spearman's interval lies entirely below the
  ceiling's;
- **the paper's diagonal** (z = k at k/n of the epochs) against all layers at the same epoch:
  ``diagonal_rung`` (-1 off the diagonal) and, on it, ``diagonal_minus_all_layers``: the
  cross-seed Spearman of the diagonal cell minus that of (largest z, same epoch), with a paired
  95% interval (the same bootstrap resamples for both cells);
- **the fidelity formalism**: ``cost_relative`` (median over configs of the cell's cost over
  the full-fidelity cost, the table's default cost), ``cost_rises_with_z`` (the median cost is
  above that of the next lower z at the same epoch) and ``correlation_drops_with_z`` (the
  cross-seed Spearman is below that of the next lower z beyond its paired 95% interval).

>>> from frozenbench.synthetic import make_benchmark
>>> from frozenbench.analysis.correlation import correlation_grid
>>> bench = make_benchmark(n_configs=30, n_z=3, n_epochs=3, diverge_frac=0.0)
>>> t = fidelity_table(bench, correlation_grid(bench, n_boot=100))
>>> len(t), t[["z", "epoch", "diagonal_rung"]].values.tolist()[-1]
(9, [3, 3, 2])
>>> bool(t["cost_rises_with_z"].dropna().all())
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import CorrelationGrid, Estimate
from frozenbench.analysis.formalism import cost_per_z
from frozenbench.optimizers.fidelity import linear_diagonal
from frozenbench.table import Benchmark


def _paired(grid: CorrelationGrid, variant: str, a: tuple[int, int], b: tuple[int, int]
            ) -> Estimate:
    """Spearman of cell ``a`` minus that of cell ``b`` with a paired 95% bootstrap interval."""
    point = grid.at(*a, variant)["spearman"] - grid.at(*b, variant)["spearman"]
    diff = grid.draws[(variant, *a)] - grid.draws[(variant, *b)]
    diff = diff[np.isfinite(diff)]
    if not diff.size or not math.isfinite(point):
        return Estimate(math.nan, math.nan, math.nan)
    lo, hi = np.percentile(diff, [2.5, 97.5])
    return Estimate(float(point), float(lo), float(hi))


def _variant(grid: CorrelationGrid) -> str:
    """Cross-seed where the table has a second seed below full fidelity, else shared-seed."""
    f = grid.frame
    has_cross = (f["variant"].eq("cross") & f["n_seed_pairs"].gt(0)
                 & f["z"].lt(f["z"].max())).any()
    return "cross" if has_cross else "shared"


def fidelity_table(bench: Benchmark, grid: CorrelationGrid, cost: str | None = None
                   ) -> pd.DataFrame:
    """One row per (z, epoch): see the module docstring for the columns. ``grid`` is
    :func:`~frozenbench.analysis.correlation.correlation_grid` of ``bench``; ``cost`` a cost
    column (default: the table's)."""
    zs, epochs = list(bench.fidelities["z"]), list(bench.fidelities["epoch"])
    diagonal = {level: k for k, level in enumerate(linear_diagonal(bench.fidelity_values))}
    column = bench.default_cost if cost is None else cost
    costs = np.stack([cost_per_z(bench, column, e) for e in epochs], axis=2)  # config, z, e
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.nanmedian(costs / costs[:, -1:, -1:], axis=0)
        median = np.nanmedian(costs, axis=0)
    variant = _variant(grid)
    c = grid.ceiling
    rows = []
    for zi, z in enumerate(zs):
        for ei, e in enumerate(epochs):
            row: dict[str, object] = {"z": z, "epoch": e, "variant_for_tests": variant}
            for v in ("cross", "shared"):
                r = grid.at(z, e, v)
                for stat in ("spearman", "kendall"):
                    row |= {f"{stat}_{v}": r[stat], f"{stat}_{v}_low": r[f"{stat}_low"],
                            f"{stat}_{v}_high": r[f"{stat}_high"]}
            row |= {"ceiling_spearman": c.spearman.value, "ceiling_spearman_low": c.spearman.low,
                    "ceiling_spearman_high": c.spearman.high, "ceiling_kendall": c.kendall.value,
                    "below_ceiling": bool(grid.at(z, e, variant)["spearman_high"]
                                          < c.spearman.low)}
            rung = diagonal.get((z, e), -1)
            gap = _paired(grid, variant, (z, e), (zs[-1], e)) if rung >= 0 else \
                Estimate(math.nan, math.nan, math.nan)
            row |= {"diagonal_rung": rung, "diagonal_minus_all_layers": gap.value,
                    "diagonal_minus_all_layers_low": gap.low,
                    "diagonal_minus_all_layers_high": gap.high,
                    "cost_relative": float(relative[zi, ei])}
            if zi == 0:
                row |= {"cost_rises_with_z": None, "correlation_drops_with_z": None}
            else:
                step = _paired(grid, variant, (z, e), (zs[zi - 1], e))
                row |= {"cost_rises_with_z": bool(median[zi, ei] > median[zi - 1, ei]),
                        "correlation_drops_with_z": bool(step.high < 0)}
            rows.append(row)
    return pd.DataFrame(rows)
