"""Issue 25 point 4: does continuing a run by thawing layers pay? Per table and over the suite.

For every table (with thaw rows): the rank correlation of the thaw run at each epoch with full
training beside all layers at the same epoch and the best fixed z within the same cost
(``correlations.csv``), the cost to reach each rung of the thaw, z, epoch and linear-diagonal
paths (``rung_costs.csv``), and the regret of :data:`~frozenbench.analysis.thaw.THAW_METHODS`
(Hyperband over thaw against Hyperband over z, epochs and the z+epoch diagonal, freeze-thaw and
random search) at 1x, 10x and 100x the median full-fidelity cost (``regret.csv``, per table and
replay seed); then the average ranks over tables, the task as the unit (``ranks.csv``).

    python scripts/thaw_study.py TABLE [TABLE ...] --out out/thaw --runs 20
    python scripts/thaw_study.py --synthetic 3 --out /tmp/thaw --runs 5   # a smoke run

Numbers on synthetic tables are made up (their thaw rows read the fixed-z curves); they test
the pipeline, not the question.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import frozenbench as fb
from frozenbench.analysis.hpo import CHECKPOINTS, average_ranks, compare, final_regret
from frozenbench.analysis.thaw import THAW_METHODS, rung_costs, thaw_correlations
from frozenbench.synthetic import make_benchmark


def tables(args: argparse.Namespace) -> list[fb.Benchmark]:
    benches = [fb.load(name) for name in args.tables]
    benches += [make_benchmark(name=f"synthetic-{k}", n_configs=150, n_z=6, n_epochs=10,
                               diverge_frac=0.0, thaw_configs=150, seed=k)
                for k in range(args.synthetic)]
    return benches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tables", nargs="*", help="tables with thaw rows (names or paths)")
    parser.add_argument("--synthetic", type=int, default=0, help="add this many synthetic tables")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--budget", type=float, default=max(CHECKPOINTS))
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    correlations, costs, finals = [], [], []
    for bench in tables(args):
        correlations.append(thaw_correlations(bench, n_boot=args.n_boot).assign(table=bench.name))
        costs.append(rung_costs(bench).assign(table=bench.name))
        cmp = compare(bench, THAW_METHODS, runs=args.runs, budget_units=args.budget,
                      n_workers=args.workers)
        finals.append(final_regret(cmp, cmp.checkpoints))
        print(f"{bench.name}: done", flush=True)
    regret = pd.concat(finals, ignore_index=True)
    pd.concat(correlations).to_csv(args.out / "correlations.csv", index=False)
    pd.concat(costs).to_csv(args.out / "rung_costs.csv", index=False)
    regret.to_csv(args.out / "regret.csv", index=False)
    ranks = [average_ranks(regret[regret.budget == b], n_boot=args.n_boot).assign(budget=b)
             for b in sorted(set(regret.budget)) if regret.table.nunique() > 1]
    if ranks:
        pd.concat(ranks).to_csv(args.out / "ranks.csv", index=False)
    summary = regret.groupby(["budget", "label"])["regret"].mean().unstack("budget")
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
