"""A table's numbers beside the paper's (Carstensen et al., AutoML 2025, arXiv 2504.10735).

The paper measured ResNet-18 on CIFAR-100 (n = 11 layers, 20 epochs) and a GPT-2 14M on
SlimPajama (n = 10); a shipped table is compared with the paper's model of its family (a GPT
table with the GPT numbers, anything else with the ResNet numbers, the diagonal rows always
with the GPT-14M table, the only one the paper gives). Points are matched by the *share* of
layers and of epochs, since tables have other n and epoch counts. The paper used one seed per
cell, sharing it between low and full fidelity: compare its numbers with the shared-seed
column; the cross-seed column is the honest estimate. Where the paper's figure is read off a
plot it says so.

:func:`paper_comparison` is what the data cards, the README and ``frozenbench report`` show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from frozenbench.analysis.correlation import N_BOOT, CorrelationGrid, correlation_grid
from frozenbench.analysis.diagonal import diagonal_analysis
from frozenbench.analysis.formalism import cost_profile
from frozenbench.schema import column as schema_column
from frozenbench.table import Benchmark


@dataclass(frozen=True)
class PaperModel:
    """The paper's numbers for one model."""

    name: str
    n_layers: int
    #: Spearman with full training at the last epoch per z (z = 1..n-1); ``approx``: read off
    #: a plot.
    spearman_last_epoch: dict[int, float]
    approx: bool
    #: Step runtime at the lowest z relative to full training (read off a plot).
    runtime_lowest_z: float


RESNET = PaperModel(
    "ResNet-18 / CIFAR-100", 11,
    dict(zip(range(1, 11), (0.852, 0.866, 0.913, 0.900, 0.906, 0.922, 0.955, 0.960, 0.962,
                            0.965))),
    approx=False, runtime_lowest_z=0.42)
GPT = PaperModel("GPT-2 14M / SlimPajama", 10,
                 {1: 0.89, 4: 0.96, 5: 0.96, 6: 0.96, 7: 0.96, 8: 0.96, 9: 1.0},
                 approx=True, runtime_lowest_z=0.55)
#: ResNet-18, epochs x layers: (epoch share, z, Spearman); the first epoch and 11 of 20.
RESNET_EPOCHS: tuple[tuple[float, int, float], ...] = (
    (1 / 20, 1, 0.63), (1 / 20, 2, 0.92), (1 / 20, 11, 0.79), (11 / 20, 1, 0.80))
#: GPT-14M successive halving along the diagonal vs all layers: (token share, Spearman
#: diagonal, Spearman all layers, seconds diagonal, seconds all layers); full grid 37900 s.
GPT_DIAGONAL: tuple[tuple[float, float, float, float, float], ...] = (
    (0.09, 0.26, 0.44, 2186.0, 3467.0), (0.495, 0.87, 0.89, 15135.0, 18759.0))
GPT_FULL_GRID_S = 37900.0


def paper_model(bench: Benchmark) -> PaperModel:
    """The paper's model a table is compared with: GPT for language models, else ResNet."""
    task = f"{bench.manifest.task} {bench.name}".lower()
    return GPT if any(k in task for k in ("gpt", "llama")) else RESNET


def _nearest(values: list[int], target: float) -> int:
    return min(values, key=lambda v: (abs(v - target), v))


def _row(quantity: str, paper: float, paper_note: str, where: str,
         shared: tuple[float, float, float], cross: tuple[float, float, float] | None
         ) -> dict[str, object]:
    nan3 = (math.nan, math.nan, math.nan)
    c = cross or nan3
    return {"quantity": quantity, "paper": paper, "paper_note": paper_note, "table_at": where,
            "shared": shared[0], "shared_low": shared[1], "shared_high": shared[2],
            "cross": c[0], "cross_low": c[1], "cross_high": c[2]}


def _est(grid: CorrelationGrid, z: int, e: int, variant: str) -> tuple[float, float, float]:
    r = grid.at(z, e, variant)
    return float(r["spearman"]), float(r["spearman_low"]), float(r["spearman_high"])


def paper_comparison(bench: Benchmark, grid: CorrelationGrid | None = None,
                     diagonal: pd.DataFrame | None = None, *, n_boot: int = N_BOOT
                     ) -> pd.DataFrame:
    """The table's numbers beside the paper's, one row per quantity: ``quantity``, ``paper``
    (NaN where the paper gives none), ``paper_note`` (the paper's model; "read off a plot"),
    ``table_at`` (the table's matching z and epoch), ``shared`` and ``cross`` (each with
    ``_low``/``_high``: 95% bootstrap interval over configs; cost rows have no interval).
    Pass a ``grid`` and ``diagonal`` already computed to save the bootstrap.

    >>> from frozenbench.synthetic import make_benchmark
    >>> bench = make_benchmark(n_configs=30, n_z=4, n_epochs=6, diverge_frac=0.0)
    >>> cmp = paper_comparison(bench, n_boot=50)
    >>> cmp.loc[0, "quantity"], float(cmp.loc[0, "paper"])
    ('Spearman at the lowest z, last epoch', 0.852)
    >>> bool(cmp["shared"].notna().all())
    True
    """
    grid = grid if grid is not None else correlation_grid(bench, n_boot=n_boot)
    diagonal = diagonal if diagonal is not None else diagonal_analysis(bench, n_boot=n_boot)
    model = paper_model(bench)
    zs, es = bench.fidelities["z"], bench.fidelities["epoch"]
    n, e_last = zs[-1], es[-1]
    note = model.name + (", read off a plot" if model.approx else "")
    rows = []

    def paper_at(share: float) -> float:
        z = _nearest(list(model.spearman_last_epoch), share * model.n_layers)
        return model.spearman_last_epoch.get(z, math.nan)

    points = [("Spearman at the lowest z, last epoch", zs[0], paper_at(1 / model.n_layers)),
              ("Spearman at ~40% of layers, last epoch", _nearest(zs, 0.4 * n),
               0.85 if model is GPT else paper_at(0.4)),
              ("Spearman at z = n-1, last epoch", zs[-2] if len(zs) > 1 else zs[0],
               model.spearman_last_epoch[model.n_layers - 1])]
    for quantity, z, paper in points:
        rows.append(_row(quantity, paper, note + (" (headline: > 0.85)" if "40%" in quantity
                                                  and model is GPT else ""),
                         f"z={z}/{n}, epoch {e_last}", _est(grid, z, e_last, "shared"),
                         _est(grid, z, e_last, "cross")))
    if model is RESNET:
        seen = set()
        for share, z_paper, paper in RESNET_EPOCHS:
            z = zs[-1] if z_paper == RESNET.n_layers else _nearest(zs, z_paper / 11 * n)
            e = _nearest(es, share * e_last)
            if (z, e) in seen:  # a coarser table maps two of the paper's points to one cell
                continue
            seen.add((z, e))
            rows.append(_row(f"Spearman at {share:.0%} of epochs, z={z_paper}/11", paper,
                             RESNET.name, f"z={z}/{n}, epoch {e}", _est(grid, z, e, "shared"),
                             _est(grid, z, e, "cross")))
    ceil = grid.ceiling.spearman
    rows.append(_row("seed-noise ceiling (seed vs seed at full fidelity)", math.nan,
                     "not reported (one seed per cell)", f"seeds {list(grid.ceiling.seeds)}",
                     (ceil.value, ceil.low, ceil.high), None))
    prof = cost_profile(bench)
    for column in ("train_cost_s", "train_time_s", "train_flops"):
        label = schema_column(column).label
        if column in prof:
            v = float(prof[column].iloc[0])
            rows.append(_row(f"cost at the lowest z / full ({label})", model.runtime_lowest_z,
                             f"{model.name}, step runtime, read off a plot",
                             f"z={zs[0]}/{n}, epoch {e_last}", (v, math.nan, math.nan), None))
    for share, rho_d, rho_a, s_d, s_a in GPT_DIAGONAL:
        r = diagonal.iloc[int(np.argmin(np.abs(diagonal["epoch_fraction"] - share)))]
        where = f"rung z={int(r['z'])}, epoch {int(r['epoch'])} ({r['epoch_fraction']:.0%})"
        for name, paper in (("diagonal", rho_d), ("all_layers", rho_a)):
            rows.append(_row(f"SH at {share:.1%} of epochs: Spearman, {name.replace('_', ' ')}",
                             paper, GPT.name + " (one seed)", where,
                             (float(r[f"spearman_{name}"]), float(r[f"spearman_{name}_low"]),
                              float(r[f"spearman_{name}_high"])), None))
        rows.append(_row(f"SH at {share:.1%} of epochs: cost diagonal / all layers", s_d / s_a,
                         f"{GPT.name}: {s_d:.0f} s / {s_a:.0f} s", where,
                         (float(r["cost_diagonal"] / r["cost_all_layers"]), math.nan, math.nan),
                         None))
    return pd.DataFrame(rows)


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`paper_comparison` as strings ("0.851 [0.79, 0.90]"), for Markdown and HTML."""
    def est(v: object, lo: object, hi: object) -> str:
        v, lo, hi = float(v), float(lo), float(hi)  # type: ignore[arg-type]
        if not math.isfinite(v):
            return ""
        if not math.isfinite(lo):
            return f"{v:.3f}"
        return f"{v:.3f} [{lo:.2f}, {hi:.2f}]"

    return pd.DataFrame({
        "quantity": table["quantity"],
        "paper": [f"{p:.3f}" if math.isfinite(p) else "n/a" for p in table["paper"]],
        "paper's source": table["paper_note"],
        "this table at": table["table_at"],
        "this table, shared seed": [est(r.shared, r.shared_low, r.shared_high)
                                    for r in table.itertuples()],
        "this table, cross seed": [est(r.cross, r.cross_low, r.cross_high)
                                   for r in table.itertuples()],
    })


def comparison_markdown(table: pd.DataFrame) -> str:
    """:func:`paper_comparison` as a Markdown table (for data cards and the README).

    >>> t = pd.DataFrame([_row("Spearman at z=1", 0.852, "ResNet-18", "z=1/6, epoch 6",
    ...                        (0.86, 0.75, 0.92), (0.85, 0.72, 0.92))])
    >>> md = comparison_markdown(t).splitlines()
    >>> md[0].split(" | ")[:3], md[-1].split(" | ")[-1]
    (['| quantity', 'paper', "paper's source"], '0.850 [0.72, 0.92] |')
    """
    f = format_comparison(table)
    lines = ["| " + " | ".join(f.columns) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines)
