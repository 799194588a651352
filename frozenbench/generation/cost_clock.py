"""The cost clock of a merged table: ``train_cost_s``, the median CPU time of a (z, epoch).

:func:`robust_cost` makes the default cost column from the measured ``train_cpu_s`` of every
cell; :func:`non_decreasing` is the fit that keeps the clock from falling as z rises (also used
for the per-z GPU cost profile, :mod:`~frozenbench.generation.cost_profile`);
:func:`robust_cost_note` is what the manifest records about it. Pure maths on frames and arrays:
it imports nothing of frozenbench, so both the merge and the cost profile can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["non_decreasing", "pooled_levels", "robust_cost", "robust_cost_note",
           "schedule_cost"]


def robust_cost(frame: pd.DataFrame, factors: Sequence[str] = ()) -> pd.Series:
    """The default cost column: for every row, the median ``train_cpu_s`` of all rows at its
    (z, epoch) and cost factors (hyperparameters that change a step's work, e.g. the
    optimizer), made non-decreasing in z.

    One cell's CPU time moves ~10% with what shares the machine's caches; the median over the
    ~10^2 cells of a (z, epoch) does not, so adjacent z keep their true cost order where a
    layer's work shows in the clock. On the smallest models it may not: a layer's backward pass
    costs less than the noise left in the medians, and adjacent medians can come out in the
    wrong order. Training more layers never costs less, so the medians along z (per epoch and
    cost factors) are replaced by their least-squares non-decreasing fit (pool adjacent
    violators, weighted by the number of rows): where the medians already rise this changes
    nothing; where they do not, the levels involved share their pooled median, i.e. the clock
    says they cost the same. :func:`pooled_levels` lists where that happened.

    >>> f = pd.DataFrame({"z": [1, 1, 1, 2, 3], "epoch": [1, 1, 1, 1, 1],
    ...                   "train_cpu_s": [1.0, 9.0, 2.0, 3.0, 2.0]})
    >>> robust_cost(f).tolist()
    [2.0, 2.0, 2.0, 2.5, 2.5]
    """
    keys = ["z", "epoch", *factors]
    grouped = frame.groupby(keys, sort=True)["train_cpu_s"]
    table = pd.DataFrame({"median": grouped.median(), "n": grouped.size()}).reset_index()
    table["cost"] = np.nan
    for rows in table.groupby(["epoch", *factors], sort=False).groups.values():
        part = table.loc[rows].sort_values("z")
        table.loc[part.index, "cost"] = non_decreasing(part["median"].to_numpy(),
                                                       part["n"].to_numpy())
    out = frame[keys].merge(table[[*keys, "cost"]], on=keys, how="left")["cost"]
    return pd.Series(out.to_numpy(), index=frame.index, name="train_cost_s")


def non_decreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-decreasing fit of ``values`` (pool adjacent violators).

    >>> non_decreasing(np.array([1.0, 3.0, 2.0, 4.0]), np.array([1, 1, 1, 1])).tolist()
    [1.0, 2.5, 2.5, 4.0]
    """
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(float(v))
        sizes.append(float(w))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2, w1 = sizes.pop(), sizes.pop()
            v2, v1 = means.pop(), means.pop()
            means.append((v1 * w1 + v2 * w2) / (w1 + w2))
            sizes.append(w1 + w2)
            counts.append(counts.pop() + counts.pop())
    return np.repeat(means, counts)


def pooled_levels(frame: pd.DataFrame, factors: Sequence[str] = ()) -> list[tuple[int, ...]]:
    """The runs of adjacent z that share one cost in :func:`robust_cost` at the last epoch
    (for any combination of cost factors): empty when the medians rise along z.

    >>> f = pd.DataFrame({"z": [1, 2, 3], "epoch": [1, 1, 1], "train_cpu_s": [1.0, 3.0, 2.0]})
    >>> pooled_levels(f)
    [(2, 3)]
    """
    last = frame[frame["epoch"] == frame["epoch"].max()]
    cost = pd.Series(robust_cost(last, factors).to_numpy(), index=last.index)
    runs: set[tuple[int, ...]] = set()
    for _, part in last.groupby(list(factors), sort=False) if factors else [(None, last)]:
        by_z = cost[part.index].groupby(part["z"].to_numpy()).first()
        same = by_z.index.to_series().groupby(by_z.to_numpy(), sort=False).agg(tuple)
        runs |= {tuple(int(z) for z in run) for run in same if len(run) > 1}
    return sorted(runs)


def robust_cost_note(frame: pd.DataFrame, factors: Sequence[str] = ()) -> dict[str, Any]:
    """What the manifest records about a cost column made by :func:`robust_cost` of
    ``frame``, including the z levels whose medians were pooled."""
    return {"column": "train_cost_s", "source": "train_cpu_s",
            "method": "robust_cost (frozenbench.generation.cost_clock): the median train_cpu_s of "
                      "the table's cells at the row's (z, epoch) and cost factors, made "
                      "non-decreasing in z",
            "cost_factors": list(factors),
            "pooled_z_at_last_epoch": [list(run) for run in pooled_levels(frame, factors)]}


def schedule_cost(rows: pd.DataFrame, fixed: pd.DataFrame,
                  factors: Sequence[str] = ()) -> pd.Series:
    """The cost column of the rows of schedule cells (thaw), on the clock of the fixed-z rows:
    for each row, the sum over its cell's records up to it of the fixed rows' cost increment
    (``train_cost_s`` at (z, epoch) minus at (z, epoch - 1)) at that record's z, epoch and
    cost factors. A thaw run and restarts at fixed z are thus costed by one clock. ``rows``
    need ``config_id``, ``seed``, ``z``, ``epoch`` and the factors; a (z, epoch) missing from
    ``fixed`` gives NaN.

    >>> fixed = pd.DataFrame({"z": [1, 1, 2, 2], "epoch": [1, 2, 1, 2],
    ...                       "train_cost_s": [1.0, 2.0, 3.0, 6.0]})
    >>> thaw = pd.DataFrame({"config_id": [0, 0], "seed": [0, 0], "z": [1, 2],
    ...                      "epoch": [1, 2]})
    >>> schedule_cost(thaw, fixed).tolist()  # 1 (epoch 1 at z=1) + 3 (epoch 2 at z=2)
    [1.0, 4.0]
    """
    keys = ["z", "epoch", *factors]
    table = fixed.groupby(keys, sort=True)["train_cost_s"].median().reset_index()
    table = table.sort_values([*factors, "z", "epoch"], kind="stable")
    previous = table.groupby(["z", *factors], sort=False)["train_cost_s"].shift(1)
    table["increment"] = table["train_cost_s"] - previous.fillna(0.0)
    ordered = rows.sort_values(["config_id", "seed", "epoch"], kind="stable")
    inc = ordered[keys].merge(table[[*keys, "increment"]], on=keys, how="left")["increment"]
    inc.index = ordered.index
    cells = [ordered[c] for c in ("config_id", "seed", *(["schedule"] if "schedule" in rows
                                                          else []))]
    total = inc.groupby(cells, sort=False).cumsum(skipna=False)
    return pd.Series(total.reindex(rows.index).to_numpy(), index=rows.index,
                     name="train_cost_s", dtype="float64")
