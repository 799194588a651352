"""``frozenbench simulate``: replay several optimizer x fidelity pairs over many seeds.

Prints a summary (final regret and time to reach a target, median [quartiles] over seeds),
or with ``--json`` one JSON object (per method its summary row, the budget, the metric regret
is scored on and the files written), and writes into ``--out DIR``: ``trajectories.parquet``
(every run, with ``label`` and ``run_seed`` columns), ``summary.csv`` and ``incumbent.png``.
Run ``r`` of each optimizer uses the simulator seed ``r``; ``--seed`` is, as everywhere, the
training seed of the cells a trial reads (default: one of the table's seeds drawn per trial).
Every argument is checked before the first replay starts.

``--optimizers`` also takes HPO libraries' optimizers by name (``optuna:tpe+hyperband``,
``smac:hyperband-epoch`` ..., :data:`frozenbench.interop.methods.METHODS`), built afresh for
every run with the run's seed, so one command compares them with frozenbench's own on the same
clock and budget. Every method (parsed by :class:`frozenbench.sim.methods.Method`) becomes one
:class:`frozenbench.sim.request.ReplayRequest`, checked once for all its runs.

``--budget`` is simulated time in units of the table's median full-fidelity cost (default
:data:`frozenbench.sim.budget.DEFAULT_BUDGET_UNITS`, as ``suite`` and ``report``);
``--budget-seconds`` gives it in the cost's own unit (seconds; FLOPs with ``--cost flops``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frozenbench.atomic import write_frame_atomic
from frozenbench.cli.args import add_benchmark, add_out, out_problem, positive, raise_problems
from frozenbench.cli.json_output import print_json
from frozenbench.errors import FrozenbenchError
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS
from frozenbench.sim.methods import METHOD_HELP, Method
from frozenbench.sim.trajectory import DEFAULT_INCUMBENT, INCUMBENT_RULES
from frozenbench.table import COST_ALIASES, COSTS

if TYPE_CHECKING:
    from frozenbench.sim.request import PreparedReplay, ReplayRequest

#: What each ``--incumbent`` rule means, as the summary prints it.
INCUMBENT = {"highest": "the best config at the highest fidelity reached so far",
             "full": "the best config at full fidelity", "any": "the lowest score at any "
             "fidelity"}

EXAMPLE = ("frozenbench simulate mnist-resnet --optimizers hyperband:z hyperband:epoch "
           "hyperband:z+epoch-geometric random:full --runs 20 --workers 4 --out out/demo")


#: The files ``--out DIR`` receives.
WRITES = ("trajectories.parquet", "summary.csv", "incumbent.png")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = f"example: {EXAMPLE}"
    add_benchmark(parser)
    parser.add_argument("--optimizers", nargs="+",
                        default=["asha:z+epoch-geometric", "random:full"],
                        metavar="NAME[:FIDELITY]",
                        help=METHOD_HELP)
    parser.add_argument("--runs", type=int, default=10,
                        help="runs per optimizer (simulator seeds 0..N-1)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--memory", nargs="+", default=None, metavar="SIZE",
                        help="memory per worker (one for all, or one per worker), e.g. 8GB")
    parser.add_argument("--budget", type=float, default=None,
                        help="simulated time per run in units of the table's median "
                             "full-fidelity cost (default, when no other stopping rule is "
                             f"given: {DEFAULT_BUDGET_UNITS:g})")
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help="simulated time per run in the cost's own unit (seconds; FLOPs "
                             "with --cost flops) instead of --budget")
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


def requests(args: argparse.Namespace) -> tuple[dict[str, ReplayRequest], list[str]]:
    """One replay request per ``--optimizers`` method (by label), and the problems found
    reading the methods (an unreadable path, a label given twice)."""
    from frozenbench.sim.request import ReplayRequest

    budget = args.budget
    if all(v is None for v in (budget, args.budget_seconds, args.cost_budget,
                               args.max_evaluations)):
        budget = DEFAULT_BUDGET_UNITS
    memory: Any = None
    if args.memory:
        memory = args.memory[0] if len(args.memory) == 1 else list(args.memory)
    cell_seed: Any = int(args.seed) if args.seed.lstrip("-").isdigit() else args.seed
    out: dict[str, ReplayRequest] = {}
    problems: list[str] = []
    for text in args.optimizers:
        try:
            method = Method.parse(text)
        except FrozenbenchError as exc:
            problems.append(f"--optimizers {text}: {exc}")
            continue
        if method.label in out:
            problems.append(f"--optimizers {text}: {method.label} is given twice")
        out[method.label] = ReplayRequest(
            method, n_workers=args.workers, memory=memory, budget=budget,
            budget_seconds=args.budget_seconds, cost_budget=args.cost_budget,
            max_evaluations=args.max_evaluations, seeds=tuple(range(args.runs)) or (0,),
            eta=args.eta, metric=args.metric, cost=args.cost, cell_seed=cell_seed,
            incumbent=args.incumbent)
    return out, problems


#: The command-line spelling of each replay request setting, for its problems.
FLAGS = {"n_workers": "--workers", "budget": "--budget", "budget_seconds": "--budget-seconds",
         "cost_budget": "--cost-budget", "max_evaluations": "--max-evaluations", "eta": "--eta",
         "cell_seed": "--seed", "incumbent": "--incumbent"}


def _as_flags(problem: str) -> str:
    """A replay request's problem in the command line's words: ``cell_seed=9; ...`` ->
    ``--seed 9; ...``.

    >>> _as_flags("n_workers=0 must be a positive integer")
    '--workers 0 must be a positive integer'
    """
    name, sep, rest = problem.partition("=")
    return f"{FLAGS[name]} {rest}" if sep and name in FLAGS else problem


def _checked(args: argparse.Namespace, bench: Any) -> dict[str, PreparedReplay]:
    """Check every argument against the benchmark, all at once (one error listing every
    problem), and prepare every method's replay."""
    from frozenbench.sim.request import requests_problems

    problems: list[str] = []
    positive(problems, "--runs", args.runs)
    if not 0.0 <= args.target_quantile <= 1.0:
        problems.append(f"--target-quantile {args.target_quantile} must be in [0, 1]")
    by_label, read = requests(args)
    problems += read + [_as_flags(p) for p in requests_problems(
        {f"--optimizers {label}": r for label, r in by_label.items()}, bench)]
    bad_out = out_problem(args.out, WRITES) if args.out else None
    if bad_out:
        problems.append(bad_out)
    raise_problems(problems, "frozenbench simulate")
    return {label: r.prepare(bench, checked=True) for label, r in by_label.items()}


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from frozenbench.analysis import summarize
    from frozenbench.registry import load
    from frozenbench.schema import column

    bench = load(args.benchmark)
    prepared = _checked(args, bench)
    first = next(iter(prepared.values()))
    cost, budget = first.cost, first.budget_time
    unit = column(cost).unit
    units = first.request.budget
    if args.budget is None and units is not None and not args.json:
        print(f"budget: {units:g} x the median full-fidelity cost = {budget:.4g} simulated "
              f"{unit} per run (set --budget to change)")
    runs = _replay(args, prepared)
    scored_on = first.regret_metric
    full = bench.full_fidelity_scores(scored_on)
    target = float(np.nanquantile(full, args.target_quantile))
    best = float(np.nanmin(full))
    summary = summarize(runs, target)
    metric = first.metric
    files = _write(args, bench, runs, summary, scored_on, cost, unit) if args.out else {}
    if args.json:
        print_json({
            "benchmark": bench.name, "configs": len(bench), "metric": metric,
            "regret_metric": scored_on, "best": best, "target": target,
            "target_quantile": args.target_quantile, "incumbent": args.incumbent,
            "budget": {"units": units, "time": budget, "cost_budget": args.cost_budget,
                       "max_evaluations": args.max_evaluations, "cost": cost, "unit": unit},
            "runs": args.runs, "workers": args.workers, "seed": first.cell_seed,
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


def _replay(args: argparse.Namespace, prepared: dict[str, PreparedReplay]
            ) -> dict[str, list[Any]]:
    """Every run of every method: ``{label: [trajectory per run seed]}``."""
    from tqdm import tqdm

    runs: dict[str, list[Any]] = {}
    bar = tqdm(total=len(prepared) * args.runs, desc="simulate", file=sys.stderr,
               disable=args.no_progress)
    for label, replay in prepared.items():
        runs[label] = []
        for s in replay.request.seeds:
            traj = replay.run(s)
            optimizer = replay.method.optimizer if replay.method is not None else label
            runs[label].append(traj.assign(label=label, optimizer=optimizer, run_seed=s))
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
