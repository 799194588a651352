"""``frozenbench correlate BENCHMARK``: how well each fidelity ranks configs.

Prints Spearman of every (z, epoch) with full fidelity, shared-seed and cross-seed (see
:mod:`frozenbench.analysis.correlation`), then at the last epoch Spearman and Kendall with 95%
bootstrap intervals over configs, top-k overlap and the regret of the top k (k = 1, 5, 10),
the seed-noise ceiling with its interval, the fidelity formalism as verdicts and the paper's
diagonal analysis; and all of it as one table of the benchmark, a row per (z, epoch)
(:func:`frozenbench.analysis.fidelity_table.fidelity_table`: Spearman and Kendall with intervals
against the seed ceiling, the diagonal against all layers at the same epoch, cost and
information monotone in z), every number from the seeds every config has. The intervals'
resampling is ``--bootstrap N`` with ``--bootstrap-seed S`` (``--seed`` is always a cell's
training seed, so it is not an option here). With ``--out DIR``: ``correlations.csv``
(every (z, epoch, variant)), ``fidelity_table.csv`` (the one table),
``heatmap.png`` (the paper's heatmap), ``correlations.png``, ``formalism.csv``,
``diagonal.csv`` and ``diagonal.png``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frozenbench.atomic import write_frame_atomic
from frozenbench.cli.args import (
    add_benchmark,
    add_bootstrap,
    add_out,
    add_renamed,
    bootstrap_problem,
    out_problem,
    raise_problems,
)
from frozenbench.errors import FrozenbenchError

if TYPE_CHECKING:
    import pandas as pd

    from frozenbench.analysis import CorrelationGrid


#: The files ``--out DIR`` receives.
WRITES = ("correlations.csv", "fidelity_table.csv", "formalism.csv", "diagonal.csv",
          "heatmap.png", "correlations.png", "diagonal.png")


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    parser.add_argument("--metric", default=None, help="default: the benchmark's metric")
    parser.add_argument("--cost", default=None,
                        help="cost column for the diagonal's cost per rung (default: the "
                             "table's default cost)")
    add_bootstrap(parser)
    add_renamed(parser, "--seed", "--bootstrap-seed",
                "--seed is a cell's training seed; correlate uses the seeds every config has")
    add_out(parser, WRITES)


def _last_epoch_table(grid: CorrelationGrid, e_last: int) -> str:
    import pandas as pd

    f = grid.frame[grid.frame["epoch"] == e_last]

    def ci(r: pd.Series, name: str) -> str:
        if r["n_seed_pairs"] == 0:
            return "n/a"
        return f"{r[name]:.3f} [{r[name + '_low']:.3f}, {r[name + '_high']:.3f}]"

    rows = []
    for z, g in f.groupby("z"):
        sh = g[g["variant"] == "shared"].iloc[0]
        cr = g[g["variant"] == "cross"].iloc[0]
        rows.append({"z": z, "Spearman shared": ci(sh, "spearman"),
                     "Spearman cross": ci(cr, "spearman"),
                     "Kendall cross": ci(cr, "kendall"),
                     "top-1/5/10 overlap": "/".join(f"{sh[f'top_k_overlap_at_{k}']:.2f}"
                                                    for k in (1, 5, 10)),
                     "regret@1/5/10": "/".join(f"{sh[f'regret_at_{k}']:.4f}"
                                               for k in (1, 5, 10))})
    return pd.DataFrame(rows).to_string(index=False)


def _fidelity_text(table: pd.DataFrame) -> str:
    """The one table, intervals in brackets and the verdicts as marks."""
    import pandas as pd

    v = str(table["variant_for_tests"].iloc[0])

    def ci(name: str) -> list[str]:
        return [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" if m == m else "n/a" for m, lo, hi in
                zip(table[name], table[f"{name}_low"], table[f"{name}_high"], strict=True)]

    def mark(column: str, yes: str, no: str) -> list[str]:
        return ["" if x is None or x != x else (yes if x else no) for x in table[column]]

    gap = ["" if r < 0 else f"rung {r}: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]" for r, m, lo, hi in
           zip(table["diagonal_rung"], table["diagonal_minus_all_layers"],
               table["diagonal_minus_all_layers_low"], table["diagonal_minus_all_layers_high"],
               strict=True)]
    return pd.DataFrame({
        "z": table["z"], "epoch": table["epoch"],
        f"Spearman {v}": ci(f"spearman_{v}"), f"Kendall {v}": ci(f"kendall_{v}"),
        "vs ceiling": mark("below_ceiling", "below", "within"),
        "diagonal - all layers": gap,
        "cost / full": [f"{x:.3f}" for x in table["cost_relative"]],
        "cost vs z-1": mark("cost_rises_with_z", "rises", "NOT rising"),
        "corr. vs z-1": mark("correlation_drops_with_z", "DROPS", "ok"),
    }).to_string(index=False)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from frozenbench.analysis import (
        correlation_grid,
        diagonal_analysis,
        verdicts,
    )
    from frozenbench.analysis.seeds import common_seeds
    from frozenbench.registry import load
    from frozenbench.table import cost_column

    problems = [p for p in (bootstrap_problem(args.bootstrap),
                            args.out and out_problem(args.out, WRITES)) if p]
    bench = load(args.benchmark)
    for check in (lambda: bench.metric_name(args.metric),
                  lambda: cost_column(args.cost or bench.default_cost)):
        try:
            check()
        except FrozenbenchError as exc:  # collected, raised together below
            problems.append(str(exc))
    raise_problems(problems, "frozenbench correlate")

    metric = bench.metric_name(args.metric)
    grid = correlation_grid(bench, metric, n_boot=args.bootstrap, seed=args.bootstrap_seed)
    z_max, e_max = bench.fidelities["z"][-1], bench.fidelities["epoch"][-1]
    print(f"{bench.name}: rank correlation of {metric} with full fidelity (z={z_max}, "
          f"epoch={e_max}) over {len(bench)} configs; 95% bootstrap intervals over configs "
          f"({args.bootstrap} resamples)")
    print(f"seeds: full fidelity ranks on the seeds every config has there "
          f"{list(common_seeds(bench, metric=metric))}; a low fidelity on those it has for "
          f"every config (z=1, last epoch: {list(common_seeds(bench, 1, e_max, metric))})")
    for variant, what in (("shared", "shared seed (low and full fidelity share a seed)"),
                          ("cross", "cross seed (low fidelity from one seed, full from "
                                    "another)")):
        print(f"\nSpearman, {what}:")
        print(grid.pivot("spearman", variant).round(3)
              .rename(columns=lambda e: f"epoch {e}").to_string())
    print(f"\nlast epoch ({e_max}): intervals; top-k and regret (shared seed; regret in "
          f"{metric} of the best of the top k at full fidelity)")
    print(_last_epoch_table(grid, e_max))
    c = grid.ceiling
    print(f"\nseed-noise ceiling (seeds {list(c.seeds)} at full fidelity, {c.n_configs} "
          f"configs): Spearman {c.spearman}, Kendall {c.kendall}")
    formalism = verdicts(bench, grid)
    print("\nfidelity formalism:")
    print(formalism.to_string(index=False))
    diag = diagonal_analysis(bench, metric, args.cost, n_boot=args.bootstrap,
                             seed=args.bootstrap_seed)
    cost_name = cost_column(args.cost or bench.default_cost)
    print(f"\nsuccessive halving along the linear diagonal (z = k at k/n of the epochs) vs "
          f"all layers at the same epochs (shared seed; cost = {cost_name} summed over "
          f"configs):")
    show = diag.assign(**{
        "Spearman diagonal": [f"{r.spearman_diagonal:.3f} [{r.spearman_diagonal_low:.2f}, "
                              f"{r.spearman_diagonal_high:.2f}]" for r in diag.itertuples()],
        "Spearman all layers": [f"{r.spearman_all_layers:.3f} [{r.spearman_all_layers_low:.2f}"
                                f", {r.spearman_all_layers_high:.2f}]"
                                for r in diag.itertuples()],
        "epochs": [f"{f:.0%}" for f in diag["epoch_fraction"]],
    })
    print(show[["z", "epoch", "epochs", "Spearman diagonal", "Spearman all layers",
                "cost_diagonal", "cost_all_layers"]].round(1).to_string(index=False))
    from frozenbench.analysis.fidelity_table import fidelity_table

    table = fidelity_table(bench, grid, args.cost)
    print(f"\n{bench.name} in one table (seeds every config has; 95% intervals over configs; "
          f"ceiling: Spearman {c.spearman}; 'below': the interval lies below the ceiling's; "
          f"diagonal - all layers: Spearman of the diagonal cell minus (z={z_max}, same epoch),"
          f" paired interval; cost = {cost_name} relative to full fidelity):")
    print(_fidelity_text(table))
    if args.out:
        from frozenbench.plot import plot_correlations, plot_diagonal, plot_heatmap

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_frame_atomic(grid.frame.assign(seed_ceiling=c.spearman.value,
                                             seed_ceiling_low=c.spearman.low,
                                             seed_ceiling_high=c.spearman.high),
                           out / "correlations.csv")
        write_frame_atomic(formalism, out / "formalism.csv")
        write_frame_atomic(table, out / "fidelity_table.csv")
        write_frame_atomic(diag, out / "diagonal.csv")
        pngs = [plot_heatmap(grid, out / "heatmap.png"),
                plot_correlations(grid, out / "correlations.png"),
                plot_diagonal(diag, out / "diagonal.png", cost_label=cost_name,
                              title=f"{bench.name}: the linear diagonal vs all layers")]
        print(f"\nwrote {out / 'correlations.csv'}, {out / 'fidelity_table.csv'}, "
              f"{out / 'formalism.csv'}, "
              f"{out / 'diagonal.csv'}, " + ", ".join(str(p) for p in pngs))
    return 0
