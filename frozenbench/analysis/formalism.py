"""The paper's fidelity formalism as checks on a table (section 3.1 of the paper):

- *cost monotonicity*: a lower z costs less, for each cost column (time, CPU, the default cost,
  FLOPs) and for peak memory;
- *information monotonicity*, by its practical proxy: the rank correlation with full fidelity
  rises with z. A step down counts as a violation only where the paired bootstrap interval of
  the difference lies below zero, so noise alone does not fail it.

>>> from frozenbench.synthetic import make_benchmark
>>> from frozenbench.analysis.correlation import correlation_grid
>>> bench = make_benchmark(n_configs=40, n_z=4, n_epochs=3, diverge_frac=0.0)
>>> table = verdicts(bench, correlation_grid(bench, n_boot=100))
>>> table[table["property"] == "cost monotone in z"]["verdict"].tolist()
['holds', 'holds', 'holds', 'holds', 'holds']
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import CorrelationGrid
from frozenbench.analysis.seeds import common_cost
from frozenbench.schema import RESOURCES
from frozenbench.schema import column as schema_column
from frozenbench.table import Benchmark

#: Cost columns checked and reported, with their readable names (from the schema).
COST_COLUMNS: dict[str, str] = {q: schema_column(q).axis_label for q in RESOURCES}


def cost_per_z(bench: Benchmark, column: str, epoch: int | None = None) -> np.ndarray:
    """``[config, z]`` cost of ``column`` at ``epoch`` (default: the last; cumulative costs),
    or peak memory; common-seed means; NaN where the table lacks the column."""
    if column == "peak_memory_bytes":
        return bench.peak_memory()
    ei = -1 if epoch is None else bench.index.epoch(epoch)
    return common_cost(bench, column)[:, :, ei]


def cost_profile(bench: Benchmark, epoch: int | None = None) -> pd.DataFrame:
    """Cost of each z relative to full fidelity (same epoch), median over configs, per cost
    column; one row per z, a column per cost in :data:`COST_COLUMNS` that the table has.

    >>> from frozenbench.synthetic import make_benchmark
    >>> prof = cost_profile(make_benchmark(n_configs=8, n_z=3, n_epochs=2))
    >>> float(prof["train_flops"].iloc[-1]), bool(prof["train_flops"].is_monotonic_increasing)
    (1.0, True)
    """
    out = {"z": bench.fidelities["z"]}
    for column in COST_COLUMNS:
        cost = cost_per_z(bench, column, epoch)
        if not np.isfinite(cost).any() or not (cost[:, -1] > 0).any():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            out[column] = np.nanmedian(cost / cost[:, -1:], axis=0)
    return pd.DataFrame(out)


def _cost_rows(bench: Benchmark) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    zs = bench.fidelities["z"]
    for column, label in COST_COLUMNS.items():
        cost = cost_per_z(bench, column)
        if not np.isfinite(cost).any():
            rows.append({"property": "cost monotone in z", "where": label,
                         "verdict": "not in table", "detail": "column absent (schema 1)"})
            continue
        med = np.nanmedian(cost, axis=0)
        steps = np.diff(med)
        bad = [f"z={zs[i]}->{zs[i + 1]}" for i in np.flatnonzero(~(steps > 0))]
        per_config = np.all(np.diff(cost, axis=1) > 0, axis=1)
        detail = (f"median over configs rises at {len(steps) - len(bad)} of {len(steps)} steps; "
                  f"{per_config.mean():.0%} of configs strictly monotone")
        if bad:
            detail += f"; not rising at {', '.join(bad)}"
        rows.append({"property": "cost monotone in z", "where": label,
                     "verdict": "holds" if not bad else "violated", "detail": detail})
    return rows


def _information_rows(grid: CorrelationGrid, zs: list[int], epochs: list[int]
                      ) -> list[dict[str, object]]:
    variant = "cross" if (grid.frame["variant"].eq("cross") & grid.frame["n_seed_pairs"].gt(0)
                          & grid.frame["z"].lt(zs[-1])).any() else "shared"
    rows: list[dict[str, object]] = []
    for e in epochs:
        ups, drops = 0, []
        for a, b in pairwise(zs):
            diff = grid.draws[(variant, b, e)] - grid.draws[(variant, a, e)]
            diff = diff[np.isfinite(diff)]
            if not diff.size:
                continue
            point = grid.at(b, e, variant)["spearman"] - grid.at(a, e, variant)["spearman"]
            ups += bool(point > 0)
            if np.percentile(diff, 97.5) < 0:
                drops.append(f"z={a}->{b} ({point:+.3f})")
        detail = (f"{variant}-seed Spearman rises at {ups} of {len(zs) - 1} steps; "
                  + (f"significant drops: {', '.join(drops)}" if drops else
                     "no drop beyond its 95% interval"))
        rows.append({"property": "correlation rises with z", "where": f"epoch {e}",
                     "verdict": "holds" if not drops else "violated", "detail": detail})
    return rows


def verdicts(bench: Benchmark, grid: CorrelationGrid) -> pd.DataFrame:
    """The formalism as a table: ``property``, ``where`` (cost column or epoch), ``verdict``
    (holds / violated / not in table) and ``detail``."""
    rows = _cost_rows(bench)
    rows += _information_rows(grid, bench.fidelities["z"], bench.fidelities["epoch"])
    return pd.DataFrame(rows, columns=["property", "where", "verdict", "detail"])
