"""``frozenbench suite``: replay optimizers across many tables and compare them over tasks.

Every method (``--optimizers``, spelt as for ``frozenbench simulate``, HPO libraries'
optimizers included) runs ``--runs`` times on every table (``--benchmarks``, default: every
shipped table) with a budget of ``--budget`` (default 100, the one default of every replay:
:data:`frozenbench.sim.budget.DEFAULT_BUDGET_UNITS`) x the table's median full-fidelity cost.
Prints the tasks, the per-task summary at the full budget (final regret, normalised
regret with its 95% interval over seeds, average rank within the task) and, at 1x, 10x and
100x, the aggregate over tasks with the task as the unit (IQM of normalised regret with a 95%
interval over tasks, average rank with its interval, Friedman p and Nemenyi's critical
difference, N = tasks); see :mod:`frozenbench.analysis.suite` for the definitions; the
intervals take ``--bootstrap N`` resamples. ``--out DIR`` receives ``per_task.csv``,
``aggregate.csv``, ``finals.csv`` (one row per task, method, seed
and budget), ``anytime.csv`` (normalised regret against budget, per task and over tasks),
``trajectories.parquet``, ``suite.png`` (at the full budget) and ``anytime.png``. Every
argument is checked before the first replay.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from frozenbench.atomic import write_frame_atomic
from frozenbench.cli.args import (
    add_bootstrap,
    add_out,
    add_renamed,
    bootstrap_problem,
    out_problem,
    positive,
    raise_problems,
)
from frozenbench.errors import FrozenbenchError
from frozenbench.sim.budget import DEFAULT_BUDGET_UNITS
from frozenbench.sim.methods import METHOD_HELP
from frozenbench.table import COST_ALIASES, COSTS

if TYPE_CHECKING:
    import pandas as pd

    from frozenbench.analysis.suite import SuiteResult
    from frozenbench.sim.request import ReplayRequest
    from frozenbench.table import Benchmark

EXAMPLE = ("frozenbench suite --optimizers random:full hyperband:epoch hyperband:z "
           "asha:z+epoch-linear --runs 20 --out out/suite")


#: The files ``--out DIR`` receives.
WRITES = ("per_task.csv", "aggregate.csv", "finals.csv", "anytime.csv", "trajectories.parquet",
          "suite.png", "anytime.png")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = f"example: {EXAMPLE}"
    parser.add_argument("--benchmarks", nargs="+", default=["all"], metavar="BENCHMARK",
                        help="tables to replay on: shipped names, paths (./dir) or "
                             "hub:namespace/name@revision; 'all' (default): every shipped table")
    parser.add_argument("--optimizers", nargs="+", default=None, metavar="NAME[:FIDELITY]",
                        help=f"{METHOD_HELP}; default: the methods of "
                             "frozenbench.analysis.hpo.DEFAULT_METHODS")
    parser.add_argument("--runs", type=int, default=20,
                        help="runs per optimizer and table (simulator seeds 0..N-1)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_UNITS,
                        help="simulated time per run in units of each table's median "
                             f"full-fidelity cost (default {DEFAULT_BUDGET_UNITS:g}); the tables "
                             "at 1x, "
                             "10x and 100x and the anytime curves from 0.1x come from the same "
                             "runs")
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--cost", default=None,
                        help=f"cost column or alias: {', '.join([*COSTS, *COST_ALIASES])} "
                             "(default: each table's contention-robust train_cost_s)")
    add_bootstrap(parser, seed=False, what="over seeds and tasks")
    add_renamed(parser, "--n-boot", "--bootstrap", "one name for the bootstrap count in every "
                "command")
    add_out(parser, WRITES)
    parser.add_argument("--no-progress", action="store_true")


def _checked(args: argparse.Namespace) -> tuple[list[Benchmark], dict[str, ReplayRequest]]:
    """Load the benchmarks and check every argument; returns the tables and one replay request
    per method (by label), or raises one error listing every problem."""
    from frozenbench.analysis.hpo import DEFAULT_METHODS, replay_requests
    from frozenbench.registry import load, shipped
    from frozenbench.sim.methods import Method
    from frozenbench.table import cost_column

    problems: list[str] = []
    positive(problems, "--runs", args.runs)
    positive(problems, "--workers", args.workers)
    positive(problems, "--budget", args.budget)
    bad_boot = bootstrap_problem(args.bootstrap)
    if bad_boot:
        problems.append(bad_boot)
    if not args.eta > 1:
        problems.append(f"--eta {args.eta:g} must be > 1")
    if args.cost is not None:
        try:
            cost_column(args.cost)
        except FrozenbenchError as exc:
            problems.append(f"--cost: {exc}")
    names = [n for name in args.benchmarks for n in (shipped() if name == "all" else [name])]
    if not names:
        problems.append("--benchmarks all: no table is shipped in this installation; name "
                        "tables or directories")
    benches = []
    for name in dict.fromkeys(names):  # a table named twice runs once
        try:
            benches.append(load(name))
        except FrozenbenchError as exc:
            problems.append(f"--benchmarks {name}: {exc}")
    methods: dict[str, Method] = {}
    for text in args.optimizers or [m.label for m in DEFAULT_METHODS.values()]:
        try:
            method = Method.parse(text)
        except FrozenbenchError as exc:
            problems.append(f"--optimizers {text}: {exc}")
            continue
        if method.label in methods:
            problems.append(f"--optimizers {text}: {method.label} is given twice")
        methods[method.label] = method
        if args.eta > 1:
            problems += [str(p) for p in method.problems(benches, args.eta,
                                                         label=f"--optimizers {text}")]
    bad_out = out_problem(args.out, WRITES) if args.out else None
    if bad_out:
        problems.append(bad_out)
    raise_problems(problems, "frozenbench suite")
    # the flags above are each request's settings, checked: the requests need no second check
    requests, _ = replay_requests(methods, runs=args.runs, budget_units=args.budget,
                                  n_workers=args.workers, eta=args.eta, cost=args.cost)
    return benches, requests


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from frozenbench.analysis.suite import replay_suite

    benches, methods = _checked(args)
    print(f"budget: {args.budget:g} x each table's median full-fidelity cost per run; "
          f"{args.runs} runs, {args.workers} workers, {len(methods)} methods on "
          f"{len(benches)} tables")
    bar = tqdm(total=len(benches) * len(methods), desc="suite", file=sys.stderr,
               disable=args.no_progress)

    def replayed(table: str, label: str) -> None:
        bar.set_postfix_str(f"{table} {label}", refresh=False)
        bar.update(1)

    try:
        result = replay_suite(benches, methods, n_boot=args.bootstrap, on_replayed=replayed)
    finally:
        bar.close()
    print()
    print(_tasks_table(result).to_string(index=False))
    full = result.budget_units
    print(f"\nper task at {full:g}x: mean over {result.runs} runs [95% CI over that task's "
          "seeds]; normalised regret = regret / (median - best) full-fidelity score of the "
          "task; rank within the task's seeds")
    print(_per_task_table(result, full).to_string(index=False))
    for budget in sorted(set(result.aggregate["budget"])):
        print(_aggregate_text(result, budget))
    if args.out:
        paths = _write(result, Path(args.out))
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _aggregate_text(result: SuiteResult, budget: float) -> str:
    """The aggregate over tasks at one budget, with its heading and the tests' N."""
    agg = result.aggregate[result.aggregate["budget"] == budget]
    n = int(agg["n_test"].iloc[0])
    lines = [f"\nover {len(result.tables)} tasks at {budget:g}x the median full-fidelity "
             f"cost: IQM of the per-task mean normalised regret [95% CI over tasks]; average "
             f"rank of the per-task means [95% CI over tasks]; N = {n} tasks",
             _aggregate_table(agg).to_string(index=False)]
    cd, p = float(agg["critical_difference"].iloc[0]), float(agg["friedman_p"].iloc[0])
    if cd == cd:  # not NaN: two or more methods
        lines.append(f"Friedman p = {p:.3g}; Nemenyi critical difference (alpha 0.05, N = {n} "
                     f"tasks): {cd:.2f} (average ranks closer than this are not told apart)")
    return "\n".join(lines)


def _ci(frame: pd.DataFrame, mean: str, low: str, high: str, digits: str = ".4g"
        ) -> list[str]:
    """``mean [low, high]`` per row of ``frame``, from the three named columns."""
    return [f"{m:{digits}} [{lo:{digits}}, {hi:{digits}}]" for m, lo, hi in
            zip(frame[mean].to_numpy(float), frame[low].to_numpy(float),
                frame[high].to_numpy(float), strict=True)]


def _tasks_table(result: SuiteResult) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rows = []
    for cmp in result.comparisons:
        ref = cmp.reference[np.isfinite(cmp.reference)]
        rows.append({"task": cmp.table, "configs": int(np.isfinite(cmp.reference).sum()),
                     "regret on": cmp.metric, "best": f"{ref.min():.4g}",
                     "median - best": f"{np.median(ref) - ref.min():.4g}",
                     "budget unit": f"{cmp.unit:.4g}"})
    return pd.DataFrame(rows)


def _per_task_table(result: SuiteResult, budget: float) -> pd.DataFrame:
    import pandas as pd

    p = result.per_task[result.per_task["budget"] == budget].reset_index(drop=True)
    first = ~p["table"].duplicated()
    return pd.DataFrame({
        "task": p["table"].where(first, ""),
        "optimizer:fidelity": p["label"],
        "final regret": [f"{v:.4g}" for v in p["final_regret_mean"]],
        "runs with incumbent": [f"{a}/{b}" for a, b in zip(p["with_incumbent"], p["runs"],
                                                           strict=True)],
        "normalised regret": _ci(p, "normalized_regret_mean", "normalized_regret_low",
                                 "normalized_regret_high"),
        "average rank": _ci(p, "average_rank", "rank_low", "rank_high", ".2f"),
    })


def _aggregate_table(a: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({
        "optimizer:fidelity": a["label"],
        "tasks": a["tasks"],
        "normalised regret IQM": _ci(a, "normalized_regret_iqm", "normalized_regret_iqm_low",
                                     "normalized_regret_iqm_high"),
        "mean": _ci(a, "normalized_regret_mean", "normalized_regret_mean_low",
                    "normalized_regret_mean_high"),
        "average rank": _ci(a, "average_rank", "rank_low", "rank_high", ".2f"),
    })


def _write(result: SuiteResult, out: Path) -> list[Path]:
    import pandas as pd

    from frozenbench.plot import plot_anytime, plot_suite

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("per_task", result.per_task), ("aggregate", result.aggregate),
                        ("finals", result.finals), ("anytime", result.anytime)):
        paths.append(out / f"{name}.csv")
        write_frame_atomic(frame, paths[-1])
    trajs = pd.concat([t.assign(table=cmp.table, label=label, run_seed=s)
                       for cmp in result.comparisons for label, ts in cmp.runs.items()
                       for s, t in enumerate(ts)], ignore_index=True)
    trajs.attrs = {}
    paths.append(out / "trajectories.parquet")
    write_frame_atomic(trajs, paths[-1])
    full = result.budget_units
    what = f"{len(result.tables)} tasks, {result.runs} runs"
    paths.append(plot_suite(result.aggregate[result.aggregate["budget"] == full],
                            out / "suite.png",
                            per_task=result.per_task[result.per_task["budget"] == full],
                            title=f"{what}, budget {full:g} x median full-fidelity cost"))
    paths.append(plot_anytime(result.anytime, out / "anytime.png", title=what))
    return paths
