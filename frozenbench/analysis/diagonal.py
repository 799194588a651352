"""The paper's diagonal analysis (its GPT-14M successive-halving table): successive halving
along the linear diagonal (z = k at k/n of the epochs) against all layers at the same epoch
fractions. Per rung: the rank correlation of each with full fidelity (with its interval) and
the cost of evaluating every config there (summed over configs, like the paper's seconds).

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=30, n_z=3, n_epochs=6, diverge_frac=0.0)
>>> d = diagonal_analysis(bench, n_boot=100)
>>> d[["z", "epoch", "epoch_fraction"]].values.tolist()
[[1.0, 2.0, 0.3333333333333333], [2.0, 4.0, 0.6666666666666666], [3.0, 6.0, 1.0]]
>>> bool((d["cost_diagonal"] <= d["cost_all_layers"]).all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import (
    N_BOOT,
    bootstrap_indices,
    cell_pairs,
    pair_stats,
)
from frozenbench.analysis.seeds import common_cost
from frozenbench.optimizers.fidelity import linear_diagonal
from frozenbench.table import Benchmark


def diagonal_analysis(bench: Benchmark, metric: str | None = None, cost: str | None = None, *,
                      variant: str = "shared", n_boot: int = N_BOOT, seed: int = 0
                      ) -> pd.DataFrame:
    """One row per rung of the linear diagonal: ``z``, ``epoch``, ``epoch_fraction``,
    ``spearman_diagonal`` and ``spearman_all_layers`` (each with ``_low``/``_high``, 95%
    bootstrap over configs; ``variant`` as in :mod:`frozenbench.analysis.correlation`),
    ``cost_diagonal`` and ``cost_all_layers`` (cost of every config at that rung, in the cost
    column ``cost``, default the table's) and ``cost_full_grid`` (every config at full
    fidelity)."""
    metric = bench.metric_name(metric)
    idx = bootstrap_indices(len(bench), n_boot, seed)
    costs = common_cost(bench, cost)
    z_max, e_max = bench.fidelities["z"][-1], bench.fidelities["epoch"][-1]
    full_grid = float(np.nansum(costs[:, -1, -1]))
    rows = []
    for rung, (z, e) in enumerate(linear_diagonal(bench.fidelity_values)):
        zi, ei = bench.index.z(z), bench.index.epoch(e)
        row: dict[str, float] = {"rung": rung, "z": z, "epoch": e, "epoch_fraction": e / e_max,
                                 "layer_fraction": z / z_max}
        for name, zz in (("diagonal", z), ("all_layers", z_max)):
            st = pair_stats(cell_pairs(bench, zz, e, variant, metric), idx, ())
            row.update({f"spearman_{name}": st.spearman.value,
                        f"spearman_{name}_low": st.spearman.low,
                        f"spearman_{name}_high": st.spearman.high})
        row["cost_diagonal"] = float(np.nansum(costs[:, zi, ei]))
        row["cost_all_layers"] = float(np.nansum(costs[:, -1, ei]))
        row["cost_full_grid"] = full_grid
        rows.append(row)
    return pd.DataFrame(rows)
