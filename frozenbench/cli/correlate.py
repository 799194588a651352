"""``frozenbench correlate BENCHMARK``: Spearman of every z (and epoch) with full fidelity, next
to the seed-noise ceiling; writes ``correlations.csv`` and ``correlations.png`` into ``--out``."""

from __future__ import annotations

import argparse

from frozenbench.cli.args import add_benchmark


def configure(parser: argparse.ArgumentParser) -> None:
    add_benchmark(parser)
    parser.add_argument("--metric", default=None, help="default: the benchmark's metric")
    parser.add_argument("--out", default=None, help="directory for the csv and the plot")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from frozenbench.analysis import rank_correlations, seed_ceiling
    from frozenbench.registry import load

    bench = load(args.benchmark)
    metric = bench.metric_name(args.metric)
    corr = rank_correlations(bench, metric)
    ceiling, n_pairs = seed_ceiling(bench, metric)
    z_max, e_max = bench.fidelities["z"][-1], bench.fidelities["epoch"][-1]
    print(f"{bench.name}: Spearman of {metric} with full fidelity (z={z_max}, epoch={e_max}) "
          f"over {len(bench)} configs (seed means; diverged = worst)")
    print(f"seed-noise ceiling (seed vs seed at full fidelity, {n_pairs} configs): "
          f"{ceiling:.3f}")
    table = corr.pivot(index="z", columns="epoch", values="spearman")
    epochs = list(table.columns)
    shown = sorted({epochs[0], epochs[len(epochs) // 2], epochs[-1]})
    print(table[shown].round(3).rename(columns=lambda e: f"epoch {e}").to_string())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        corr.assign(seed_ceiling=ceiling).to_csv(out / "correlations.csv", index=False)
        from frozenbench.plot import plot_correlations

        png = plot_correlations(corr, ceiling, out / "correlations.png",
                                title=f"{bench.name}: rank correlation with full fidelity")
        print(f"wrote {out / 'correlations.csv'}, {png}")
    return 0
