"""Plots of replays and correlations (needs the ``plot`` extra: matplotlib, imported here only
when a function is called)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from frozenbench.analysis import aggregate
from frozenbench.analysis.suite import ALL_TASKS
from frozenbench.atomic import atomic_file
from frozenbench.extras import require
from frozenbench.schema import column as schema_column

if TYPE_CHECKING:
    from frozenbench.analysis import CorrelationGrid


def _pyplot() -> Any:
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot")


#: How far (inches) an artist may reach past the canvas before :func:`overflow` reports it.
TOLERANCE_IN = 0.02


def overflow(fig: Any) -> dict[str, float]:
    """How far (inches) the figure's drawn content reaches past each edge of its canvas
    (``left``, ``bottom``, ``right``, ``top``; only the edges it crosses): a label, title or
    legend there would be cut off in the saved image. Empty when everything fits.

    >>> plt = _pyplot()
    >>> fig, ax = plt.subplots(figsize=(3, 2))
    >>> _ = ax.set_ylabel("a label far longer than the two inches of this figure " * 2)
    >>> sorted(overflow(fig))
    ['bottom', 'left', 'top']
    >>> plt.close(fig)
    """
    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):  # a closed figure: draw it on a fresh canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    past = {"left": -tight.x0, "bottom": -tight.y0, "right": tight.x1 - width,
            "top": tight.y1 - height}
    return {edge: round(float(v), 3) for edge, v in past.items() if v > TOLERANCE_IN}


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Lay ``fig`` out (``tight_layout`` unless it has a layout engine, which makes room for
    labels, titles and legends outside the axes), save it as a PNG at 120 dpi on its own canvas
    (not cropped to the content, so :func:`overflow` tells what would be cut) and close it."""
    plt = _pyplot()
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_figure(fig, out)
    plt.close(fig)
    return out


def _floor(values: np.ndarray) -> float:
    """Where 0 is drawn on a log axis: a tenth of the smallest positive value (1e-6 if none)."""
    pos = np.asarray(values, dtype=float)
    pos = pos[np.isfinite(pos) & (pos > 0)]
    return float(pos.min()) / 10 if pos.size else 1e-6


def _legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend to the right of the axes, never over the data."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              **kwargs)


def _write_figure(fig: Any, out: Path) -> None:
    with atomic_file(out) as f:  # the format from the name's suffix, as savefig(path) does
        fig.savefig(f, format=out.suffix.lstrip(".").lower() or "png", dpi=120)


def plot_incumbents(
    runs: Mapping[str, Sequence[pd.DataFrame]],
    path: str | os.PathLike[str],
    *,
    column: str = "regret",
    title: str = "",
    time_label: str = "simulated time (s)",
    n_points: int = 200,
) -> Path:
    """Median (line) and quartiles (band) over seeds of the incumbent's ``column`` (default
    its regret) against simulated time, one line per label; both axes log, 0 drawn at a tenth
    of the smallest positive value; saved as PNG. ``time_label`` names the time axis and its
    unit."""
    plt = _pyplot()
    t_end = max((float(t["time"].iloc[-1]) for ts in runs.values() for t in ts if len(t)),
                default=1.0)
    t_start = min((float(t["time"].iloc[0]) for ts in runs.values() for t in ts
                   if len(t) and t["time"].iloc[0] > 0), default=t_end / 1000)
    times = np.geomspace(max(t_start, t_end * 1e-4), t_end, n_points)
    curves = {label: aggregate(trajs, times, column) for label, trajs in runs.items()}
    floor = _floor(np.concatenate([c[["q25", "median", "q75"]].to_numpy().ravel()
                                   for c in curves.values()] or [np.zeros(0)]))
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for label, agg in curves.items():
        (line,) = ax.plot(agg["time"], np.maximum(agg["median"], floor), label=label)
        ax.fill_between(agg["time"], np.maximum(agg["q25"], floor),
                        np.maximum(agg["q75"], floor), alpha=0.2, color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(time_label)
    ax.set_ylabel(f"{column} (median, quartiles)\n0 drawn at {floor:.1g}")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _legend_outside(ax)
    return save_figure(fig, path)


def _one_minus_axis(ax: Any, values: np.ndarray) -> None:
    """A log axis of ``1 - rho``, inverted and labelled in rho, so that differences near 1
    (0.98 against 0.995) stay visible."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ok = values[np.isfinite(values) & (values > 0)]  # 1 - rho of every point and whisker
    lo = max(float(ok.min()) if ok.size else 1e-3, 1e-4)
    hi = min(float(ok.max()) if ok.size else 1.0, 2.0)
    ax.set_yscale("log")
    ax.set_ylim(hi * 1.3, lo / 1.5)
    ticks = [t for t in (2.0, 1.5, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002,
                         0.001, 0.0005, 0.0002, 0.0001) if lo / 1.5 <= t <= hi * 1.3]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{1 - y:g}"))


def plot_correlations(grid: CorrelationGrid, path: str | os.PathLike[str], *,
                      epochs: Sequence[int] | None = None, title: str = "") -> Path:
    """Spearman with full fidelity per z (95% intervals), shared-seed (solid) and cross-seed
    (dashed), one colour per epoch (default: first, middle, last), and the seed-noise ceiling
    with its interval; on a log axis of 1 - Spearman, labelled in Spearman."""
    plt = _pyplot()
    f = grid.frame
    all_epochs = sorted(f["epoch"].unique())
    shown = sorted(set(epochs or {all_epochs[0], all_epochs[len(all_epochs) // 2],
                                  all_epochs[-1]}))
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    spread = 0.06 * (len(shown) - 1)
    plotted = []
    for i, e in enumerate(shown):
        color = f"C{i}"
        for variant, ls, dz in (("shared", "-", -0.03), ("cross", "--", 0.03)):
            sub = f[(f["epoch"] == e) & (f["variant"] == variant) & (f["n_seed_pairs"] > 0)]
            if variant == "shared":
                sub = sub[sub["z"] < f["z"].max()]  # 1 by construction at full fidelity
            if sub.empty:
                continue
            x = sub["z"].to_numpy() + dz + (i * 0.06 - spread / 2)
            y = 1 - sub["spearman"].to_numpy()
            err = np.vstack([sub["spearman_high"] - sub["spearman"],
                             sub["spearman"] - sub["spearman_low"]])
            ax.errorbar(x, y, yerr=np.clip(err, 0, None), color=color, ls=ls, marker="o",
                        ms=3.5, capsize=2, lw=1.2,
                        label=f"epoch {e}, {variant} seed")
            plotted.extend([*y, *(1 - sub["spearman_high"]), *(1 - sub["spearman_low"])])
    c = grid.ceiling.spearman
    if np.isfinite(c.value):
        ax.axhline(1 - c.value, color="black", lw=1, ls=":",
                   label=f"seed-noise ceiling {c.value:.3f}")
        ax.axhspan(1 - c.high, 1 - c.low, color="black", alpha=0.08)
        plotted.extend([1 - c.high, 1 - c.low])
    _one_minus_axis(ax, np.asarray(plotted, dtype=float))
    ax.set_xticks(sorted(f["z"].unique()))
    ax.set_xlabel(schema_column("z").label)
    ax.set_ylabel("Spearman with full fidelity (log scale of 1 - rho)")
    ax.set_title(title or f"{grid.benchmark}: rank correlation with full fidelity, 95% CI")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def plot_heatmap(grid: CorrelationGrid, path: str | os.PathLike[str], *,
                 value: str = "spearman", title: str = "") -> Path:
    """The paper's heatmap: ``value`` for every (z, epoch), shared-seed and cross-seed side by
    side, each cell annotated."""
    plt = _pyplot()
    tables = {v: grid.pivot(value, v) for v in ("shared", "cross")}
    finite = np.concatenate([t.to_numpy().ravel() for t in tables.values()])
    finite = finite[np.isfinite(finite)]
    vmin = float(finite.min()) if finite.size else 0.0
    n_z, n_e = tables["shared"].shape
    fig, axes = plt.subplots(1, 2, figsize=(4.2 + 1.3 * n_e, 1.2 + 0.42 * n_z + 1.2),
                             sharey=True, layout="constrained")
    image = None
    for ax, (variant, t) in zip(axes, tables.items()):
        data = t.to_numpy(dtype=float)
        image = ax.imshow(data, cmap="viridis", vmin=vmin, vmax=1.0, origin="lower",
                          aspect="auto")
        for i in range(n_z):
            for j in range(n_e):
                if np.isfinite(data[i, j]):
                    dark = data[i, j] < vmin + 0.6 * (1 - vmin)
                    ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")
        ax.set_xticks(range(n_e), [str(e) for e in t.columns])
        ax.set_yticks(range(n_z), [str(z) for z in t.index])
        ax.set_xlabel("epoch")
        ax.set_title(f"{variant} seed", fontsize=10)
    axes[0].set_ylabel(schema_column("z").label)
    fig.colorbar(image, ax=list(axes), shrink=0.9, label=value)
    c = grid.ceiling.spearman
    fig.suptitle(title or f"{grid.benchmark}: {value} with full fidelity (seed ceiling {c})",
                 fontsize=10)
    return save_figure(fig, path)


def plot_costs(profile: pd.DataFrame, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """Cost of each z relative to full fidelity per cost column (log axis), from
    :func:`frozenbench.analysis.cost_profile`."""
    from frozenbench.analysis.formalism import COST_COLUMNS

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.3))
    for column, label in COST_COLUMNS.items():
        if column in profile:
            ax.plot(profile["z"], profile[column], marker="o", label=label)
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(profile["z"])
    ax.set_xlabel(schema_column("z").label)
    ax.set_ylabel("cost / cost at full z (median over configs, log)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    _legend_outside(ax)
    return save_figure(fig, path)


def plot_diagonal(diag: pd.DataFrame, path: str | os.PathLike[str], *, cost_label: str = "cost",
                  title: str = "") -> Path:
    """The paper's diagonal analysis: Spearman per rung (95% intervals) of the linear diagonal
    and of all layers at the same epochs, and the cost of each rung (log axis)."""
    plt = _pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.6))
    x = diag["epoch_fraction"].to_numpy() * 100
    for name, label, dx in (("diagonal", "diagonal: z = k at k/n of epochs", -0.6),
                            ("all_layers", "all layers, same epochs", 0.6)):
        v = diag[f"spearman_{name}"].to_numpy()
        err = np.vstack([v - diag[f"spearman_{name}_low"], diag[f"spearman_{name}_high"] - v])
        ax.errorbar(x + dx, v, yerr=np.clip(err, 0, None), marker="o", capsize=3, label=label)
        bx.plot(x, diag[f"cost_{name}"], marker="o", label=label)
    ax.set_xlabel("share of epochs (%)")
    ax.set_ylabel("Spearman with full fidelity")
    ax.grid(alpha=0.3)
    bx.set_yscale("log")
    bx.set_xlabel("share of epochs (%)")
    bx.set_ylabel(f"{cost_label} of evaluating every config (log)")
    bx.grid(alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()  # one legend below both panels
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(title)
    fig.set_layout_engine("tight", rect=(0, 0.07, 1, 1))  # room for that legend
    return save_figure(fig, path)


def plot_regret(anytime: pd.DataFrame, path: str | os.PathLike[str], *, floor: float | None = None,
                title: str = "", ylabel: str = "regret") -> Path:
    """Mean regret over replay seeds (95% interval band) against the budget in median
    full-fidelity costs, both axes log, from :func:`frozenbench.analysis.anytime_regret`
    (columns ``label``, ``budget``, ``mean``, ``low``, ``high``, ``started``; a curve starts
    once half of the runs have an incumbent). Regret 0 (the best config found) is drawn at
    ``floor`` (default: a tenth of the smallest positive value shown)."""
    plt = _pyplot()
    floor = floor if floor is not None else _floor(
        anytime[["mean", "low", "high"]].to_numpy().ravel())
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    _anytime_axes(ax, anytime, floor, "mean")
    ax.set_ylabel(f"{ylabel} (mean, 95% CI)\n0 drawn at {floor:.1g}")
    ax.set_title(title, fontsize=10)
    _legend_outside(ax)
    return save_figure(fig, path)


#: The x label of every budget axis.
BUDGET_LABEL = "budget (multiples of the median full-fidelity cost)"


def _anytime_axes(ax: Any, frame: pd.DataFrame, floor: float, column: str) -> None:
    """One line per label (``column`` with its ``low``/``high`` band) against ``budget``,
    both axes log, with the usual labels and a grid."""
    for k, (label, g) in enumerate(frame.groupby("label", sort=False)):
        ok = g["started"] >= 0.5
        ax.plot(g.loc[ok, "budget"], np.maximum(g.loc[ok, column], floor), label=str(label),
                color=f"C{k % 10}")
        ax.fill_between(g.loc[ok, "budget"], np.maximum(g.loc[ok, "low"], floor),
                        np.maximum(g.loc[ok, "high"], floor), alpha=0.15, color=f"C{k % 10}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(floor, color="grey", lw=0.6, ls=":")
    ax.set_xlabel(BUDGET_LABEL)
    ax.grid(alpha=0.3, which="both")


def plot_anytime(anytime: pd.DataFrame, path: str | os.PathLike[str], *, title: str = "",
                 all_tasks: str = ALL_TASKS) -> Path:
    """Normalised regret against budget for a suite (:func:`frozenbench.analysis.suite.
    anytime_suite`): the aggregate over tasks (IQM of the per-task means, 95% interval over
    tasks) in the first panel, then one panel per task (mean over replay seeds, 95% interval
    over seeds); log axes, 0 drawn at a tenth of the smallest positive value, one legend
    outside the panels."""
    plt = _pyplot()
    floor = _floor(anytime[["estimate", "low", "high"]].to_numpy().ravel())
    tables = [all_tasks, *(t for t in dict.fromkeys(anytime["table"]) if t != all_tasks)]
    cols = min(3, len(tables))
    rows = -(-len(tables) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 2.6, 3.0 * rows + 0.6),
                             squeeze=False, sharex=True, layout="constrained")
    for ax, table in zip(axes.ravel(), tables):
        _anytime_axes(ax, anytime[anytime["table"] == table], floor, "estimate")
        ax.set_title("over tasks: IQM, 95% CI over tasks" if table == all_tasks else
                     f"{table}: mean, 95% CI over seeds", fontsize=9)
        ax.set_ylabel("normalised regret", fontsize=9)
        ax.xaxis.label.set_fontsize(8)
    for ax in axes.ravel()[len(tables):]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    fig.suptitle(f"{title}\nnormalised regret = regret / (median - best); 0 drawn at "
                 f"{floor:.1g}", fontsize=10)
    return save_figure(fig, path)


def _rank_axes(ax: Any, r: pd.DataFrame, low: str, high: str) -> None:
    """Average rank per method (rows of ``r``, drawn bottom-up) with its interval and, where
    there is one, Nemenyi's critical difference as a bar from the best rank."""
    y = np.arange(len(r))
    rank = r["average_rank"].to_numpy(float)
    ax.errorbar(rank, y, xerr=np.clip(np.vstack([rank - r[low], r[high] - rank]), 0, None),
                fmt="o", capsize=3, color="C0")
    cd = float(r["critical_difference"].iloc[0])
    if np.isfinite(cd):
        best = float(rank.min())
        ax.plot([best, best + cd], [len(r) - 0.4] * 2, color="C3", lw=3)
        ax.text(best + cd / 2, len(r) - 0.3, f"CD = {cd:.2f} (Nemenyi, 0.05)", ha="center",
                fontsize=8, color="C3")
    ax.set_ylim(-0.6, len(r) + 0.1)
    ax.grid(alpha=0.3, axis="x")


def plot_ranks(ranks: pd.DataFrame, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """Critical-difference-style plot: average rank per method with its 95% bootstrap interval
    and, across tasks, the Nemenyi critical difference as a bar; from
    :func:`frozenbench.analysis.average_ranks` (its ``n`` and ``unit`` name what was ranked)."""
    plt = _pyplot()
    r = ranks.sort_values("average_rank", ascending=False, ignore_index=True)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.45 * len(r)))
    _rank_axes(ax, r, "low", "high")
    ax.set_yticks(np.arange(len(r)), r["label"])
    ax.set_xlabel(f"average rank of regret (1 = best; over {int(r['n'].iloc[0])} "
                  f"{r['unit'].iloc[0]})")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_suite(aggregate: pd.DataFrame, path: str | os.PathLike[str], *,
               per_task: pd.DataFrame | None = None, title: str = "") -> Path:
    """One figure for a suite of tables at one budget (rows of
    :attr:`frozenbench.analysis.suite.SuiteResult.aggregate` with one ``budget``): per method,
    the IQM over tasks of the per-task mean normalised regret (log axis, 95% interval over
    tasks; the per-task means as small marks when ``per_task`` is given) and the average rank
    over tasks (95% interval, Nemenyi's critical difference as a bar). Normalised regret 0 is
    drawn at a tenth of the smallest positive value shown."""
    plt = _pyplot()
    a = aggregate.sort_values("average_rank", ascending=False, ignore_index=True)
    y = np.arange(len(a))
    cols = ["normalized_regret_iqm", "normalized_regret_iqm_low", "normalized_regret_iqm_high"]
    values = [a[cols].to_numpy().ravel()]
    if per_task is not None:
        values.append(per_task["normalized_regret_mean"].to_numpy())
    floor = _floor(np.concatenate(values))
    fig, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(11, 1.6 + 0.45 * len(a)))
    iqm = np.maximum(a[cols[0]].to_numpy(float), floor)
    err = np.vstack([iqm - np.maximum(a[cols[1]].to_numpy(float), floor),
                     np.maximum(a[cols[2]].to_numpy(float), floor) - iqm])
    left.errorbar(iqm, y, xerr=np.clip(err, 0, None), fmt="o", capsize=3, color="C0",
                  label="IQM over tasks")
    if per_task is not None:
        row = {label: i for i, label in enumerate(a["label"])}
        for k, (table, g) in enumerate(per_task.groupby("table", sort=False)):
            ys = np.array([row[label] for label in g["label"]]) + 0.18
            left.plot(np.maximum(g["normalized_regret_mean"].to_numpy(), floor), ys,
                      ls="none", marker="x", ms=5, alpha=0.7, color=f"C{k % 9 + 1}",
                      label=str(table))
    left.set_xscale("log")
    left.axvline(floor, color="grey", lw=0.6, ls=":")
    left.set_yticks(y, a["label"])
    left.set_xlabel(f"normalised regret = regret / (median - best)\n(0 drawn at {floor:.1g})")
    left.grid(alpha=0.3, axis="x", which="both")
    _rank_axes(right, a, "rank_low", "rank_high")
    right.set_xlabel(f"average rank over tasks (1 = best; N = {int(a['n_test'].iloc[0])} "
                     "tasks)")
    handles, labels = left.get_legend_handles_labels()
    right.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                 borderaxespad=0.0)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
