"""``frozenbench simulate``: replay several optimizer x fidelity pairs over many seeds.

Prints a summary (final regret and time to reach a target, median [quartiles] over seeds),
or with ``--json`` one JSON object (per method its summary row, the budget, the metric regret
is scored on and the files written), and writes into ``--out DIR``: ``trajectories.parquet``
(every run, with ``label`` and ``run_seed`` columns), ``summary.csv`` and ``incumbent.png``.
Run ``r`` of each optimizer uses the simulator seed ``r``; ``--seed`` is, as everywhere, the
training seed of the cells a trial reads (default: one of the table's seeds drawn per trial).
Every argument is checked before the first replay starts.

``--optimizers`` also takes HPO libraries' optimizers by name (``optuna:tpe+hyperband``,
``smac:hyperband`` ..., :data:`frozenbench.interop.methods.METHODS`), built afresh for every
run with the run's seed, so one command compares them with frozenbench's own on the same
clock and budget.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from frozenbench.atomic import write_frame_atomic
from frozenbench.cli.args import add_benchmark, add_out, out_problem, positive, raise_problems
from frozenbench.cli.json_output import print_json
from frozenbench.errors import FrozenbenchError, InvalidValueError
from frozenbench.sim.replay import DEFAULT_BUDGET_FACTOR
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT, INCUMBENT_RULES
from frozenbench.table import COST_ALIASES, COSTS

#: What each ``--incumbent`` rule means, as the summary prints it.
INCUMBENT = {"highest": "the best config at the highest fidelity reached so far",
             "full": "the best config at full fidelity", "any": "the lowest score at any "
             "fidelity"}

EXAMPLE = ("frozenbench simulate mnist-resnet --optimizers hyperband:z hyperband:epoch "
           "hyperband:z+epoch random:full --runs 20 --workers 4 --out out/demo")


#: The files ``--out DIR`` receives.
WRITES = ("trajectories.parquet", "summary.csv", "incumbent.png")


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
    add_benchmark(parser)
    parser.add_argument("--optimizers", nargs="+", default=["asha:z+epoch", "random:full"],
                        metavar="NAME[:FIDELITY]",
                        help="optimizer (random, sh, hyperband, asha) and fidelity (epoch, z, "
                             "z+epoch, full, or a path like 1@2,4@7,11@20), or an HPO "
                             "library's optimizer (optuna:tpe+hyperband, smac:hyperband, ...: "
                             "see frozenbench.interop.methods)")
    parser.add_argument("--runs", type=int, default=10,
                        help="runs per optimizer (simulator seeds 0..N-1)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--memory", nargs="+", default=None, metavar="SIZE",
                        help="memory per worker (one for all, or one per worker), e.g. 8GB")
    parser.add_argument("--budget", type=float, default=None,
                        help=f"simulated time per run (default: {DEFAULT_BUDGET_FACTOR:g} x the "
                             f"median full-fidelity training cost of a config)")
    parser.add_argument("--cost-budget", type=float, default=None, help="total cost per run")
    parser.add_argument("--max-evaluations", type=int, default=None)
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--metric", default=None, help="default: the benchmark's metric")
    parser.add_argument("--cost", default=None,
                        help=f"cost column or alias: {', '.join([*COSTS, *COST_ALIASES])} "
                             "(default: the table's contention-robust train_cost_s)"),
    parser.add_argument("--seed", default="draw", metavar="S",
                        help="training seed of the cells a trial reads: 'draw' (one of the "
                             "table's seeds drawn per trial, default), 'mean' (the mean over "
                             "seeds), or a seed of the table")
    parser.add_argument("--incumbent", default=DEFAULT_INCUMBENT, choices=INCUMBENT_RULES,
                        help="the config a run would return: the best at the highest fidelity "
                             "reached so far, at full fidelity only, or the lowest score at any "
                             f"fidelity (the old rule); default {DEFAULT_INCUMBENT}")
    parser.add_argument("--target-quantile", type=float, default=0.05,
                        help="target = this quantile of the configs' full-fidelity scores")
    add_out(parser, WRITES)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of text: per method its summary row "
                             "(as in summary.csv), the budget, the regret metric and the files "
                             "written; non-finite numbers as null")
    parser.add_argument("--no-progress", action="store_true")


def _checked(args: argparse.Namespace, bench: Any) -> tuple[list[tuple[str, Any]], Any, Any]:
    """Check every argument against the benchmark; returns the optimizer specs, the cell seed
    and the memory capacities, or raises one error listing every problem."""
    from frozenbench.optimizers import OPTIMIZERS
    from frozenbench.optimizers.fidelity import fidelity_levels
    from frozenbench.sim.workers import capacities
    from frozenbench.table import cost_column

    problems: list[str] = []
    positive(problems, "--runs", args.runs)
    positive(problems, "--workers", args.workers)
    positive(problems, "--budget", args.budget)
    positive(problems, "--cost-budget", args.cost_budget)
    positive(problems, "--max-evaluations", args.max_evaluations)
    positive(problems, "--eta", args.eta)
    if not 0.0 <= args.target_quantile <= 1.0:
        problems.append(f"--target-quantile {args.target_quantile} must be in [0, 1]")
    from frozenbench.interop.methods import METHODS

    specs: list[tuple[str, Any]] = []
    for text in args.optimizers:
        if text in METHODS:
            specs.append((text, None))  # an HPO library's optimizer: no fidelity path
            continue
        try:
            name, fid = parse_spec(text)
            if name not in OPTIMIZERS:
                from frozenbench.errors import unknown_name

                raise unknown_name("optimizer", name, [*OPTIMIZERS, *METHODS])
            fidelity_levels(bench.fidelity_values, fid, args.eta)
            specs.append((name, fid))
        except FrozenbenchError as exc:
            problems.append(f"--optimizers {text}: {exc}")
    cell_seed: Any = args.seed
    if args.seed not in ("draw", "mean"):
        try:
            cell_seed = int(args.seed)
            bench.index.seed(cell_seed)
        except ValueError:  # not an int, or not a seed of the table
            problems.append(f"--seed {args.seed!r}: valid: 'draw', 'mean' or one of the seeds "
                            f"{list(bench.seeds)}")
    memory: Any = None
    if args.memory:
        memory = args.memory[0] if len(args.memory) == 1 else list(args.memory)
    cost = args.cost or bench.default_cost
    for check in (lambda: bench.metric_name(args.metric), lambda: cost_column(cost),
                  lambda: capacities(args.workers, memory) if args.workers > 0 else None):
        try:
            check()
        except FrozenbenchError as exc:
            problems.append(str(exc))
    if not problems and args.metric is not None:
        from frozenbench.sim.replay import _measured, _no_finite_metric

        if not _measured(bench, args.metric):
            problems.append(str(_no_finite_metric(bench, args.metric)))
    bad_out = out_problem(args.out, WRITES) if args.out else None
    if bad_out:
        problems.append(bad_out)
    raise_problems(problems)
    return specs, cell_seed, memory


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from frozenbench.analysis import summarize
    from frozenbench.registry import load
    from frozenbench.sim import default_budget
    from frozenbench.sim.trajectory import regret_metric
    from frozenbench.table import cost_column

    bench = load(args.benchmark)
    specs, cell_seed, memory = _checked(args, bench)
    cost = cost_column(args.cost or bench.default_cost)
    unit = "FLOPs" if cost == "train_flops" else "s"
    budget = args.budget
    if budget is None and args.cost_budget is None and args.max_evaluations is None:
        budget = default_budget(bench, args.cost)
        if not args.json:
            print(f"budget: {budget:.4g} simulated {unit} per run ({DEFAULT_BUDGET_FACTOR:g} x "
                  f"the median full-fidelity cost; set --budget to change)")
    runs = _replay(args, bench, specs, budget=budget, cell_seed=cell_seed, memory=memory)

    scored_on = regret_metric(bench, args.metric)
    full = bench.full_fidelity_scores(scored_on)
    target = float(np.nanquantile(full, args.target_quantile))
    best = float(np.nanmin(full))
    summary = summarize(runs, target)
    metric = args.metric or bench.metric
    files = _write(args, bench, runs, summary, scored_on, cost, unit) if args.out else {}
    if args.json:
        print_json({
            "benchmark": bench.name, "configs": len(bench), "metric": metric,
            "regret_metric": scored_on, "best": best, "target": target,
            "target_quantile": args.target_quantile, "incumbent": args.incumbent,
            "budget": {"time": budget, "cost_budget": args.cost_budget,
                       "max_evaluations": args.max_evaluations, "cost": cost, "unit": unit},
            "runs": args.runs, "workers": args.workers, "seed": cell_seed,
            "methods": {str(row["label"]): row for row in summary.to_dict(orient="records")},
            "files": files})
        return 0
    print(f"\n{bench.name}: {len(bench)} configs, optimised on {metric}, regret on "
          f"{scored_on} (lower is better), best {best:.4f}; incumbent: {INCUMBENT[args.incumbent]}"
          f"; target {target:.4f} = {args.target_quantile:.0%} quantile of configs; "
          f"{args.runs} runs, {args.workers} workers")
    print(_summary_table(summary, scored_on).to_string(index=False))
    if files:
        print(f"wrote {', '.join(str(f) for f in files.values())}")
    return 0


def _replay(args: argparse.Namespace, bench: Any, specs: list[tuple[str, Any]], *,
            budget: float | None, cell_seed: Any, memory: Any) -> dict[str, list[Any]]:
    """Every run of every method: ``{label: [trajectory per run seed]}``."""
    from tqdm import tqdm

    from frozenbench.analysis.suite import method_label
    from frozenbench.interop.methods import build, quiet_libraries
    from frozenbench.sim import simulate

    runs: dict[str, list[Any]] = {}
    bar = tqdm(total=len(specs) * args.runs, desc="simulate", file=sys.stderr,
               disable=args.no_progress)
    for name, fid in specs:
        label = method_label(name, fid)
        runs[label] = []
        for s in range(args.runs):
            with quiet_libraries():  # an HPO library warns on every exhausted grid
                optimizer = name if fid is not None else build(name, bench, seed=s,
                                                                eta=args.eta)
                traj = simulate(bench, optimizer, fid or "full", n_workers=args.workers,
                                budget=budget, cost_budget=args.cost_budget,
                                max_evaluations=args.max_evaluations, seed=s, eta=args.eta,
                                metric=args.metric, cost=args.cost, cell_seed=cell_seed,
                                memory=memory, incumbent=args.incumbent)
            runs[label].append(traj.assign(label=label, optimizer=name, run_seed=s))
            bar.update(1)
    bar.close()
    return runs


def _summary_table(summary: Any, scored_on: str) -> Any:
    """The summary as the text output prints it: medians with quartiles."""
    import pandas as pd

    def when(t: Any) -> str:  # a quantile of runs that never reached the target
        return f"{t:.4g}" if math.isfinite(t) else "never"

    return pd.DataFrame({
        "optimizer:fidelity": summary["label"],
        f"final regret ({scored_on}) median [q25, q75]": [
            f"{m:.4f} [{lo:.4f}, {hi:.4f}]" if math.isfinite(m) else "no incumbent yet"
            for m, lo, hi in zip(summary["final_regret_median"].to_numpy(float),
                                 summary["final_regret_q25"].to_numpy(float),
                                 summary["final_regret_q75"].to_numpy(float), strict=True)],
        "time to target median [q25, q75]": [
            f"{when(r.time_to_target_median)} [{when(r.time_to_target_q25)}, "
            f"{when(r.time_to_target_q75)}]" for r in summary.itertuples()],
        "reached": summary["reached"],
    })


def _write(args: argparse.Namespace, bench: Any, runs: dict[str, list[Any]], summary: Any,
           scored_on: str, cost: str, unit: str) -> dict[str, Path]:
    """Write the files of ``--out DIR``; returns them by kind."""
    import pandas as pd

    from frozenbench.plot import plot_incumbents

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    all_runs = pd.concat([t for ts in runs.values() for t in ts], ignore_index=True)
    all_runs.attrs = {}
    files = {"trajectories": write_frame_atomic(all_runs, out / "trajectories.parquet"),
             "summary": write_frame_atomic(summary, out / "summary.csv")}
    files["plot"] = Path(plot_incumbents(
        runs, out / "incumbent.png", time_label=f"simulated time ({unit} of {cost})",
        title=f"{bench.name}: regret of the incumbent on {scored_on} at full fidelity"))
    return files
