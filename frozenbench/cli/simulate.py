"""``frozenbench simulate``: replay several optimizer x fidelity pairs over many seeds.

Prints a summary (final regret and time to reach a target, median [quartiles] over seeds),
and writes into ``--out``: ``trajectories.parquet`` (every run, with ``label`` and
``run_seed`` columns), ``summary.csv`` and ``incumbent.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from frozenbench.errors import InvalidValueError

EXAMPLE = ("frozenbench simulate --benchmark mnist-resnet --optimizers hyperband:z "
           "hyperband:epoch hyperband:z+epoch random:full --seeds 20 --workers 4 --out out/demo")


def parse_spec(spec: str) -> tuple[str, Any]:
    """``"hyperband:z"`` -> ``("hyperband", "z")``; ``"sh:1@2,4@7,11@20"`` -> a (z, epoch)
    path; a bare name uses ``"z+epoch"`` (``"full"`` for random search).

    >>> parse_spec("asha:z+epoch"), parse_spec("random"), parse_spec("sh:1@2,11@20")
    (('asha', 'z+epoch'), ('random', 'full'), ('sh', [(1, 2), (11, 20)]))
    """
    name, _, fid = spec.partition(":")
    if not fid:
        return name, "full" if name == "random" else "z+epoch"
    if "@" in fid:
        try:
            path = [(int(a), int(b)) for a, b in (p.split("@") for p in fid.split(","))]
        except ValueError:
            raise InvalidValueError(
                f"cannot read fidelity path {fid!r}; write it like 1@2,4@7,11@20 "
                f"(z@epoch, lowest first)") from None
        return name, path
    return name, fid


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = f"example: {EXAMPLE}"
    parser.add_argument("--benchmark", required=True, help="benchmark name or directory")
    parser.add_argument("--optimizers", nargs="+", default=["asha:z+epoch", "random:full"],
                        metavar="NAME[:FIDELITY]",
                        help="optimizer (random, sh, hyperband, asha) and fidelity (epoch, z, "
                             "z+epoch, full, or a path like 1@2,4@7,11@20)")
    parser.add_argument("--seeds", type=int, default=10, help="runs per optimizer (seeds 0..N-1)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--memory", nargs="+", default=None, metavar="SIZE",
                        help="memory per worker (one for all, or one per worker), e.g. 8GB")
    parser.add_argument("--budget", type=float, default=None,
                        help="simulated time per run (default: 10 x the median full-fidelity "
                             "training cost of a config)")
    parser.add_argument("--cost-budget", type=float, default=None, help="total cost per run")
    parser.add_argument("--max-evaluations", type=int, default=None)
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--metric", default=None, help="default: the benchmark's metric")
    parser.add_argument("--cost", default="train_time_s", help="train_time_s or train_flops")
    parser.add_argument("--cell-seed", default="draw",
                        help="'draw' (one table seed per trial), 'mean', or a seed")
    parser.add_argument("--target-quantile", type=float, default=0.05,
                        help="target = this quantile of the configs' full-fidelity scores")
    parser.add_argument("--out", default=None, help="directory for parquet, csv and png")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from frozenbench.analysis import summarize
    from frozenbench.registry import load
    from frozenbench.sim import simulate

    bench = load(args.benchmark)
    specs = [parse_spec(s) for s in args.optimizers]
    if args.seeds < 1:
        raise InvalidValueError(f"--seeds {args.seeds} must be at least 1")
    cell_seed: Any = int(args.cell_seed) if args.cell_seed.lstrip("-").isdigit() else \
        args.cell_seed
    memory: Any = None
    if args.memory:
        memory = args.memory[0] if len(args.memory) == 1 else list(args.memory)
    budget = args.budget
    if budget is None and args.cost_budget is None and args.max_evaluations is None:
        full_cost = bench.cost_array("train_time_s" if args.cost in ("train_time_s", "time")
                                     else "train_flops")[:, -1, -1]
        budget = 10.0 * float(np.nanmedian(full_cost))
        print(f"budget: {budget:.4g} simulated {'s' if 'time' in args.cost else 'FLOPs'} "
              f"per run (10 x the median full-fidelity cost; set --budget to change)")

    runs: dict[str, list[pd.DataFrame]] = {}
    frames = []
    bar = tqdm(total=len(specs) * args.seeds, desc="simulate", file=sys.stderr,
               disable=args.no_progress)
    for name, fid in specs:
        label = f"{name}:{fid}" if isinstance(fid, str) else \
            f"{name}:" + ",".join(f"{z}@{e}" for z, e in fid)
        runs[label] = []
        for s in range(args.seeds):
            traj = simulate(bench, name, fid, n_workers=args.workers, budget=budget,
                            cost_budget=args.cost_budget, max_evaluations=args.max_evaluations,
                            seed=s, eta=args.eta, metric=args.metric, cost=args.cost,
                            cell_seed=cell_seed, memory=memory)
            runs[label].append(traj)
            frames.append(traj.assign(label=label, optimizer=name, run_seed=s))
            bar.update(1)
    bar.close()

    full = bench.full_fidelity_scores(args.metric)
    if not 0.0 <= args.target_quantile <= 1.0:
        raise InvalidValueError(f"--target-quantile {args.target_quantile} must be in [0, 1]")
    target = float(np.nanquantile(full, args.target_quantile))
    best = float(np.nanmin(full))
    summary = summarize(runs, target)
    metric = args.metric or bench.metric
    print(f"\n{bench.name}: {len(bench)} configs, metric {metric} (lower is better), best "
          f"{best:.4f}; target {target:.4f} = {args.target_quantile:.0%} quantile of configs; "
          f"{args.seeds} seeds, {args.workers} workers")
    def when(t: Any) -> str:  # a quantile of runs that never reached the target
        return f"{t:.4g}" if math.isfinite(t) else "never"

    table = pd.DataFrame({
        "optimizer:fidelity": summary["label"],
        "final regret median [q25, q75]": [
            f"{r.final_regret_median:.4f} [{r.final_regret_q25:.4f}, {r.final_regret_q75:.4f}]"
            for r in summary.itertuples()],
        "time to target median [q25, q75]": [
            f"{when(r.time_to_target_median)} [{when(r.time_to_target_q25)}, "
            f"{when(r.time_to_target_q75)}]" for r in summary.itertuples()],
        "reached": summary["reached"],
    })
    print(table.to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        all_runs = pd.concat(frames, ignore_index=True)
        all_runs.attrs = {}
        all_runs.to_parquet(out / "trajectories.parquet", index=False)
        summary.to_csv(out / "summary.csv", index=False)
        from frozenbench.plot import plot_incumbents

        png = plot_incumbents(runs, out / "incumbent.png", best=best,
                              title=f"{bench.name}: incumbent at full fidelity")
        print(f"wrote {out / 'trajectories.parquet'}, {out / 'summary.csv'}, {png}")
    return 0
