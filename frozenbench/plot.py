"""Plots of replays and correlations (needs the ``plot`` extra: matplotlib, imported here only
when a function is called)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from frozenbench.analysis import aggregate
from frozenbench.extras import require


def _pyplot() -> Any:
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot")


def _save(plt: Any, fig: Any, path: str | os.PathLike[str]) -> Path:
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_incumbents(
    runs: Mapping[str, Sequence[pd.DataFrame]],
    path: str | os.PathLike[str],
    *,
    column: str = "incumbent_full",
    title: str = "",
    best: float | None = None,
    n_points: int = 200,
) -> Path:
    """Median (line) and quartiles (band) over seeds of the incumbent's full-fidelity score
    against simulated time, one line per label; saved as PNG."""
    plt = _pyplot()
    t_end = max((float(t["time"].iloc[-1]) for ts in runs.values() for t in ts if len(t)),
                default=1.0)
    t_start = min((float(t["time"].iloc[0]) for ts in runs.values() for t in ts
                   if len(t) and t["time"].iloc[0] > 0), default=t_end / 1000)
    times = np.geomspace(max(t_start, t_end * 1e-4), t_end, n_points)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, trajs in runs.items():
        agg = aggregate(trajs, times, column)
        (line,) = ax.plot(agg["time"], agg["median"], label=label)
        ax.fill_between(agg["time"], agg["q25"], agg["q75"], alpha=0.2, color=line.get_color())
    if best is not None and np.isfinite(best):
        ax.axhline(best, color="black", lw=0.8, ls="--", label="best in table")
    ax.set_xscale("log")
    ax.set_xlabel("simulated time")
    ax.set_ylabel(f"{column} (median, quartiles over seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_correlations(corr: pd.DataFrame, ceiling: float, path: str | os.PathLike[str], *,
                      title: str = "") -> Path:
    """Spearman with full fidelity per z (one line per epoch shown) and the seed ceiling."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    epochs = sorted(corr["epoch"].unique())
    shown = sorted({epochs[0], epochs[len(epochs) // 2], epochs[-1]})
    for e in shown:
        sub = corr[corr["epoch"] == e]
        ax.plot(sub["z"], sub["spearman"], marker="o", label=f"epoch {e}")
    if np.isfinite(ceiling):
        ax.axhline(ceiling, color="black", ls="--", lw=0.8, label="seed-noise ceiling")
    ax.set_xlabel("z (trailing layers trained)")
    ax.set_ylabel("Spearman with full fidelity")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)
