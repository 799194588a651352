"""Analysis of tables and replays: rank correlations per fidelity, incumbent curves, summaries.

Everything returns plain pandas objects; plotting lives in :mod:`frozenbench.plot`.

>>> from frozenbench.synthetic import make_benchmark
>>> bench = make_benchmark(n_configs=40, n_z=4, n_epochs=5)
>>> corr = rank_correlations(bench)
>>> list(corr.columns)
['z', 'epoch', 'spearman', 'n_configs']
>>> bool(corr.set_index(["z", "epoch"]).loc[(4, 5), "spearman"] == 1.0)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError
from frozenbench.table import Benchmark


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation over the entries finite in both (NaN if fewer than 3).

    >>> round(spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 5])), 6)
    -0.2
    """
    from scipy.stats import rankdata

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    ra, rb = rankdata(a[ok]), rankdata(b[ok])
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def rank_correlations(bench: Benchmark, metric: str | None = None) -> pd.DataFrame:
    """Spearman correlation, over the table's configs, of every (z, epoch) with full fidelity
    (largest z, last epoch). Scores are the seed means of :meth:`Benchmark.objective`
    (diverged = worst finite value). One row per (z, epoch).
    """
    obj = bench.objective(metric)
    ref = obj[:, -1, -1]
    rows = []
    for zi, z in enumerate(bench.fidelity_values.z):
        for ei, e in enumerate(bench.fidelity_values.epoch):
            x = obj[:, zi, ei]
            n = int((np.isfinite(x) & np.isfinite(ref)).sum())
            rows.append((z, e, spearman(x, ref), n))
    return pd.DataFrame(rows, columns=["z", "epoch", "spearman", "n_configs"])


def seed_ceiling(bench: Benchmark, metric: str | None = None) -> tuple[float, int]:
    """The seed-noise ceiling: Spearman between two seeds at full fidelity, over the configs
    that have both. Returns ``(rho, n_configs)``; NaN with one seed. Only the seed pairs that
    share the most configs count (averaged if several): a pair seen on a handful of configs
    would make the ceiling look higher than it is.

    A fidelity cannot be expected to rank configs better than a rerun with another seed does.
    """
    obj = bench.objective(metric, per_seed=True)[:, -1, -1, :]
    rhos, ns = [], []
    for a in range(obj.shape[1]):
        for b in range(a + 1, obj.shape[1]):
            both = np.isfinite(obj[:, a]) & np.isfinite(obj[:, b])
            if both.sum() >= 3:
                rhos.append(spearman(obj[both, a], obj[both, b]))
                ns.append(int(both.sum()))
    if not rhos:
        return math.nan, 0
    widest = [r for r, n in zip(rhos, ns) if n == max(ns)]
    return float(np.nanmean(widest)), max(ns)


def incumbent_curve(traj: pd.DataFrame, times: np.ndarray,
                    column: str = "incumbent_full") -> np.ndarray:
    """The value of ``column`` at each of ``times`` (step function; NaN before the first result).

    >>> t = pd.DataFrame({"time": [1.0, 3.0], "incumbent_full": [0.5, 0.2]})
    >>> incumbent_curve(t, np.array([0.0, 1.0, 2.0, 5.0])).tolist()
    [nan, 0.5, 0.5, 0.2]
    """
    if column not in traj.columns:
        raise InvalidValueError(f"trajectory has no column {column!r}")
    t = traj["time"].to_numpy()
    v = traj[column].to_numpy(dtype=np.float64)
    idx = np.searchsorted(t, times, side="right") - 1
    out = np.where(idx >= 0, v[np.clip(idx, 0, None)] if len(v) else np.nan, np.nan)
    return out.astype(np.float64)


def aggregate(trajectories: Sequence[pd.DataFrame], times: np.ndarray,
              column: str = "incumbent_full") -> pd.DataFrame:
    """Median and quartiles of ``column`` over runs at each time.

    A run without an incumbent yet counts as worse than any score, so a quantile is defined
    (not NaN) only once that share of runs has an incumbent: the median line starts when half
    of the runs have one, instead of following the lucky few that started early.
    """
    curves = np.vstack([incumbent_curve(t, times, column) for t in trajectories])
    curves = np.where(np.isnan(curves), np.inf, curves)
    q = np.percentile(curves, [25, 50, 75], axis=0, method="inverted_cdf")
    q = np.where(np.isinf(q), np.nan, q)
    return pd.DataFrame({"time": times, "q25": q[0], "median": q[1], "q75": q[2]})


def time_to_target(traj: pd.DataFrame, target: float, column: str = "incumbent_full") -> float:
    """First simulated time at which ``column`` <= ``target`` (inf if never)."""
    hit = traj.index[traj[column].to_numpy() <= target]
    return float(traj.loc[hit[0], "time"]) if len(hit) else math.inf


def summarize(runs: Mapping[str, Sequence[pd.DataFrame]], target: float) -> pd.DataFrame:
    """One row per label: final regret and time to reach ``target`` (full-fidelity score),
    as median and quartiles over the runs (seeds), plus how many runs reached it.

    >>> t = pd.DataFrame({"time": [1.0, 2.0], "incumbent_full": [0.5, 0.1], "regret": [0.4, 0.0]})
    >>> summarize({"demo": [t, t]}, target=0.2)[["final_regret_median", "time_to_target_median",
    ...                                          "reached"]].to_dict("records")
    [{'final_regret_median': 0.0, 'time_to_target_median': 2.0, 'reached': '2/2'}]
    """
    rows: list[dict[str, Any]] = []
    for label, trajs in runs.items():
        final = np.array([t["regret"].iloc[-1] if len(t) else math.nan for t in trajs])
        ttt = np.array([time_to_target(t, target) for t in trajs])
        reached = np.isfinite(ttt)
        with np.errstate(all="ignore"):
            fq = np.nanpercentile(final, [25, 50, 75]) if np.isfinite(final).any() else \
                [math.nan] * 3
            # inf where that share of runs never reached it (order statistics, no interpolation)
            tq = np.percentile(ttt, [25, 50, 75], method="inverted_cdf")
        rows.append({
            "label": label, "runs": len(trajs),
            "final_regret_median": float(fq[1]), "final_regret_q25": float(fq[0]),
            "final_regret_q75": float(fq[2]),
            "time_to_target_median": float(tq[1]), "time_to_target_q25": float(tq[0]),
            "time_to_target_q75": float(tq[2]),
            "reached": f"{int(reached.sum())}/{len(trajs)}",
            "evaluations_median": float(np.median([len(t) for t in trajs])),
        })
    return pd.DataFrame(rows)
