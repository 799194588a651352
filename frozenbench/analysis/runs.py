"""Replays summarised: incumbent curves, their quantiles over runs, time to a target.

>>> t = pd.DataFrame({"time": [1.0, 3.0], "incumbent_full": [0.5, 0.2]})
>>> incumbent_curve(t, np.array([0.0, 2.0])).tolist()
[nan, 0.5]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.errors import InvalidValueError


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
